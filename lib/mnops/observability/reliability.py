"""Availability, MTTR and MTBF over 30 days, per service and per cluster (plan section 9.1).

    groups = reliability_groups(target, evaluation_interval="30s")   # rule file mnops-availability
    items = reliability_panels()                                      # SLO dashboard row

An incident is a period in which at least one P0 or P1 alert of the service fires (Prometheus'
own `ALERTS` series, so it counts exactly what paged). From the 0/1 series
`service:incident:active` (and `cluster:incident:active`, any service) the 30-day figures are:

- incidents: 0->1 transitions, floor((changes + now) / 2), exact whatever the window starts with;
- incident seconds: firing samples x the evaluation interval that recorded them;
- MTTR: incident seconds / incidents; MTBF: (observed seconds - incident seconds) / incidents;
- availability: 1 - the average 5-minute 5xx share (the request-based availability of the SLO).

MTTR and MTBF have no value without an incident in the window (nothing to average).
"""

from __future__ import annotations

from typing import Any

from mnops import units
from mnops.inventory.model import Target
from mnops.observability.grafana import Panel, Query, Row

# Plan section 9.1: availability > 99.9%, MTTR < 15 min, MTBF > 720 h.
AVAILABILITY_TARGET = 0.999
MTTR_TARGET_SECONDS = 15 * 60
MTBF_TARGET_SECONDS = 720 * 3600
WINDOW = "30d"
# The 30-day figures read a month of samples; every 5 minutes is often enough for a monthly figure.
SLOW_INTERVAL = "5m"
PAGING = 'alertstate="firing",priority=~"P0|P1"'

Rule = dict[str, Any]


def _figures(prefix: str, step_seconds: int) -> list[Rule]:
    active = f"{prefix}:incident:active"
    count = f"{prefix}:incidents:count{WINDOW}"
    down = f"{prefix}:incident_seconds:sum{WINDOW}"
    return [
        {"record": count, "expr": f"floor((changes({active}[{WINDOW}]) + {active}) / 2)"},
        {"record": down, "expr": f"sum_over_time({active}[{WINDOW}]) * {step_seconds}"},
        {"record": f"{prefix}:mttr_seconds:{WINDOW}", "expr": f"{down}\n/ ({count} > 0)"},
        {
            "record": f"{prefix}:mtbf_seconds:{WINDOW}",
            "expr": f"(count_over_time({active}[{WINDOW}]) * {step_seconds} - {down})\n/ ({count} > 0)",
        },
    ]


def reliability_groups(target: Target, evaluation_interval: str) -> list[dict[str, Any]]:
    apps = f'namespace="{target.namespaces["apps"]}"'
    step = units.duration_seconds(evaluation_interval)
    by = "by (namespace, service)"
    state = [
        {
            "record": "service:incident:active",
            # 0 for every scraped service without a paging alert, so that changes() sees recoveries.
            "expr": f"max {by} (ALERTS{{{apps},{PAGING}}})\nor\nmax {by} (0 * up{{{apps}}})",
        },
        {"record": "cluster:incident:active", "expr": "max(service:incident:active)"},
        {
            "record": "cluster:http_errors:ratio_rate5m",
            "expr": "sum(service:http_errors:ratio_rate5m * service:http_requests:rate5m)\n/ sum(service:http_requests:rate5m)",
        },
    ]
    monthly = [
        {
            "record": f"service:availability:ratio{WINDOW}",
            "expr": f"1 - avg_over_time(service:http_errors:ratio_rate5m[{WINDOW}])",
        },
        {
            "record": f"cluster:availability:ratio{WINDOW}",
            "expr": f"1 - avg_over_time(cluster:http_errors:ratio_rate5m[{WINDOW}])",
        },
        *_figures("service", step),
        *_figures("cluster", step),
    ]
    return [
        {"name": "mnops-incidents", "rules": state},
        {"name": "mnops-reliability-30d", "interval": SLOW_INTERVAL, "rules": monthly},
    ]


def reliability_panels() -> list[Panel | Row]:
    """Cluster figures against the plan's targets, then the same per service."""
    hours = 3600

    def stat(title: str, expr: str, unit: str, thresholds: tuple[tuple[float, str], ...], description: str) -> Panel:
        return Panel(title, (Query(expr, "cluster"),), kind="stat", unit=unit, width=6, height=5, thresholds=thresholds,
                     description=description)  # fmt: skip

    return [
        Row(f"Reliability ({WINDOW}): targets availability > {AVAILABILITY_TARGET:.1%}, MTTR < 15 min, MTBF > 720 h"),
        stat("Availability", f"cluster:availability:ratio{WINDOW}", "percentunit", ((0, "red"), (AVAILABILITY_TARGET, "green")),
             "Share of non-5xx responses of all services over 30 days (plan 9.1: > 99.9%)."),
        stat("Incidents (P0/P1)", f"cluster:incidents:count{WINDOW}", "short", ((0, "green"), (2, "orange")),
             "Periods with at least one P0/P1 alert firing in the cluster, started in the last 30 days."),
        stat("MTTR", f"cluster:mttr_seconds:{WINDOW}", "s", ((0, "green"), (MTTR_TARGET_SECONDS, "red")),
             "Mean firing time of an incident (plan 9.1: < 15 min). Empty: no incident in 30 days."),
        stat("MTBF", f"cluster:mtbf_seconds:{WINDOW} / {hours}", "h", ((0, "red"), (MTBF_TARGET_SECONDS / hours, "green")),
             "Mean time between incidents (plan 9.1: > 720 h). Empty: no incident in 30 days."),
        Panel("Per service: availability, incidents, MTTR, MTBF", (
            Query(f"service:availability:ratio{WINDOW}", "{{service}} availability"),
            Query(f"service:incidents:count{WINDOW}", "{{service}} incidents"),
            Query(f"service:mttr_seconds:{WINDOW}", "{{service}} MTTR (s)"),
            Query(f"service:mtbf_seconds:{WINDOW} / {hours}", "{{service}} MTBF (h)"),
        ), width=24, height=8),
    ]  # fmt: skip
