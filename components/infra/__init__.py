"""The management cluster's tree: Crossplane providers and every workload cluster's cloud layer.

Output (compiled/<management>/infra/):
  crossplane/        pinned provider packages, their runtime config and identity
  infra-<cluster>/   per workload cluster: Namespace, ProviderConfig, all managed resources
  argocd/            AppProject and one Application per folder, none of which cascades

The workload clusters are every cluster target whose `infra.management_cluster` names this target:
the inventory is the only list.
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.infra.management import management_folders


def main(input_params: dict[str, Any]) -> Any:
    from kapitan import cached

    target = current_target()
    others = {name: node["parameters"] for name, node in sorted(cached.inv.inventory.items())}
    folders = management_folders(target, others, identity(target, "infrastructure", "infrastructure"))
    return output(folders)
