"""What a healthy run of a release looks like, read from the inventory and the compiled tree.

Everything the gate asks Argo CD and Prometheus is derived from what Argo CD applies and what
Prometheus evaluates: the Application whose source is the service's folder, the workload's image
reference, the P0/P1 alerts and the error-budget recording rule the compiled rules really define.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnops import yamlio

# Alert priorities that block a promotion (the seed's "Critical" alerts).
BLOCKING_PRIORITIES = ("P0", "P1")
# Standby clusters run a release only after a failover; their health says nothing about it.
SERVING_ROLES = frozenset({"primary"})


@dataclass(frozen=True)
class ReleaseTarget:
    """One cluster of the source environment and what it must show for the release to count."""

    cluster: str
    service: str
    namespace: str
    application: str
    workload_kind: str  # "Rollout" or "Deployment"
    image: str  # the reference Argo CD applies, repository:tag[@sha256:...]
    analysis: bool  # the Rollout runs Prometheus analysis during its steps
    blocking_alerts: tuple[str, ...]  # P0/P1 alert names the compiled rules define for the service
    budget_metric: str | None  # the recording rule with the remaining error budget
    min_budget: float  # review.promotion.min_error_budget_remaining of the source environment

    @property
    def digest(self) -> str | None:
        return self.image.split("@", 1)[1] if "@" in self.image else None


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yamlio.load_all(path.read_text()) if isinstance(doc, dict)] if path.exists() else []


def _workload(folder: Path, service: str) -> tuple[str, dict[str, Any]] | None:
    for file_name, kind in (("rollout.yaml", "Rollout"), ("deployment.yaml", "Deployment")):
        for doc in _documents(folder / file_name):
            if doc.get("kind") == kind:
                return kind, doc
    return None


def _container_image(workload: Mapping[str, Any], service: str) -> str:
    containers = workload["spec"]["template"]["spec"]["containers"]
    named = [c for c in containers if c.get("name") == service] or containers[:1]
    return str(named[0]["image"])


def _application(cluster_dir: Path, cluster: str, service: str) -> str:
    wanted = f"compiled/{cluster}/manifests/{service}"
    for doc in _documents(cluster_dir / "manifests" / "argocd" / "application.yaml"):
        if (doc.get("spec", {}).get("source") or {}).get("path") == wanted:
            return str(doc["metadata"]["name"])
    return service


def _rules(cluster_dir: Path) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted((cluster_dir / "rules").glob("*.yaml")):
        for doc in _documents(path):
            for group in doc.get("groups") or []:
                rules.extend(rule for rule in group.get("rules") or [] if isinstance(rule, dict))
    return rules


def blocking_alerts(rules: list[dict[str, Any]], service: str) -> tuple[str, ...]:
    names = {
        str(rule["alert"])
        for rule in rules
        if "alert" in rule
        and (rule.get("labels") or {}).get("service") == service
        and (rule.get("labels") or {}).get("priority") in BLOCKING_PRIORITIES
    }
    return tuple(sorted(names))


def budget_metric(rules: list[dict[str, Any]], service: str) -> str | None:
    names = sorted(
        str(rule["record"])
        for rule in rules
        if "error_budget" in str(rule.get("record", "")) and (rule.get("labels") or {}).get("service") == service
    )
    return names[0] if names else None


def min_budget(parameters: Mapping[str, Any]) -> float:
    promotion = ((parameters.get("review") or {}).get("promotion")) or {}
    return float(promotion.get("min_error_budget_remaining", 0.0))


def release_targets(
    compiled: Path, parameters: Mapping[str, Mapping[str, Any]], service: str, environment: str
) -> list[ReleaseTarget]:
    """Every serving cluster of `environment` that runs `service`, in name order."""
    targets: list[ReleaseTarget] = []
    for cluster, params in sorted(parameters.items()):
        info = params.get("cluster") or {}
        if info.get("environment") != environment or info.get("role", "primary") not in SERVING_ROLES:
            continue
        cluster_dir = compiled / cluster
        found = _workload(cluster_dir / "manifests" / service, service)
        if found is None:
            continue
        kind, workload = found
        canary = (workload.get("spec", {}).get("strategy") or {}).get("canary") or {}
        blue_green = (workload.get("spec", {}).get("strategy") or {}).get("blueGreen") or {}
        steps = canary.get("steps") or []
        analysis = bool(
            canary.get("analysis")
            or any("analysis" in step for step in steps)
            or blue_green.get("prePromotionAnalysis")
            or blue_green.get("postPromotionAnalysis")
        )
        rules = _rules(cluster_dir)
        targets.append(
            ReleaseTarget(
                cluster=cluster,
                service=service,
                namespace=str(workload["metadata"].get("namespace", "")),
                application=_application(cluster_dir, cluster, service),
                workload_kind=kind,
                image=_container_image(workload, service),
                analysis=analysis,
                blocking_alerts=blocking_alerts(rules, service),
                budget_metric=budget_metric(rules, service),
                min_budget=min_budget(params),
            )
        )
    return targets
