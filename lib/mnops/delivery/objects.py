"""The objects a canary or blue-green service gets instead of its Deployment.

Rollout <name>                 the workload (full pod template), canary or blueGreen strategy
AnalysisTemplate <name>-release  error rate and P99 latency of the new pods, alert thresholds
Service <name>-canary | <name>-preview   the second Service Argo Rollouts steers
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mnops.delivery.analysis import HASH_ARG, release_checks
from mnops.delivery.model import Delivery
from mnops.errors import BuildError
from mnops.inventory.model import Service
from mnops.k8s.core import service
from mnops.k8s.meta import Identity
from mnops.k8s.rollouts import (
    API_VERSION,
    AnalysisRef,
    PrometheusMetric,
    analysis_template,
    blue_green_strategy,
    canary_strategy,
    gateway_api_routing,
    istio_routing,
    rollout,
)
from mnops.k8s.workloads import PodSpec

ROLLOUT_TARGET = (API_VERSION, "Rollout")


def analysis_name(svc: Service) -> str:
    return f"{svc.name}-release"


def release_analysis(svc: Service, plan: Delivery, identity: Identity) -> dict[str, Any]:
    if plan.prometheus_address is None:
        raise BuildError(f"{svc.name}: progressive delivery needs progressive_delivery.prometheus_address")
    # Blue-green analyses run a fixed number of measurements (pre and post promotion); a canary's
    # runs in the background until the rollout completes.
    count = plan.analysis.measurements if plan.strategy == "bluegreen" else None
    metrics = [
        PrometheusMetric(
            name=check.name,
            query=check.query,
            success_condition=check.success_condition,
            failure_condition=check.failure_condition,
            interval_seconds=plan.analysis.interval_seconds,
            failure_limit=plan.analysis.failure_limit,
            count=count,
            initial_delay_seconds=plan.analysis.window_seconds,
        )
        for check in release_checks(svc, plan.analysis.window_seconds)
    ]
    return analysis_template(
        analysis_name(svc), svc.namespace, identity, prometheus_address=plan.prometheus_address, args=[HASH_ARG], metrics=metrics
    )


def traffic_routing(svc: Service, plan: Delivery) -> dict[str, Any] | None:
    if plan.traffic_router is None:
        return None
    if plan.traffic_router == "istio":
        return istio_routing(svc.name)
    return gateway_api_routing(plan.traffic_router, http_route=svc.name, namespace=svc.namespace)


def release_objects(
    svc: Service, plan: Delivery, identity: Identity, *, pod: PodSpec, replicas: int | None, ports: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Rollout + AnalysisTemplate + the second Service, for a canary or blue-green service."""
    ref = AnalysisRef(analysis_name(svc), HASH_ARG)
    if plan.strategy == "canary":
        second = f"{svc.name}-canary"
        strategy = canary_strategy(
            stable_service=svc.name,
            canary_service=second,
            weights=plan.canary_steps,
            pause_seconds=plan.pause_seconds,
            analysis=ref,
            traffic_routing=traffic_routing(svc, plan),
        )
    elif plan.strategy == "bluegreen":
        second = f"{svc.name}-preview"
        # The old pods must outlive the post-promotion analysis, or a failed analysis has nothing
        # to switch back to.
        analysis_seconds = plan.analysis.measurements * plan.analysis.interval_seconds
        strategy = blue_green_strategy(
            active_service=svc.name,
            preview_service=second,
            analysis=ref,
            scale_down_delay_seconds=max(plan.scale_down_delay_seconds, analysis_seconds),
        )
    else:
        raise BuildError(f"{svc.name}: strategy {plan.strategy!r} does not use a Rollout")
    # The second Service selects the same pods (Argo Rollouts narrows it to the new ReplicaSet);
    # its own component label keeps ServiceMonitors that select `component: api` from scraping
    # every pod twice.
    role = "canary" if plan.strategy == "canary" else "preview"
    return [
        rollout(svc.name, svc.namespace, identity, pod=pod, replicas=replicas, strategy=strategy),
        release_analysis(svc, plan, identity),
        service(second, svc.namespace, replace(identity, component=role), ports),
    ]
