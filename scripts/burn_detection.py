#!/usr/bin/env python3
"""Measure with promtool how long the SLO burn-rate alerts take to fire at 1x ... 1000x.

Usage (normally through `make burn-detection`, about a minute):
    .venv/bin/python scripts/burn_detection.py --target prod            # writes docs/observability.md
    .venv/bin/python scripts/burn_detection.py --target prod --no-write

Reads compiled/<target>/rules/ (run `make compile` first); see lib/mnops/observability/burn_detection.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.doc_sections import replace_section  # noqa: E402
from mnops.inventory import load_target  # noqa: E402
from mnops.kapitan_inventory import render_inventory  # noqa: E402
from mnops.observability import rules as R  # noqa: E402
from mnops.observability.burn_detection import BEGIN, END, measure, render  # noqa: E402
from mnops.observability.rule_tests import services_under_test  # noqa: E402

DOC = ROOT / "docs" / "observability.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="prod", help="target name (folder under compiled/)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    parameters = render_inventory(ROOT / "inventory")
    if args.target not in parameters:
        print(f"unknown target {args.target!r}; targets: {', '.join(sorted(parameters))}", file=sys.stderr)
        return 2
    target = load_target(args.target, parameters[args.target])
    budget = R.slo_objectives(services_under_test(target, "slo-fast")[0])[0].budget
    section = render(measure(target, ROOT / "compiled" / args.target / "rules"), args.target, budget)
    print(section)
    if not args.no_write:
        DOC.write_text(replace_section(DOC.read_text(), section, BEGIN, END))
        print(f"wrote the burn-detection section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
