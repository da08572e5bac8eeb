"""Cross-field rules of the `monitoring` section and of service SLOs (run after the schema)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mnops import units
from mnops.errors import Problem
from mnops.inventory.layers import effective_service
from mnops.inventory.rules import Rule
from mnops.observability.contract import LATENCY_BUCKETS_SECONDS
from mnops.observability.settings import PRIORITIES, ROUTE_KEYS

Params = Mapping[str, Any]
BASE = "parameters.monitoring"


def routes_use_declared_receivers(target: str, params: Params) -> Iterator[Problem]:
    am = params["monitoring"]["alertmanager"]
    declared = sorted(am["receivers"])
    for key in ROUTE_KEYS:
        route = am["routes"][key]
        for name in sorted(route):
            if name not in declared:
                yield Problem(
                    target,
                    f"{BASE}.alertmanager.routes.{key}.{name}",
                    repr(name),
                    "a receiver declared under receivers",
                    "declared: " + ", ".join(declared),
                )
        if not any(route.values()):
            yield Problem(
                target,
                f"{BASE}.alertmanager.routes.{key}",
                "every receiver switched off",
                "at least one receiver",
                f"{key} alerts would reach nobody",
            )


def response_target_is_met(target: str, params: Params) -> Iterator[Problem]:
    """P0/P1: evaluation + first notification, and every follow-up, within the response target."""
    m = params["monitoring"]
    limit = units.duration_seconds(m["response_target"])
    evaluation = units.duration_seconds(m["evaluation_interval"])
    for priority in ("P0", "P1"):
        timing = m["alertmanager"]["timings"][priority]
        path = f"{BASE}.alertmanager.timings.{priority}"
        if evaluation + units.duration_seconds(timing["group_wait"]) > limit:
            yield Problem(
                target,
                f"{path}.group_wait",
                timing["group_wait"],
                f"at most {m['response_target']} minus evaluation_interval ({m['evaluation_interval']})",
                "the first notification must go out within the response target",
            )
        if units.duration_seconds(timing["group_interval"]) > limit:
            yield Problem(
                target,
                f"{path}.group_interval",
                timing["group_interval"],
                f"at most {m['response_target']}",
                "new alerts in a group already notified must not wait longer than the response target",
            )


def prod_is_highly_available(target: str, params: Params) -> Iterator[Problem]:
    if params["cluster"]["environment"] != "prod":
        return
    m = params["monitoring"]
    for part in ("prometheus", "alertmanager"):
        if m[part]["replicas"] < 2:
            yield Problem(
                target,
                f"{BASE}.{part}.replicas",
                str(m[part]["replicas"]),
                "at least 2 in prod",
                "one pod restart must not blind or mute production",
            )
    receivers = m["alertmanager"]["receivers"]
    p0 = [name for name, on in m["alertmanager"]["routes"]["P0"].items() if on]
    if not any(receivers.get(name, {}).get("type") == "pagerduty" for name in p0):
        yield Problem(
            target,
            f"{BASE}.alertmanager.routes.P0",
            ", ".join(sorted(p0)) or "nothing",
            "a pagerduty receiver in prod",
            "P0 must wake someone up",
        )


def retention_fits_volume(target: str, params: Params) -> Iterator[Problem]:
    p = params["monitoring"]["prometheus"]
    size = p["retention_size"]
    retention_bytes = int(size[:-2]) * {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}[size[-2:]]
    volume = units.memory_bytes(p["storage_size"])
    if retention_bytes >= volume:
        yield Problem(
            target,
            f"{BASE}.prometheus.retention_size",
            size,
            f"less than storage_size ({p['storage_size']})",
            "Prometheus must delete old blocks before the volume is full",
        )


def slo_thresholds_are_buckets(target: str, params: Params) -> Iterator[Problem]:
    """Latency SLOs count requests under a histogram bound, so the bound must exist."""
    allowed = ", ".join(f"{int(b * 1000)}" for b in LATENCY_BUCKETS_SECONDS)
    for name in sorted(params["services"]):
        slo = effective_service(params, name)["slo"]
        for key in ("latency_p95_ms", "latency_p99_ms"):
            if slo[key] / 1000 not in LATENCY_BUCKETS_SECONDS:
                yield Problem(
                    target,
                    f"parameters.services.{name}.slo.{key}",
                    str(slo[key]),
                    "a bucket bound of http_request_duration_seconds, in ms",
                    f"bounds: {allowed} (lib/mnops/observability/contract.py)",
                )


def every_priority_is_timed(target: str, params: Params) -> Iterator[Problem]:
    timings = params["monitoring"]["alertmanager"]["timings"]
    for priority in PRIORITIES:
        t = timings[priority]
        if units.duration_seconds(t["repeat_interval"]) < units.duration_seconds(t["group_interval"]):
            yield Problem(
                target,
                f"{BASE}.alertmanager.timings.{priority}.repeat_interval",
                t["repeat_interval"],
                f"at least group_interval ({t['group_interval']})",
            )


RULES: tuple[Rule, ...] = (
    routes_use_declared_receivers,
    response_target_is_met,
    prod_is_highly_available,
    retention_fits_volume,
    slo_thresholds_are_buckets,
    every_priority_is_timed,
)
