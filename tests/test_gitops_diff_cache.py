"""make diff's caches are keyed by content (scripts/diff.py): a warm run shows exactly what a cold one
shows, and a change to anything a key covers gives the new result, never the cached one.

One copy of this repository with one inventory value changed in the working tree is diffed cold
(both sides compiled: the run's one cold diff, tests/diff_support.py, whose cached base the other
make-diff tests start from), warm (the base from .cache/diff/, the working tree's compile from
.cache/diff-head/: the same inputs as the cold run's), after `make compile` (the working tree's
compiled/ reused), after a hand edit of compiled/, and after a further edit without `make compile`
(compiled: no cached compile has these inputs).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import script_module
from diff_support import cold_diff, set_dev_error_rate
from diff_support import run_diff as diff
from gitops_checks import git_commit

from mnops.gitops import compile_record

pytestmark = pytest.mark.slow

REUSED = "not compiling it again"
CACHED_HEAD = "an earlier make diff compiled these same inputs"


def run_diff(repo: Path) -> subprocess.CompletedProcess[str]:
    result = diff(repo, "--base", "HEAD")
    assert result.returncode == 0, result.stderr
    return result


def make_compile(repo: Path) -> None:
    command = [sys.executable, str(repo / "scripts" / "compile.py")]  # `make compile` in that checkout
    compiled = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    assert compiled.returncode == 0, compiled.stderr
    assert (repo / ".cache" / "compile-record.json").is_file()


def report(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The report without its timing line."""
    return [line for line in result.stdout.splitlines() if not line.startswith("make diff took ")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    repo = tmp_path_factory.mktemp("diff-cache") / "repo"
    cold = cold_diff(tmp_path_factory, repo)  # dev's error-rate threshold at 10, base not cached
    assert cold.returncode == 0, cold.stderr
    found = {"cold": cold, "warm": run_diff(repo)}
    make_compile(repo)
    found["after make compile"] = run_diff(repo)
    readme = repo / "compiled" / "dev" / "README.md"
    before = readme.read_text()
    readme.write_text(before + "\nedited by hand\n")  # compiled/ no longer what the compile wrote
    found["hand edit"] = run_diff(repo)
    readme.write_text(before)  # compiled/ is the compile's output again: only the input edit below is stale
    set_dev_error_rate(repo, 20)  # edited after the compile: the record no longer matches
    found["edited since"] = run_diff(repo)
    return found


def test_a_warm_diff_shows_every_section_a_cold_one_shows(runs):
    cold = report(runs["cold"])
    assert "-- Where each change came from --" in cold and "-- Alert behaviour --" in cold
    assert "-- Required reviewers by risk --" in cold
    assert any("error_rate_percent: 5 -> 10" in line for line in cold)
    assert report(runs["warm"]) == cold
    assert REUSED not in runs["warm"].stderr
    assert CACHED_HEAD in runs["warm"].stderr  # what the cold run compiled of the same working tree


def test_a_working_tree_edited_since_the_last_diff_is_compiled_not_taken_from_its_cache(runs):
    assert CACHED_HEAD not in runs["edited since"].stderr and REUSED not in runs["edited since"].stderr


def test_after_make_compile_the_working_tree_is_not_compiled_again_and_nothing_moves(runs):
    assert REUSED in runs["after make compile"].stderr
    assert report(runs["after make compile"]) == report(runs["cold"])


def test_an_input_edited_after_make_compile_is_compiled_and_shown(runs):
    edited = report(runs["edited since"])
    assert REUSED not in runs["edited since"].stderr
    assert any("error_rate_percent: 5 -> 20" in line for line in edited)
    assert not any("error_rate_percent: 5 -> 10" in line for line in edited)


def test_a_hand_edit_of_compiled_is_never_taken_for_the_compile(runs):
    assert REUSED not in runs["hand edit"].stderr
    assert "edited by hand" not in runs["hand edit"].stdout
    assert report(runs["hand edit"]) == report(runs["cold"])


# --- the base's cache key ---------------------------------------------------------------------------


def commit_file(repo: Path, relative: str, text: str) -> str:
    (repo / relative).parent.mkdir(parents=True, exist_ok=True)
    (repo / relative).write_text(text)
    git_commit(repo, f"edit {relative}")
    return subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_head_key_covers_every_compile_input_on_disk_and_the_tools(tmp_path, monkeypatch):
    module = script_module("diff")
    repo = tmp_path / "repo"
    (repo / "inventory").mkdir(parents=True)
    (repo / "inventory" / "common.yml").write_text("parameters: {a: 1}\n")
    keys = {"first": module.head_cache_key(repo)}
    (repo / "inventory" / "common.yml").write_text("parameters: {a: 2}\n")  # an edit, committed or not
    keys["inventory"] = module.head_cache_key(repo)
    (repo / "lib" / "mnops").mkdir(parents=True)
    (repo / "lib" / "mnops" / "x.py").write_text("X = 1\n")  # a new file
    keys["lib"] = module.head_cache_key(repo)
    assert len(set(keys.values())) == len(keys)
    (repo / "README.md").write_text("words\n")  # not a compile input: the same key
    assert module.head_cache_key(repo) == keys["lib"]
    monkeypatch.setattr(compile_record, "tool_versions", lambda: "another Python and Kapitan")
    other_tools = module.head_cache_key(repo)
    monkeypatch.setattr(module, "helm_identity", lambda: "v9.9.9")
    assert len({keys["lib"], other_tools, module.head_cache_key(repo)}) == 3


def test_the_base_key_covers_every_compile_input_and_the_tools(tmp_path, monkeypatch):
    module = script_module("diff")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    keys = {"first": module.base_cache_key(repo, commit_file(repo, "inventory/classes/common.yml", "parameters: {a: 1}\n"))}
    keys["inventory"] = module.base_cache_key(repo, commit_file(repo, "inventory/classes/common.yml", "parameters: {a: 2}\n"))
    keys["lib"] = module.base_cache_key(repo, commit_file(repo, "lib/mnops/x.py", "X = 1\n"))
    keys["charts.lock"] = module.base_cache_key(repo, commit_file(repo, "charts.lock", "lock\n"))
    assert len(set(keys.values())) == len(keys)
    # Not a compile input: the same key, so the cached base is reused.
    assert module.base_cache_key(repo, commit_file(repo, "README.md", "words\n")) == keys["charts.lock"]
    monkeypatch.setattr(module, "tool_versions", lambda: "another Python and Kapitan")
    other_tools = module.base_cache_key(repo, "HEAD")
    monkeypatch.setattr(module, "helm_identity", lambda: "v9.9.9")
    assert len({keys["charts.lock"], other_tools, module.base_cache_key(repo, "HEAD")}) == 3
