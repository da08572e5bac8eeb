"""Shared helpers of the scripts in scripts/dr/: paths, command running with --dry-run, errors."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "lib"))
COMPILED = ROOT / "compiled"


class ScriptError(RuntimeError):
    """A failure the operator can act on; printed without a traceback."""


def run_steps(steps: Sequence[tuple[str, Sequence[str]]], dry_run: bool, stdin: str | None = None) -> None:
    """Print each (why, argv) step; run it unless dry_run. Stops at the first failing step."""
    for number, (why, argv) in enumerate(steps, 1):
        print(f"# {number}. {why}")
        print(shlex.join(argv))
        if dry_run:
            continue
        proc = subprocess.run(list(argv), input=stdin if argv[-1] == "-" else None, text=True, check=False)
        if proc.returncode != 0:
            raise ScriptError(f"step {number} ({why}) failed with exit {proc.returncode}; fix it and re-run")


def main_guard(run: object) -> int:
    """Call run() and turn ScriptError/LocalError into one readable line and exit code 1."""
    from mnops.dr.local import LocalError

    try:
        result = run()  # type: ignore[operator]
        return int(result or 0)
    except (ScriptError, LocalError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
