"""Alerts for the platform components themselves: Argo CD, Envoy Gateway, Loki, the OpenTelemetry
collector, External Secrets, CloudNativePG and Redis (beyond the backup and replication alerts of
mnops.data.alerts).

Upstream monitoring mixins are jsonnet, which this repository does not run; the alerts are
written here in Python like ours, on the metric names each component exports at the pinned chart
versions (their names are listed in mnops.observability.contract.COMPONENT_METRICS):

    Argo CD application controller   argocd_app_info{sync_status, health_status}, argocd_app_sync_total{phase}
    Envoy (Envoy Gateway's proxies)   envoy_cluster_upstream_rq_xx{envoy_response_code_class},
                                      envoy_cluster_upstream_rq_total, envoy_cluster_upstream_rq_{rx,tx}_reset
    Loki                              loki_discarded_samples_total{reason}, loki_request_duration_seconds{route, status_code}
    OpenTelemetry collector           otelcol_exporter_send_failed_spans_total, otelcol_receiver_refused_spans_total,
                                      otelcol_exporter_enqueue_failed_spans_total (the `_total` suffix of
                                      the collector's OTel SDK Prometheus exporter)
    External Secrets                  externalsecret_sync_calls_error, externalsecret_status_condition{condition, status}
    CloudNativePG instance manager    cnpg_collector_up, cnpg_pg_stat_database_deadlocks
    redis_exporter                    redis_up, redis_memory_used_bytes, redis_memory_max_bytes,
                                      redis_evicted_keys_total, redis_rejected_connections_total

Each alert carries its catalogue entry (the runbook's text, rendered by mnops.observability.runbooks)
and two probes, series on either side of its threshold, that tests/test_signals_platform_alerts.py
turns into `promtool test rules` cases. A target gets a component's alerts only when it runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mnops.data.managed import data_services
from mnops.inventory.model import Target
from mnops.observability.alerts import AlertSpec, runbook_url

GROUP = "mnops-platform-alerts"


@dataclass(frozen=True)
class Probe:
    """Input series for promtool (`series`, `values`) and the minute at which to evaluate.
    `<role>` in a series stands for that namespace role's name in the target (`<data>`)."""

    series: tuple[tuple[str, str], ...]
    minute: int

    def input_series(self, target: Target) -> list[dict[str, str]]:
        result = []
        for template, values in self.series:
            series = template
            for role, name in target.namespaces.items():
                series = series.replace(f"<{role}>", name)
            result.append({"series": series, "values": values})
        return result


@dataclass(frozen=True)
class PlatformAlert:
    spec: AlertSpec
    component: str  # the `service` label: which platform component the alert is about
    expr: Callable[[Target], str]
    for_: str
    condition: str  # one line for the runbook: what fires it
    summary: str
    fires: Probe  # just over the threshold for long enough: fires
    quiet: Probe  # just under it (or not for long enough): never fires

    @property
    def name(self) -> str:
        return self.spec.name


def _ns(target: Target, role: str) -> str:
    return target.namespaces.get(role, role)


def _counter(series: str, per_minute: float, minutes: int = 60) -> tuple[str, str]:
    """A counter growing by `per_minute` every minute for `minutes` minutes."""
    return (series, f"0+{per_minute:g}x{minutes}")


def _burst(series: str, per_minute: float, minutes: int, total: int = 60) -> tuple[str, str]:
    """A counter growing for `minutes` minutes, then flat (still scraped) until `total`."""
    top = per_minute * minutes
    return (series, f"0+{per_minute:g}x{minutes} {top:g}x{total - minutes}")


def _gauge(series: str, value: float, minutes: int = 60) -> tuple[str, str]:
    """A gauge for `minutes` minutes; Prometheus still sees it 5 minutes after (staleness lookback)."""
    return (series, f"{value:g}x{minutes}")


ESCALATE_PLATFORM = "Platform team on call; escalate to the component's owner if unresolved within 1 hour."

