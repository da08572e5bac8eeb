"""Builders the data layer needs besides its operators' kinds: PodMonitor, PrometheusRule (typed
alerts; the object itself comes from mnops.k8s.monitoring), ExternalSecret and CronJob."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mnops.errors import BuildError
from mnops.k8s import monitoring
from mnops.k8s.meta import Identity, drop_empty_fields, k8s_object, metadata
from mnops.k8s.workloads import CONTAINER_SECURITY_CONTEXT
from mnops.units import check_cron

PRIORITIES = ("P0", "P1", "P2", "P3")
SEVERITIES = ("critical", "warning", "info")


def pod_monitor(
    name: str, namespace: str, identity: Identity, *, selector: Mapping[str, str], port: str, interval: str = "30s"
) -> dict[str, Any]:
    """Scrape `port` on the pods matching `selector` (prometheus-operator)."""
    if not selector:
        raise BuildError(f"pod monitor {name} needs a label selector")
    return k8s_object(
        "monitoring.coreos.com/v1",
        "PodMonitor",
        metadata(name, identity, namespace),
        spec={
            "selector": {"matchLabels": dict(sorted(selector.items()))},
            "podMetricsEndpoints": [{"port": port, "interval": interval}],
        },
    )


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    priority: str
    service: str
    summary: str
    description: str
    runbook_url: str

    def as_rule(self) -> dict[str, Any]:
        if self.severity not in SEVERITIES:
            raise BuildError(f"alert {self.name}: severity must be one of {SEVERITIES}")
        if self.priority not in PRIORITIES:
            raise BuildError(f"alert {self.name}: priority must be one of {PRIORITIES}")
        if not self.runbook_url.startswith("https://"):
            raise BuildError(f"alert {self.name}: runbook_url must be an https link to the runbook")
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "priority": self.priority, "service": self.service},
            "annotations": {"summary": self.summary, "description": self.description, "runbook_url": self.runbook_url},
        }


def prometheus_rule(name: str, namespace: str, identity: Identity, *, groups: Mapping[str, Sequence[Alert]]) -> dict[str, Any]:
    """Alert groups by name; alert names must be unique across the object."""
    seen: set[str] = set()
    for alerts in groups.values():
        for alert in alerts:
            if alert.name in seen:
                raise BuildError(f"prometheus rule {name}: alert {alert.name} is defined twice")
            seen.add(alert.name)
    rule_groups = [{"name": group, "rules": [a.as_rule() for a in alerts]} for group, alerts in sorted(groups.items()) if alerts]
    return monitoring.prometheus_rule(name, namespace, identity, rule_groups)


def external_secret(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    store_kind: str,
    store_name: str,
    keys: Mapping[str, tuple[str, str | None]],
    refresh_interval: str = "1h",
) -> dict[str, Any]:
    """A Secret `name` whose keys come from the cloud secret manager: key -> (remote key, property)."""
    if not keys:
        raise BuildError(f"external secret {name} needs at least one key")
    data = [
        {"secretKey": key, "remoteRef": drop_empty_fields({"key": remote, "property": prop})}
        for key, (remote, prop) in sorted(keys.items())
    ]
    return k8s_object(
        "external-secrets.io/v1",
        "ExternalSecret",
        metadata(name, identity, namespace),
        spec={
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"kind": store_kind, "name": store_name},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": data,
        },
    )


@dataclass(frozen=True)
class JobContainer:
    name: str
    image: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # env var -> (secret, key)
    mounts: Mapping[str, str] = field(default_factory=dict)  # volume -> path

    def as_k8s(self) -> dict[str, Any]:
        if not self.command:
            raise BuildError(f"job container {self.name} needs a command")
        env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(self.env.items())]
        env += [
            {"name": k, "valueFrom": {"secretKeyRef": {"name": s, "key": key}}} for k, (s, key) in sorted(self.secret_env.items())
        ]
        return drop_empty_fields(
            {
                "name": self.name,
                "image": self.image,
                "imagePullPolicy": "IfNotPresent",
                "command": list(self.command),
                "env": env,
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
                "securityContext": CONTAINER_SECURITY_CONTEXT,
                "volumeMounts": [{"name": v, "mountPath": p} for v, p in sorted(self.mounts.items())],
            }
        )


def cron_job(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    cron: str,
    service_account: str,
    init_containers: Sequence[JobContainer],
    containers: Sequence[JobContainer],
    scratch_volumes: Sequence[str],
    pod_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A CronJob that never runs twice at once; scratch volumes are pod-private emptyDirs."""
    try:
        check_cron(cron)
    except ValueError as error:
        raise BuildError(f"cron job {name}: {error}") from None
    if not containers:
        raise BuildError(f"cron job {name} needs at least one container")
    pod = {
        "metadata": {"labels": {**identity.labels(), **(pod_labels or {})}},
        "spec": {
            "serviceAccountName": service_account,
            "restartPolicy": "OnFailure",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "initContainers": [c.as_k8s() for c in init_containers],
            "containers": [c.as_k8s() for c in containers],
            "volumes": [{"name": v, "emptyDir": {}} for v in sorted(scratch_volumes)],
        },
    }
    return k8s_object(
        "batch/v1",
        "CronJob",
        metadata(name, identity, namespace),
        spec={
            "schedule": cron,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "activeDeadlineSeconds": 1800, "template": pod}},
        },
    )
