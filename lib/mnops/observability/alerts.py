"""The alert catalogue: every alert's fixed properties and the text its runbook is made of.

Thresholds are not here: they come from each service's effective `alerts` and `slo` settings
(inventory), and rules.py turns catalogue + thresholds into Prometheus rules. Runbooks
(docs/runbooks/<alert>.md) are rendered from the same entries, so an alert cannot exist
without its runbook.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")


@dataclass(frozen=True)
class AlertSpec:
    name: str
    severity: str  # critical, warning, info
    priority: str  # P0-P3 (info events are P3 with severity info)
    meaning: str
    impact: str
    diagnosis: tuple[str, ...]  # PromQL, `{service}` and `{namespace}` are filled in per service
    mitigation: tuple[str, ...]
    escalation: str


CATALOGUE: tuple[AlertSpec, ...] = (
    AlertSpec(
        "ServiceDown",
        "critical",
        "P0",
        "Prometheus could not scrape any pod of the service for 1 minute (or no pod is scraped at all).",
        "Every request to the service fails; dependent services degrade. Counts against the availability SLO.",
        ('up{{service="{service}"}}', 'kube_deployment_status_replicas_available{{deployment="{service}"}}'),
        (
            "`kubectl -n {namespace} get pods -l app.kubernetes.io/name={service}` and `kubectl describe` the failing pods.",
            "If the last rollout caused it, roll back: `argocd app rollback {service}` or revert the image pin in the inventory.",
            "If pods are Pending, check node capacity and the PodDisruptionBudget.",
        ),
        "Page the on-call engineer (P0). If not resolved within 15 minutes (MTTR target), escalate to the service owner.",
    ),
    AlertSpec(
        "HighErrorRate",
        "critical",
        "P0",
        "The share of HTTP 5xx responses over the last minute is above the service's `alerts.error_rate_percent`,"
        " and stayed there for 2 minutes (a 30-second blip does not page).",
        "Users see failures; the availability error budget burns fast.",
        (
            'service:http_errors:ratio_rate1m{{service="{service}"}}',
            'sum by (route, code) (rate(http_requests_total{{service="{service}",code=~"5.."}}[5m]))',
        ),
        (
            "Find the failing routes with the second query; check the service logs for the same period.",
            "Check dependencies (Redis, PostgreSQL, other services) for their own alerts.",
            "If it started with a deployment (DeploymentStarted/Completed), roll back.",
        ),
        "Page the on-call engineer (P0); escalate to the service owner after 15 minutes.",
    ),
    AlertSpec(
        "HighLatencyP99",
        "critical",
        "P1",
        "The 99th percentile response time over the last minute is above the service's `alerts.latency_p99_seconds`,"
        " and stayed there for 2 minutes.",
        "The slowest 1% of requests time out or feel broken; callers may retry and add load.",
        (
            'service:http_request_duration_seconds:p99_1m{{service="{service}"}}',
            "histogram_quantile(0.99, sum by (route, le) "
            '(rate(http_request_duration_seconds_bucket{{service="{service}"}}[5m])))',
        ),
        (
            "Find the slow routes with the second query.",
            "Check CPU and memory saturation (HighCPUUsage, HighMemoryUsage).",
            "Check database and cache latency; scale out if the HPA is at max_replicas.",
        ),
        "Page the on-call engineer (P1); escalate to the service owner if unresolved after 30 minutes.",
    ),
    AlertSpec(
        "HighCPUUsage",
        "warning",
        "P2",
        "A pod uses more CPU than `alerts.cpu_percent` of its CPU limit for `alerts.for`.",
        "The pod is throttled near its limit, latency rises.",
        ('service:cpu_usage:ratio_limit{{service="{service}"}}',),
        (
            "Check whether the HPA is scaling (`kubectl -n {namespace} get hpa {service}`).",
            "Raise `resources.limits.cpu` or `autoscaling.max_replicas` for the service in the inventory.",
        ),
        "Chat notification (P2); handle during working hours.",
    ),
    AlertSpec(
        "HighMemoryUsage",
        "warning",
        "P2",
        "A pod's resident memory is above `alerts.memory_percent` of its memory limit for `alerts.for`.",
        "The pod is close to being OOM-killed.",
        ('service:memory_usage:ratio_limit{{service="{service}"}}',),
        (
            "Look for a leak: does memory grow steadily since the last restart?",
            "Raise `resources.limits.memory` for the service in the inventory.",
        ),
        "Chat notification (P2); handle during working hours.",
    ),
    AlertSpec(
        "LowCacheHitRate",
        "warning",
        "P3",
        "Fewer than `alerts.cache_hit_rate_percent` of cache look-ups hit for `alerts.for`.",
        "More load on PostgreSQL and higher latency.",
        ('service:cache_hit:ratio_rate5m{{service="{service}"}}', "redis_up"),
        ("Check Redis health (redis_up, evictions, memory).", "Check whether CACHE_TTL_SECONDS was changed recently."),
        "Ticket (P3); handle within the sprint.",
    ),
    AlertSpec(
        "DeploymentStarted",
        "info",
        "P3",
        "A new version started rolling out in the last 10 minutes and has not finished: the Deployment's spec"
        " generation changed (kube-state-metrics), or the Argo Rollout left Healthy for Progressing/Paused"
        " (Argo Rollouts controller, `rollout_info`).",
        "None by itself; context for other alerts.",
        (
            'kube_deployment_metadata_generation{{deployment="{service}"}}',
            'rollout_info{{namespace="{namespace}",name="{service}"}}',
        ),
        ("Nothing to do; watch the rollout in Argo CD (`kubectl argo rollouts get rollout {service} -n {namespace}`).",),
        "Informational, sent to the events channel.",
    ),
    AlertSpec(
        "DeploymentCompleted",
        "info",
        "P3",
        "A rollout finished in the last 10 minutes: the Deployment's every replica runs the new template, or the"
        " Argo Rollout went from Progressing/Paused back to Healthy.",
        "None; the new version serves all traffic.",
        ('kube_deployment_status_replicas_updated{{deployment="{service}"}}', 'rollout_info{{name="{service}"}}'),
        ("Nothing to do; compare error rate and latency before and after.",),
        "Informational, sent to the events channel.",
    ),
    AlertSpec(
        "BackupCompleted",
        "info",
        "P3",
        "CloudNativePG reported a newer completed base backup (service `postgresql`), or a Velero schedule a newer"
        " successful backup (service `velero`, label `schedule`), in the last 15 minutes.",
        "None; a new recovery point exists.",
        ("cnpg_collector_last_available_backup_timestamp", "velero_backup_last_successful_timestamp"),
        ("Nothing to do.",),
        "Informational, sent to the events channel.",
    ),
    AlertSpec(
        "SLOErrorBudgetBurnFast",
        "critical",
        "P1",
        "The SLO's error budget burns at 14.4x (1 h and 5 min windows) or 6x (6 h and 30 min windows) the sustainable"
        " rate: 2% or 5% of the 30-day budget gone in that time (Google SRE workbook, multiwindow multi-burn-rate).",
        "At this rate the whole 30-day error budget is gone in about 2 or 5 days.",
        (
            'service:slo_errors:ratio_rate1h{{service="{service}"}}',
            'service:slo_error_budget:remaining_ratio{{service="{service}"}}',
        ),
        (
            "The `slo` label says which objective burns (availability, latency-p95, latency-p99).",
            "Treat like HighErrorRate or HighLatencyP99; freeze risky deployments until the burn stops.",
        ),
        "Page the on-call engineer (P1).",
    ),
    AlertSpec(
        "SLOErrorBudgetBurnSlow",
        "warning",
        "P3",
        "The SLO's error budget burns at 3x (1 d and 2 h windows) or 1x (3 d and 6 h windows) the sustainable rate.",
        "The 30-day budget will run out before the period ends if nothing changes.",
        (
            'service:slo_errors:ratio_rate1d{{service="{service}"}}',
            'service:slo_error_budget:remaining_ratio{{service="{service}"}}',
        ),
        ("Plan reliability work; look at the slowest or failing routes over the last days.",),
        "Ticket (P3) for the service owner.",
    ),
)


def spec(name: str) -> AlertSpec:
    for entry in CATALOGUE:
        if entry.name == name:
            return entry
    raise KeyError(name)


def runbook_url(repo_url: str, alert: str) -> str:
    """Link to docs/runbooks/<alert>.md on the default branch of the GitOps repository."""
    base = repo_url.removesuffix(".git")
    return f"{base}/blob/main/docs/runbooks/{alert}.md"
