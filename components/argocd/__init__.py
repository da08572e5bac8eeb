"""Argo CD for this cluster, from the `argocd`, `charts` and `apps` inventory sections.

Output: manifests/argocd/ (AppProjects and every Application, including the root app-of-apps
that syncs this very folder) and manifests/argocd-config/ (notifications, cluster entry).
The bootstrap copy in argocd/<target>/ is written after compile (mnops.gitops.bootstrap).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, output
from mnops.gitops.model import build_gitops
from mnops.gitops.objects import argocd_config_folder, argocd_folder
from mnops.gitops.plan import DeliveryPlan


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    plan = DeliveryPlan(target, build_gitops(target.parameters))
    return output({"argocd": argocd_folder(plan), "argocd-config": argocd_config_folder(plan)})
