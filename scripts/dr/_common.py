"""Shared helpers of the scripts in scripts/dr/: paths, command running with --dry-run, errors."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "lib"))
COMPILED = ROOT / "compiled"
# Where a store the environment runs on RDS / ElastiCache is backed up, restored and failed over instead.
MANAGED_HINT = 'on RDS / ElastiCache see docs/disaster-recovery.md, "Managed data services"'


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


def backup_main(
    argv: list[str] | None,
    description: str,
    cluster_steps: Callable[[str, str, Path], Sequence[tuple[str, Sequence[str]]]],
    local_backup: Callable[[int, Path, bool], None],
) -> int:
    """The command line shared by the backup scripts: cluster mode (kubectl) or --local (a local server)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--target", default="prod", help="compiled target whose cluster to back up")
    parser.add_argument("--context", help="kubectl context of that cluster (cluster mode)")
    parser.add_argument("--compiled", type=Path, default=COMPILED, help="compiled tree (default: compiled/)")
    parser.add_argument("--local", action="store_true", help="back up a local server instead of a cluster")
    parser.add_argument("--port", type=int, help="local server port (--local)")
    parser.add_argument("--dest", type=Path, help="backup folder (--local)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    args = parser.parse_args(argv)

    def run() -> None:
        if args.local:
            if not args.port or not args.dest:
                raise ScriptError("--local needs --port and --dest")
            local_backup(args.port, args.dest.resolve(), args.dry_run)
        else:
            if not args.context and not args.dry_run:
                raise ScriptError("cluster mode needs --context (or --dry-run to only print the commands)")
            run_steps(cluster_steps(args.target, args.context or f"<{args.target}-context>", args.compiled), args.dry_run)

    return main_guard(run)
