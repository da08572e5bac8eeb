"""First sync on an empty cluster: can Argo CD create every object in the order of its waves?

Argo CD creates Applications in sync-wave order and waits for each wave to be healthy. An object
can be created once the API server knows its kind: a built-in kind, a kind whose CRD the same
Application installs (Argo CD applies CRDs first and skips the dry run for their resources), or a
kind whose CRD an Application in an earlier wave installed. The Argo CD chart's own CRDs exist
before anything syncs: the bootstrap needs Argo CD running. An object that says
`SkipDryRunOnMissingResource=true` declares that its CRD comes at run time (an operator installs it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mnops.charts.cluster import RenderedChart
from mnops.gitops.plan import delivery_plan
from mnops.manifest_validation import builtin_validator

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
RUNTIME_CRD = "SkipDryRunOnMissingResource=true"


@dataclass(frozen=True)
class AppObjects:
    """One Application's objects as Argo CD will create them."""

    name: str
    wave: int
    objects: tuple[Mapping[str, Any], ...]
    installed_before_sync: bool = False  # Argo CD itself: its CRDs exist before the first sync
    provides: frozenset[tuple[str, str]] = frozenset()  # (group, kind) of the CRDs it installs

    def provided(self) -> set[tuple[str, str]]:
        crds = {_crd_group_kind(o) for o in self.objects if o.get("kind") == "CustomResourceDefinition"}
        return crds | set(self.provides)


def group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion", ""))
    return (api_version.rpartition("/")[0], str(obj.get("kind", "")))


def _crd_group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    spec = obj.get("spec") or {}
    return (str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))


def cluster_apps(parameters: Mapping[str, Any], compiled: Path, rendered: Sequence[RenderedChart]) -> list[AppObjects]:
    """Every Application of one cluster with its objects: folders from compiled/, charts from their render."""
    plan = delivery_plan(parameters)
    charts = {r.key: r for r in rendered if r.target == plan.name}
    apps: list[AppObjects] = []
    for app in plan.applications:
        if app.chart is not None:
            chart = charts[app.chart.key]
            objects = tuple(chart.objects_of_kind(without_crds=True))
            apps.append(AppObjects(app.name, app.wave, objects, app.chart.chart == "argo-cd", frozenset(chart.crd_group_kinds())))
        elif app.folder is not None:
            folder = compiled / plan.name / "manifests" / app.folder
            docs = [d for p in sorted(folder.rglob("*.yaml")) for d in yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader)]
            apps.append(AppObjects(app.name, app.wave, tuple(d for d in docs if isinstance(d, dict) and d.get("kind"))))
    return apps


def first_sync_problems(cluster: str, apps: Sequence[AppObjects], kube_versions: Sequence[str]) -> list[str]:
    providers: dict[tuple[str, str], AppObjects] = {}
    for app in sorted(apps, key=lambda a: (not a.installed_before_sync, a.wave, a.name)):
        for provided in sorted(app.provided()):
            providers.setdefault(provided, app)
    problems: list[str] = []
    for app in apps:
        for obj in app.objects:
            group, kind = group_kind(obj)
            if any(builtin_validator(v, str(obj["apiVersion"]), kind) for v in kube_versions):
                continue
            provider = providers.get((group, kind))
            if provider is not None and (provider is app or provider.installed_before_sync or provider.wave < app.wave):
                continue
            if RUNTIME_CRD in str(((obj.get("metadata") or {}).get("annotations") or {}).get(SYNC_OPTIONS, "")):
                continue
            name = (obj.get("metadata") or {}).get("name", "?")
            where = f"{cluster}: Application {app.name} (wave {app.wave}): {kind} {name}"
            if provider is None:
                problems.append(f"{where}: no Application installs the CRD for {group}/{kind}")
            else:
                problems.append(f"{where}: its CRD comes from Application {provider.name} in wave {provider.wave}, "
                                f"which is not earlier: move {app.name} to a later wave")  # fmt: skip
    return sorted(set(problems))
