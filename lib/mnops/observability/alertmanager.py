"""The Alertmanager configuration of one target, built from the `monitoring.alertmanager` inventory.

Route tree: the Watchdog heartbeat first (to the dead man's switch), severity=info events (to
the `info` receivers, at any hour), then one route per priority
(P0-P3) to the receivers the environment lists, `continue: true` on all but the last receiver
of a priority so that P0 reaches pager AND chat. Credentials are never in the config: each
receiver reads a file from the Secret that the operator mounts (`alertmanagerSpec.secrets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError
from mnops.observability.settings import PRIORITIES, AlertmanagerSettings, Receiver, Timing

# Files inside the mounted receivers Secret, one per receiver: <receiver>-<suffix>
# (e.g. pager-routing-key, chat-webhook-url, ticket-smtp-password; see docs/observability.md).
SECRET_FILE_SUFFIX = {"pagerduty": "routing-key", "slack": "webhook-url", "email": "smtp-password"}
BUSINESS_HOURS = "business-hours"
NULL_RECEIVER = "null"
SILENT_ALERTS = "InfoInhibitor"
# kube-prometheus-stack's always-firing Watchdog goes to a dead man's switch (healthchecks.io,
# Dead Man's Snitch, an Opsgenie/PagerDuty heartbeat...): the service pages when the pings stop,
# i.e. when Prometheus, Alertmanager or the path between them is broken. Its URL is a credential
# (whoever knows it can keep the switch quiet), so it comes from the receivers Secret like the rest.
HEARTBEAT_RECEIVER = "heartbeat"
HEARTBEAT_ALERT = "Watchdog"
HEARTBEAT_FILE = "heartbeat-webhook-url"
HEARTBEAT_TIMING = Timing(group_wait="0s", group_interval="1m", repeat_interval="1m")


@dataclass(frozen=True)
class Inhibition:
    """While `source` fires, `targets` of the same cluster and service (and SLO when `same_slo`)
    are not notified: they describe the same incident. `target_slo` limits the targets to one SLO."""

    source: str
    targets: tuple[str, ...]
    target_slo: str | None = None
    same_slo: bool = False
    why: str = ""


SLO_BURNS = ("SLOErrorBudgetBurnFast", "SLOErrorBudgetBurnSlow")
# The intended inhibition matrix (docs/observability.md renders it; tests/test_observability_inhibition.py
# checks every cell against a real Alertmanager). Deliberately absent: a fast burn of one SLO
# muting another SLO's ticket, and any P0/P1 muting CPU, memory or cache warnings, which may
# be the cause and need their own owner.
INHIBITIONS: tuple[Inhibition, ...] = (
    Inhibition("ServiceDown", ("HighErrorRate", "HighLatencyP99", *SLO_BURNS),
               why="nothing answers: errors, latency and budget burn are symptoms of the outage"),
    Inhibition("HighErrorRate", SLO_BURNS, target_slo="availability",
               why="the 5xx page already covers the availability budget it burns"),
    Inhibition("HighLatencyP99", SLO_BURNS, target_slo="latency-p99",
               why="the P99 page already covers the P99 budget it burns"),
    Inhibition("SLOErrorBudgetBurnFast", ("SLOErrorBudgetBurnSlow",), same_slo=True,
               why="the page for an SLO makes the ticket for the same SLO redundant"),
)  # fmt: skip


def inhibit_rules() -> list[dict[str, Any]]:
    rules = []
    for entry in INHIBITIONS:
        targets = [f'alertname=~"{"|".join(entry.targets)}"' if len(entry.targets) > 1 else f'alertname="{entry.targets[0]}"']
        if entry.target_slo:
            targets.append(f'slo="{entry.target_slo}"')
        equal = ["cluster", "service", *(["slo"] if entry.same_slo else [])]
        rules.append({"source_matchers": [f'alertname="{entry.source}"'], "target_matchers": targets, "equal": equal})
    return rules


# Alertmanager notification templates (Go templates, evaluated by Alertmanager, not by us).
SLACK_TITLE = "[{{ .Status | toUpper }}] {{ .CommonLabels.priority }} {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})"
SLACK_TEXT = (
    "{{ range .Alerts }}{{ .Annotations.summary }}: {{ .Annotations.description }}"
    " <{{ .Annotations.runbook_url }}|runbook>\n{{ end }}"
)


def secret_file(receiver: Receiver, secret_dir: str) -> str:
    """Path of the one credential file a receiver reads (a Secret key, never a value in git)."""
    return f"{secret_dir}/{receiver.name}-{SECRET_FILE_SUFFIX[receiver.type]}"


def receiver_config(receiver: Receiver, secret_dir: str) -> dict[str, Any]:
    if receiver.type == "pagerduty":
        body: dict[str, Any] = {
            "pagerduty_configs": [
                {
                    "routing_key_file": secret_file(receiver, secret_dir),
                    "severity": '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}warning{{ end }}',
                    "send_resolved": True,
                }
            ]
        }
    elif receiver.type == "slack":
        if not receiver.channel:
            raise BuildError(f"slack receiver {receiver.name} needs a channel")
        body = {
            "slack_configs": [
                {
                    "api_url_file": secret_file(receiver, secret_dir),
                    "channel": receiver.channel,
                    "send_resolved": True,
                    "title": SLACK_TITLE,
                    "text": SLACK_TEXT,
                }
            ]
        }
    elif receiver.type == "email":
        if not (receiver.to and receiver.sender and receiver.smarthost):
            raise BuildError(f"email receiver {receiver.name} needs to, from and smarthost")
        email: dict[str, Any] = {
            "to": receiver.to,
            "from": receiver.sender,
            "smarthost": receiver.smarthost,
            "require_tls": True,
            "send_resolved": False,
        }
        if receiver.username:
            email["auth_username"] = receiver.username
            email["auth_password_file"] = secret_file(receiver, secret_dir)
        body = {"email_configs": [email]}
    else:  # the schema allows only the three above
        raise BuildError(f"receiver {receiver.name}: unknown type {receiver.type!r}")
    return {"name": receiver.name, **body}


def _timing(t: Timing) -> dict[str, str]:
    return {"group_wait": t.group_wait, "group_interval": t.group_interval, "repeat_interval": t.repeat_interval}


def _routes_for(key: str, matchers: list[str], receivers: tuple[str, ...], timing: Timing, quiet: bool) -> list[dict[str, Any]]:
    routes = []
    for index, name in enumerate(receivers):
        route: dict[str, Any] = {"receiver": name, "matchers": matchers, **_timing(timing)}
        if quiet:
            route["active_time_intervals"] = [BUSINESS_HOURS]
        if index < len(receivers) - 1:
            route["continue"] = True  # the next receiver of the same priority gets it too
        routes.append(route)
    if not routes:
        raise BuildError(f"priority {key} has no receiver")
    return routes


def alertmanager_config(settings: AlertmanagerSettings) -> dict[str, Any]:
    declared = {r.name for r in settings.receivers}
    for key, names in settings.routes.items():
        unknown = sorted(set(names) - declared)
        if unknown:
            raise BuildError(f"route {key} sends to undeclared receivers {unknown}")
    used = sorted({n for names in settings.routes.values() for n in names})
    heartbeat = {
        "name": HEARTBEAT_RECEIVER,
        # url_file needs Alertmanager 0.26 or later (the chart's is; Debian 12's 0.25 is not, see
        # docs/observability.md for how the local tests bridge that).
        "webhook_configs": [{"url_file": f"{settings.secret_dir}/{HEARTBEAT_FILE}", "send_resolved": False}],
    }
    receivers = [{"name": NULL_RECEIVER}, heartbeat] + [
        receiver_config(r, settings.secret_dir) for r in settings.receivers if r.name in used
    ]
    routes: list[dict[str, Any]] = [
        # The heartbeat repeats every minute: the switch's period can be a few minutes, so a dead
        # pipeline is noticed within 5 minutes, like any P0.
        {"receiver": HEARTBEAT_RECEIVER, "matchers": [f'alertname="{HEARTBEAT_ALERT}"'], **_timing(HEARTBEAT_TIMING)},
        # InfoInhibitor (kube-prometheus-stack) exists only to mute info alerts; nobody reads it.
        {"receiver": NULL_RECEIVER, "matchers": [f'alertname=~"{SILENT_ALERTS}"']},
    ]
    # Info events go to a low-noise channel at any hour: a deployment at 3 a.m. is exactly the
    # context the on-call engineer needs at 3 a.m.
    routes += _routes_for("info", ['severity="info"'], settings.routes["info"], settings.timings["info"], quiet=False)
    for priority in PRIORITIES:
        matchers = [f'priority="{priority}"']
        # Tickets are read during working hours: deliver them then, not at 3 a.m.
        routes += _routes_for(priority, matchers, settings.routes[priority], settings.timings[priority], quiet=priority == "P3")
    # The chart's own cluster alerts carry no priority: critical ones go where P1 goes,
    # everything else falls through to the root (the P2 receivers).
    routes += _routes_for(
        "platform", ['priority=""', 'severity="critical"'], settings.routes["P1"], settings.timings["P1"], quiet=False
    )
    bh = settings.business_hours
    return {
        "route": {
            # Anything without a known priority still reaches people, via the P2 receivers.
            "receiver": settings.routes["P2"][0],
            "group_by": list(settings.group_by),
            **_timing(settings.timings["P2"]),
            "routes": routes,
        },
        "inhibit_rules": inhibit_rules(),
        "time_intervals": [
            {
                "name": BUSINESS_HOURS,
                "time_intervals": [
                    {"weekdays": [bh.weekdays], "times": [{"start_time": bh.start, "end_time": bh.end}], "location": bh.location}
                ],
            },
        ],
        "receivers": receivers,
    }


MATRIX_BEGIN = "<!-- BEGIN inhibition-matrix: generated by `make runbooks` from alertmanager.INHIBITIONS; do not edit. -->"
MATRIX_END = "<!-- END inhibition-matrix -->"


def inhibition_matrix() -> str:
    """docs/observability.md's inhibition table: while the source fires, the targets are muted."""
    lines = [
        MATRIX_BEGIN,
        "",
        "| while this fires | these are not notified | only if the same | why |",
        "| --- | --- | --- | --- |",
    ]
    for entry in INHIBITIONS:
        targets = ", ".join(f"`{t}`" for t in entry.targets) + (f" with `slo={entry.target_slo}`" if entry.target_slo else "")
        scope = "cluster, service" + (", slo" if entry.same_slo else "")
        lines.append(f"| `{entry.source}` | {targets} | {scope} | {entry.why} |")
    lines += [
        "",
        "Everything else is delivered, in particular CPU, memory and cache warnings and other SLOs' tickets.",
        "",
        MATRIX_END,
    ]
    return "\n".join(lines)
