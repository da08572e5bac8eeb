"""Cross-field rules for the signals sections (dashboards, logging, tracing, pod_security)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mnops import units
from mnops.errors import Problem
from mnops.inventory.rules import Rule

Params = Mapping[str, Any]
DAY = 86400


def namespace_roles_exist(target: str, params: Params) -> Iterator[Problem]:
    roles = sorted(params["namespaces"])
    for section in ("dashboards", "logging", "tracing"):
        role = params[section]["namespace_role"]
        if role not in params["namespaces"]:
            yield Problem(target, f"parameters.{section}.namespace_role", repr(role), "a key of parameters.namespaces",
                          "declared: " + ", ".join(roles))  # fmt: skip
    for role in sorted(params.get("pod_security", {})):
        if role not in params["namespaces"]:
            yield Problem(target, f"parameters.pod_security.{role}", "a level for an unknown namespace role",
                          "a key of parameters.namespaces", "declared: " + ", ".join(roles))  # fmt: skip


def collector_chart_matches(target: str, params: Params) -> Iterator[Problem]:
    """The selected collector's chart is enabled and the other one is not: never two collectors, never none."""
    chosen = params["logging"]["collector"]
    charts = params["charts"]
    for name in ("alloy", "promtail"):
        if name not in charts:
            yield Problem(target, f"parameters.charts.{name}", "nothing", f"a chart entry for the {name} collector")
            continue
        want = name == chosen
        if charts[name]["enabled"] != want:
            yield Problem(target, f"parameters.charts.{name}.enabled", str(charts[name]["enabled"]).lower(),
                          str(want).lower(), f"logging.collector is {chosen!r}; exactly its chart is installed")  # fmt: skip


def loki_storage_fits_environment(target: str, params: Params) -> Iterator[Problem]:
    logging = params["logging"]
    loki = logging["loki"]
    env = params["cluster"]["environment"]
    if loki["mode"] == "simple-scalable" and not loki.get("bucket"):
        yield Problem(target, "parameters.logging.loki.bucket", "nothing", "an S3 bucket in simple-scalable mode",
                      "read, write and backend share chunks through object storage")  # fmt: skip
    if env == "prod" and loki["mode"] != "simple-scalable":
        yield Problem(target, "parameters.logging.loki.mode", repr(loki["mode"]), "'simple-scalable' in prod",
                      "a single Loki pod on local disk loses logs with its node")  # fmt: skip
    if units.duration_seconds(logging["retention"]) % DAY:
        yield Problem(target, "parameters.logging.retention", repr(logging["retention"]), "whole days such as '7d'",
                      "Loki's retention must be a multiple of the 24h index period")  # fmt: skip


def tracing_is_consistent(target: str, params: Params) -> Iterator[Problem]:
    tracing = params["tracing"]
    for name in sorted(tracing.get("service_sampling", {})):
        if name not in params["services"]:
            yield Problem(target, f"parameters.tracing.service_sampling.{name}", "a ratio for an unknown service",
                          "a key naming a declared service", "declared: " + ", ".join(sorted(params["services"])))  # fmt: skip
    jaeger = tracing["jaeger"]
    if jaeger["storage"] == "opensearch":
        for key in ("opensearch_url", "credentials_secret"):
            if not jaeger.get(key):
                yield Problem(target, f"parameters.tracing.jaeger.{key}", "nothing", "a value when storage is opensearch")
    elif params["cluster"]["environment"] == "prod":
        yield Problem(target, "parameters.tracing.jaeger.storage", repr(jaeger["storage"]), "'opensearch' in prod",
                      "in-memory traces vanish on every restart")  # fmt: skip


RULES: tuple[Rule, ...] = (
    namespace_roles_exist,
    collector_chart_matches,
    loki_storage_fits_environment,
    tracing_is_consistent,
)
