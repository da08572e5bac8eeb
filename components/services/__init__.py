"""The application services: one folder per service under manifests/.

Per service: ServiceAccount, ConfigMap (content-hashed name), Deployment, Service,
HorizontalPodAutoscaler (when enabled) and PodDisruptionBudget. A service whose `delivery`
strategy is canary or bluegreen gets an Argo Rollout instead of the Deployment, plus its
AnalysisTemplate and a canary/preview Service (mnops.delivery.objects).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.delivery import delivery_plan
from mnops.delivery.objects import ROLLOUT_TARGET, release_objects
from mnops.inventory import Target
from mnops.inventory.model import Service
from mnops.k8s.core import config_map, service, service_account
from mnops.k8s.scaling import horizontal_pod_autoscaler, pod_disruption_budget
from mnops.k8s.workloads import Container, HttpProbes, PodSpec, deployment, zone_spread
from mnops.observability.signals import service_otel_env
from mnops.workload_identity import workload_identity_annotations


def cloud_identity_annotations(target: Target, svc: Service) -> dict[str, str]:
    if not svc.cloud_identity:
        return {}
    return workload_identity_annotations(target.cloud, target.cluster.name, svc.namespace, svc.name)


def service_objects(target: Target, svc: Service) -> list[dict[str, Any]]:
    ident = identity(target, svc.name, "api", version=svc.image.tag)
    # Tracing settings (OTEL_*) come from the inventory's `tracing` section; the service's own config wins.
    config = config_map(f"{svc.name}-config", svc.namespace, ident, {**service_otel_env(target, svc), **svc.config})
    ports = {"http": svc.port}
    if svc.metrics_port != svc.port:
        ports["metrics"] = svc.metrics_port
    container = Container(
        name=svc.name,
        image=svc.image.reference,
        ports=ports,
        resources=svc.resources.as_k8s(),
        probes=HttpProbes(
            port_name="http",
            liveness_path=svc.probes.liveness_path,
            readiness_path=svc.probes.readiness_path,
            startup_timeout_seconds=svc.probes.startup_timeout_seconds,
            period_seconds=svc.probes.period_seconds,
        ),
        env_from_config_maps=[config["metadata"]["name"]],
        env_from_secrets=[ref.name for ref in svc.secret_refs],
        writable_paths={"tmp": "/tmp"},  # noqa: S108 - a pod-private emptyDir, not a shared host /tmp  # nosec B108
    )
    wi_labels = target.cloud["workload_identity"].get("pod_labels", {}) if svc.cloud_identity else {}
    pod = PodSpec(
        service_account=svc.name,
        containers=[container],
        termination_grace_seconds=svc.termination_grace_seconds,
        spread=zone_spread(ident) if svc.topology_spread else (),
        pod_labels=wi_labels,
    )
    replicas = None if svc.autoscaling.enabled else svc.replicas
    plan = delivery_plan(target, svc)
    if plan.progressive:
        workload = release_objects(svc, plan, ident, pod=pod, replicas=replicas, ports=ports)
        scale_target = ROLLOUT_TARGET
    else:
        workload = [deployment(svc.name, svc.namespace, ident, pod=pod, replicas=replicas)]
        scale_target = ("apps/v1", "Deployment")
    objects = [
        service_account(svc.name, svc.namespace, ident, annotations=cloud_identity_annotations(target, svc)),
        config,
        *workload,
        service(svc.name, svc.namespace, ident, ports),
        pod_disruption_budget(
            svc.name, svc.namespace, ident, max_unavailable=svc.max_unavailable, min_available=svc.min_available
        ),
    ]
    if svc.autoscaling.enabled:
        auto = svc.autoscaling
        objects.append(
            horizontal_pod_autoscaler(
                svc.name,
                svc.namespace,
                ident,
                min_replicas=auto.min_replicas,
                max_replicas=auto.max_replicas,
                cpu_percent=auto.target_cpu_utilization,
                memory_percent=auto.target_memory_utilization,
                target=scale_target,
            )
        )
    return objects


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    return output({svc.name: service_objects(target, svc) for svc in target.services})
