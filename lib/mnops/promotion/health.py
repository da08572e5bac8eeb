"""The health gate: did every serving cluster of the source environment run this release healthily?

Four questions per cluster, each answered by the system that knows (not by git):
  1. Argo CD: is the service's Application Synced and Healthy, running exactly this image?
  2. Argo Rollouts (through Argo CD's resource API): did the Rollout finish (stable = current
     pod hash) with the image, and did every AnalysisRun of that pod hash succeed?
  3. Prometheus ALERTS: is no P0/P1 alert of the service firing?
  4. Prometheus, the SLO recording rule: is the remaining error budget at or above the threshold?
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from mnops.promotion.api import Evidence, EvidenceUnavailable
from mnops.promotion.release import BLOCKING_PRIORITIES, ReleaseTarget

ROLLOUT_GROUP = "argoproj.io"
ROLLOUT_VERSION = "v1alpha1"


@dataclass(frozen=True)
class Check:
    """One answered question; `detail` is the evidence or the reason it failed."""

    cluster: str
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def line(self, service: str, source: str, destination: str) -> str:
        """The one-line answer: what happens and, if refused, the first reason."""
        step = f"{service} {source} -> {destination}"
        if not self.checks:
            return f"promotion refused: {step}: no serving cluster of {source} runs {service}"
        failed = [check for check in self.checks if not check.ok]
        if not failed:
            clusters = ", ".join(sorted({check.cluster for check in self.checks}))
            return f"promotion allowed: {step}: {source} ({clusters}) ran it healthily ({len(self.checks)} checks passed)"
        first = failed[0]
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        return f"promotion refused: {step}: {first.cluster}: {first.name}: {first.detail}{more}"


def _manifest(evidence: Evidence, target: ReleaseTarget, kind: str, name: str) -> dict[str, Any]:
    """A live object through Argo CD's resource API (its answer carries the object as a JSON string)."""
    query = {
        "namespace": target.namespace,
        "resourceName": name,
        "group": ROLLOUT_GROUP,
        "version": ROLLOUT_VERSION,
        "kind": kind,
    }
    answer = evidence.argocd(target.cluster, f"/api/v1/applications/{target.application}/resource", query)
    manifest = answer.get("manifest") if isinstance(answer, dict) else None
    if not isinstance(manifest, str):
        raise EvidenceUnavailable(f"Argo CD returned no manifest for {kind} {name}")
    document = json.loads(manifest)
    if not isinstance(document, dict):
        raise EvidenceUnavailable(f"Argo CD returned a {type(document).__name__} for {kind} {name}")
    return document


def check_application(evidence: Evidence, target: ReleaseTarget) -> Check:
    app = evidence.argocd(target.cluster, f"/api/v1/applications/{target.application}")
    status = app.get("status") or {}
    sync = (status.get("sync") or {}).get("status", "Unknown")
    health = (status.get("health") or {}).get("status", "Unknown")
    revision = str((status.get("sync") or {}).get("revision", "?"))[:12]
    images = list((status.get("summary") or {}).get("images") or [])
    name = f"Argo CD Application {target.application}"
    if sync != "Synced" or health != "Healthy":
        return Check(target.cluster, name, False, f"is {sync} and {health}, not Synced and Healthy")
    if target.image not in images:
        shown = ", ".join(images) or "none"
        return Check(target.cluster, name, False, f"runs {shown}, not {target.image}")
    return Check(target.cluster, name, True, f"Synced and Healthy at revision {revision}, running {target.image}")


