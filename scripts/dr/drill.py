#!/usr/bin/env python3
"""Run the restore drill against real local PostgreSQL 15 and Redis 7 servers and print RPO/RTO.

Usage (normally through `make dr-drill`):
    .venv/bin/python scripts/dr/drill.py                       # prod's compiled settings, print the table
    .venv/bin/python scripts/dr/drill.py --write-doc docs/disaster-recovery.md
    .venv/bin/python scripts/dr/drill.py --target staging --keep   # keep the temp folder to inspect logs
    .venv/bin/python scripts/dr/drill.py --dry-run             # show the settings it would use, start nothing

Needs Debian's postgresql (15) and redis-server (scripts/ensure-debs installs them). Servers listen
on 127.0.0.1 on free ports in a temporary folder and are always stopped. Exit 1 if a check fails
or a measured RPO is above its goal (PostgreSQL 60 s, Redis with AOF 1 s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _common import COMPILED, ROOT

from mnops.dr.drill import DrillFailure, render_table, run_drill, write_block
from mnops.dr.local import LocalError, compiled_pg_parameters, compiled_redis_config, durability_parameters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="prod", help="compiled target whose settings the servers use")
    parser.add_argument("--compiled", type=Path, default=COMPILED, help="compiled tree (default: compiled/)")
    parser.add_argument("--write-doc", type=Path, help="replace the generated drill block in this Markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data) for inspection")
    parser.add_argument("--dry-run", action="store_true", help="print the settings that would be used, start nothing")
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            pg = durability_parameters(compiled_pg_parameters(args.compiled, args.target))
            print(f"PostgreSQL settings from compiled/{args.target}: {pg}")
            print(f"Redis settings from compiled/{args.target}: {compiled_redis_config(args.compiled, args.target)}")
            return 0
        results = run_drill(args.compiled, args.target, log=lambda line: print(f"  {line}", flush=True), keep=args.keep)
    except (DrillFailure, LocalError) as error:
        print(f"drill failed: {error}", file=sys.stderr)
        return 1
    table = render_table(results, args.target)
    print()
    print(table)
    if args.write_doc:
        doc = args.write_doc if args.write_doc.is_absolute() else ROOT / args.write_doc
        write_block(doc, table)
        print(f"\nwrote the measured figures into {doc.relative_to(ROOT)}")
    failed = [m for m in results if not m.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
