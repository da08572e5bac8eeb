"""The Alertmanager configuration of one target, built from the `monitoring.alertmanager` inventory.

Route tree: severity=info events first (to the `info` receivers), then one route per priority
(P0-P3) to the receivers the environment lists, `continue: true` on all but the last receiver
of a priority so that P0 reaches pager AND chat. Credentials are never in the config: each
receiver reads a file from the Secret that the operator mounts (`alertmanagerSpec.secrets`).
"""

from __future__ import annotations

from typing import Any

from mnops.errors import BuildError
from mnops.observability.settings import PRIORITIES, AlertmanagerSettings, Receiver, Timing

# Files inside the mounted receivers Secret, one per receiver: <receiver>-<suffix>
# (e.g. pager-routing-key, chat-webhook-url, ticket-smtp-password; see docs/observability.md).
SECRET_FILE_SUFFIX = {"pagerduty": "routing-key", "slack": "webhook-url", "email": "smtp-password"}
BUSINESS_HOURS = "business-hours"
NULL_RECEIVER = "null"
SILENT_ALERTS = "Watchdog|InfoInhibitor"

# Alerts a ServiceDown makes redundant for the same service.
SILENCED_BY_SERVICE_DOWN = "HighErrorRate|HighLatencyP99|SLOErrorBudgetBurnFast|SLOErrorBudgetBurnSlow"


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
    receivers = [{"name": NULL_RECEIVER}] + [
        receiver_config(r, settings.secret_dir) for r in settings.receivers if r.name in used
    ]
    # kube-prometheus-stack's always-firing Watchdog (a dead man's switch for an external
    # heartbeat) and InfoInhibitor must not notify anyone.
    routes: list[dict[str, Any]] = [{"receiver": NULL_RECEIVER, "matchers": [f'alertname=~"{SILENT_ALERTS}"']}]
    routes += _routes_for("info", ['severity="info"'], settings.routes["info"], settings.timings["info"], quiet=True)
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
        "inhibit_rules": [
            {
                "source_matchers": ['alertname="ServiceDown"'],
                "target_matchers": [f'alertname=~"{SILENCED_BY_SERVICE_DOWN}"'],
                "equal": ["cluster", "service"],
            },
            {
                # Only our prioritised alerts: platform alerts often lack `service`, and equal
                # treats two missing labels as equal, which would mute unrelated warnings.
                "source_matchers": ['severity="critical"', 'priority=~"P0|P1"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["cluster", "service"],
            },
        ],
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
