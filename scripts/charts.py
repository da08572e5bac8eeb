#!/usr/bin/env python3
"""Third-party charts: lock them, render them per cluster, check what they render.

Usage (normally through make):
    .venv/bin/python scripts/charts.py lock                  # make chart-lock: charts.lock from the catalog
    .venv/bin/python scripts/charts.py check                 # make charts: verify, render, validate
    .venv/bin/python scripts/charts.py render --output DIR [--summarise-crds]  # DIR/<cluster>/<chart>.yaml (make diff)

Charts come from CHART_MIRROR (a Helm repository folder with index.yaml) when it is set, else
from their repositories; packages are cached in .cache/charts by digest, renders in
.cache/renders by their inputs. Helm is $HELM (make installs it into .tools/). Errors are one
line each, naming the file to fix; the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.charts.checks import check_rendered  # noqa: E402
from mnops.charts.cluster import RenderedChart, Setup, render_clusters  # noqa: E402
from mnops.charts.compile_check import cache_root  # noqa: E402
from mnops.charts.fetch import download  # noqa: E402
from mnops.charts.lock import LOCK_FILE, ChartLockError, LockedChart, chart_catalog, read_lock, render_lock, stale_entries  # noqa: E402
from mnops.charts.render import ChartRenderError  # noqa: E402
from mnops.charts.review import write_for_review  # noqa: E402
from mnops.kapitan_inventory import render_inventory  # noqa: E402

CACHE = cache_root(ROOT)


def setup(compiled: Path) -> Setup:
    helm = os.environ.get("HELM") or str(ROOT / ".tools" / "helm" / "helm")
    if not Path(helm).is_file():
        raise ChartLockError(f"{helm}: Helm is not installed; run `make helm`")
    mirror = os.environ.get("CHART_MIRROR")
    return Setup(compiled.resolve(), CACHE / "charts", CACHE / "renders", helm, Path(mirror).resolve() if mirror else None)


def lock(args: argparse.Namespace) -> int:
    where = setup(args.compiled)
    catalog = chart_catalog(render_inventory(args.inventory))
    entries: dict[str, LockedChart] = {}
    for key, chart in sorted(catalog.items()):
        package = download(chart, where.chart_cache, where.mirror, where.helm)
        entries[key] = LockedChart(key, chart.chart, chart.version, chart.repository, package.stem)
    (ROOT / LOCK_FILE).write_text(render_lock(entries), encoding="utf-8")
    source = f"CHART_MIRROR={where.mirror}" if where.mirror else "the chart repositories"
    print(f"locked {len(entries)} charts from {source} into {LOCK_FILE}")
    return 0


def render_all(args: argparse.Namespace) -> tuple[dict[str, object], list[RenderedChart]]:
    parameters = render_inventory(args.inventory)
    if getattr(args, "targets", None):  # `render --target`: only these clusters
        parameters = {name: params for name, params in parameters.items() if name in args.targets}
    locked = read_lock(args.lock)
    stale = stale_entries(chart_catalog(parameters), locked)
    if stale:
        raise ChartLockError("\n".join(stale))
    return dict(parameters), render_clusters(parameters, locked, setup(args.compiled))


def check(args: argparse.Namespace) -> int:
    started = time.monotonic()
    parameters, rendered = render_all(args)
    rendered_at = time.monotonic()
    location = os.environ.get("CRD_SCHEMA_LOCATION") or str(ROOT.parent / "shared" / "crd-schemas")
    report = check_rendered(parameters, rendered, location, CACHE / "checks")
    for line in report.problems:
        print(line, file=sys.stderr)
    status = f"{len(report.problems)} problem(s)" if report.problems else "all valid"
    print(f"rendered {len(rendered)} chart releases ({report.documents} documents) for {len(report.targets)} clusters "
          f"in {rendered_at - started:.1f}s, checked in {time.monotonic() - rendered_at:.1f}s: {status}")  # fmt: skip
    return 1 if report.problems else 0


def render(args: argparse.Namespace) -> int:
    _, rendered = render_all(args)
    write_for_review(rendered, args.output, args.summarise_crds)
    print(f"rendered {len(rendered)} chart releases into {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    parser.add_argument("--compiled", type=Path, default=ROOT / "compiled", help="compiled tree holding helm-values/")
    parser.add_argument("--lock", type=Path, default=ROOT / LOCK_FILE, help="the chart lock to render from")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lock", help="write charts.lock from the catalog").set_defaults(run=lock)
    commands.add_parser("check", help="render every chart per cluster and validate it").set_defaults(run=check)
    render_parser = commands.add_parser("render", help="write every render into a folder")
    render_parser.add_argument("--output", type=Path, required=True)
    render_parser.add_argument("--summarise-crds", action="store_true", help="CRD schemas as sha256 and field count")
    render_parser.add_argument("--target", dest="targets", action="append", help="render only this cluster (repeatable)")
    render_parser.set_defaults(run=render)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (ChartLockError, ChartRenderError) as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
