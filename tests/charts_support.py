"""Shared by tests/test_charts_*.py (not a test module itself): the real inventory's clusters and
every enabled chart rendered for them, once per test process.

Renders come from the cache in .cache/renders (keyed by chart digest, values, Kubernetes and API
versions): the first run renders everything, later ones only what changed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT, real_parameters

from mnops.charts.cluster import RenderedChart, Setup, render_clusters
from mnops.charts.compile_check import chart_mirror, helm_binary
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.kapitan_inventory import compiles_manifests

NEEDS_HELM = pytest.mark.skipif(not Path(helm_binary(ROOT)).exists(), reason="helm is not installed (make helm)")
# The modules that call rendered() run on one pytest-xdist worker (`--dist loadgroup`, make test):
# from an empty cache (a fresh checkout) each worker would otherwise render every chart itself.
ONE_WORKER = pytest.mark.xdist_group("charts")


@cache
def clusters() -> dict[str, dict]:
    """Targets that compile Kubernetes manifests, with their parameters (shared: do not edit them)."""
    return {name: p for name, p in real_parameters().items() if compiles_manifests(p)}


@cache
def rendered() -> tuple[RenderedChart, ...]:
    cache_root = ROOT / ".cache"
    setup = Setup(ROOT / "compiled", cache_root / "charts", cache_root / "renders", helm_binary(ROOT), chart_mirror(ROOT))
    return tuple(render_clusters(clusters(), read_lock(ROOT / LOCK_FILE), setup))
