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

# Business metrics from the seed (section 5.1), exposed by the services that own them.
BUSINESS_METRICS: tuple[Metric, ...] = (
    Metric("mnops_active_users", "gauge", ("service",), "Users active in the last 5 minutes."),
    Metric("mnops_memory_operations_total", "counter", ("service", "operation"), "Memory reads and writes."),
    Metric("mnops_cache_requests_total", "counter", ("service", "result"), "Cache look-ups; result is hit or miss."),
    Metric("mnops_report_generation_duration_seconds", "histogram", ("service",), "Time to generate a report."),
)

# Recording rules (name -> meaning). Window suffixes follow the kubernetes-mixin convention.
RECORDING_RULES: dict[str, str] = {
    "service:http_requests:rate5m": "Requests per second, per service.",
    "service:http_errors:ratio_rate5m": "Share of 5xx responses, per service (0-1).",
    "service:http_request_duration_seconds:p50_5m": "Median latency, per service.",
    "service:http_request_duration_seconds:p95_5m": "95th percentile latency, per service.",
    "service:http_request_duration_seconds:p99_5m": "99th percentile latency, per service.",
    "service:cpu_usage:ratio_limit": "CPU used over the CPU limit, per service (0-1).",
    "service:memory_usage:ratio_limit": "Working-set memory over the memory limit, per service (0-1).",
    "service:cache_hit:ratio_rate5m": "Cache hits over cache look-ups, per service (0-1).",
}


def metric_names() -> set[str]:
    """Every name a query may use, histogram series included."""
    names = set(RECORDING_RULES)
    for metric in SERVICE_METRICS + BUSINESS_METRICS:
        names.add(metric.name)
        if metric.type == "histogram":
            names.update({f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count"})
    return names
