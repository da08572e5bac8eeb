"""Metrics and alerting for one target, from the inventory (classes/platform/monitoring.yml).

One component, four Kapitan compile entries (input_params.output):
  manifests     manifests/monitoring/: ServiceMonitor per service, PodMonitors for Redis and
                PostgreSQL, PrometheusRules (recording, SLO, alerts)
  rules         rules/<file>.yaml: the same rule groups as raw files for promtool
  alertmanager  alertmanager/alertmanager.yaml: the route tree and receivers
  helm-values   helm-values/kube-prometheus-stack.yaml: the chart's values (embeds the above config)
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.inventory import Target
from mnops.k8s.monitoring import pod_monitor, prometheus_rule, service_monitor
from mnops.observability.alertmanager import alertmanager_config
from mnops.observability.helm_values import kube_prometheus_stack_values
from mnops.observability.rules import rule_files
from mnops.observability.settings import Monitoring, monitoring_settings

APP = "monitoring"


def monitoring_objects(target: Target, monitoring: Monitoring) -> list[dict[str, Any]]:
    ns = monitoring.namespace
    objects: list[dict[str, Any]] = []
    for svc in target.services:
        ident = identity(target, svc.name, "monitoring")
        port = "http" if svc.metrics_port == svc.port else "metrics"  # the Service port names services/ uses
        objects.append(
            service_monitor(
                svc.name,
                ns,
                ident,
                # component=api: only the service's own Service, not the canary/preview Service that
                # Argo Rollouts adds (same pods), which would scrape every pod twice.
                selector={"app.kubernetes.io/name": svc.name, "app.kubernetes.io/component": "api"},
                target_namespace=svc.namespace,
                port=port,
                path=svc.metrics_path,
            )
        )
    data_ns = target.namespaces.get("data")
    if data_ns and any(s.dependencies.redis for s in target.services):
        objects.append(
            pod_monitor(
                "redis",
                ns,
                identity(target, "redis", "monitoring"),
                target_namespace=data_ns,
                match_labels={"app.kubernetes.io/name": "redis"},
                port_number=monitoring.redis_exporter_port,
            )
        )
    if data_ns and any(s.dependencies.postgres for s in target.services):
        objects.append(
            pod_monitor(
                "postgresql",
                ns,
                identity(target, "postgresql", "monitoring"),
                target_namespace=data_ns,
                match_expressions=[{"key": "cnpg.io/cluster", "operator": "Exists"}],
                port_name=monitoring.postgres_port_name,
                pod_target_labels=["cnpg.io/cluster"],
            )
        )
    rollouts = target.parameters["charts"].get("argo-rollouts", {})
    if rollouts.get("enabled"):
        # The controller's rollout_info drives DeploymentStarted/Completed for Rollouts; its
        # `namespace` label names the Rollout's namespace, so keep it (honor_labels).
        objects.append(
            service_monitor(
                "argo-rollouts",
                ns,
                identity(target, "argo-rollouts", "monitoring"),
                selector={"app.kubernetes.io/name": "argo-rollouts", "app.kubernetes.io/component": "rollouts-controller"},
                target_namespace=rollouts["namespace"],
                port="metrics",
                path="/metrics",
                honor_labels=True,
            )
        )
    ident = identity(target, "mnops-rules", "monitoring")
    for stem, content in rule_files(target).items():
        objects.append(prometheus_rule(stem, ns, ident, content["groups"]))
    return objects


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    monitoring = monitoring_settings(target.parameters)
    kind = input_params["output"]
    if kind == "manifests":
        return output({APP: monitoring_objects(target, monitoring)})
    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    if kind == "rules":
        for stem, content in rule_files(target).items():
            result[stem] = content
    elif kind == "alertmanager":
        result["alertmanager"] = alertmanager_config(monitoring.alertmanager)
    elif kind == "helm-values":
        config = alertmanager_config(monitoring.alertmanager)
        result["kube-prometheus-stack"] = kube_prometheus_stack_values(target, monitoring, config)
    else:
        raise ValueError(f"components/monitoring: unknown output {kind!r} (manifests, rules, alertmanager, helm-values)")
    return result
