#!/usr/bin/env python3
"""Measure how long P0/P1 alerts take from the start of a problem to the notification, end to end.

Usage (normally through `make alert-latency`, about 10 minutes of real time):
    .venv/bin/python scripts/alert_latency.py --target prod          # writes docs/observability.md
    .venv/bin/python scripts/alert_latency.py --target dev --no-write

Real Prometheus and Alertmanager on 127.0.0.1 with compiled/<target>/ rules, routes, timings and
inhibitions, a local fake service per inventory service switched from healthy to just over its
threshold at a known instant, and a local webhook in place of every receiver
(lib/mnops/observability/alert_latency.py). Exits 1 when a P0/P1 alert is not notified within
monitoring.response_target.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.doc_sections import replace_section  # noqa: E402
from mnops.inventory import load_target  # noqa: E402
from mnops.kapitan_inventory import render_inventory  # noqa: E402
from mnops.observability.alert_latency import BEGIN, END, late_pages, measure, render  # noqa: E402
from mnops.observability.settings import monitoring_settings  # noqa: E402

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
    monitoring = monitoring_settings(target.parameters)
    results = measure(ROOT / "compiled" / args.target, target)
    section = render(results, args.target, monitoring, time.strftime("%Y-%m-%d", time.gmtime()))
    print(section)
    if not args.no_write:
        DOC.write_text(replace_section(DOC.read_text(), section, BEGIN, END))
        print(f"wrote the alert-latency section of {DOC.relative_to(ROOT)}")
    late = late_pages(results, monitoring)
    for r in late:
        print(f"{r.alert} ({r.service}) not notified within {monitoring.response_target}", file=sys.stderr)
    return 1 if late else 0


if __name__ == "__main__":
    sys.exit(main())
