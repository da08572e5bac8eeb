"""Logging stack values: helm-values/loki.yaml and the selected collector's helm-values/<alloy|promtail>.yaml.

Loki's ruler alert rules (error-log rate per service) ship inside the Loki values
(ruler.directories), so Argo CD installs them with Loki.
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.observability.logs import collector_values, loki_values
from mnops.observability.signals import log_target, logging_config


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    cfg, where = logging_config(target), log_target(target)
    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    result["loki"] = loki_values(cfg, where)
    chart, values = collector_values(cfg, where)
    result[chart] = values
    return result
