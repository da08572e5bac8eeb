"""Builders for autoscaling/v2 HorizontalPodAutoscaler and policy/v1 PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata


def horizontal_pod_autoscaler(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    min_replicas: int,
    max_replicas: int,
    cpu_percent: int,
    memory_percent: int,
    target: tuple[str, str] = ("apps/v1", "Deployment"),
) -> dict[str, Any]:
    """Scales the workload of the same name (`target` = apiVersion, kind: a Deployment, or an Argo
    Rollout) on average CPU and memory use relative to requests."""
    if not 1 <= min_replicas <= max_replicas:
        raise BuildError(f"autoscaler {name}: need 1 <= min_replicas ({min_replicas}) <= max_replicas ({max_replicas})")

    def utilisation(resource: str, percent: int) -> dict[str, Any]:
        target = {"type": "Utilization", "averageUtilization": percent}
        return {"type": "Resource", "resource": {"name": resource, "target": target}}

    return k8s_object(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        metadata(name, identity, namespace),
        spec={
            "scaleTargetRef": {"apiVersion": target[0], "kind": target[1], "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [utilisation("cpu", cpu_percent), utilisation("memory", memory_percent)],
            # Scale up fast, scale down slowly: flapping costs more than idle pods.
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 60}],
                },
                "scaleDown": {"stabilizationWindowSeconds": 300, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
            },
        },
    )


def pod_disruption_budget(
    name: str, namespace: str, identity: Identity, *, max_unavailable: int | None = None, min_available: int | None = None
) -> dict[str, Any]:
    if (max_unavailable is None) == (min_available is None):
        raise BuildError(f"disruption budget {name}: set exactly one of max_unavailable and min_available")
    return k8s_object(
        "policy/v1",
        "PodDisruptionBudget",
        metadata(name, identity, namespace),
        spec={
            "maxUnavailable": max_unavailable,
            "minAvailable": min_available,
            "selector": {"matchLabels": identity.selector()},
            # Evict pods that are not ready even when the budget is exhausted, so a broken rollout
            # never blocks a node drain.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    )
