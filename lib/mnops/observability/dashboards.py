"""The dashboards every target ships, built from the inventory's services and SLOs.

    platform overview      mnops-overview         every service's RED and saturation at a glance
    one per service        mnops-svc-<service>    RED, saturation, dependencies and its logs (Loki)
    SLO and error budget   mnops-slo              availability and latency SLOs, budget left, burn rates
    business metrics       mnops-business         active users, memory operations, cache hits, reports
    Redis / PostgreSQL     mnops-redis / -postgres redis_exporter and CloudNativePG metrics

Queries use only names from `contract.py` (raw service metrics and the `service:*` recording
rules) and `exporters.py`; the tests parse every query and enforce that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from mnops.data.managed import uses_in_cluster
from mnops.inventory.model import Service, Target
from mnops.observability.grafana import JAEGER_UID, LOKI_UID, Dashboard, Link, Panel, Query, Row, Variable
from mnops.observability.logs import error_lines_selector, service_selector
from mnops.observability.reliability import reliability_panels

TAGS = ("machine-native-ops", "generated")
SERVICE_TAG = "service-dashboard"  # every per-service dashboard carries it; the overview lists them by it
SLO_WINDOW = "30d"  # the error budget period


@dataclass(frozen=True)
class DashboardSettings:
    refresh: str
    time_from: str


def _seconds(ms: int) -> str:
    """A histogram `le` label value for a latency in milliseconds, as Prometheus clients write it."""
    return f"{ms / 1000:g}"


def _sel(service: str, extra: str = "") -> str:
    return "{" + f'service="{service}"' + (f", {extra}" if extra else "") + "}"


FIVE_XX = 'code=~"5.."'


def _error_ratio(service: str, window: str) -> str:
    errors = _sel(service, FIVE_XX)
    return f"sum(rate(http_requests_total{errors}[{window}])) / sum(rate(http_requests_total{_sel(service)}[{window}]))"


def overview(target: Target, settings: DashboardSettings) -> Dashboard:
    apps_ns = target.namespaces["apps"]
    items: list[Panel | Row] = [
        Row("Traffic"),
        Panel("Requests per second", (Query("sum by (service) (service:http_requests:rate5m)", "{{service}}"),), unit="reqps"),
        Panel(
            "Error ratio (5xx)",
            (Query("max by (service) (service:http_errors:ratio_rate5m)", "{{service}}"),),
            unit="percentunit",
            thresholds=((0.01, "orange"), (0.05, "red")),
        ),
        Panel(
            "P99 latency",
            (Query("max by (service) (service:http_request_duration_seconds:p99_5m)", "{{service}}"),),
            unit="s",
            thresholds=((0.5, "orange"), (1, "red")),
        ),
        Panel(
            "P95 latency",
            (Query("max by (service) (service:http_request_duration_seconds:p95_5m)", "{{service}}"),),
            unit="s",
            thresholds=((0.1, "orange"),),
        ),
        Row("Saturation"),
        Panel(
            "CPU used / limit",
            (Query("max by (service) (service:cpu_usage:ratio_limit)", "{{service}}"),),
            unit="percentunit",
            thresholds=((0.7, "orange"), (0.8, "red")),
        ),
        Panel(
            "Memory used / limit",
            (Query("max by (service) (service:memory_usage:ratio_limit)", "{{service}}"),),
            unit="percentunit",
            thresholds=((0.8, "orange"), (0.85, "red")),
        ),
        Row("Logs"),
        Panel(
            "Error log lines per second",
            (Query(f"sum by (service) (rate({error_lines_selector(apps_ns)} [5m]))", "{{service}}", LOKI_UID),),
            unit="short",
            width=24,
        ),
    ]
    # One drop-down of every service dashboard (they carry SERVICE_TAG), not a link per service.
    links = (Link("Services", tags=(SERVICE_TAG,)),)
    return Dashboard(
        "mnops-overview",
        f"Platform overview ({target.cluster.name})",
        TAGS,
        tuple(items),
        "Every service's rate, errors, latency and saturation.",
        settings.refresh,
        settings.time_from,
        links,
    )


def traces_explore_url(service: str) -> str:
    """Grafana Explore on the Jaeger datasource, searching this service's traces of the last hour."""
    pane = {
        "datasource": JAEGER_UID,
        "queries": [
            {"refId": "A", "datasource": {"type": "jaeger", "uid": JAEGER_UID}, "queryType": "search", "service": service}
        ],
        "range": {"from": "now-1h", "to": "now"},
    }
    return "/explore?schemaVersion=1&orgId=1&panes=" + quote(json.dumps({"traces": pane}, sort_keys=True, separators=(",", ":")))


