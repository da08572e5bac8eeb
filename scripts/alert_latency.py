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

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.inventory import Target  # noqa: E402
from mnops.observability.alert_latency import BEGIN, END, late_pages, measure, render  # noqa: E402
from mnops.observability.measurement_cli import Measured, run  # noqa: E402
from mnops.observability.settings import monitoring_settings  # noqa: E402


def measure_target(name: str, target: Target, compiled: Path) -> Measured:
    monitoring = monitoring_settings(target.parameters)
    results = measure(compiled, target)
    late = [f"{r.alert} ({r.service}) not notified within {monitoring.response_target}" for r in late_pages(results, monitoring)]
    return Measured(render(results, name, monitoring, time.strftime("%Y-%m-%d", time.gmtime())), tuple(late))


if __name__ == "__main__":
    sys.exit(run(None, doc=__doc__, name="alert-latency", markers=(BEGIN, END), measure=measure_target, root=ROOT))