ARGOCD = (
    PlatformAlert(
        AlertSpec(
            "ArgoCDSyncFailed",
            "warning",
            "P2",
            "An Argo CD sync of an application ended in Failed or Error in the last 15 minutes.",
            "What is merged is not what runs: the cluster keeps the previous state until a sync succeeds.",
            ('sum by (name, phase) (increase(argocd_app_sync_total{{phase=~"Error|Failed"}}[1h]))',),
            (
                "`argocd app get <name>` shows the failed operation and the resource that failed.",
                "Fix the manifest in git (a schema or admission error usually), or retry with `argocd app sync <name>`.",
            ),
            ESCALATE_PLATFORM,
        ),
        "argocd",
        lambda t: 'sum by (name, project) (increase(argocd_app_sync_total{phase=~"Error|Failed"}[15m])) > 0',
        "0m",
        "a sync ended in Failed or Error within 15 minutes",
        "Argo CD sync of {{ $labels.name }} failed",
        Probe((_counter('argocd_app_sync_total{name="apps",project="mnops",phase="Failed"}', 1),), 10),
        Probe(
            (
                _counter('argocd_app_sync_total{name="apps",project="mnops",phase="Succeeded"}', 1),
                _gauge('argocd_app_sync_total{name="apps",project="mnops",phase="Failed"}', 3),
            ),
            30,
        ),
    ),
    PlatformAlert(
        AlertSpec(
            "ArgoCDAppDegraded",
            "warning",
            "P2",
            "An Argo CD application has reported health Degraded for 15 minutes.",
            "Some of the application's resources are failing (crash-looping pods, a failed rollout, a broken PVC).",
            ('argocd_app_info{{health_status="Degraded"}}',),
            (
                "`argocd app get <name>` lists the degraded resources; describe them with kubectl.",
                "If a release caused it, Argo Rollouts aborts canaries itself; otherwise revert the change in git.",
            ),
            ESCALATE_PLATFORM,
        ),
        "argocd",
        lambda t: 'max by (name, project) (argocd_app_info{health_status="Degraded"}) == 1',
        "15m",
        "health Degraded for 15 minutes",
        "Argo CD application {{ $labels.name }} is Degraded",
        Probe((_gauge('argocd_app_info{name="apps",project="mnops",health_status="Degraded",sync_status="Synced"}', 1),), 20),
        Probe((_gauge('argocd_app_info{name="apps",project="mnops",health_status="Degraded",sync_status="Synced"}', 1, 8),), 20),
    ),
    PlatformAlert(
        AlertSpec(
            "ArgoCDAppOutOfSyncTooLong",
            "warning",
            "P3",
            "An Argo CD application has been OutOfSync for 30 minutes: automated sync is off, failing, or fighting a controller.",
            "The cluster drifts from git; the next sync may carry more change than anyone reviewed at once.",
            ('argocd_app_info{{sync_status="OutOfSync"}}',),
            (
                "`argocd app diff <name>` shows what differs.",
                "If a controller or a person changes the field, add it to ignoreDifferences or fix the source; else sync.",
            ),
            ESCALATE_PLATFORM,
        ),
        "argocd",
        lambda t: 'max by (name, project) (argocd_app_info{sync_status="OutOfSync"}) == 1',
        "30m",
        "OutOfSync for 30 minutes",
        "Argo CD application {{ $labels.name }} has been OutOfSync for 30 minutes",
        Probe((_gauge('argocd_app_info{name="apps",project="mnops",health_status="Healthy",sync_status="OutOfSync"}', 1),), 40),
        Probe(
            (_gauge('argocd_app_info{name="apps",project="mnops",health_status="Healthy",sync_status="OutOfSync"}', 1, 20),), 40
        ),
    ),
)

GATEWAY_ERRORS = 0.05  # 5% of upstream responses
GATEWAY_RESETS = 0.01  # 1% of upstream requests reset


def _gateway_ratio(numerator: str, threshold: float) -> str:
    return f"{numerator}\n/\nsum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_total[5m]))\n> {threshold:g}"