def service_uid(name: str) -> str:
    return f"mnops-svc-{name}"


def service_dashboard(target: Target, svc: Service, settings: DashboardSettings) -> Dashboard:
    s, alerts = svc.name, svc.alerts
    items: list[Panel | Row] = [
        Row("Rate, errors, duration"),
        Panel("Requests per second", (Query(f"service:http_requests:rate5m{_sel(s)}", "total"),), unit="reqps", width=8),
        Panel(
            "Requests by status code",
            (Query(f"sum by (code) (rate(http_requests_total{_sel(s)}[5m]))", "{{code}}"),),
            unit="reqps",
            width=8,
        ),
        Panel(
            "Error ratio (5xx)",
            (Query(f"service:http_errors:ratio_rate5m{_sel(s)}", "5xx"),),
            unit="percentunit",
            width=8,
            thresholds=((alerts.error_rate_percent / 100, "red"),),
            description=f"Alert above {alerts.error_rate_percent:g}% for {alerts.for_duration}.",
        ),
        Panel(
            "Latency percentiles",
            (
                Query(f"service:http_request_duration_seconds:p50_5m{_sel(s)}", "p50"),
                Query(f"service:http_request_duration_seconds:p95_5m{_sel(s)}", "p95"),
                Query(f"service:http_request_duration_seconds:p99_5m{_sel(s)}", "p99"),
            ),
            unit="s",
            thresholds=((svc.slo.latency_p95_ms / 1000, "orange"), (alerts.latency_p99_seconds, "red")),
            description=(
                f"SLO: p95 < {svc.slo.latency_p95_ms} ms, p99 < {svc.slo.latency_p99_ms} ms;"
                f" alert p99 > {alerts.latency_p99_seconds:g} s."
            ),
        ),
        Panel(
            "Slowest routes (p99)",
            (
                Query(
                    f"histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{_sel(s)}[5m])))",
                    "{{route}}",
                ),
            ),
            unit="s",
        ),
        Row("Saturation"),
        Panel(
            "CPU used / limit",
            (Query(f"service:cpu_usage:ratio_limit{_sel(s)}", "cpu"),),
            unit="percentunit",
            width=6,
            thresholds=((alerts.cpu_percent / 100, "red"),),
        ),
        Panel(
            "Memory used / limit",
            (Query(f"service:memory_usage:ratio_limit{_sel(s)}", "memory"),),
            unit="percentunit",
            width=6,
            thresholds=((alerts.memory_percent / 100, "red"),),
        ),
        Panel(
            "CPU seconds per pod",
            (Query(f"sum by (pod) (rate(process_cpu_seconds_total{_sel(s)}[5m]))", "{{pod}}"),),
            unit="short",
            width=6,
        ),
        Panel(
            "Resident memory per pod",
            (Query(f"sum by (pod) (process_resident_memory_bytes{_sel(s)})", "{{pod}}"),),
            unit="bytes",
            width=6,
        ),
    ]
    if svc.dependencies.redis:
        items += [
            Row("Cache"),
            Panel(
                "Cache hit ratio",
                (Query(f"service:cache_hit:ratio_rate5m{_sel(s)}", "hit ratio"),),
                unit="percentunit",
                width=24,
                thresholds=((alerts.cache_hit_rate_percent / 100, "green"),),
                description=f"Alert below {alerts.cache_hit_rate_percent}%.",
                min=0,
                max=1,
            ),
        ]
    items += [
        Row("Logs"),
        Panel(
            "Error log lines per second",
            (Query(f"sum(rate({error_lines_selector(svc.namespace, s)} [5m]))", "errors", LOKI_UID),),
            width=24,
            height=6,
        ),
        Panel(f"{s} logs", (Query(service_selector(svc.namespace, s), datasource=LOKI_UID),), kind="logs", width=24, height=12),
    ]
    links = (
        Link("Platform overview", "/d/mnops-overview"),
        Link("SLO and error budget", "/d/mnops-slo"),
        Link(f"Traces of {s} (Jaeger)", traces_explore_url(s)),
    )
    return Dashboard(
        service_uid(s),
        f"{s} ({target.cluster.name})",
        (*TAGS, SERVICE_TAG, s),
        tuple(items),
        svc.description,
        settings.refresh,
        settings.time_from,
        links,
    )


