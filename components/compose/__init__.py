"""The local Docker Compose stack (target `local`): compose.yaml plus the Prometheus and Grafana
files it mounts, all under compiled/local/compose/. See mnops.compose for what goes in."""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.compose import compose_files


def main(input_params: dict[str, Any]) -> Any:
    from kapitan.inputs.kadet import BaseObj

    result = BaseObj()
    for name, content in compose_files(current_target()).items():
        result.root[name] = content
    return result
