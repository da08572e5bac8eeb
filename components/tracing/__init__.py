"""Tracing stack values: helm-values/opentelemetry-collector.yaml (gateway) and helm-values/jaeger.yaml."""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.observability.signals import tracing_config, tracing_namespace
from mnops.observability.tracing import collector_values, jaeger_values


def main(input_params: dict[str, Any]) -> Any:
    from kapitan.inputs.kadet import BaseObj

    target = current_target()
    cfg = tracing_config(target)
    result = BaseObj()
    result.root["opentelemetry-collector"] = collector_values(
        cfg, target.cluster.name, target.cluster.environment, tracing_namespace(target)
    )
    result.root["jaeger"] = jaeger_values(cfg)
    return result
