"""Prometheus recording and alerting rules generated from a target's inventory.

    files = rule_files(target)   # {"mnops-recording": {"groups": [...]}, ...}

The same groups become PrometheusRule objects (manifests/monitoring/) and raw rule files
(compiled/<target>/rules/<name>.yaml) that promtool and the local preview read. Thresholds come
from each service's effective `alerts` and `slo` settings; only names from contract.py are used.
Uses only PromQL that Prometheus 2.42 (promtool in Debian 12) understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops import units
from mnops.data.managed import uses_in_cluster
from mnops.inventory.model import Service, Target
from mnops.observability import contract
from mnops.observability.alerts import runbook_url, spec
from mnops.observability.reliability import reliability_groups
from mnops.observability.settings import monitoring_settings

Rule = dict[str, Any]
Group = dict[str, Any]

# A down service is unambiguous: waiting `alerts.for` (5m) would use up the response target.
SERVICE_DOWN_FOR = "1m"
# Paging threshold alerts (HighErrorRate P0, HighLatencyP99 P1) read a 1-minute window and hold
# for 2 minutes: a share just over the threshold fills the window in 1m and pages 2m later,
# inside the 5-minute response target with scrape, evaluation and group_wait on top; a
# 30-second blip leaves the 1-minute window after at most 1m30s, so it never lasts the 2m
# `for`. (A 5m window with `for: 5m` took 346 s end to end.) The window needs at least four
# samples: monitoring.scrape_interval is 15s. tests/test_observability_detection.py proves both.
PAGE_WINDOW = "1m"
PAGE_FOR = "2m"
INFO_WINDOW = "10m"  # how long a deployment event stays visible
BACKUP_WINDOW = "15m"
SLO_PAGE_FOR = "2m"
SLO_TICKET_FOR = "15m"
ERROR_BUDGET_PERIOD = "30d"

# (long window, short window, burn rate) pairs; Google SRE workbook, table 5-8.
PAGE_BURNS: tuple[tuple[str, str, float], ...] = (("1h", "5m", 14.4), ("6h", "30m", 6.0))
TICKET_BURNS: tuple[tuple[str, str, float], ...] = (("1d", "2h", 3.0), ("3d", "6h", 1.0))


def num(value: float) -> str:
    """A PromQL number with no float noise: 14.4 * 0.001 -> 0.0144."""
    return f"{value:.6g}"


def le_values(seconds: float) -> str:
    """Regex for a bucket bound as Go (0.5, 1) and Python (0.5, 1.0) clients print it."""
    go = num(seconds)
    python = go if "." in go or "e" in go else f"{go}.0"
    return go if go == python else f"{go}|{python}"


@dataclass(frozen=True)
class SloObjective:
    kind: str  # availability, latency-p95, latency-p99
    objective: float  # share of good events, 0-1
    latency_seconds: float | None  # None for availability

    @property
    def budget(self) -> float:
        return round(1 - self.objective, 10)


def slo_objectives(svc: Service) -> tuple[SloObjective, ...]:
    return (
        SloObjective("availability", round(svc.slo.availability_percent / 100, 10), None),
        SloObjective("latency-p95", 0.95, svc.slo.latency_p95_ms / 1000),
        SloObjective("latency-p99", 0.99, svc.slo.latency_p99_ms / 1000),
    )


def _selector(svc: Service) -> str:
    """The service's own series: its name in its namespace (another namespace may reuse the name,
    e.g. a copy of the service in a test namespace scraped by the same Prometheus)."""
    return f'{{namespace="{svc.namespace}",service="{svc.name}"}}'


def _by(*labels: str) -> str:
    return f"by ({', '.join(labels)})"


BY_SERVICE = _by("namespace", "service")
BY_SERVICE_LE = _by("namespace", "service", "le")


def _ratio(numerator: str, denominator: str) -> str:
    """numerator/denominator, or 0 when the numerator has no series (no errors is 0%, not 'no data')."""
    return f"{numerator}\n/ {denominator}\nor 0 * {denominator}"


def red_group(target: Target) -> Group:
    # The apps namespace holds only our services: its ServiceMonitors are the only scrape jobs there.
    apps = f'namespace="{target.namespaces["apps"]}"'
    requests = f"http_requests_total{{{apps}}}"
    errors = f'http_requests_total{{{apps},code=~"5.."}}'
    total = f"sum {BY_SERVICE} (rate({requests}[5m]))"
    page_total = f"sum {BY_SERVICE} (rate({requests}[{PAGE_WINDOW}]))"
    rules: list[Rule] = [
        {"record": "service:http_requests:rate5m", "expr": total},
        {"record": "service:http_errors:ratio_rate5m", "expr": _ratio(f"sum {BY_SERVICE} (rate({errors}[5m]))", total)},
        {
            "record": f"service:http_errors:ratio_rate{PAGE_WINDOW}",
            "expr": _ratio(f"sum {BY_SERVICE} (rate({errors}[{PAGE_WINDOW}]))", page_total),
        },
    ]
    buckets = f"http_request_duration_seconds_bucket{{{apps}}}"
    for quantile, window in (("50", "5m"), ("95", "5m"), ("99", "5m"), ("99", PAGE_WINDOW)):
        rules.append(
            {
                "record": f"service:http_request_duration_seconds:p{quantile}_{window}",
                "expr": f"histogram_quantile(0.{quantile},\n  sum {BY_SERVICE_LE} (rate({buckets}[{window}]))\n)",
            }
        )
    cache_all = f"mnops_cache_requests_total{{{apps}}}"
    cache_hits = f'mnops_cache_requests_total{{{apps},result="hit"}}'
    cache_total = f"sum {BY_SERVICE} (rate({cache_all}[5m]))"
    rules.append(
        {"record": "service:cache_hit:ratio_rate5m", "expr": _ratio(f"sum {BY_SERVICE} (rate({cache_hits}[5m]))", cache_total)}
    )
    return {"name": "mnops-red", "rules": rules}


def saturation_group(target: Target) -> Group:
    """Per pod, against the limit the inventory sets (the one the pod really has)."""
    rules: list[Rule] = []
    by_pod = _by("namespace", "service", "pod")
    for svc in target.services:
        cpu_cores = units.cpu_millicores(svc.resources.cpu_limit) / 1000
        memory = units.memory_bytes(svc.resources.memory_limit)
        sel = _selector(svc)
        # The static label keeps each service's rule distinct (promtool rejects duplicates).
        labels = {"service": svc.name}
        rules += [
            {
                "record": "service:cpu_usage:ratio_limit",
                "expr": f"sum {by_pod} (rate(process_cpu_seconds_total{sel}[5m])) / {num(cpu_cores)}",
                "labels": labels,
            },
            {
                "record": "service:memory_usage:ratio_limit",
                "expr": f"sum {by_pod} (process_resident_memory_bytes{sel}) / {memory}",
                "labels": labels,
            },
        ]
    return {"name": "mnops-saturation", "rules": rules}


def _slo_error_ratio(svc: Service, slo: SloObjective, window: str) -> str:
    sel = _selector(svc)[1:-1]
    if slo.latency_seconds is None:
        total = f"sum {BY_SERVICE} (rate(http_requests_total{{{sel}}}[{window}]))"
        errors = f'sum {BY_SERVICE} (rate(http_requests_total{{{sel},code=~"5.."}}[{window}]))'
        return _ratio(errors, total)
    fast = f'http_request_duration_seconds_bucket{{{sel},le=~"{le_values(slo.latency_seconds)}"}}'
    good = f"sum {BY_SERVICE} (\n    rate({fast}[{window}])\n  )"
    count = f"sum {BY_SERVICE} (rate(http_request_duration_seconds_count{{{sel}}}[{window}]))"
    return f"1 - (\n  {good}\n/\n  {count}\n)"


def slo_group(target: Target, svc: Service) -> Group:
    rules: list[Rule] = []
    for slo in slo_objectives(svc):
        labels = {"service": svc.name, "slo": slo.kind}
        rules.append({"record": "service:slo_objective:ratio", "expr": f"vector({num(slo.objective)})", "labels": labels})
        rules += [
            {"record": f"service:slo_errors:ratio_rate{w}", "expr": _slo_error_ratio(svc, slo, w), "labels": labels}
            for w in contract.SLO_WINDOWS
        ]
        sel = f'{{namespace="{svc.namespace}",service="{svc.name}",slo="{slo.kind}"}}'
        rules += [
            {
                "record": "service:slo_error_budget:remaining_ratio",
                "expr": f"1 - (avg_over_time(service:slo_errors:ratio_rate5m{sel}[{ERROR_BUDGET_PERIOD}]) / {num(slo.budget)})",
                "labels": labels,
            },
            {
                "record": "service:slo_burn_rate:ratio_rate1h",
                "expr": f"service:slo_errors:ratio_rate1h{sel} / {num(slo.budget)}",
                "labels": labels,
            },
        ]
    return {"name": f"mnops-slo-{svc.name}", "rules": rules}


def _alert(  # noqa: PLR0917 - each call reads top to bottom like the rule it makes
    name: str,
    expr: str,
    for_: str,
    service: str,
    summary: str,
    description: str,
    repo_url: str,
    extra: Mapping[str, str] | None = None,
) -> Rule:
    entry = spec(name)
    labels = {"severity": entry.severity, "priority": entry.priority, "service": service, **(extra or {})}
    annotations = {"summary": summary, "description": description, "runbook_url": runbook_url(repo_url, name)}
    return {"alert": name, "expr": expr, "for": for_, "labels": labels, "annotations": annotations}


def service_alerts(target: Target, svc: Service) -> list[Rule]:
    a, env, repo = svc.alerts, target.cluster.environment, target.repo_url
    s = _selector(svc)
    where = f"in {target.cluster.name} ({env})"
    rules = [
        _alert(
            "ServiceDown",
            f"sum {BY_SERVICE} (up{s}) == 0 or absent(up{s})",
            SERVICE_DOWN_FOR,
            svc.name,
            f"{svc.name} is down",
            f"No pod of {svc.name} answered a scrape for {SERVICE_DOWN_FOR} {where}.",
            repo,
        ),
        _alert(
            "HighErrorRate",
            f"service:http_errors:ratio_rate{PAGE_WINDOW}{s} > {num(a.error_rate_percent / 100)}",
            PAGE_FOR,
            svc.name,
            f"{svc.name} error rate above {num(a.error_rate_percent)}%",
            f"More than {num(a.error_rate_percent)}% of {svc.name} requests failed with 5xx for {PAGE_FOR} {where}.",
            repo,
        ),
        _alert(
            "HighLatencyP99",
            f"service:http_request_duration_seconds:p99_{PAGE_WINDOW}{s} > {num(a.latency_p99_seconds)}",
            PAGE_FOR,
            svc.name,
            f"{svc.name} P99 latency above {num(a.latency_p99_seconds)}s",
            f"The 99th percentile latency of {svc.name} stayed above {num(a.latency_p99_seconds)}s for {PAGE_FOR} {where}.",
            repo,
        ),
        _alert(
            "HighCPUUsage",
            f"service:cpu_usage:ratio_limit{s} > {num(a.cpu_percent / 100)}",
            a.for_duration,
            svc.name,
            f"{svc.name} CPU above {a.cpu_percent}% of its limit",
            f"Pod {{{{ $labels.pod }}}} of {svc.name} used more than {a.cpu_percent}% of its {svc.resources.cpu_limit} CPU"
            f" limit for {a.for_duration} {where}.",
            repo,
        ),
        _alert(
            "HighMemoryUsage",
            f"service:memory_usage:ratio_limit{s} > {num(a.memory_percent / 100)}",
            a.for_duration,
            svc.name,
            f"{svc.name} memory above {a.memory_percent}% of its limit",
            f"Pod {{{{ $labels.pod }}}} of {svc.name} used more than {a.memory_percent}% of its"
            f" {svc.resources.memory_limit} memory limit for {a.for_duration} {where}.",
            repo,
        ),
    ]
    if svc.dependencies.redis:
        rules.append(
            _alert(
                "LowCacheHitRate",
                f"service:cache_hit:ratio_rate5m{s} < {num(a.cache_hit_rate_percent / 100)}",
                a.for_duration,
                svc.name,
                f"{svc.name} cache hit rate below {a.cache_hit_rate_percent}%",
                f"Fewer than {a.cache_hit_rate_percent}% of {svc.name} cache look-ups hit for {a.for_duration} {where}.",
                repo,
            )
        )
    return rules


def _deployment_changes(svc: Service) -> tuple[str, str]:
    """(started, completed) for a plain Deployment, from kube-state-metrics."""
    sel = f'{{namespace="{svc.namespace}",deployment="{svc.name}"}}'
    by = _by("namespace", "deployment")

    def m(metric: str) -> str:
        return f"max {by} ({metric}{sel})"

    changed = f"max {by} (\n  changes({contract.DEPLOYMENT_GENERATION_METRIC}{sel}[{INFO_WINDOW}])\n) > 0"
    done = (
        f"({m(contract.DEPLOYMENT_OBSERVED_METRIC)}\n  >= {m(contract.DEPLOYMENT_GENERATION_METRIC)})"
        f"\nand ({m('kube_deployment_status_replicas_updated')}\n  >= {m('kube_deployment_spec_replicas')})"
        f"\nand ({m('kube_deployment_status_replicas_available')}\n  >= {m('kube_deployment_spec_replicas')})"
    )
    return f"({changed})\nunless\n({done})", f"({changed})\nand\n({done})"


def _rollout_changes(svc: Service) -> tuple[str, str]:
    """(started, completed) for an Argo Rollout, from the Rollouts controller's `rollout_info`.

    The controller exports one series per Rollout whose `phase` label is the current phase
    (Progressing, Paused, Healthy, Degraded): a rollout started when it is Progressing or Paused
    and was Healthy within the window; it completed when it is Healthy and was not within the window.
    """
    sel = f'namespace="{svc.namespace}",name="{svc.name}"'
    by = _by("namespace", "name")
    moving = f'max {by} ({contract.ROLLOUT_INFO_METRIC}{{{sel},phase=~"Progressing|Paused"}})'
    healthy = f'max {by} ({contract.ROLLOUT_INFO_METRIC}{{{sel},phase="Healthy"}})'
    was_moving = f'max {by} (max_over_time({contract.ROLLOUT_INFO_METRIC}{{{sel},phase=~"Progressing|Paused"}}[{INFO_WINDOW}]))'
    was_healthy = f'max {by} (max_over_time({contract.ROLLOUT_INFO_METRIC}{{{sel},phase="Healthy"}}[{INFO_WINDOW}]))'
    return f"{moving}\nand\n{was_healthy}", f"{healthy}\nand\n{was_moving}"


def deployment_alerts(target: Target, svc: Service) -> list[Rule]:
    """Info events for a new version of the service, whether it runs as a Deployment or an Argo
    Rollout (staging and prod): each rule reads both sources, only one of which has series."""
    deployment_started, deployment_completed = _deployment_changes(svc)
    rollout_started, rollout_completed = _rollout_changes(svc)
    where = f"in {target.cluster.name} ({target.cluster.environment})"
    return [
        _alert(
            "DeploymentStarted",
            f"(\n{deployment_started}\n)\nor\n(\n{rollout_started}\n)",
            "0s",
            svc.name,
            f"{svc.name} rollout started",
            f"A new version of {svc.name} is rolling out {where}.",
            target.repo_url,
        ),
        _alert(
            "DeploymentCompleted",
            f"(\n{deployment_completed}\n)\nor\n(\n{rollout_completed}\n)",
            "0s",
            svc.name,
            f"{svc.name} rollout completed",
            f"Every replica of {svc.name} runs the new version {where}.",
            target.repo_url,
        ),
    ]


def backup_alerts(target: Target) -> list[Rule]:
    """A new recovery point: CloudNativePG's newest base backup (services using PostgreSQL) and
    each Velero schedule's last successful backup (every cluster backs up with Velero)."""
    where = f"in {target.cluster.name} ({target.cluster.environment})"
    rules = []
    if uses_in_cluster(target.services, target.parameters, "postgres"):
        data_ns = target.namespaces.get("data", target.namespaces["apps"])
        metric = f'{contract.BACKUP_COMPLETED_METRIC}{{namespace="{data_ns}"}}'
        rules.append(
            _alert(
                "BackupCompleted",
                f"max {_by('namespace')} (changes({metric}[{BACKUP_WINDOW}])) > 0",
                "0s",
                "postgresql",
                "PostgreSQL backup completed",
                f"CloudNativePG finished a base backup in {data_ns} {where}.",
                target.repo_url,
            )
        )
    velero = f"max {_by('schedule')} (changes({contract.VELERO_BACKUP_COMPLETED_METRIC}[{BACKUP_WINDOW}])) > 0"
    rules.append(
        _alert(
            "BackupCompleted",
            velero,
            "0s",
            "velero",
            "Velero backup completed",
            f"Velero schedule {{{{ $labels.schedule }}}} finished a backup {where}.",
            target.repo_url,
        )
    )
    return rules


