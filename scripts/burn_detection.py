#!/usr/bin/env python3
"""Measure with promtool how long the SLO burn-rate alerts take to fire at 1x ... 1000x.

Usage (normally through `make burn-detection`, about a minute):
    .venv/bin/python scripts/burn_detection.py --target prod            # writes docs/observability.md
    .venv/bin/python scripts/burn_detection.py --target prod --no-write

Reads compiled/<target>/rules/ (run `make compile` first); see lib/mnops/observability/burn_detection.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.inventory import Target  # noqa: E402
from mnops.observability import rules as R  # noqa: E402
from mnops.observability.burn_detection import BEGIN, END, measure, render  # noqa: E402
from mnops.observability.measurement_cli import Measured, run  # noqa: E402
from mnops.observability.rule_tests import services_under_test  # noqa: E402


def measure_target(name: str, target: Target, compiled: Path) -> Measured:
    budget = R.slo_objectives(services_under_test(target, "slo-fast")[0])[0].budget
    return Measured(render(measure(target, compiled / "rules"), name, budget))


if __name__ == "__main__":
    sys.exit(run(None, doc=__doc__, name="burn-detection", markers=(BEGIN, END), measure=measure_target, root=ROOT))