SERVICE_VARIABLE = Variable("service", "Service", "service:slo_objective:ratio")
CLUSTER_VARIABLE = Variable("cluster", "Cluster", "service:slo_objective:ratio")


def _chosen(slo: str = "", extra: str = "") -> str:
    """The services and clusters picked in the dashboard's variables (and one SLO kind)."""
    labels = ['service=~"$service"', 'cluster=~"$cluster"'] + ([f'slo="{slo}"'] if slo else []) + ([extra] if extra else [])
    return "{" + ", ".join(labels) + "}"


def _budget(slo: str) -> str:
    """The allowed error ratio of the chosen service's SLO, from its recorded objective."""
    return f"(1 - max(service:slo_objective:ratio{_chosen(slo)}))"


def _p95_errors() -> str:
    return f"service:slo_errors:ratio_rate5m{_chosen('latency-p95')}"


def _chosen_error_ratio(window: str) -> str:
    errors, total = _chosen(extra=FIVE_XX), _chosen()
    return f"sum(rate(http_requests_total{errors}[{window}])) / sum(rate(http_requests_total{total}[{window}]))"


def slo_dashboard(target: Target, settings: DashboardSettings) -> Dashboard:
    """One row per service, repeated by Grafana over $service: the JSON is the same size for four
    services or a thousand. Per-service objectives come from the recorded
    `service:slo_objective:ratio` series (mnops.observability.rules), not from constants here."""
    lowest = min((svc.slo.availability_percent for svc in target.services), default=99.9)
    items: list[Panel | Row] = [
        Row("$service", repeat=SERVICE_VARIABLE.name),
        Panel(
            f"Availability ({SLO_WINDOW})",
            (Query(f"1 - ({_chosen_error_ratio(SLO_WINDOW)})", "availability"),),
            kind="stat",
            unit="percentunit",
            width=6,
            height=5,
            thresholds=((lowest / 100, "green"),),
            description="Share of non-5xx responses; green from the lowest availability objective of this cluster's services.",
        ),
        Panel(
            f"Error budget left ({SLO_WINDOW})",
            (Query(f"1 - (({_chosen_error_ratio(SLO_WINDOW)}) / {_budget('availability')})", "budget left"),),
            kind="stat",
            unit="percentunit",
            width=6,
            height=5,
            thresholds=((0.25, "orange"), (0.5, "green")),
        ),
        Panel(
            f"Requests within the p95 latency objective ({SLO_WINDOW})",
            (
                Query(
                    f"1 - max(avg_over_time(service:slo_errors:ratio_rate5m{_chosen('latency-p95')}[{SLO_WINDOW}]))",
                    "fast requests",
                ),
            ),
            kind="stat",
            unit="percentunit",
            width=6,
            height=5,
            thresholds=((0.95, "green"),),
            description="The objective is 95%: requests faster than the service's p95 threshold (inventory slo.latency_p95_ms).",
        ),
        Panel(
            "Burn rate (1 = budget lasts the window)",
            tuple(
                Query(f"max(service:slo_errors:ratio_rate{window}{_chosen('availability')}) / {_budget('availability')}", window)
                for window in ("1h", "6h", "3d")
            ),
            width=6,
            height=5,
            thresholds=((6, "orange"), (14.4, "red")),
            description="Google SRE workbook: page at 14.4 (1h) and 6 (6h), ticket at 1 (3d).",
        ),
    ]
    items += reliability_panels()
    return Dashboard(
        "mnops-slo",
        f"SLOs and error budgets ({target.cluster.name})",
        (*TAGS, "slo"),
        tuple(items),
        f"Availability and latency objectives per service over {SLO_WINDOW}, from the inventory.",
        settings.refresh,
        "now-7d",
        variables=(CLUSTER_VARIABLE, SERVICE_VARIABLE),
    )


