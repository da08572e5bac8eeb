"""Helm values of the argo-cd (self-managed) and argo-rollouts charts.

Output: helm-values/<chart key>.yaml, read by the chart's multi-source Application
($values/compiled/<target>/helm-values/<key>.yaml).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.gitops.model import build_gitops
from mnops.gitops.plan import DeliveryPlan
from mnops.gitops.values import chart_values


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    for key, values in sorted(chart_values(DeliveryPlan(target, build_gitops(target.parameters))).items()):
        result[key] = values
    return result
