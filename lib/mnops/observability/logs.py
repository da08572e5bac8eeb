"""Logging: Loki per environment, a log collector (Grafana Alloy or Promtail) and Loki ruler alerts.

The log contract, like the metric contract: services write JSON lines to stdout (LOG_FORMAT=json)
with a `level` field and, inside a trace, a `trace_id` field. The collector attaches the same
labels whichever one runs, so queries, dashboards and alerts do not care:

    cluster, environment   external labels of the collector (the target)
    namespace, pod, container  from the pod
    service                the pod's app.kubernetes.io/name label
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from mnops.errors import BuildError

LOG_LABELS: tuple[str, ...] = ("cluster", "container", "environment", "namespace", "pod", "service")
ERROR_LEVELS = "error|critical|fatal"
COLLECTORS = ("alloy", "promtail")
LOKI_TENANT = "fake"  # Loki's tenant name when auth_enabled is false

# (Kubernetes service-discovery label, our label): one list drives both collectors.
POD_LABELS: tuple[tuple[str, str], ...] = (
    ("__meta_kubernetes_namespace", "namespace"),
    ("__meta_kubernetes_pod_name", "pod"),
    ("__meta_kubernetes_pod_container_name", "container"),
    ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "service"),
)


def service_selector(namespace: str, service: str | None = None) -> str:
    """LogQL stream selector for one service's logs (or every service in the namespace)."""
    matchers = [f'namespace="{namespace}"'] + ([f'service="{service}"'] if service else [])
    return "{" + ", ".join(matchers) + "}"


def error_lines_selector(namespace: str, service: str | None = None) -> str:
    """LogQL log query for error lines: JSON-parsed, level error or worse."""
    return f'{service_selector(namespace, service)} | json | level=~"{ERROR_LEVELS}"'


@dataclass(frozen=True)
class ErrorLogAlert:
    lines_per_second: float
    for_duration: str


@dataclass(frozen=True)
class LokiSettings:
    mode: str  # monolithic or simple-scalable
    replicas: int
    storage_size: str
    bucket: str | None


@dataclass(frozen=True)
class Logging:
    collector: str
    retention: str
    loki: LokiSettings
    error_log_alert: ErrorLogAlert
    alertmanager_url: str

    @staticmethod
    def from_parameters(section: Mapping[str, Any]) -> Logging:
        loki, alert = section["loki"], section["error_log_alert"]
        return Logging(
            collector=section["collector"],
            retention=section["retention"],
            loki=LokiSettings(loki["mode"], loki["replicas"], loki["storage_size"], loki.get("bucket")),
            error_log_alert=ErrorLogAlert(alert["lines_per_second"], alert["for"]),
            alertmanager_url=section["alertmanager_url"],
        )


@dataclass(frozen=True)
class LogTarget:
    """What the logging builders need to know about the cluster."""

    cluster: str
    environment: str
    region: str
    namespace: str  # where Loki and the collector run
    storage_class: str
    service_account_annotations: Mapping[str, str]
    apps_namespace: str
    services: tuple[str, ...]
    runbook_base: str


def loki_push_url(namespace: str) -> str:
    return f"http://loki-gateway.{namespace}.svc.cluster.local/loki/api/v1/push"


def loki_query_url(namespace: str) -> str:
    return f"http://loki-gateway.{namespace}.svc.cluster.local"


def error_log_rules(cfg: Logging, target: LogTarget) -> dict[str, Any]:
    """Loki ruler rule group: error-log rate per service, labelled like the Prometheus alerts."""
    rules = []
    for service in target.services:
        threshold = cfg.error_log_alert.lines_per_second
        rules.append(
            {
                "alert": "ServiceErrorLogRateHigh",
                "expr": f"sum by (service) (rate({error_lines_selector(target.apps_namespace, service)} [5m])) > {threshold:g}",
                "for": cfg.error_log_alert.for_duration,
                "labels": {"severity": "warning", "priority": "P2", "service": service, "source": "loki"},
                "annotations": {
                    "summary": f"{service} logs more than {threshold:g} error lines per second",
                    "description": f"{service} in {target.cluster} has logged {{{{ $value | humanize }}}} error lines/s "
                    f"for {cfg.error_log_alert.for_duration}.",
                    "runbook_url": f"{target.runbook_base}#serviceerrorlogratehigh",
                },
            }
        )
    return {"groups": [{"name": "mnops-error-logs", "interval": "1m", "rules": rules}]}


def _write_persistence(persistence: dict[str, Any]) -> dict[str, Any]:
    return {"volumeClaimsEnabled": persistence["enabled"], **{k: v for k, v in persistence.items() if k != "enabled"}}


