"""Helm values of the security charts: helm-values/<chart key>.yaml for every enabled chart.

Argo CD installs each chart from its upstream repository with this file as its values.
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.security.model import security_settings
from mnops.security.values import chart_values


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    for key, values in chart_values(target, security_settings(target)).items():
        result[key] = values
    return result