GATEWAY = (
    PlatformAlert(
        AlertSpec(
            "GatewayUpstream5xxHigh",
            "critical",
            "P1",
            f"More than {GATEWAY_ERRORS:.0%} of the responses an Envoy Gateway proxy got from one backend "
            "were 5xx, for 5 minutes.",
            "Users calling that route through the gateway see errors (also when the service's own metrics look fine).",
            ('sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_xx{{envoy_response_code_class="5"}}[5m]))',),
            (
                "The `envoy_cluster_name` label names the backend (httproute/<namespace>/<route>/...): "
                "check that service's alerts.",
                "503s with no healthy upstream mean no ready pods behind the route: check the Service's endpoints.",
            ),
            "Page the on-call engineer (P1); escalate to the owner of the backend service.",
        ),
        "envoy-gateway",
        lambda t: _gateway_ratio(
            'sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"}[5m]))', GATEWAY_ERRORS
        ),
        "5m",
        f"more than {GATEWAY_ERRORS:.0%} 5xx from one backend for 5 minutes",
        "Gateway backend {{ $labels.envoy_cluster_name }} answers 5xx",
        Probe(
            (
                _counter('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}', 600),
                _counter('envoy_cluster_upstream_rq_xx{envoy_cluster_name="backend",envoy_response_code_class="5"}', 36),
            ),
            15,
        ),
        Probe(
            (
                _counter('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}', 600),
                _counter('envoy_cluster_upstream_rq_xx{envoy_cluster_name="backend",envoy_response_code_class="5"}', 24),
            ),
            15,
        ),
    ),
    PlatformAlert(
        AlertSpec(
            "GatewayUpstreamResets",
            "warning",
            "P2",
            f"More than {GATEWAY_RESETS:.0%} of requests from an Envoy Gateway proxy to one backend were reset for 10 minutes.",
            "Requests fail mid-flight (502/503 to the client): pods restarting, killed connections, or timeouts in the backend.",
            (
                "sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_rx_reset[5m]))",
                "sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_tx_reset[5m]))",
            ),
            (
                "rx_reset: the backend closed the stream (crash, OOM kill, keep-alive shorter than Envoy's); "
                "tx_reset: Envoy did.",
                "Check the backend's restarts and its idle timeout against the BackendTrafficPolicy.",
            ),
            ESCALATE_PLATFORM,
        ),
        "envoy-gateway",
        lambda t: _gateway_ratio(
            "(\n  sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_rx_reset[5m]))\n"
            "+ sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_tx_reset[5m]))\n)",
            GATEWAY_RESETS,
        ),
        "10m",
        f"more than {GATEWAY_RESETS:.0%} of requests to one backend reset for 10 minutes",
        "Gateway requests to {{ $labels.envoy_cluster_name }} are reset",
        Probe(
            (
                _counter('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}', 1000),
                _counter('envoy_cluster_upstream_rq_rx_reset{envoy_cluster_name="backend"}', 8),
                _counter('envoy_cluster_upstream_rq_tx_reset{envoy_cluster_name="backend"}', 4),
            ),
            20,
        ),
        Probe(
            (
                _counter('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}', 1000),
                _counter('envoy_cluster_upstream_rq_rx_reset{envoy_cluster_name="backend"}', 6),
                _counter('envoy_cluster_upstream_rq_tx_reset{envoy_cluster_name="backend"}', 3),
            ),
            20,
        ),
    ),
)

LOKI_PUSH_ROUTES = "loki_api_v1_push|api_prom_push|otlp_v1_logs"
LOKI_PUSH_ERRORS = 0.05
SERVER_ERRORS = 'status_code=~"5.."'


def _loki_push(t: Target, extra: str = "") -> str:
    labels = f'namespace="{_ns(t, "logging")}",route=~"{LOKI_PUSH_ROUTES}"' + (f",{extra}" if extra else "")
    return f"sum(rate(loki_request_duration_seconds_count{{{labels}}}[5m]))"