def loki_values(cfg: Logging, target: LogTarget) -> dict[str, Any]:
    """Values for the grafana-community `loki` chart."""
    scalable = cfg.loki.mode == "simple-scalable"
    if scalable and not cfg.loki.bucket:
        raise BuildError("Loki in simple-scalable mode needs an object storage bucket (logging.loki.bucket)")
    persistence = {"enabled": True, "size": cfg.loki.storage_size, "storageClass": target.storage_class}
    loki: dict[str, Any] = {
        "auth_enabled": False,
        "commonConfig": {"replication_factor": min(3, cfg.loki.replicas)},
        "schemaConfig": {
            "configs": [
                {
                    "from": "2026-01-01",
                    "store": "tsdb",
                    "object_store": "s3" if scalable else "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "loki_index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {"retention_period": cfg.retention, "volume_enabled": True},
        "compactor": {"retention_enabled": True, "delete_request_store": "s3" if scalable else "filesystem"},
        "rulerConfig": {
            "alertmanager_url": cfg.alertmanager_url,
            "enable_alertmanager_v2": True,
            "enable_api": True,
            # Rules come from ruler.directories below, mounted at /etc/loki/rules/<tenant>.
            "storage": {"type": "local", "local": {"directory": "/etc/loki/rules"}},
            "external_labels": {"cluster": target.cluster, "environment": target.environment},
        },
        "storage": (
            {
                "type": "s3",
                "bucketNames": {"chunks": cfg.loki.bucket, "ruler": cfg.loki.bucket, "admin": cfg.loki.bucket},
                "s3": {"region": target.region},
            }
            if scalable
            else {"type": "filesystem"}
        ),
    }
    values: dict[str, Any] = {
        "deploymentMode": "SimpleScalable" if scalable else "Monolithic",
        "loki": loki,
        "serviceAccount": {"annotations": dict(target.service_account_annotations)},
        "singleBinary": {"replicas": 0 if scalable else cfg.loki.replicas, "persistence": persistence},
        # The write target's StatefulSet switches its claims with `volumeClaimsEnabled`; it has no `enabled`.
        "write": {"replicas": cfg.loki.replicas if scalable else 0, "persistence": _write_persistence(persistence)},
        "read": {"replicas": cfg.loki.replicas if scalable else 0},
        "backend": {"replicas": cfg.loki.replicas if scalable else 0, "persistence": persistence},
        "ruler": {
            "directories": {LOKI_TENANT: {"mnops-error-logs.yaml": yaml.safe_dump(error_log_rules(cfg, target), sort_keys=True)}}
        },
        # The chart's own test and canary need a running cluster; Argo CD does not run helm tests.
        "test": {"enabled": False},
        "lokiCanary": {"enabled": scalable},
        "chunksCache": {"enabled": scalable},
        "resultsCache": {"enabled": scalable},
        "minio": {"enabled": False},
        "monitoring": {"serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}},
    }
    return values


def _relabel_rules_alloy() -> list[str]:
    rules = [f'  rule {{\n    source_labels = ["{source}"]\n    target_label  = "{label}"\n  }}' for source, label in POD_LABELS]
    rules.append(
        "  rule {\n"
        '    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]\n'
        '    separator     = "/"\n'
        '    target_label  = "__path__"\n'
        '    replacement   = "/var/log/pods/*$1/*.log"\n'
        "  }"
    )
    return rules


def alloy_config(target: LogTarget) -> str:
    """Alloy configuration: tail this node's pod logs, label them, push to Loki."""
    return "\n".join(
        [
            "// Generated by components/logging from the inventory; do not edit.",
            'discovery.kubernetes "pods" {',
            '  role = "pod"',
            "  selectors {",
            '    role  = "pod"',
            '    field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)',
            "  }",
            "}",
            "",
            'discovery.relabel "pods" {',
            "  targets = discovery.kubernetes.pods.targets",
            *_relabel_rules_alloy(),
            "}",
            "",
            'local.file_match "pods" {',
            "  path_targets = discovery.relabel.pods.output",
            "}",
            "",
            'loki.source.file "pods" {',
            "  targets    = local.file_match.pods.targets",
            "  forward_to = [loki.process.pods.receiver]",
            "}",
            "",
            'loki.process "pods" {',
            "  stage.cri {}",
            "  // loki.source.file adds the file path; it is not one of our labels.",
            '  stage.label_drop {\n    values = ["filename"]\n  }',
            "  forward_to = [loki.write.default.receiver]",
            "}",
            "",
            'loki.write "default" {',
            "  endpoint {",
            f'    url = "{loki_push_url(target.namespace)}"',
            "  }",
            f'  external_labels = {{\n    cluster     = "{target.cluster}",\n    environment = "{target.environment}",\n  }}',
            "}",
            "",
        ]
    )


def alloy_values(target: LogTarget) -> dict[str, Any]:
    """Values for the grafana `alloy` chart: a DaemonSet reading /var/log/pods."""
    return {
        "controller": {"type": "daemonset"},
        "alloy": {
            "configMap": {"create": True, "content": alloy_config(target)},
            "mounts": {"varlog": True},
            # Anonymous usage reports would phone home from every node.
            "enableReporting": False,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        },
        "serviceMonitor": {"enabled": True, "additionalLabels": {"release": "kube-prometheus-stack"}},
    }


def promtail_values(target: LogTarget) -> dict[str, Any]:
    """Values for the grafana `promtail` chart (end of life 2026-03-02): same labels as Alloy."""
    common = [{"action": "replace", "source_labels": [source], "target_label": label} for source, label in POD_LABELS]
    common.append(
        {
            "action": "replace",
            "source_labels": ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"],
            "separator": "/",
            "target_label": "__path__",
            "replacement": "/var/log/pods/*$1/*.log",
        }
    )
    return {
        "config": {
            "clients": [
                {
                    "url": loki_push_url(target.namespace),
                    "external_labels": {"cluster": target.cluster, "environment": target.environment},
                }
            ],
            "snippets": {
                "common": common,
                # The chart's scrape job also sets app, instance, component, job and filename: drop them so
                # the label set is exactly Alloy's.
                "pipelineStages": [{"cri": {}}, {"labeldrop": ["app", "component", "filename", "instance", "job", "node_name"]}],
            },
        },
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    }


def collector_values(cfg: Logging, target: LogTarget) -> tuple[str, dict[str, Any]]:
    if cfg.collector == "alloy":
        return "alloy", alloy_values(target)
    if cfg.collector == "promtail":
        return "promtail", promtail_values(target)
    raise BuildError(f"unknown log collector {cfg.collector!r}; choose one of {COLLECTORS}")
