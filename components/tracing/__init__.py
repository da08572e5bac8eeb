"""Tracing stack values: helm-values/opentelemetry-collector.yaml (gateway) and helm-values/jaeger.yaml."""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.observability.signals import tracing_config, tracing_namespace
from mnops.observability.tracing import collector_values, jaeger_values


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    cfg = tracing_config(target)
    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    result["opentelemetry-collector"] = collector_values(
        cfg, target.cluster.name, target.cluster.environment, tracing_namespace(target)
    )
    result["jaeger"] = jaeger_values(cfg)
    return result
