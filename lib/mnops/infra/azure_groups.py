"""The resource groups of one cluster on Azure, named in one place.

The Azure layer creates them (mnops.infra.azure) and Velero's locations and credentials name them
(mnops.data.cloud): both read this function, so a backup location cannot point at a group the layer
does not create.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceGroups:
    cluster: str  # the layer's own resources: network, AKS, identities, Key Vault, storage accounts
    nodes: str  # AKS's node resource group: node VMs and the disks the CSI driver creates for volumes


def resource_groups(project: str, cluster: str) -> ResourceGroups:
    group = f"{project}-{cluster}"
    return ResourceGroups(cluster=group, nodes=f"{group}-nodes")
