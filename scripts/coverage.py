#!/usr/bin/env python3
"""Observability coverage per target and service, read from the compiled tree; fails below 100%.

Usage (normally through `make coverage`):
    .venv/bin/python scripts/coverage.py                      # print the table, exit 1 below 100%
    .venv/bin/python scripts/coverage.py --write-docs         # also refresh '## Coverage' in docs/observability.md
    .venv/bin/python scripts/coverage.py --compiled /tmp/x/compiled --inventory tests/fixtures/...

Which services exist (and which use Redis) comes from the inventory; whether each has a scrape
target, RED rules, the standard alerts, SLO alerts, a dashboard, log collection, traces and
runbooks is read from compiled/<target>/ and docs/ (see lib/mnops/observability/coverage.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.inventory.model import build_target  # noqa: E402
from mnops.kapitan_inventory import compiles_manifests, render_inventory  # noqa: E402
from mnops.observability.coverage import Expected, coverage, replace_section  # noqa: E402


def expectations(inventory: Path) -> dict[str, tuple[Expected, ...]]:
    result = {}
    for name, parameters in render_inventory(inventory).items():
        if not compiles_manifests(parameters):
            continue  # the `local` target is a Docker Compose stack, not a cluster
        target = build_target(parameters)
        result[name] = tuple(Expected(s.name, s.dependencies.redis) for s in target.services)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiled", type=Path, default=ROOT / "compiled", help="compiled tree to inspect")
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory", help="inventory naming the services")
    parser.add_argument("--repo-root", type=Path, default=ROOT, help="where runbook links resolve (docs/...)")
    parser.add_argument("--write-docs", action="store_true", help="refresh '## Coverage' in docs/observability.md")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "observability.md", help="document to refresh")
    args = parser.parse_args(argv)
    report = coverage(args.compiled, args.repo_root, expectations(args.inventory))
    table = report.markdown()
    print(table, end="")
    if args.write_docs:
        current = args.docs.read_text() if args.docs.exists() else "# Observability\n"
        args.docs.write_text(replace_section(current, table))
    if report.percent < 100:
        print(f"coverage {report.percent:.1f}% is below 100%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
