"""Argo CD renders each chart with exactly the inputs our render used: the chart Applications pin
helm.kubeVersion and helm.apiVersions, and the short API list they pin renders the same bytes as the
cluster's full list."""

from __future__ import annotations

import subprocess
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
from mnops.charts.render import RenderJob, can_read_api_versions, package_reads_api_versions, provided_apis, render_many
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
    """Narrowing the API list to what a chart's templates mention changes no byte of any render.

    Rendered with the full list for every chart that can read the list; a chart that cannot (the
    static check, which the tests below show flags every way a template reads it) renders the same
    bytes given any list, and the compile kept its first-pass render, given none."""
    setup = _setup()
    planned = first_pass_jobs(_clusters(), read_lock(ROOT / LOCK_FILE), setup)
    first = render_many([job for job, _ in planned], setup.helm, setup.render_cache)
    apis: dict[str, set[str]] = {}
    for job, path in first.items():
        apis.setdefault(job.target, set()).update(provided_apis(path))
    full = [replace(job, api_versions=tuple(sorted(apis[job.target]))) for job, _ in planned]
    reading = [job for job in full if can_read_api_versions(job)]
    everything = render_many(reading, setup.helm, setup.render_cache)
    narrowed = {(c.target, c.key): c.rendered for c in _rendered()}
    assert len(narrowed) == len(full) and reading
    for job in full:
        expected = everything[job] if job in everything else first[replace(job, api_versions=())]
        assert expected.read_bytes() == narrowed[(job.target, job.release)].read_bytes(), f"{job.target}: {job.release}"


# Tiny charts, each reading (or not) the API list one way; key: (files, whether the check must flag it).
_HAS = '.APIVersions.Has "example.com/v1"'  # what a chart gating on a CRD asks


def _if_has(capabilities: str) -> str:
    return "{{ if " + capabilities + _HAS + " }}x: y{{ end }}"


_CHARTS: dict[str, tuple[dict[str, str], bool]] = {
    "direct": ({"templates/cm.yaml": _if_has(".Capabilities")}, True),
    "aliased": ({"templates/cm.yaml": "{{ $caps := .Capabilities }}" + _if_has("$caps")}, True),
    "handed-on": ({"templates/cm.yaml": "{{- $caps := $.Capabilities }}caps: {{ toJson $caps | b64enc }}"}, True),
    "in-a-helper": (
        {
            "templates/_helpers.tpl": '{{ define "has" }}' + _if_has("") + "{{ end }}",
            "templates/cm.yaml": '{{ include "has" .Capabilities }}',
        },
        True,
    ),
    "in-a-subchart": (
        {
            "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            "charts/sub/templates/cm.yaml": _if_has(".Capabilities"),
        },
        True,
    ),
    "through-tpl-of-its-values": (
        {"values.yaml": f"note: '{_if_has('.Capabilities')}'\n", "templates/cm.yaml": "x: {{ tpl .Values.note . | quote }}"},
        True,
    ),
    "kube-version-only": (
        {
            "templates/cm.yaml": "x: {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.HelmVersion.Version }}",
            "values.yaml": "# APIVersions in a comment is no template\nnote: x\n",
        },
        False,
    ),
}


def _package(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    """The chart packaged by `helm package` (a .tgz, as the compile fetches them)."""
    chart = tmp_path / "src" / name
    for relative, text in {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n", **files}.items():
        (chart / relative).parent.mkdir(parents=True, exist_ok=True)
        (chart / relative).write_text(text)
    subprocess.run([helm_binary(ROOT), "package", str(chart), "-d", str(tmp_path)], check=True, capture_output=True)
    return tmp_path / f"{name}-0.1.0.tgz"


def _helm_template(package: Path, values: Path, *apis: str) -> str:
    args = [helm_binary(ROOT), "template", "r", str(package), "--values", str(values), "--kube-version", "1.33.0"]
    return subprocess.run(args + [f"--api-versions={a}" for a in apis], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("name", sorted(_CHARTS))
def test_the_api_list_check_flags_exactly_the_charts_whose_render_depends_on_the_api_list(tmp_path: Path, name: str) -> None:
    files, reads = _CHARTS[name]
    package = _package(tmp_path, name, files)
    values = tmp_path / "values.yaml"
    values.write_text("{}\n")
    # Helm agrees: the render changes with the API list for exactly the charts the check flags.
    assert (_helm_template(package, values) != _helm_template(package, values, "example.com/v1")) is reads
    assert package_reads_api_versions(package) is reads
    assert package_reads_api_versions(package) is reads  # again, from the answer cached beside the package


def test_the_api_list_check_flags_a_values_file_the_chart_renders_with_tpl(tmp_path: Path) -> None:
    package = _package(tmp_path, "tpl", {"values.yaml": "note: x\n", "templates/cm.yaml": "x: {{ tpl .Values.note . | quote }}"})
    values = tmp_path / "values.yaml"
    job = RenderJob("t", "r", "ns", package, "digest", values, "1.33.0")
    values.write_text("note: plain\n")
    assert not package_reads_api_versions(package) and not can_read_api_versions(job)
    values.write_text(f"note: '{_if_has('.Capabilities')}'\n")
    assert _helm_template(package, values) != _helm_template(package, values, "example.com/v1")
    assert can_read_api_versions(job)
