"""The `monitoring` inventory section: schema and cross-field rules reject what cannot work,
and the builders refuse objects that would scrape or load the wrong thing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from observability_support import TARGETS, parameters

from mnops.errors import BuildError
from mnops.inventory import problems_in
from mnops.k8s.meta import Identity
from mnops.k8s.monitoring import pod_monitor, prometheus_rule, service_monitor

Mutation = Callable[[dict[str, Any]], None]


def params_for(name: str, mutate: Mutation) -> dict[str, Any]:
    params = copy.deepcopy(dict(parameters()[name]))
    mutate(params)
    return params


def am(params: dict[str, Any]) -> dict[str, Any]:
    alertmanager: dict[str, Any] = params["monitoring"]["alertmanager"]
    return alertmanager


CASES: list[tuple[str, str, Mutation, str]] = [
    ("dev", "route to an undeclared receiver", lambda p: am(p)["routes"]["P2"].update({"nobody": True}),
     "parameters.monitoring.alertmanager.routes.P2.nobody"),
    ("dev", "every P1 receiver switched off", lambda p: am(p)["routes"]["P1"].update({"chat": False}),
     "parameters.monitoring.alertmanager.routes.P1"),
    ("prod", "one Prometheus in prod", lambda p: p["monitoring"]["prometheus"].update({"replicas": 1}),
     "parameters.monitoring.prometheus.replicas"),
    ("prod", "P0 without a pager in prod", lambda p: am(p)["routes"]["P0"].update({"pager": False}),
     "parameters.monitoring.alertmanager.routes.P0"),
    ("staging", "P0 first notification after the response target", lambda p: am(p)["timings"]["P0"].update({"group_wait": "5m"}),
     "parameters.monitoring.alertmanager.timings.P0.group_wait"),
    ("staging", "P1 follow-ups too slow", lambda p: am(p)["timings"]["P1"].update({"group_interval": "10m"}),
     "parameters.monitoring.alertmanager.timings.P1.group_interval"),
    ("dev", "retention as large as the volume", lambda p: p["monitoring"]["prometheus"].update({"retention_size": "11GB"}),
     "parameters.monitoring.prometheus.retention_size"),
    ("dev", "latency SLO between buckets", lambda p: p["services"]["memory-service"].update({"slo": {"latency_p95_ms": 120}}),
     "parameters.services.memory-service.slo.latency_p95_ms"),
    ("dev", "repeat faster than the group interval", lambda p: am(p)["timings"]["P2"].update({"repeat_interval": "1m"}),
     "parameters.monitoring.alertmanager.timings.P2.repeat_interval"),
    ("dev", "typo in a monitoring key", lambda p: p["monitoring"].update({"scrape_intervall": "30s"}),
     "parameters.monitoring"),
    ("dev", "receiver of an unknown type", lambda p: am(p)["receivers"].update({"fax": {"type": "fax"}}),
     "parameters.monitoring.alertmanager.receivers.fax.type"),
]  # fmt: skip


@pytest.mark.parametrize("name", TARGETS)
def test_committed_inventory_has_no_monitoring_problems(name: str) -> None:
    assert problems_in(name, parameters()[name]) == []


@pytest.mark.parametrize(("name", "why", "mutate", "path"), CASES, ids=[c[1] for c in CASES])
def test_inventory_rejects(name: str, why: str, mutate: Mutation, path: str) -> None:
    problems = problems_in(name, params_for(name, mutate))
    assert problems, why
    assert any(p.path.startswith(path) for p in problems), [p.render() for p in problems]


IDENT = Identity("x", "monitoring", "machine-native-ops", "dev", "dev")


def test_service_monitor_needs_a_selector() -> None:
    with pytest.raises(BuildError, match="needs a selector"):
        service_monitor("x", "monitoring", IDENT, selector={}, target_namespace="apps", port="http", path="/metrics")


def test_pod_monitor_needs_exactly_one_port() -> None:
    with pytest.raises(BuildError, match="exactly one"):
        pod_monitor("x", "monitoring", IDENT, target_namespace="data", match_labels={"a": "b"}, port_name="m", port_number=9121)


def test_prometheus_rule_rejects_repeated_group_names() -> None:
    group = {"name": "g", "rules": [{"record": "a:b", "expr": "1"}]}
    with pytest.raises(BuildError, match="repeat"):
        prometheus_rule("x", "monitoring", IDENT, [group, group])
