"""Argo CD renders each chart with exactly the inputs our render used: the chart Applications pin
helm.kubeVersion and helm.apiVersions, and the short API list they pin renders the same bytes as the
cluster's full list."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, real_parameters

from mnops import yamlio
from mnops.charts.cluster import RenderedChart, Setup, first_pass_jobs, kube_version, render_clusters
from mnops.charts.compile_check import cache_root, chart_mirror, helm_binary
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.charts.render import provided_apis, render_many
from mnops.gitops.plan import delivery_plan
from mnops.kapitan_inventory import compiles_manifests

pytestmark = pytest.mark.skipif(not Path(helm_binary(ROOT)).exists(), reason="helm is not installed (make helm)")
CACHE = cache_root(ROOT)


@cache
def _clusters() -> dict[str, dict[str, Any]]:
    return {name: p for name, p in real_parameters().items() if compiles_manifests(p)}


def _setup() -> Setup:
    return Setup(ROOT / "compiled", CACHE / "charts", CACHE / "renders", helm_binary(ROOT), chart_mirror(ROOT))


@cache
def _rendered() -> tuple[RenderedChart, ...]:
    return tuple(render_clusters(_clusters(), read_lock(ROOT / LOCK_FILE), _setup()))


def _chart_sources(target: str) -> dict[str, dict[str, Any]]:
    """Each chart Application's Helm source, by Application name."""
    text = (ROOT / "compiled" / target / "manifests" / "argocd" / "application.yaml").read_text()
    found = {}
    for doc in yamlio.load_all(text):
        if doc and doc["kind"] == "Application":
            for source in doc["spec"].get("sources") or [doc["spec"].get("source")]:
                if "helm" in source and "releaseName" in source["helm"]:
                    found[doc["metadata"]["name"]] = source
    return found


@pytest.mark.parametrize("target", sorted(_clusters()))
def test_every_chart_application_pins_the_kubernetes_and_api_versions_of_its_render(target: str) -> None:
    sources = _chart_sources(target)
    charts = [c for c in _rendered() if c.target == target]
    plan = delivery_plan(_clusters()[target])
    assert set(sources) == {c.key for c in charts} == {c.key for c in plan.enabled_charts}
    for chart in charts:
        helm = sources[chart.key]["helm"]
        assert helm["kubeVersion"] == chart.kube_version == kube_version(_clusters()[target]), chart.key
        # Never empty: Argo CD would take an empty list as unset and pass the cluster's API versions.
        assert helm["apiVersions"] == list(chart.api_versions) and helm["apiVersions"], chart.key
        assert helm["releaseName"] == chart.key
        assert helm["valueFiles"] == [f"$values/{plan.values_file(next(c for c in plan.enabled_charts if c.key == chart.key))}"]
        assert sources[chart.key].get("helm", {}).get("namespace") in (None, chart.namespace)


@pytest.mark.slow
def test_a_render_given_only_the_api_versions_its_templates_name_equals_the_render_given_all() -> None:
    """Narrowing the API list to what a chart's templates mention changes no byte of any render."""
    setup = _setup()
    planned = first_pass_jobs(_clusters(), read_lock(ROOT / LOCK_FILE), setup)
    first = render_many([job for job, _ in planned], setup.helm, setup.render_cache)
    apis: dict[str, set[str]] = {}
    for job, path in first.items():
        apis.setdefault(job.target, set()).update(provided_apis(path))
    full = [replace(job, api_versions=tuple(sorted(apis[job.target]))) for job, _ in planned]
    everything = render_many(full, setup.helm, setup.render_cache)
    narrowed = {(c.target, c.key): c.rendered for c in _rendered()}
    assert len(narrowed) == len(full)
    for job in full:
        assert everything[job].read_bytes() == narrowed[(job.target, job.release)].read_bytes(), f"{job.target}: {job.release}"