def business_dashboard(target: Target, settings: DashboardSettings) -> Dashboard:
    items: tuple[Panel | Row, ...] = (
        Panel("Active users (5 min)", (Query("sum(mnops_active_users)", "active users"),), kind="stat", width=6, height=5),
        Panel(
            "Memory operations per second",
            (Query("sum(rate(mnops_memory_operations_total[5m]))", "ops/s"),),
            kind="stat",
            unit="ops",
            width=6,
            height=5,
        ),
        Panel(
            "Cache hit rate",
            (Query("min(service:cache_hit:ratio_rate5m)", "hit rate"),),
            kind="stat",
            unit="percentunit",
            width=6,
            height=5,
            thresholds=((0.8, "green"),),
        ),
        Panel(
            "Report generation p95",
            (
                Query(
                    "histogram_quantile(0.95, sum by (le) (rate(mnops_report_generation_duration_seconds_bucket[5m])))",
                    "p95",
                ),
            ),
            kind="stat",
            unit="s",
            width=6,
            height=5,
        ),
        Panel("Active users by service", (Query("sum by (service) (mnops_active_users)", "{{service}}"),)),
        Panel(
            "Memory operations by type",
            (Query("sum by (operation) (rate(mnops_memory_operations_total[5m]))", "{{operation}}"),),
            unit="ops",
        ),
        Panel(
            "Cache hit rate by service",
            (Query("service:cache_hit:ratio_rate5m", "{{service}}"),),
            unit="percentunit",
            min=0,
            max=1,
        ),
        Panel(
            "Report generation time",
            (
                Query("histogram_quantile(0.5, sum by (le) (rate(mnops_report_generation_duration_seconds_bucket[5m])))", "p50"),
                Query("histogram_quantile(0.95, sum by (le) (rate(mnops_report_generation_duration_seconds_bucket[5m])))", "p95"),
                Query(
                    "sum(rate(mnops_report_generation_duration_seconds_sum[5m]))"
                    " / sum(rate(mnops_report_generation_duration_seconds_count[5m]))",
                    "mean",
                ),
            ),
            unit="s",
        ),
    )
    return Dashboard(
        "mnops-business",
        f"Business metrics ({target.cluster.name})",
        (*TAGS, "business"),
        items,
        "The seed's business metrics: active users, memory operations, cache hit rate, report generation time.",
        settings.refresh,
        settings.time_from,
    )


def redis_dashboard(target: Target, settings: DashboardSettings) -> Dashboard:
    sel = '{namespace="' + target.namespaces["data"] + '"}'
    items: tuple[Panel | Row, ...] = (
        Panel("Redis up", (Query(f"min(redis_up{sel})", "up"),), kind="stat", width=6, height=5, thresholds=((1, "green"),)),
        Panel("Connected clients", (Query(f"sum(redis_connected_clients{sel})", "clients"),), kind="stat", width=6, height=5),
        Panel("Replicas connected", (Query(f"sum(redis_connected_slaves{sel})", "replicas"),), kind="stat", width=6, height=5),
        Panel(
            "Keyspace hit ratio",
            (
                Query(
                    f"sum(rate(redis_keyspace_hits_total{sel}[5m])) / (sum(rate(redis_keyspace_hits_total{sel}[5m]))"
                    f" + sum(rate(redis_keyspace_misses_total{sel}[5m])))",
                    "hit ratio",
                ),
            ),
            kind="stat",
            unit="percentunit",
            width=6,
            height=5,
        ),
        Panel(
            "Memory used / maxmemory",
            (Query(f"max by (pod) (redis_memory_used_bytes{sel} / (redis_memory_max_bytes{sel} > 0))", "{{pod}}"),),
            unit="percentunit",
            thresholds=((0.8, "orange"), (0.9, "red")),
        ),
        Panel(
            "Commands per second",
            (Query(f"sum by (pod) (rate(redis_commands_processed_total{sel}[5m]))", "{{pod}}"),),
            unit="ops",
        ),
        Panel(
            "Evicted and expired keys per second",
            (
                Query(f"sum(rate(redis_evicted_keys_total{sel}[5m]))", "evicted"),
                Query(f"sum(rate(redis_expired_keys_total{sel}[5m]))", "expired"),
            ),
        ),
        Panel(
            "Blocked clients and rejected connections",
            (
                Query(f"sum(redis_blocked_clients{sel})", "blocked"),
                Query(f"sum(rate(redis_rejected_connections_total{sel}[5m]))", "rejected/s"),
            ),
        ),
        Panel("Keys per database", (Query(f"sum by (db) (redis_db_keys{sel})", "{{db}}"),)),
        Panel(
            "Network",
            (
                Query(f"sum(rate(redis_net_input_bytes_total{sel}[5m]))", "in"),
                Query(f"sum(rate(redis_net_output_bytes_total{sel}[5m]))", "out"),
            ),
            unit="Bps",
        ),
    )
    return Dashboard(
        "mnops-redis",
        f"Redis ({target.cluster.name})",
        (*TAGS, "redis"),
        items,
        "redis_exporter metrics.",
        settings.refresh,
        settings.time_from,
    )


