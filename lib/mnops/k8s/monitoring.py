"""Builders for prometheus-operator kinds (monitoring.coreos.com/v1): ServiceMonitor, PodMonitor, PrometheusRule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

API_VERSION = "monitoring.coreos.com/v1"


def service_monitor(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    selector: Mapping[str, str],
    target_namespace: str,
    port: str,
    path: str,
    interval: str | None = None,
    honor_labels: bool = False,
) -> dict[str, Any]:
    """Scrapes the named port of every Service matching `selector` in `target_namespace`.

    Prometheus labels each series with the Service name as `service` (the metric contract's label).
    `honor_labels` keeps the exporter's own `namespace`/`name` labels (controllers reporting on
    objects in other namespaces) instead of renaming them `exported_*`.
    """
    if not selector:
        raise BuildError(f"service monitor {name} needs a selector, otherwise it scrapes every Service")
    if not path.startswith("/"):
        raise BuildError(f"service monitor {name}: path {path!r} must start with /")
    endpoint = {"port": port, "path": path, "interval": interval, "honorLabels": honor_labels}
    return k8s_object(
        API_VERSION,
        "ServiceMonitor",
        metadata(name, identity, namespace),
        spec={
            "selector": {"matchLabels": dict(sorted(selector.items()))},
            "namespaceSelector": {"matchNames": [target_namespace]},
            "endpoints": [endpoint],
        },
    )


def static_label(name: str, value: str) -> dict[str, str]:
    """A relabeling that sets `name` to a fixed `value` on every target of a monitor."""
    return {"action": "replace", "targetLabel": name, "replacement": value}


def pod_monitor(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    target_namespace: str,
    match_labels: Mapping[str, str] | None = None,
    match_expressions: Sequence[Mapping[str, Any]] = (),
    port_name: str | None = None,
    port_number: int | None = None,
    path: str = "/metrics",
    pod_target_labels: Sequence[str] = (),
    relabelings: Sequence[Mapping[str, str]] = (),
    scheme: str | None = None,
    scrape_class: str | None = None,
) -> dict[str, Any]:
    """Scrapes pods directly: exporter sidecars, operators that publish no Service port, and
    services whose pods change Service during a release (Argo Rollouts' stable/canary Services).

    `pod_target_labels` copies pod labels onto every series; Prometheus label names cannot hold
    `-` or `.`, so the operator writes `rollouts-pod-template-hash` as `rollouts_pod_template_hash`.
    """
    if (port_name is None) == (port_number is None):
        raise BuildError(f"pod monitor {name}: give exactly one of port_name or port_number")
    if not match_labels and not match_expressions:
        raise BuildError(f"pod monitor {name} needs a selector, otherwise it scrapes every pod")
    if not path.startswith("/"):
        raise BuildError(f"pod monitor {name}: path {path!r} must start with /")
    endpoint = {
        "port": port_name,
        "portNumber": port_number,
        "path": path,
        "scheme": scheme,
        "relabelings": [dict(r) for r in relabelings],
    }
    selector = {
        "matchLabels": dict(sorted((match_labels or {}).items())),
        "matchExpressions": [dict(e) for e in match_expressions],
    }
    return k8s_object(
        API_VERSION,
        "PodMonitor",
        metadata(name, identity, namespace),
        spec={
            "selector": selector,
            "namespaceSelector": {"matchNames": [target_namespace]},
            "podTargetLabels": list(pod_target_labels),
            "podMetricsEndpoints": [endpoint],
            # A scrape class of the Prometheus object (its TLS files, for one): monitors can only name it.
            "scrapeClass": scrape_class,
        },
    )


def prometheus_label_name(pod_label: str) -> str:
    """The label name prometheus-operator gives a pod label in `podTargetLabels` (invalid characters
    become `_`, as Prometheus' `labelmap` of `__meta_kubernetes_pod_label_*` does)."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in pod_label)


def prometheus_rule(name: str, namespace: str, identity: Identity, groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The operator loads these into Prometheus; each group needs a unique name and at least one rule."""
    names = [g["name"] for g in groups]
    if len(set(names)) != len(names):
        raise BuildError(f"prometheus rule {name}: group names repeat: {sorted(names)}")
    for group in groups:
        if not group.get("rules"):
            raise BuildError(f"prometheus rule {name}: group {group['name']} has no rules")
    return k8s_object(API_VERSION, "PrometheusRule", metadata(name, identity, namespace), spec={"groups": list(groups)})
