"""Helm values of the cluster add-ons (mnops.infra.addons): helm-values/<chart key>.yaml.

Workload clusters: metrics-server, aws-ebs-csi-driver (with the gp3 StorageClass),
aws-load-balancer-controller, external-dns, karpenter. The management cluster: crossplane.
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.infra.addons import addon_values


def main(input_params: dict[str, Any]) -> Any:
    return dict(sorted(addon_values(current_target()).items()))