LOKI = (
    PlatformAlert(
        AlertSpec(
            "LokiDiscardingLogs",
            "warning",
            "P2",
            "Loki has been rejecting log lines for 10 minutes (rate limits, too old, too long, stream limits).",
            "Logs of that period are missing in Grafana and in log-based alerts (ServiceErrorLogRateHigh).",
            ('sum by (reason, tenant) (rate(loki_discarded_samples_total{{namespace="{namespace}"}}[5m]))',),
            ("The `reason` label says which limit: raise it in the Loki values, or reduce what the collector sends.",),
            ESCALATE_PLATFORM,
        ),
        "loki",
        lambda t: f'sum by (reason) (rate(loki_discarded_samples_total{{namespace="{_ns(t, "logging")}"}}[5m])) > 0',
        "10m",
        "any log line discarded, sustained for 10 minutes",
        "Loki discards log lines ({{ $labels.reason }})",
        Probe((_counter('loki_discarded_samples_total{namespace="<logging>",reason="rate_limited",tenant="fake"}', 5),), 20),
        Probe((_burst('loki_discarded_samples_total{namespace="<logging>",reason="rate_limited",tenant="fake"}', 5, 4),), 30),
    ),
    PlatformAlert(
        AlertSpec(
            "LokiPushErrors",
            "warning",
            "P2",
            f"More than {LOKI_PUSH_ERRORS:.0%} of log pushes to Loki failed with 5xx for 10 minutes.",
            "Collectors retry and buffer, then drop: logs go missing.",
            (
                "sum by (route, status_code) (rate(loki_request_duration_seconds_count"
                '{{namespace="{namespace}",status_code=~"5.."}}[5m]))',
            ),
            ("Check Loki's own logs and its storage (disk full, object store credentials).",),
            ESCALATE_PLATFORM,
        ),
        "loki",
        lambda t: f"{_loki_push(t, SERVER_ERRORS)}\n/\n{_loki_push(t)}\n> {LOKI_PUSH_ERRORS:g}",
        "10m",
        f"more than {LOKI_PUSH_ERRORS:.0%} of pushes answered 5xx for 10 minutes",
        "Log pushes to Loki fail",
        Probe(
            (
                _counter(
                    'loki_request_duration_seconds_count{namespace="<logging>",route="loki_api_v1_push",status_code="204"}', 940
                ),
                _counter(
                    'loki_request_duration_seconds_count{namespace="<logging>",route="loki_api_v1_push",status_code="500"}', 60
                ),
            ),
            20,
        ),
        Probe(
            (
                _counter(
                    'loki_request_duration_seconds_count{namespace="<logging>",route="loki_api_v1_push",status_code="204"}', 960
                ),
                _counter(
                    'loki_request_duration_seconds_count{namespace="<logging>",route="loki_api_v1_push",status_code="500"}', 40
                ),
            ),
            20,
        ),
    ),
)


def _otel(t: Target, metric: str) -> str:
    return f'sum(rate({metric}{{namespace="{_ns(t, "tracing")}"}}[5m]))'


OTEL = (
    PlatformAlert(
        AlertSpec(
            "OTelCollectorExportFailing",
            "warning",
            "P2",
            "The OpenTelemetry collector has failed to send spans to its backend (Jaeger) for 10 minutes.",
            "Traces of that period are lost once the sending queue is full.",
            ('sum by (exporter) (rate(otelcol_exporter_send_failed_spans_total{{namespace="{namespace}"}}[5m]))',),
            ("Check that the Jaeger collector is up and reachable from the tracing namespace (network policy, DNS).",),
            ESCALATE_PLATFORM,
        ),
        "otel-collector",
        lambda t: f"{_otel(t, 'otelcol_exporter_send_failed_spans_total')} > 0",
        "10m",
        "any failed span export, sustained for 10 minutes",
        "The OpenTelemetry collector cannot export spans",
        Probe((_counter('otelcol_exporter_send_failed_spans_total{namespace="<tracing>",exporter="otlp"}', 10),), 20),
        Probe((_burst('otelcol_exporter_send_failed_spans_total{namespace="<tracing>",exporter="otlp"}', 10, 4),), 30),
    ),
    PlatformAlert(
        AlertSpec(
            "OTelCollectorDroppingSpans",
            "warning",
            "P2",
            "The OpenTelemetry collector has refused incoming spans or could not queue them for 10 minutes "
            "(memory limit, full queue).",
            "Services' spans are dropped before they reach Jaeger; traces have gaps.",
            (
                'sum(rate(otelcol_receiver_refused_spans_total{{namespace="{namespace}"}}[5m]))',
                'sum(rate(otelcol_exporter_enqueue_failed_spans_total{{namespace="{namespace}"}}[5m]))',
            ),
            ("Raise the collector's replicas or memory (tracing.collector), or lower tracing.sampling_ratio.",),
            ESCALATE_PLATFORM,
        ),
        "otel-collector",
        lambda t: (
            f"(\n  {_otel(t, 'otelcol_receiver_refused_spans_total')}\n"
            f"+ {_otel(t, 'otelcol_exporter_enqueue_failed_spans_total')}\n) > 0"
        ),
        "10m",
        "any span refused or not queued, sustained for 10 minutes",
        "The OpenTelemetry collector drops spans",
        Probe(
            (
                _counter('otelcol_receiver_refused_spans_total{namespace="<tracing>",receiver="otlp"}', 10),
                _counter('otelcol_exporter_enqueue_failed_spans_total{namespace="<tracing>",exporter="otlp"}', 0),
            ),
            20,
        ),
        Probe(
            (
                _counter('otelcol_receiver_refused_spans_total{namespace="<tracing>",receiver="otlp"}', 0),
                _counter('otelcol_exporter_enqueue_failed_spans_total{namespace="<tracing>",exporter="otlp"}', 0),
            ),
            20,
        ),
    ),
)

