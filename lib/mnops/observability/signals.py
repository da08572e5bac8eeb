"""Typed access to the signals sections of a target (dashboards, logging, tracing) for components."""

from __future__ import annotations

from dataclasses import dataclass

from mnops.inventory.model import Service, Target
from mnops.observability.dashboards import DashboardSettings
from mnops.observability.grafana import DatasourceUrls
from mnops.observability.logs import Logging, LogTarget, loki_query_url
from mnops.observability.tracing import Tracing, jaeger_query_url, otel_env
from mnops.workload_identity import workload_identity_annotations


@dataclass(frozen=True)
class DashboardsConfig:
    namespace: str
    folder: str
    settings: DashboardSettings
    urls: DatasourceUrls


def namespace_of(target: Target, role: str) -> str:
    return target.namespaces[role]


def dashboards_config(target: Target) -> DashboardsConfig:
    section = target.parameters["dashboards"]
    return DashboardsConfig(
        namespace=namespace_of(target, section["namespace_role"]),
        folder=section["folder"],
        settings=DashboardSettings(refresh=section["refresh"], time_from=section["time_from"]),
        urls=DatasourceUrls(
            prometheus=section["prometheus_url"],
            loki=loki_query_url(logging_namespace(target)),
            jaeger=jaeger_query_url(tracing_namespace(target)),
        ),
    )


def logging_config(target: Target) -> Logging:
    return Logging.from_parameters(target.parameters["logging"])


def logging_namespace(target: Target) -> str:
    return namespace_of(target, target.parameters["logging"]["namespace_role"])


def tracing_config(target: Target) -> Tracing:
    return Tracing.from_parameters(target.parameters["tracing"])


def tracing_namespace(target: Target) -> str:
    return namespace_of(target, target.parameters["tracing"]["namespace_role"])


def log_target(target: Target) -> LogTarget:
    namespace = logging_namespace(target)
    wi = target.cloud.get("workload_identity", {})
    annotations = {}
    if wi and logging_config(target).loki.mode == "simple-scalable":
        # Loki reaches its bucket through the cloud's workload identity, never with static keys.
        annotations = workload_identity_annotations(target.cloud, target.cluster.name, namespace, "loki")
    return LogTarget(
        cluster=target.cluster.name,
        environment=target.cluster.environment,
        region=target.cluster.region,
        namespace=namespace,
        storage_class=target.cloud["storage_class"],
        service_account_annotations=annotations,
        apps_namespace=target.namespaces["apps"],
        services=tuple(s.name for s in target.services),
        runbook_base=f"{target.repo_url.removesuffix('.git')}/blob/main/docs/operations.md",
    )


def service_otel_env(target: Target, svc: Service) -> dict[str, str]:
    """The OTEL_* variables for one service's ConfigMap."""
    return otel_env(
        svc.name,
        version=svc.image.tag,
        cfg=tracing_config(target),
        tracing_namespace=tracing_namespace(target),
        cluster=target.cluster.name,
        environment=target.cluster.environment,
        apps_namespace=svc.namespace,
    )
