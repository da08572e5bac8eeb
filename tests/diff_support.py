"""One cold `make diff` per pytest run, and the base it compiled for every other make-diff test.

Every make-diff test diffs a copy of this repository (gitops_checks.init_repo) against its first
commit, so every one of them has the same base: the same git tree ids of the compile inputs, hence
the same key in scripts/diff.py's base cache (.cache/diff/<key>). `cold_diff` runs the one cold
diff of the run (both sides compiled: test_gitops_diff_cache checks it against the warm runs), once
for all pytest-xdist workers; `seed_base_cache` copies the base entry it stored into another copy of
the repository, so the diff there compiles only its own head, as a second `make diff` against the
same base does. A run whose cold diff failed stored nothing: the other tests then compile their
base themselves (and fail or pass on their own).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import once_per_run
from gitops_checks import ROOT, init_repo

DEV = "inventory/classes/env/dev.yml"
ANCHOR = "    topology_spread: false\n"


def set_dev_error_rate(repo: Path, percent: int) -> None:
    """One value: dev's error-rate alert threshold (the organisation's default is in common.yml)."""
    path = repo / DEV
    text = path.read_text()
    if "error_rate_percent:" in text:
        text = re.sub(r"error_rate_percent: \d+", f"error_rate_percent: {percent}", text)
    else:
        assert text.count(ANCHOR) == 1, f"{DEV} no longer has {ANCHOR!r} once"
        text = text.replace(ANCHOR, f"{ANCHOR}    alerts:\n      error_rate_percent: {percent}\n")
    path.write_text(text)


def run_diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "scripts" / "diff.py"), "--repo", str(repo), "--color", "never", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _cold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def build(folder: Path) -> None:
        repo = init_repo(folder / "repo")
        set_dev_error_rate(repo, 10)
        result = run_diff(repo, "--base", "HEAD")
        (folder / "result.json").write_text(json.dumps([result.returncode, result.stdout, result.stderr]))

    return once_per_run(tmp_path_factory, "cold-diff", build)


def cold_diff(tmp_path_factory: pytest.TempPathFactory, destination: Path) -> subprocess.CompletedProcess[str]:
    """The run's cold diff of dev's error-rate threshold at 10 (working tree) against HEAD, and a
    copy of the repository it ran in (with the base cache it left) at `destination`."""
    folder = _cold(tmp_path_factory)
    shutil.copytree(folder / "repo", destination, symlinks=True)
    returncode, stdout, stderr = json.loads((folder / "result.json").read_text())
    return subprocess.CompletedProcess(["diff.py", "--repo", str(destination)], returncode, stdout, stderr)


def seed_base_cache(tmp_path_factory: pytest.TempPathFactory, repo: Path) -> None:
    """Copy the cold diff's cached base into `repo`, a fresh init_repo copy (the same base tree)."""
    source = _cold(tmp_path_factory) / "repo" / ".cache" / "diff"
    if source.is_dir():
        shutil.copytree(source, repo / ".cache" / "diff", symlinks=True, dirs_exist_ok=True)
