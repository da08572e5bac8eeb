"""Every enabled chart of every cluster rendered with that cluster's compiled values.

Two passes, both cached: the first renders each chart with only Kubernetes' own APIs to learn
which CRDs the cluster's charts install; the second renders again with those CRDs' API versions,
as Argo CD does once they exist, so charts switch on what they gate on `.Capabilities`
(ServiceMonitors, PodMonitors, ...). Each chart is given only the ones its templates name, and its
Argo CD Application pins exactly those (mnops.charts.compile_pass). A chart that cannot read the API
list at all renders the same bytes in both passes, so its first render is its final one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mnops.charts.crd_summary import CRD_KIND
from mnops.charts.fetch import fetch
from mnops.charts.lock import ChartLockError, LockedChart
from mnops.charts.render import (
    RenderJob,
    can_read_api_versions,
    crd_documents,
    documents,
    kind_of,
    mentioned_apis,
    provided_apis,
    render_many,
    split_documents,
)
from mnops.gitops.plan import delivery_plan
from mnops.kapitan_inventory import compiles_manifests


@dataclass(frozen=True)
class Setup:
    """Where things are: the compiled tree, caches, Helm and the mirror."""

    compiled: Path
    chart_cache: Path
    render_cache: Path
    helm: str
    mirror: Path | None


@dataclass(frozen=True)
class RenderedChart:
    target: str
    key: str
    namespace: str
    wave: int
    values_file: Path
    rendered: Path  # the cached `helm template` output
    cache_key: str
    kube_version: str = ""  # --kube-version of the render: what the chart's Application pins
    api_versions: tuple[str, ...] = ()  # --api-versions of the render, likewise

    @property
    def text(self) -> str:
        return self.rendered.read_text(encoding="utf-8")

    @property
    def objects(self) -> list[dict[str, Any]]:
        return documents(self.text)

    def objects_of_kind(self, kinds: Collection[str] | None = None, *, without_crds: bool = False) -> list[dict[str, Any]]:
        """Only the documents of these kinds parsed (CRDs are most of the bytes and most checks skip them)."""
        chunks = split_documents(self.text)
        wanted = [c for c in chunks if (kinds is None or kind_of(c) in kinds) and not (without_crds and kind_of(c) == CRD_KIND)]
        return documents("\n---\n".join(wanted))

    def crds(self) -> list[dict[str, Any]]:
        """The CRDs the render installs, as the compile parsed them (kept beside the render cache)."""
        return crd_documents(self.text, self.rendered.parent)

    def crd_group_kinds(self) -> set[tuple[str, str]]:
        """(group, kind) of every CRD the render installs, from the render's cached API list."""
        return {(api.split("/")[0], api.split("/")[2]) for api in provided_apis(self.rendered) if api.count("/") == 2}


# Argo CD reads an empty helm.apiVersions as unset and passes the cluster's API versions instead, so
# a chart that names none gets the core `v1`: every Helm's built-in list has it, so it changes nothing.
NO_OP_APIS = ("v1",)


def kube_version(parameters: Mapping[str, Any]) -> str:
    """The oldest supported minor: what a chart's kubeVersion constraints and version gates must accept."""
    return f"{parameters['kubernetes']['supported_versions'][0]}.0"


def first_pass_jobs(parameters_by_target: Mapping[str, Mapping[str, Any]], lock: Mapping[str, LockedChart],
                    setup: Setup) -> list[tuple[RenderJob, int]]:  # fmt: skip
    jobs: list[tuple[RenderJob, int]] = []
    for target, parameters in sorted(parameters_by_target.items()):
        if not compiles_manifests(parameters):
            continue
        for chart in delivery_plan(parameters).enabled_charts:
            if chart.key not in lock:
                raise ChartLockError(f"charts.lock: {chart.key}: not locked (run `make chart-lock`)")
            locked = lock[chart.key]
            package = fetch(locked, setup.chart_cache, setup.mirror, setup.helm)
            values = setup.compiled / target / "helm-values" / f"{chart.key}.yaml"
            if not values.exists():
                raise ChartLockError(f"{values}: missing; cluster {target} enables chart {chart.key} (run `make compile`)")
            job = RenderJob(target, chart.key, chart.namespace, package, locked.digest, values, kube_version(parameters))
            jobs.append((job, chart.wave))
    return jobs


def render_clusters(parameters_by_target: Mapping[str, Mapping[str, Any]], lock: Mapping[str, LockedChart],
                    setup: Setup) -> list[RenderedChart]:  # fmt: skip
    planned = first_pass_jobs(parameters_by_target, lock, setup)
    first = render_many([job for job, _ in planned], setup.helm, setup.render_cache)
    apis: dict[str, set[str]] = {}
    for job, path in first.items():
        apis.setdefault(job.target, set()).update(provided_apis(path))
    # Each chart gets the cluster's API versions its templates name (all it can react to): a chart
    # Application pins a short list, and a new CRD re-renders only the charts that look for it.
    second = [(job, replace(job, api_versions=tuple(sorted(apis[job.target] & mentioned_apis(job.package))) or NO_OP_APIS), wave)
              for job, wave in planned]  # fmt: skip
    # A chart that cannot read the API list renders the first pass's bytes again: Helm runs only for
    # the others. Its Application still pins the narrowed list (the render does not depend on it).
    final = render_many([narrowed for job, narrowed, _ in second if can_read_api_versions(job)], setup.helm, setup.render_cache)
    rendered = [(narrowed, wave, final[narrowed] if narrowed in final else first[job]) for job, narrowed, wave in second]
    return [RenderedChart(job.target, job.release, job.namespace, wave, job.values_file, path, path.stem,
                          job.kube_version, job.api_versions)
            for job, wave, path in rendered]  # fmt: skip