EXTERNAL_SECRETS = (
    PlatformAlert(
        AlertSpec(
            "ExternalSecretSyncErrors",
            "warning",
            "P2",
            "External Secrets has failed to sync an ExternalSecret from the cloud secret manager for 15 minutes.",
            "The Kubernetes Secret keeps its old value: a rotated credential is not picked up, a new one is missing.",
            (
                "sum by (name, namespace) (increase(externalsecret_sync_calls_error[15m]))",
                'externalsecret_status_condition{{condition="Ready",status="False"}}',
            ),
            (
                "`kubectl -n <namespace> describe externalsecret <name>` shows the provider's error.",
                "Usually the key is missing in the secret manager or the workload identity lacks permission.",
            ),
            ESCALATE_PLATFORM,
        ),
        "external-secrets",
        lambda t: "sum by (name, namespace) (rate(externalsecret_sync_calls_error[5m])) > 0",
        "15m",
        "sync errors in every 5-minute window for 15 minutes",
        "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} does not sync",
        Probe((_counter('externalsecret_sync_calls_error{name="db",namespace="apps"}', 1),), 40),
        Probe((_burst('externalsecret_sync_calls_error{name="db",namespace="apps"}', 1, 4),), 40),
    ),
    PlatformAlert(
        AlertSpec(
            "ExternalSecretNotReady",
            "warning",
            "P2",
            "An ExternalSecret has been not Ready for 30 minutes.",
            "Pods that mount the Secret cannot start if it was never created; otherwise they run on a stale value.",
            ('externalsecret_status_condition{{condition="Ready",status="False"}}',),
            ("`kubectl -n <namespace> describe externalsecret <name>`; check the ClusterSecretStore's status too.",),
            ESCALATE_PLATFORM,
        ),
        "external-secrets",
        lambda t: 'max by (name, namespace) (externalsecret_status_condition{condition="Ready",status="False"}) == 1',
        "30m",
        "condition Ready=False for 30 minutes",
        "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not Ready",
        Probe((_gauge('externalsecret_status_condition{name="db",namespace="apps",condition="Ready",status="False"}', 1),), 40),
        Probe(
            (_gauge('externalsecret_status_condition{name="db",namespace="apps",condition="Ready",status="False"}', 1, 20),), 40
        ),
    ),
)


def _data(t: Target) -> str:
    return f'namespace="{_ns(t, "data")}"'


