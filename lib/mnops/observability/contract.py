"""The service metric contract: the one list of metric names every generator may use.

Every service exposes these on its metrics port (Prometheus client conventions). Recording
rules derive the `service:*` series below from them; alerts, dashboards, SLO rules and Argo
Rollouts analysis query only names listed here, and the tests enforce that.

Labels on every service series: `service` (the service name), plus the target labels that
Prometheus adds (`namespace`, `pod`, `cluster`, `environment`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter, gauge, histogram
    labels: tuple[str, ...]
    help: str


# Exposed by every service.
SERVICE_METRICS: tuple[Metric, ...] = (
    Metric("http_requests_total", "counter", ("service", "method", "route", "code"), "HTTP requests handled."),
    Metric("http_request_duration_seconds", "histogram", ("service", "method", "route"), "HTTP request latency."),
    Metric("process_cpu_seconds_total", "counter", ("service",), "CPU time used by the process."),
    Metric("process_resident_memory_bytes", "gauge", ("service",), "Resident memory of the process."),
)

# Bucket upper bounds (seconds) every service's http_request_duration_seconds histogram must
# have: latency SLOs count requests under a bound, so each SLO threshold must be one of these
# (checked by the inventory rule `slo_thresholds_are_buckets`).
LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Business metrics from the seed (section 5.1), exposed by the services that own them.
BUSINESS_METRICS: tuple[Metric, ...] = (
    Metric("mnops_active_users", "gauge", ("service",), "Users active in the last 5 minutes."),
    Metric("mnops_memory_operations_total", "counter", ("service", "operation"), "Memory reads and writes."),
    Metric("mnops_cache_requests_total", "counter", ("service", "result"), "Cache look-ups; result is hit or miss."),
    Metric("mnops_report_generation_duration_seconds", "histogram", ("service",), "Time to generate a report."),
)

# Series the platform provides (Prometheus itself, kube-state-metrics from kube-prometheus-stack,
# the Redis exporter sidecar, CloudNativePG's instance exporter). The info alerts use these.
PLATFORM_METRICS: tuple[Metric, ...] = (
    Metric(
        "ALERTS",
        "gauge",
        ("alertname", "alertstate", "priority", "namespace", "service"),
        "Pending and firing alerts (Prometheus).",
    ),
    Metric("up", "gauge", ("job", "namespace", "service", "pod"), "1 if the last scrape of a target succeeded (Prometheus)."),
    Metric("kube_deployment_metadata_generation", "gauge", ("namespace", "deployment"), "Spec generation (kube-state-metrics)."),
    Metric(
        "kube_deployment_status_observed_generation",
        "gauge",
        ("namespace", "deployment"),
        "Generation the controller has acted on (kube-state-metrics).",
    ),
    Metric("kube_deployment_spec_replicas", "gauge", ("namespace", "deployment"), "Desired replicas (kube-state-metrics)."),
    Metric(
        "kube_deployment_status_replicas_updated",
        "gauge",
        ("namespace", "deployment"),
        "Replicas running the current template (kube-state-metrics).",
    ),
    Metric(
        "kube_deployment_status_replicas_available",
        "gauge",
        ("namespace", "deployment"),
        "Replicas available (kube-state-metrics).",
    ),
    Metric(
        "rollout_info",
        "gauge",
        ("namespace", "name", "strategy", "traffic_router", "phase"),
        "1 for each Argo Rollout, `phase` its current phase (Argo Rollouts controller, scraped with honor_labels).",
    ),
    Metric(
        "velero_backup_last_successful_timestamp",
        "gauge",
        ("schedule",),
        "Unix time of the last successful backup of a Velero schedule (Velero server).",
    ),
    Metric("redis_up", "gauge", ("namespace", "pod"), "1 if the Redis exporter reached Redis (oliver006/redis_exporter)."),
    Metric("redis_keyspace_hits_total", "counter", ("namespace", "pod"), "Successful key look-ups in Redis."),
    Metric("redis_keyspace_misses_total", "counter", ("namespace", "pod"), "Failed key look-ups in Redis."),
    Metric("cnpg_collector_up", "gauge", ("namespace", "pod", "cluster"), "1 if the CloudNativePG instance answers."),
    Metric(
        "cnpg_collector_last_available_backup_timestamp",
        "gauge",
        ("namespace", "pod"),
        "Unix time of the newest completed base backup (CloudNativePG).",
    ),
)

# Platform components' own metrics, at the pinned chart versions; the platform alerts
# (mnops.observability.platform_alerts) read only these.
COMPONENT_METRICS: tuple[Metric, ...] = (
    Metric("argocd_app_info", "gauge", ("name", "project", "sync_status", "health_status"), "One series per Argo CD app."),
    Metric("argocd_app_sync_total", "counter", ("name", "project", "phase"), "Argo CD sync operations by result phase."),
    Metric("envoy_cluster_upstream_rq_total", "counter", ("envoy_cluster_name",), "Requests Envoy sent to a backend."),
    Metric(
        "envoy_cluster_upstream_rq_xx",
        "counter",
        ("envoy_cluster_name", "envoy_response_code_class"),
        "Backend responses by class.",
    ),
    Metric("envoy_cluster_upstream_rq_rx_reset", "counter", ("envoy_cluster_name",), "Requests the backend reset."),
    Metric("envoy_cluster_upstream_rq_tx_reset", "counter", ("envoy_cluster_name",), "Requests Envoy reset."),
    Metric("loki_discarded_samples_total", "counter", ("reason", "tenant"), "Log lines Loki rejected, by reason."),
    Metric("loki_request_duration_seconds", "histogram", ("route", "status_code"), "Loki HTTP requests."),
    Metric("otelcol_exporter_send_failed_spans_total", "counter", ("exporter",), "Spans the collector failed to send."),
    Metric("otelcol_receiver_refused_spans_total", "counter", ("receiver",), "Spans the collector refused."),
    Metric("otelcol_exporter_enqueue_failed_spans_total", "counter", ("exporter",), "Spans the sending queue had no room for."),
    Metric("externalsecret_sync_calls_error", "counter", ("name", "namespace"), "ExternalSecret syncs that failed."),
    Metric(
        "externalsecret_status_condition", "gauge", ("name", "namespace", "condition", "status"), "ExternalSecret conditions."
    ),
    Metric("cnpg_pg_stat_database_deadlocks", "counter", ("datname",), "Deadlocks detected (CloudNativePG)."),
    Metric("redis_memory_used_bytes", "gauge", ("namespace", "pod"), "Memory Redis has allocated."),
    Metric("redis_memory_max_bytes", "gauge", ("namespace", "pod"), "Redis' maxmemory (0 = unlimited)."),
    Metric("redis_evicted_keys_total", "counter", ("namespace", "pod"), "Keys evicted because of maxmemory."),
    Metric("redis_rejected_connections_total", "counter", ("namespace", "pod"), "Connections refused (maxclients)."),
)

# What each info alert watches, written down once (the rule generator and the runbooks read it).
# A rollout started: the Deployment's spec generation changed within the window and the rollout
# is not finished; completed: it changed and every replica now runs the new template.
DEPLOYMENT_GENERATION_METRIC = "kube_deployment_metadata_generation"
DEPLOYMENT_OBSERVED_METRIC = "kube_deployment_status_observed_generation"
# Argo Rollouts (staging, prod) instead of Deployments: the controller's per-Rollout phase.
ROLLOUT_INFO_METRIC = "rollout_info"
# A backup completed: CloudNativePG's newest-backup timestamp, or a Velero schedule's last
# successful backup, moved within the window.
BACKUP_COMPLETED_METRIC = "cnpg_collector_last_available_backup_timestamp"
VELERO_BACKUP_COMPLETED_METRIC = "velero_backup_last_successful_timestamp"

# Recording rules (name -> meaning). Window suffixes follow the kubernetes-mixin convention.
RECORDING_RULES: dict[str, str] = {
    "service:http_requests:rate5m": "Requests per second, per service.",
    "service:http_errors:ratio_rate5m": "Share of 5xx responses, per service (0-1).",
    "service:http_errors:ratio_rate1m": "Share of 5xx responses over 1 minute, per service (0-1); the P0 alert reads it.",
    "service:http_request_duration_seconds:p50_5m": "Median latency, per service.",
    "service:http_request_duration_seconds:p95_5m": "95th percentile latency, per service.",
    "service:http_request_duration_seconds:p99_5m": "99th percentile latency, per service.",
    "service:http_request_duration_seconds:p99_1m": "99th percentile latency over 1 minute, per service; the P1 alert reads it.",
    "service:cpu_usage:ratio_limit": "CPU used over the CPU limit, per service and pod (0-1).",
    "service:memory_usage:ratio_limit": "Resident memory over the memory limit, per service and pod (0-1).",
    "service:cache_hit:ratio_rate5m": "Cache hits over cache look-ups, per service (0-1).",
    # SLOs: `slo` label is availability, latency-p95 or latency-p99.
    "service:slo_objective:ratio": "Target share of good events, per service and SLO (0-1, e.g. 0.999).",
    "service:slo_errors:ratio_rate5m": "Share of bad events over 5 minutes, per service and SLO (0-1).",
    "service:slo_errors:ratio_rate30m": "Share of bad events over 30 minutes, per service and SLO (0-1).",
    "service:slo_errors:ratio_rate1h": "Share of bad events over 1 hour, per service and SLO (0-1).",
    "service:slo_errors:ratio_rate2h": "Share of bad events over 2 hours, per service and SLO (0-1).",
    "service:slo_errors:ratio_rate6h": "Share of bad events over 6 hours, per service and SLO (0-1).",
    "service:slo_errors:ratio_rate1d": "Share of bad events over 1 day, per service and SLO (0-1).",
    "service:slo_errors:ratio_rate3d": "Share of bad events over 3 days, per service and SLO (0-1).",
    "service:slo_error_budget:remaining_ratio": "Error budget left over the last 30 days, per service and SLO (1 = untouched).",
    "service:slo_burn_rate:ratio_rate1h": "Error budget burn rate over 1 hour (1 = exactly on budget), per service and SLO.",
    # Reliability (plan 9.1), mnops.observability.reliability: an incident is a P0/P1 alert firing.
    "service:incident:active": "1 while a P0/P1 alert of the service fires, else 0.",
    "cluster:incident:active": "1 while a P0/P1 alert of any service fires, else 0.",
    "cluster:http_errors:ratio_rate5m": "Share of 5xx responses of all services over 5 minutes (0-1).",
    "service:availability:ratio30d": "Share of non-5xx responses over 30 days, per service (0-1).",
    "cluster:availability:ratio30d": "Share of non-5xx responses over 30 days, all services (0-1).",
    "service:incidents:count30d": "Incidents that started in the last 30 days, per service.",
    "cluster:incidents:count30d": "Incidents that started in the last 30 days, cluster-wide.",
    "service:incident_seconds:sum30d": "Seconds with an incident in the last 30 days, per service.",
    "cluster:incident_seconds:sum30d": "Seconds with an incident in the last 30 days, cluster-wide.",
    "service:mttr_seconds:30d": "Mean time to recovery over 30 days, per service (seconds).",
    "cluster:mttr_seconds:30d": "Mean time to recovery over 30 days, cluster-wide (seconds).",
    "service:mtbf_seconds:30d": "Mean time between incidents over 30 days, per service (seconds).",
    "cluster:mtbf_seconds:30d": "Mean time between incidents over 30 days, cluster-wide (seconds).",
}

# SLO windows that get an error-ratio recording rule (Google SRE workbook, chapter 5).
SLO_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
SLO_KINDS: tuple[str, ...] = ("availability", "latency-p95", "latency-p99")

# Every alert name the rules may produce, so coverage reports and docs need not parse rules.
STANDARD_ALERTS: tuple[str, ...] = ("ServiceDown", "HighErrorRate", "HighLatencyP99", "HighCPUUsage", "HighMemoryUsage")
CACHE_ALERTS: tuple[str, ...] = ("LowCacheHitRate",)  # services with dependencies.redis
INFO_ALERTS: tuple[str, ...] = ("DeploymentStarted", "DeploymentCompleted", "BackupCompleted")
SLO_ALERTS: tuple[str, ...] = ("SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnSlow")


def alerts_for_service(uses_redis: bool) -> tuple[str, ...]:
    """The alert names one service is covered by (BackupCompleted belongs to PostgreSQL)."""
    cache = CACHE_ALERTS if uses_redis else ()
    return STANDARD_ALERTS + cache + ("DeploymentStarted", "DeploymentCompleted") + SLO_ALERTS


def metric_names() -> set[str]:
    """Every name a query may use, histogram series included."""
    names = set(RECORDING_RULES)
    for metric in SERVICE_METRICS + BUSINESS_METRICS + PLATFORM_METRICS + COMPONENT_METRICS:
        names.add(metric.name)
        if metric.type == "histogram":
            names.update({f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count"})
    return names
