"""Karpenter's NodePool and EC2NodeClass (manifests/capacity/): nodes on demand in the cluster's zones."""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.infra.addons import capacity_objects


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    return output({"capacity": capacity_objects(target, identity(target, "karpenter", "capacity"))})