def check_rollout(evidence: Evidence, target: ReleaseTarget) -> tuple[Check, str | None]:
    """The Rollout's check and, when it completed, the pod hash its AnalysisRuns are named after."""
    name = f"Rollout {target.service}"
    rollout = _manifest(evidence, target, "Rollout", target.service)
    status = rollout.get("status") or {}
    phase = status.get("phase", "Unknown")
    containers = ((rollout.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    images = [str(c.get("image")) for c in containers]
    if target.image not in images:
        return Check(target.cluster, name, False, f"template runs {', '.join(images) or 'nothing'}, not {target.image}"), None
    current, stable = status.get("currentPodHash"), status.get("stableRS")
    if phase != "Healthy" or not current or current != stable:
        why = status.get("message") or f"stable ReplicaSet {stable}, current {current}"
        return Check(target.cluster, name, False, f"did not complete: phase {phase} ({why})"), None
    return Check(target.cluster, name, True, f"completed, phase Healthy, stable pod hash {stable}"), str(stable)


def check_analysis(evidence: Evidence, target: ReleaseTarget, pod_hash: str) -> Check:
    """Every AnalysisRun of the release's pod hash Successful, and at least one of them."""
    name = f"AnalysisRuns of {target.service}-{pod_hash}"
    tree = evidence.argocd(target.cluster, f"/api/v1/applications/{target.application}/resource-tree")
    runs = sorted(
        str(node["name"])
        for node in tree.get("nodes") or []
        if node.get("kind") == "AnalysisRun" and str(node.get("name", "")).startswith(f"{target.service}-{pod_hash}-")
    )
    if not runs:
        return Check(target.cluster, name, False, "none ran for this release, but its Rollout has analysis")
    phases = {run: (_manifest(evidence, target, "AnalysisRun", run).get("status") or {}).get("phase", "Unknown") for run in runs}
    failed = {run: phase for run, phase in phases.items() if phase != "Successful"}
    if failed:
        listed = ", ".join(f"{run} {phase}" for run, phase in sorted(failed.items()))
        return Check(target.cluster, name, False, f"analysis did not pass: {listed}")
    return Check(target.cluster, name, True, f"{len(runs)} Successful: {', '.join(runs)}")


def alerts_query(service: str) -> str:
    priorities = "|".join(BLOCKING_PRIORITIES)
    return f'ALERTS{{alertstate="firing",service="{service}",priority=~"{priorities}"}}'


def check_alerts(evidence: Evidence, target: ReleaseTarget) -> Check:
    name = "firing P0/P1 alerts"
    firing = evidence.prometheus(target.cluster, alerts_query(target.service))
    if firing:
        listed = ", ".join(sorted(f"{s['metric'].get('alertname', '?')} ({s['metric'].get('priority', '?')})" for s in firing))
        return Check(target.cluster, name, False, f"{listed} firing for {target.service}")
    watched = ", ".join(target.blocking_alerts) or "none defined"
    return Check(target.cluster, name, True, f"none firing (watched: {watched})")


def budget_query(target: ReleaseTarget) -> str:
    return f'{target.budget_metric}{{service="{target.service}"}}'


def check_budget(evidence: Evidence, target: ReleaseTarget) -> Check:
    name = "error budget"
    if target.budget_metric is None:
        return Check(
            target.cluster, name, False, f"the compiled rules define no error-budget recording rule for {target.service}"
        )
    series = evidence.prometheus(target.cluster, budget_query(target))
    if not series:
        return Check(target.cluster, name, False, f"no data for {budget_query(target)}")
    remaining = {str(s["metric"].get("slo", "?")): float(s["value"][1]) for s in series}
    low = {slo: value for slo, value in remaining.items() if not value >= target.min_budget}  # NaN counts as spent
    shown = ", ".join(f"{slo} {value:.1%}" for slo, value in sorted(remaining.items()))
    if low:
        spent = ", ".join(f"{slo} {value:.1%}" for slo, value in sorted(low.items()))
        return Check(target.cluster, name, False, f"{spent} remaining, below the {target.min_budget:.0%} threshold")
    return Check(target.cluster, name, True, f"{shown} remaining (threshold {target.min_budget:.0%})")


def _asked(target: ReleaseTarget, name: str, ask: Callable[[], Check]) -> Check:
    try:
        return ask()
    except EvidenceUnavailable as error:
        return Check(target.cluster, name, False, f"could not be checked: {error}")


def judge(evidence: Evidence, targets: list[ReleaseTarget]) -> Verdict:
    checks: list[Check] = []
    for target in targets:
        checks.append(_asked(target, "Argo CD Application", partial(check_application, evidence, target)))
        if target.workload_kind == "Rollout":
            try:
                rollout, pod_hash = check_rollout(evidence, target)
            except EvidenceUnavailable as error:
                rollout, pod_hash = (
                    Check(target.cluster, f"Rollout {target.service}", False, f"could not be checked: {error}"),
                    None,
                )
            checks.append(rollout)
            if target.analysis and pod_hash is not None:
                checks.append(_asked(target, "AnalysisRuns", partial(check_analysis, evidence, target, pod_hash)))
        checks.append(_asked(target, "firing P0/P1 alerts", partial(check_alerts, evidence, target)))
        checks.append(_asked(target, "error budget", partial(check_budget, evidence, target)))
    return Verdict(tuple(checks))
