"""`make` targets answer a bad argument or a missing tool with one line, not a shell error, a
tool's usage text or a thousand findings: `make promote FORCE=1` without REASON, `make compose-up`
without the Compose plugin, `make validate` with a CRD_SCHEMA_LOCATION that is not there. (The
scripts behind the targets have their own tests; these run the Makefile itself.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT


def make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REASON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False, timeout=300
    )


def test_make_promote_with_force_but_no_reason_asks_for_the_reason_in_one_line() -> None:
    # The reason is checked before anything else, so any names do: nothing is looked up or edited.
    run = make("promote", "SERVICE=any", "FROM=any", "TO=any", "FORCE=1")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert lines == [
        "promote refused: --force needs --reason '...' (make: FORCE=1 REASON='...'); it is logged in the pull request"
    ]
    assert "unbound variable" not in run.stderr


def test_make_compose_up_without_the_compose_plugin_says_what_is_missing() -> None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        pytest.skip("Docker Compose v2 is installed here: compose-up would start the stack")
    run = make("compose-up")
    assert run.returncode != 0
    assert run.stdout.strip() == "compose: needs Docker with the Compose v2 plugin ('docker compose version' fails here)"
    assert "unknown shorthand flag" not in run.stdout + run.stderr


def test_make_validate_with_a_crd_schema_folder_that_does_not_exist_says_so_once(tmp_path: Path) -> None:
    # Before: every custom resource reported "no schema" on its own line (about a thousand lines).
    run = make("validate", f"CRD_SCHEMA_LOCATION={tmp_path / 'missing'}")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert lines == [
        f"validate: CRD_SCHEMA_LOCATION={tmp_path / 'missing'} is not a folder; set it to a folder or URL in "
        "kubeconform's catalog layout ({group}/{kind}_{version}.json)"
    ]