def postgres_dashboard(target: Target, settings: DashboardSettings) -> Dashboard:
    sel = '{namespace="' + target.namespaces["data"] + '"}'
    items: tuple[Panel | Row, ...] = (
        Panel(
            "Instances up",
            (Query(f"sum(cnpg_collector_up{sel})", "up"),),
            kind="stat",
            width=6,
            height=5,
            thresholds=((1, "green"),),
        ),
        Panel(
            "Streaming replicas",
            (Query(f"max(cnpg_pg_replication_streaming_replicas{sel})", "replicas"),),
            kind="stat",
            width=6,
            height=5,
        ),
        Panel(
            "Newest backup age",
            (Query(f"time() - max(cnpg_collector_last_available_backup_timestamp{sel})", "age"),),
            kind="stat",
            unit="s",
            width=6,
            height=5,
            thresholds=((90000, "red"),),
        ),
        Panel(
            "Seconds since last WAL archived",
            (Query(f"max(cnpg_pg_stat_archiver_seconds_since_last_archival{sel})", "seconds"),),
            kind="stat",
            unit="s",
            width=6,
            height=5,
            thresholds=((300, "orange"), (900, "red")),
            description="The recovery point: WAL not archived yet is lost with the primary (RPO 15 min).",
        ),
        Panel("Replication lag", (Query(f"max by (pod) (cnpg_pg_replication_lag{sel})", "{{pod}}"),), unit="s"),
        Panel(
            "Backends by state",
            (
                Query(f"sum by (state) (cnpg_backends_total{sel})", "{{state}}"),
                Query(f"sum(cnpg_backends_waiting_total{sel})", "waiting on locks"),
            ),
        ),
        Panel(
            "Transactions per second",
            (
                Query(f"sum(rate(cnpg_pg_stat_database_xact_commit{sel}[5m]))", "commit"),
                Query(f"sum(rate(cnpg_pg_stat_database_xact_rollback{sel}[5m]))", "rollback"),
            ),
            unit="ops",
        ),
        Panel(
            "Buffer cache hit ratio",
            (
                Query(
                    f"sum(rate(cnpg_pg_stat_database_blks_hit{sel}[5m])) / (sum(rate(cnpg_pg_stat_database_blks_hit{sel}[5m]))"
                    f" + sum(rate(cnpg_pg_stat_database_blks_read{sel}[5m])))",
                    "hit ratio",
                ),
            ),
            unit="percentunit",
        ),
        Panel("Database size", (Query(f"max by (datname) (cnpg_pg_database_size_bytes{sel})", "{{datname}}"),), unit="bytes"),
        Panel(
            "WAL archiving and deadlocks",
            (
                Query(f"sum(rate(cnpg_pg_stat_archiver_archived_count{sel}[5m]))", "archived/s"),
                Query(f"sum(rate(cnpg_pg_stat_archiver_failed_count{sel}[5m]))", "failed/s"),
                Query(f"sum(rate(cnpg_pg_stat_database_deadlocks{sel}[5m]))", "deadlocks/s"),
            ),
        ),
    )
    return Dashboard(
        "mnops-postgres",
        f"PostgreSQL ({target.cluster.name})",
        (*TAGS, "postgresql"),
        items,
        "CloudNativePG metrics.",
        settings.refresh,
        settings.time_from,
    )


def target_dashboards(target: Target, settings: DashboardSettings) -> Iterator[Dashboard]:
    yield overview(target, settings)
    yield slo_dashboard(target, settings)
    yield business_dashboard(target, settings)
    for svc in target.services:
        yield service_dashboard(target, svc, settings)
    # The stores' own dashboards read their exporters, which run only with the in-cluster choice.
    if uses_in_cluster(target.services, target.parameters, "redis"):
        yield redis_dashboard(target, settings)
    if uses_in_cluster(target.services, target.parameters, "postgres"):
        yield postgres_dashboard(target, settings)