POSTGRES = (
    PlatformAlert(
        AlertSpec(
            "PostgresInstanceDown",
            "critical",
            "P1",
            "A CloudNativePG instance manager reports that PostgreSQL does not answer, for 2 minutes.",
            "If it is the primary, writes fail until failover completes; a replica's loss reduces redundancy.",
            ('cnpg_collector_up{{namespace="{namespace}"}}', 'cnpg_pg_replication_in_recovery{{namespace="{namespace}"}}'),
            (
                "`kubectl cnpg status <cluster> -n <namespace>` shows the instances and the current primary.",
                "Check the pod's events (OOM, volume full); CloudNativePG fails over on its own if it is the primary.",
            ),
            "Page the on-call engineer (P1); escalate to the database owner after 30 minutes.",
        ),
        "postgresql",
        lambda t: f"min by (pod) (cnpg_collector_up{{{_data(t)}}}) == 0",
        "2m",
        "PostgreSQL not answering its instance manager for 2 minutes",
        "PostgreSQL instance {{ $labels.pod }} is down",
        Probe((_gauge('cnpg_collector_up{namespace="<data>",pod="postgres-1"}', 0),), 5),
        Probe((_gauge('cnpg_collector_up{namespace="<data>",pod="postgres-1"}', 1),), 5),
    ),
    PlatformAlert(
        AlertSpec(
            "PostgresDeadlocks",
            "warning",
            "P2",
            "PostgreSQL has detected deadlocks in a database in every 5-minute window for 10 minutes.",
            "Transactions are rolled back; callers see errors or retries and latency.",
            ('sum by (datname) (increase(cnpg_pg_stat_database_deadlocks{{namespace="{namespace}"}}[10m]))',),
            ("Find the statements in the PostgreSQL log (`deadlock detected`); fix the lock order in the service.",),
            "Service owner of the database's users; platform team if it follows a schema migration.",
        ),
        "postgresql",
        lambda t: f"sum by (datname) (rate(cnpg_pg_stat_database_deadlocks{{{_data(t)}}}[5m])) > 0",
        "10m",
        "deadlocks in every 5-minute window for 10 minutes",
        "Deadlocks in database {{ $labels.datname }}",
        Probe((_counter('cnpg_pg_stat_database_deadlocks{namespace="<data>",datname="app"}', 1),), 25),
        Probe((_burst('cnpg_pg_stat_database_deadlocks{namespace="<data>",datname="app"}', 1, 4),), 25),
    ),
)

REDIS_MEMORY = 0.9  # of maxmemory


REDIS = (
    PlatformAlert(
        AlertSpec(
            "RedisDown",
            "critical",
            "P1",
            "redis_exporter cannot reach a Redis instance, for 2 minutes.",
            "If it is the primary, Sentinel fails over (seconds); cache reads miss and sessions may be lost meanwhile.",
            ('redis_up{{namespace="{namespace}"}}', 'redis_connected_slaves{{namespace="{namespace}"}}'),
            ("`kubectl -n <namespace> get pods -l app=redis` and the pod's events (OOM kill, volume).",),
            "Page the on-call engineer (P1); escalate to the platform team after 30 minutes.",
        ),
        "redis",
        lambda t: f"min by (pod) (redis_up{{{_data(t)}}}) == 0",
        "2m",
        "the exporter cannot reach Redis for 2 minutes",
        "Redis {{ $labels.pod }} is down",
        Probe((_gauge('redis_up{namespace="<data>",pod="redis-0"}', 0),), 5),
        Probe((_gauge('redis_up{namespace="<data>",pod="redis-0"}', 1),), 5),
    ),
    PlatformAlert(
        AlertSpec(
            "RedisMemoryNearMaxmemory",
            "warning",
            "P2",
            f"A Redis instance has used more than {REDIS_MEMORY:.0%} of its maxmemory for 10 minutes.",
            "Redis is about to evict keys (maxmemory_policy) or, with noeviction, refuse writes.",
            ('redis_memory_used_bytes{{namespace="{namespace}"}} / redis_memory_max_bytes{{namespace="{namespace}"}}',),
            ("Raise the Redis memory limit (maxmemory follows it: redis.maxmemory_percent), or shorten key TTLs.",),
            ESCALATE_PLATFORM,
        ),
        "redis",
        lambda t: (
            f"max by (pod) (\n  redis_memory_used_bytes{{{_data(t)}}}\n/\n  (redis_memory_max_bytes{{{_data(t)}}} > 0)\n)"
            f" > {REDIS_MEMORY:g}"
        ),
        "10m",
        f"used memory above {REDIS_MEMORY:.0%} of maxmemory for 10 minutes",
        "Redis {{ $labels.pod }} is close to maxmemory",
        Probe(
            (
                _gauge('redis_memory_used_bytes{namespace="<data>",pod="redis-0"}', 910),
                _gauge('redis_memory_max_bytes{namespace="<data>",pod="redis-0"}', 1000),
            ),
            15,
        ),
        Probe(
            (
                _gauge('redis_memory_used_bytes{namespace="<data>",pod="redis-0"}', 890),
                _gauge('redis_memory_max_bytes{namespace="<data>",pod="redis-0"}', 1000),
            ),
            15,
        ),
    ),
    PlatformAlert(
        AlertSpec(
            "RedisEvictingKeys",
            "warning",
            "P3",
            "Redis has been evicting keys for 15 minutes: it is at maxmemory.",
            "Evicted keys are cache misses (slower requests); only keys with a TTL go under volatile-* policies.",
            ('sum by (pod) (rate(redis_evicted_keys_total{{namespace="{namespace}"}}[5m]))',),
            ("Check RedisMemoryNearMaxmemory's advice; a sudden start often follows a release that caches more.",),
            ESCALATE_PLATFORM,
        ),
        "redis",
        lambda t: f"sum by (pod) (rate(redis_evicted_keys_total{{{_data(t)}}}[5m])) > 0",
        "15m",
        "any eviction, sustained for 15 minutes",
        "Redis {{ $labels.pod }} evicts keys",
        Probe((_counter('redis_evicted_keys_total{namespace="<data>",pod="redis-0"}', 20),), 25),
        Probe((_burst('redis_evicted_keys_total{namespace="<data>",pod="redis-0"}', 20, 8),), 25),
    ),
    PlatformAlert(
        AlertSpec(
            "RedisRejectedConnections",
            "warning",
            "P2",
            "Redis refused client connections (maxclients reached) in the last 5 minutes.",
            "Service requests that need Redis fail outright.",
            (
                'sum by (pod) (increase(redis_rejected_connections_total{{namespace="{namespace}"}}[5m]))',
                'redis_connected_clients{{namespace="{namespace}"}}',
            ),
            ("Look for a connection leak (clients growing steadily); check services' pool sizes against maxclients.",),
            ESCALATE_PLATFORM,
        ),
        "redis",
        lambda t: f"sum by (pod) (increase(redis_rejected_connections_total{{{_data(t)}}}[5m])) > 0",
        "0m",
        "any connection refused within 5 minutes",
        "Redis {{ $labels.pod }} refuses connections",
        Probe((_counter('redis_rejected_connections_total{namespace="<data>",pod="redis-0"}', 2),), 10),
        Probe((_gauge('redis_rejected_connections_total{namespace="<data>",pod="redis-0"}', 7),), 10),
    ),
)


