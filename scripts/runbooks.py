#!/usr/bin/env python3
"""Write docs/runbooks/<alert>.md and docs/incident-response.md from the alert catalogue and the inventory.

Usage (normally through `make runbooks`):
    .venv/bin/python scripts/runbooks.py            # (re)write docs/runbooks/
    .venv/bin/python scripts/runbooks.py --check    # exit 1 if docs/runbooks/ is out of date

Every alert's runbook_url points at one of these files, so they are regenerated whenever an
alert, a threshold or a route changes (tests/test_observability_runbooks.py is the drift gate).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.doc_sections import replace_section  # noqa: E402
from mnops.inventory import load_target  # noqa: E402
from mnops.kapitan_inventory import compiles_manifests, render_inventory  # noqa: E402
from mnops.observability.alertmanager import MATRIX_BEGIN, MATRIX_END, inhibition_matrix  # noqa: E402
from mnops.observability.incident_response import incident_response_doc  # noqa: E402
from mnops.observability.runbooks import runbook_pages  # noqa: E402

INCIDENT_RESPONSE = "../incident-response.md"  # relative to the runbooks folder
OBSERVABILITY = "../observability.md"  # its inhibition matrix section


def expected_pages(inventory: Path, output: Path) -> dict[str, str]:
    parameters = render_inventory(inventory)
    pages = {**runbook_pages_of(parameters), INCIDENT_RESPONSE: incident_response_doc(parameters)}
    observability = output / OBSERVABILITY
    if observability.exists():
        pages[OBSERVABILITY] = replace_section(observability.read_text(), inhibition_matrix(), MATRIX_BEGIN, MATRIX_END)
    return pages


def runbook_pages_of(parameters: dict[str, Any]) -> dict[str, str]:
    # Clusters only: the local Compose stack has no Prometheus routing to document.
    clusters = {name: params for name, params in parameters.items() if compiles_manifests(params)}
    return runbook_pages([load_target(name, params) for name, params in clusters.items()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "runbooks")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on any difference")
    args = parser.parse_args(argv)
    pages = expected_pages(args.inventory.resolve(), args.output)
    # Only the pages generated here are owned here: other concerns may add their own runbooks.
    existing = {name: (args.output / name).read_text() for name in pages if (args.output / name).exists()}
    if args.check:
        stale = sorted(name for name in pages if pages[name] != existing.get(name))
        for name in stale:
            print(f"out of date: {args.output / name}")
        if stale:
            print("run `make runbooks` and commit docs/runbooks/")
        return 1 if stale else 0
    args.output.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(pages.items()):
        (args.output / name).write_text(text)
    print(f"wrote {len(pages)} runbooks to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