def _burn_expr(svc: Service, slo: SloObjective, burns: tuple[tuple[str, str, float], ...]) -> str:
    sel = f'{{namespace="{svc.namespace}",service="{svc.name}",slo="{slo.kind}"}}'
    parts = []
    for long, short, rate in burns:
        threshold = num(rate * slo.budget)
        parts.append(
            f"(service:slo_errors:ratio_rate{long}{sel} > {threshold}"
            f"\nand service:slo_errors:ratio_rate{short}{sel} > {threshold})"
        )
    return "\nor\n".join(parts)


def slo_alerts(target: Target, svc: Service) -> list[Rule]:
    rules = []
    where = f"in {target.cluster.name} ({target.cluster.environment})"
    for slo in slo_objectives(svc):
        goal = f"{num(slo.objective * 100)}% of requests " + (
            "succeed" if slo.latency_seconds is None else f"faster than {num(slo.latency_seconds * 1000)}ms"
        )
        rules += [
            _alert(
                "SLOErrorBudgetBurnFast",
                _burn_expr(svc, slo, PAGE_BURNS),
                SLO_PAGE_FOR,
                svc.name,
                f"{svc.name} burns its {slo.kind} error budget fast",
                f"{svc.name} is burning the error budget of its {slo.kind} SLO ({goal}) at 6x-14.4x {where}.",
                target.repo_url,
                {"slo": slo.kind},
            ),
            _alert(
                "SLOErrorBudgetBurnSlow",
                _burn_expr(svc, slo, TICKET_BURNS),
                SLO_TICKET_FOR,
                svc.name,
                f"{svc.name} burns its {slo.kind} error budget",
                f"{svc.name} is burning the error budget of its {slo.kind} SLO ({goal}) at 1x-3x {where}.",
                target.repo_url,
                {"slo": slo.kind},
            ),
        ]
    return rules


def rule_files(target: Target) -> dict[str, dict[str, list[Group]]]:
    """File stem -> rule file content. Recording groups come first (promtool evaluates in order).

    Groups set no `interval` (the evaluation interval is global, kube-prometheus-stack values),
    except the 30-day reliability figures (mnops.observability.reliability).
    """
    alerts = [r for svc in target.services for r in service_alerts(target, svc)]
    info = [r for svc in target.services for r in deployment_alerts(target, svc)] + backup_alerts(target)
    slo_alert_rules = [r for svc in target.services for r in slo_alerts(target, svc)]
    return {
        "mnops-recording": {"groups": [red_group(target), saturation_group(target)]},
        "mnops-slo": {"groups": [slo_group(target, svc) for svc in target.services]},
        # Reads ALERTS and the RED recordings: its own file, so its promtool suite loads nothing else.
        "mnops-availability": {"groups": reliability_groups(target, monitoring_settings(target.parameters).evaluation_interval)},
        "mnops-alerts": {
            "groups": [
                {"name": "mnops-service-alerts", "rules": alerts},
                {"name": "mnops-slo-alerts", "rules": slo_alert_rules},
                {"name": "mnops-info-events", "rules": info},
            ]
        },
    }
