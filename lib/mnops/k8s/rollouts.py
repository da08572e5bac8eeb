"""Builders for Argo Rollouts kinds (argoproj.io/v1alpha1): Rollout and AnalysisTemplate.

A Rollout here carries the full pod template (it replaces the Deployment rather than pointing
at one through workloadRef): one workload object, so the HPA, the PDB and Argo CD all see the
same thing and there is no zero-replica Deployment to keep in step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, drop_empty_fields, k8s_object, metadata
from mnops.k8s.workloads import PodSpec

API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class AnalysisRef:
    """Which AnalysisTemplate a Rollout runs, and the pod-template-hash argument it passes."""

    template: str
    hash_arg: str

    def as_k8s(self) -> dict[str, Any]:
        # Latest = the new ReplicaSet: the canary, or the blue-green preview (then the new active).
        return {
            "templates": [{"templateName": self.template}],
            "args": [{"name": self.hash_arg, "valueFrom": {"podTemplateHashValue": "Latest"}}],
        }


def canary_strategy(
    *,
    stable_service: str,
    canary_service: str,
    weights: Sequence[int],
    pause_seconds: int,
    analysis: AnalysisRef,
    traffic_routing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """setWeight/pause for each weight, then 100% by promotion; analysis runs in the background
    from the first step and aborts (traffic back to stable) on failure."""
    if not weights:
        raise BuildError("a canary needs at least one traffic weight")
    if list(weights) != sorted(set(weights)) or weights[0] <= 0 or weights[-1] >= 100:
        raise BuildError(f"canary weights must increase strictly between 0 and 100, got {list(weights)}")
    if pause_seconds < 1:
        raise BuildError("a canary step must pause at least one second, or analysis never sees it")
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps += [{"setWeight": weight}, {"pause": {"duration": pause_seconds}}]
    return {
        "canary": drop_empty_fields(
            {
                "stableService": stable_service,
                "canaryService": canary_service,
                "maxSurge": "25%",
                "maxUnavailable": 0,
                "trafficRouting": dict(traffic_routing or {}),
                "analysis": analysis.as_k8s(),
                "steps": steps,
            }
        )
    }


def blue_green_strategy(
    *, active_service: str, preview_service: str, analysis: AnalysisRef, scale_down_delay_seconds: int
) -> dict[str, Any]:
    """Preview first, analysed before promotion; analysed again after the switch, when a failure
    switches the active Service back to the old pods, kept for `scale_down_delay_seconds`."""
    if active_service == preview_service:
        raise BuildError("blue-green needs different active and preview Services")
    if scale_down_delay_seconds < 30:
        raise BuildError("keep the old version at least 30 s after promotion, or a post-promotion rollback has nowhere to go")
    return {
        "blueGreen": {
            "activeService": active_service,
            "previewService": preview_service,
            "autoPromotionEnabled": True,
            "prePromotionAnalysis": analysis.as_k8s(),
            "postPromotionAnalysis": analysis.as_k8s(),
            "scaleDownDelaySeconds": scale_down_delay_seconds,
        }
    }


def gateway_api_routing(plugin: str, http_route: str, namespace: str) -> dict[str, Any]:
    """Argo Rollouts' Gateway API plugin shifts weights between the HTTPRoute's two backendRefs."""
    return {"plugins": {plugin: {"httpRoute": http_route, "namespace": namespace}}}


def istio_routing(virtual_service: str) -> dict[str, Any]:
    return {"istio": {"virtualService": {"name": virtual_service}}}


def rollout(
    name: str, namespace: str, identity: Identity, *, pod: PodSpec, replicas: int | None, strategy: Mapping[str, Any]
) -> dict[str, Any]:
    """replicas=None leaves the count to a HorizontalPodAutoscaler targeting this Rollout."""
    if replicas is not None and replicas < 1:
        raise BuildError(f"rollout {name}: replicas must be at least 1")
    if len(strategy) != 1 or next(iter(strategy)) not in ("canary", "blueGreen"):
        raise BuildError(f"rollout {name}: strategy must be exactly one of canary or blueGreen")
    return k8s_object(
        API_VERSION,
        "Rollout",
        metadata(name, identity, namespace),
        spec={
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            # A rollout that does not become healthy in 10 minutes is aborted, not left half-done.
            "progressDeadlineSeconds": 600,
            "progressDeadlineAbort": True,
            "selector": {"matchLabels": identity.selector()},
            "strategy": dict(strategy),
            "template": pod.template(identity),
        },
    )


@dataclass(frozen=True)
class PrometheusMetric:
    name: str
    query: str
    success_condition: str
    failure_condition: str
    interval_seconds: int
    failure_limit: int
    count: int | None = None
    # Seconds before the first measurement, so that the query's rate window holds only new pods' data.
    initial_delay_seconds: int | None = None  # None: runs until the rollout finishes (canary background analysis)


def analysis_template(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    prometheus_address: str,
    args: Sequence[str],
    metrics: Sequence[PrometheusMetric],
) -> dict[str, Any]:
    if not metrics:
        raise BuildError(f"analysis template {name} needs at least one metric")
    for metric in metrics:
        # With one condition only, Argo Rollouts reads "not failed" as a pass, so no data would pass.
        if not metric.success_condition or not metric.failure_condition:
            raise BuildError(f"analysis template {name}: metric {metric.name} needs both a success and a failure condition")
    if not prometheus_address.startswith(("http://", "https://")):
        raise BuildError(f"analysis template {name}: Prometheus address {prometheus_address!r} is not an http(s) URL")
    for metric in metrics:
        for arg in args:
            if f"{{{{args.{arg}}}}}" not in metric.query:
                raise BuildError(f"analysis template {name}: metric {metric.name} ignores argument {arg}")
    return k8s_object(
        API_VERSION,
        "AnalysisTemplate",
        metadata(name, identity, namespace),
        spec={
            "args": [{"name": arg} for arg in args],
            "metrics": [
                drop_empty_fields(
                    {
                        "name": m.name,
                        "initialDelay": f"{m.initial_delay_seconds}s" if m.initial_delay_seconds else None,
                        "interval": f"{m.interval_seconds}s",
                        "count": m.count,
                        "failureLimit": m.failure_limit,
                        "successCondition": m.success_condition,
                        "failureCondition": m.failure_condition,
                        "provider": {"prometheus": {"address": prometheus_address, "query": m.query}},
                    }
                )
                for m in metrics
            ],
        },
    )
