"""The plan of one cluster's Argo CD setup: which Applications exist, in which project and wave,
what they sync and which namespaces they create. Components, bootstrap, docs and tests share it.

    plan = delivery_plan(parameters)
    plan.applications        # root app-of-apps, folder apps, service apps, chart apps, by wave
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mnops.gitops.model import Chart, GitOps, build_gitops
from mnops.inventory.model import Target, build_target

SERVICE_WAVE = 10
# Folders whose objects live in Argo CD's own namespace.
ARGOCD_FOLDERS = ("argocd", "argocd-config")


@dataclass(frozen=True)
class PlannedApp:
    """One Argo CD Application, before it becomes an object."""

    name: str
    kind: str  # root | folder | service | chart
    wave: int
    project: str
    destination_namespace: str
    folder: str | None = None  # manifests/<folder> for root, folder and service apps
    chart: Chart | None = None
    creates_namespace: bool = False
    hpa_scaled: bool = False
    description: str = ""


@dataclass(frozen=True)
class DeliveryPlan:
    target: Target
    gitops: GitOps

    @property
    def name(self) -> str:
        return self.target.cluster.name

    @property
    def platform_project(self) -> str:
        return f"{self.name}-platform"

    @property
    def services_project(self) -> str:
        return f"{self.name}-services"

    @property
    def enabled_charts(self) -> tuple[Chart, ...]:
        return tuple(c for c in self.gitops.charts if c.enabled)

    def folder_path(self, folder: str) -> str:
        return f"compiled/{self.name}/manifests/{folder}"

    def values_file(self, chart: Chart) -> str:
        return f"compiled/{self.name}/helm-values/{chart.key}.yaml"

    @cached_property
    def declared_namespaces(self) -> frozenset[str]:
        """Namespaces created as Namespace objects by the `namespaces` folder."""
        return frozenset(self.target.namespaces.values())

    @cached_property
    def namespace_creators(self) -> dict[str, str]:
        """Namespace -> the chart that creates it (CreateNamespace), for namespaces no folder declares.

        The earliest chart (wave, then key) in a namespace creates it, so two charts sharing one
        (istio-base and istiod) never both own it.
        """
        creators: dict[str, str] = {}
        for chart in sorted(self.enabled_charts, key=lambda c: (c.wave, c.key)):
            if chart.namespace not in self.declared_namespaces:
                creators.setdefault(chart.namespace, chart.key)
        return creators

    @cached_property
    def owned_namespaces(self) -> frozenset[str]:
        return self.declared_namespaces | frozenset(self.namespace_creators) | {self.gitops.namespace}

    @cached_property
    def applications(self) -> tuple[PlannedApp, ...]:
        g, t = self.gitops, self.target
        apps: list[PlannedApp] = []
        for folder in g.folders:
            in_argocd = folder.name in ARGOCD_FOLDERS
            apps.append(
                PlannedApp(
                    name=self.name if folder.name == "argocd" else folder.name,
                    kind="root" if folder.name == "argocd" else "folder",
                    wave=folder.wave,
                    project=self.platform_project,
                    destination_namespace=g.namespace if in_argocd else t.namespaces["apps"],
                    folder=folder.name,
                    description=folder.description,
                )
            )
        for svc in t.services:
            apps.append(
                PlannedApp(
                    name=svc.name,
                    kind="service",
                    wave=SERVICE_WAVE,
                    project=self.services_project,
                    destination_namespace=svc.namespace,
                    folder=svc.name,
                    hpa_scaled=svc.autoscaling.enabled,
                    description=svc.description,
                )
            )
        for chart in self.enabled_charts:
            apps.append(
                PlannedApp(
                    name=chart.key,
                    kind="chart",
                    wave=chart.wave,
                    project=self.platform_project,
                    destination_namespace=chart.namespace,
                    chart=chart,
                    creates_namespace=self.namespace_creators.get(chart.namespace) == chart.key,
                    description=f"Helm chart {chart.chart} {chart.version} from {chart.repo_url}",
                )
            )
        return tuple(sorted(apps, key=lambda a: (a.wave, a.name)))

    @property
    def root(self) -> PlannedApp:
        return next(a for a in self.applications if a.kind == "root")

    def source_repos(self, project: str) -> tuple[str, ...]:
        repos = {self.target.repo_url}
        if project == self.platform_project:
            repos |= {c.argocd_repo_url for c in self.enabled_charts}
        return tuple(sorted(repos))

    def destination_namespaces(self, project: str) -> tuple[str, ...]:
        if project == self.services_project:
            return tuple(sorted({s.namespace for s in self.target.services}))
        return tuple(sorted(self.owned_namespaces))


def delivery_plan(parameters: Mapping[str, Any]) -> DeliveryPlan:
    return DeliveryPlan(build_target(parameters), build_gitops(parameters))