def runs(target: Target, component: str) -> bool:
    """Whether the target runs the component, from its inventory."""
    p: Mapping[str, Any] = target.parameters
    services, has_data = data_services(p), "data" in target.namespaces
    checks: dict[str, bool] = {
        "argocd": "argocd" in p,
        "envoy-gateway": "gateway" in p,
        "loki": "logging" in p and "logging" in target.namespaces,
        "otel-collector": "tracing" in p and "tracing" in target.namespaces,
        "external-secrets": "secrets" in p,
        # In-cluster stores only: RDS and ElastiCache have no exporter here (their metrics are CloudWatch's).
        "postgresql": p.get("postgres", {}).get("enabled", False) and has_data and services.in_cluster("postgres"),
        "redis": p.get("redis", {}).get("enabled", False) and has_data and services.in_cluster("redis"),
    }
    return checks[component]


PLATFORM_ALERTS: tuple[PlatformAlert, ...] = ARGOCD + GATEWAY + LOKI + OTEL + EXTERNAL_SECRETS + POSTGRES + REDIS
PLATFORM_CATALOGUE: tuple[AlertSpec, ...] = tuple(a.spec for a in PLATFORM_ALERTS)
PLATFORM_CONDITIONS: dict[str, str] = {a.name: a.condition for a in PLATFORM_ALERTS}


def platform_alerts(target: Target) -> list[PlatformAlert]:
    return [a for a in PLATFORM_ALERTS if runs(target, a.component)]


def platform_rules(target: Target) -> list[dict[str, Any]]:
    """The alerting rules of the components this target runs (no group if none)."""
    rules = []
    for a in platform_alerts(target):
        labels = {"severity": a.spec.severity, "priority": a.spec.priority, "service": a.component}
        annotations = {
            "summary": a.summary,
            "description": f"{a.spec.meaning} Cluster {target.cluster.name}.",
            "runbook_url": runbook_url(target.repo_url, a.name),
        }
        rules.append({"alert": a.name, "expr": a.expr(target), "for": a.for_, "labels": labels, "annotations": annotations})
    return rules


def platform_groups(target: Target) -> list[dict[str, Any]]:
    rules = platform_rules(target)
    return [{"name": GROUP, "rules": rules}] if rules else []
