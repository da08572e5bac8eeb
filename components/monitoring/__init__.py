"""Metrics and alerting for one target, from the inventory (classes/platform/monitoring.yml).

One component, four Kapitan compile entries (input_params.output):
  manifests     manifests/monitoring/: a PodMonitor per service and one for Redis (PostgreSQL's
                comes with its Cluster), PrometheusRules (recording, SLO, alerts)
  rules         rules/<file>.yaml: the same rule groups as raw files for promtool
  alertmanager  alertmanager/alertmanager.yaml: the route tree and receivers
  helm-values   helm-values/kube-prometheus-stack.yaml: the chart's values (embeds the above config)
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.data.managed import uses_in_cluster
from mnops.delivery.analysis import POD_HASH_LABELS
from mnops.inventory import Target
from mnops.inventory.model import Service
from mnops.k8s.monitoring import pod_monitor, prometheus_rule, service_monitor, static_label
from mnops.observability.alertmanager import alertmanager_config
from mnops.observability.helm_values import kube_prometheus_stack_values
from mnops.observability.mesh_scrape import SCRAPE_CLASS, scrapes_through_mesh
from mnops.observability.platform_alerts import platform_groups
from mnops.observability.rule_sizing import pack_groups, split_groups
from mnops.observability.rules import rule_files
from mnops.observability.settings import Monitoring, monitoring_settings

APP = "monitoring"


def service_pod_monitor(target: Target, svc: Service, namespace: str) -> dict[str, Any]:
    """Every pod of the service, scraped once, whichever Service (stable, canary, preview) it is
    behind at the moment: a ServiceMonitor on the stable Service never sees a canary's pods, and
    one on each Service scrapes every pod twice once the release completes. The pod-template hash
    stays on each series so that analysis can tell the new pods from the old."""
    port = "http" if svc.metrics_port == svc.port else "metrics"  # the container port names services/ uses
    # With the mesh's STRICT mTLS, the same port over https with Prometheus' Istio certificate
    # (observability/mesh_scrape.py): the target and its labels stay as they are.
    mesh = scrapes_through_mesh(target.parameters)
    return pod_monitor(
        svc.name,
        namespace,
        identity(target, svc.name, "monitoring"),
        target_namespace=svc.namespace,
        match_labels=identity(target, svc.name, "api").selector(),
        port_name=port,
        path=svc.metrics_path,
        pod_target_labels=POD_HASH_LABELS,
        # The metric contract's `service` label, which a ServiceMonitor would take from the Service name.
        relabelings=[static_label("service", svc.name)],
        scheme="https" if mesh else None,
        scrape_class=SCRAPE_CLASS if mesh else None,
    )


def gateway_proxy_monitor(target: Target, namespace: str) -> dict[str, Any] | None:
    """Envoy Gateway's proxies (the data plane the controller creates) publish Envoy's stats on
    their `metrics` port (19001) at /stats/prometheus; the gateway alerts read them."""
    proxy = target.parameters.get("network", {}).get("gateway_proxy")
    if "gateway" not in target.parameters or not proxy:
        return None
    return pod_monitor(
        "envoy-gateway-proxy",
        namespace,
        identity(target, "envoy-gateway", "monitoring"),
        target_namespace=proxy["namespace"],
        match_labels=proxy["pod_labels"],
        port_name="metrics",
        path="/stats/prometheus",
    )


def monitoring_objects(target: Target, monitoring: Monitoring) -> list[dict[str, Any]]:
    ns = monitoring.namespace
    objects: list[dict[str, Any]] = []
    for svc in target.services:
        objects.append(service_pod_monitor(target, svc, ns))
    data_ns = target.namespaces.get("data")
    if data_ns and uses_in_cluster(target.services, target.parameters, "redis"):
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
    proxy = gateway_proxy_monitor(target, ns)
    if proxy is not None:
        objects.append(proxy)
    # PostgreSQL's instances are scraped by the PodMonitor components/postgres ships beside its
    # Cluster, and PgBouncer by the one the operator makes for the Pooler: a second monitor here
    # would count every cnpg_* series twice.
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
    for stem, content in sized_rule_files(target).items():
        for name, groups in pack_groups(stem, content["groups"]).items():
            objects.append(prometheus_rule(name, ns, ident, groups))
    return objects


def sized_rule_files(target: Target) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The rule files with alert groups cut to a size Prometheus evaluates in one interval."""
    files = rule_files(target)
    # The platform components' alerts ride in the alerts file (their own group), so every tool
    # that loads the alert rules (promtool, the preview, Prometheus) loads them too.
    files["mnops-alerts"] = {"groups": [*files["mnops-alerts"]["groups"], *platform_groups(target)]}
    return {stem: {"groups": split_groups(content["groups"])} for stem, content in files.items()}


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    monitoring = monitoring_settings(target.parameters)
    kind = input_params["output"]
    if kind == "manifests":
        return output({APP: monitoring_objects(target, monitoring)})
    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    if kind == "rules":
        for stem, content in sized_rule_files(target).items():
            result[stem] = content
    elif kind == "alertmanager":
        result["alertmanager"] = alertmanager_config(monitoring.alertmanager)
    elif kind == "helm-values":
        config = alertmanager_config(monitoring.alertmanager)
        result["kube-prometheus-stack"] = kube_prometheus_stack_values(target, monitoring, config)
    else:
        raise ValueError(f"components/monitoring: unknown output {kind!r} (manifests, rules, alertmanager, helm-values)")
    return result
