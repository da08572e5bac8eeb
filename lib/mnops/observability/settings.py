"""Typed view of the `monitoring` inventory section (schema: inventory/schema/monitoring.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PRIORITIES: tuple[str, ...] = ("P0", "P1", "P2", "P3")
ROUTE_KEYS: tuple[str, ...] = (*PRIORITIES, "info")
CHART = "kube-prometheus-stack"


@dataclass(frozen=True)
class Timing:
    group_wait: str
    group_interval: str
    repeat_interval: str


@dataclass(frozen=True)
class Receiver:
    name: str
    type: str  # pagerduty, slack, email
    channel: str | None = None
    to: str | None = None
    sender: str | None = None
    smarthost: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class BusinessHours:
    weekdays: str
    start: str
    end: str
    location: str


@dataclass(frozen=True)
class PrometheusSettings:
    replicas: int
    retention: str
    retention_size: str
    storage_size: str
    resources: Mapping[str, Mapping[str, str]]
    remote_write_url: str | None
    remote_write_secret: str | None


@dataclass(frozen=True)
class AlertmanagerSettings:
    replicas: int
    storage_size: str
    resources: Mapping[str, Mapping[str, str]]
    secret: str
    group_by: tuple[str, ...]
    receivers: tuple[Receiver, ...]
    routes: Mapping[str, tuple[str, ...]]  # route key -> receiver names, sorted
    timings: Mapping[str, Timing]
    business_hours: BusinessHours

    @property
    def secret_dir(self) -> str:
        """Where the operator mounts `alertmanagerSpec.secrets` entries."""
        return f"/etc/alertmanager/secrets/{self.secret}"


@dataclass(frozen=True)
class Monitoring:
    namespace: str
    chart_version: str
    scrape_interval: str
    evaluation_interval: str
    response_target: str
    prometheus: PrometheusSettings
    alertmanager: AlertmanagerSettings
    redis_exporter_port: int
    postgres_port_name: str


def _resources(raw: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    return {kind: {k: str(v) for k, v in sorted(amounts.items())} for kind, amounts in sorted(raw.items())}


def monitoring_settings(parameters: Mapping[str, Any]) -> Monitoring:
    """Build from validated parameters (schema and rules passed)."""
    m = parameters["monitoring"]
    chart = parameters["charts"][CHART]
    p, a = m["prometheus"], m["alertmanager"]
    receivers = tuple(
        Receiver(
            name=name,
            type=r["type"],
            channel=r.get("channel"),
            to=r.get("to"),
            sender=r.get("from"),
            smarthost=r.get("smarthost"),
            username=r.get("username"),
        )
        for name, r in sorted(a["receivers"].items())
    )
    routes = {key: tuple(sorted(n for n, on in a["routes"][key].items() if on)) for key in ROUTE_KEYS}
    return Monitoring(
        namespace=chart["namespace"],
        chart_version=chart["version"],
        scrape_interval=m["scrape_interval"],
        evaluation_interval=m["evaluation_interval"],
        response_target=m["response_target"],
        prometheus=PrometheusSettings(
            replicas=p["replicas"],
            retention=p["retention"],
            retention_size=p["retention_size"],
            storage_size=p["storage_size"],
            resources=_resources(p["resources"]),
            remote_write_url=p.get("remote_write_url"),
            remote_write_secret=p.get("remote_write_secret"),
        ),
        alertmanager=AlertmanagerSettings(
            replicas=a["replicas"],
            storage_size=a["storage_size"],
            resources=_resources(a["resources"]),
            secret=a["secret"],
            group_by=tuple(a["group_by"]),
            receivers=receivers,
            routes=routes,
            timings={key: Timing(**a["timings"][key]) for key in ROUTE_KEYS},
            business_hours=BusinessHours(**a["business_hours"]),
        ),
        redis_exporter_port=m["exporters"]["redis_port"],
        postgres_port_name=m["exporters"]["postgres_port_name"],
    )
