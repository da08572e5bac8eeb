"""Which cloud resources must survive a mistake in git, and which edits destroy a resource.

    management_policies("Bucket", prod=True)   # ('Create', 'Observe', 'Update', 'LateInitialize')
    is_protected(obj)                          # True: removing it from git must not delete it
    replacement_fields("Subnet")               # {'spec.forProvider.cidrBlock', ...}: a change recreates it
    replacement_fields("Cluster", "container.gcp.m.upbound.io/v1beta1")   # the same for another cloud's kind

`make diff`'s risky list (mnops.gitops.diffing) asks change_risk() and removal_risk() about every
changed or removed managed resource: a change that replaces it, a one-way upgrade, a removal that
deletes (or orphans) it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.k8s.crossplane import FULL_CONTROL, KEEP_ON_REMOVAL

# Data and identity that cannot be recreated: their managed resources never carry Delete, so a
# deleted object (or a deleted infra Application) orphans them in the cloud instead.
PROTECTED_KINDS = frozenset(
    {
        "Bucket",
        "Key",
        "Instance",
        "Cluster",
        "ReplicationGroup",
        # RDS automated backups copied to the DR region: stopping the replication deletes the copies.
        "DBInstanceAutomatedBackupsReplication",
        # AWS Backup vaults (backup.aws.m) hold the recovery points; the same kind name is Azure's Key Vault below.
        "Vault",
        "Zone",
        "Trail",
        # GCP and Azure equivalents of the same data (same rule, other clouds): databases, caches,
        # storage accounts and their containers, keys and key rings (a destroyed key loses the data it
        # encrypted), DNS zones, the audit log bucket and workspace, and the Azure resource group
        # (deleting one deletes everything in it).
        "DatabaseInstance",
        "FlexibleServer",
        "RedisCache",
        "Account",
        "Container",
        "ManagedZone",
        "DNSZone",
        "KeyRing",
        "CryptoKey",
        "KubernetesCluster",
        "ProjectBucketConfig",
        "Workspace",
        "ResourceGroup",
    }
)

# Fields the cloud cannot change in place: the provider deletes and recreates the resource.
# From the AWS APIs (no Modify call exists for them); a conservative list, spec.forProvider paths.
_REPLACED_BY: dict[str, frozenset[str]] = {
    "VPC": frozenset({"cidrBlock", "instanceTenancy"}),
    "Subnet": frozenset({"cidrBlock", "availabilityZone", "vpcId", "vpcIdRef"}),
    "SecurityGroup": frozenset({"name", "description", "vpcId", "vpcIdRef"}),
    "NATGateway": frozenset({"subnetId", "subnetIdRef", "allocationId", "allocationIdRef", "connectivityType"}),
    "VPCEndpoint": frozenset({"serviceName", "vpcEndpointType", "vpcId", "vpcIdRef"}),
    "Cluster": frozenset({"name", "roleArn", "roleArnRef", "encryptionConfig", "kubernetesNetworkConfig"}),
    "NodeGroup": frozenset(
        {
            "amiType",
            "capacityType",
            "diskSize",
            "instanceTypes",
            "subnetIds",
            "subnetIdRefs",
            "nodeRoleArn",
            "nodeRoleArnRef",
            "clusterName",
            "clusterNameRef",
        }
    ),
    "Instance": frozenset(
        {"engine", "identifier", "dbName", "storageEncrypted", "kmsKeyId", "kmsKeyIdRef", "username", "availabilityZone"}
    ),
    "ReplicationGroup": frozenset(
        {"engine", "atRestEncryptionEnabled", "subnetGroupName", "subnetGroupNameRef", "kmsKeyId", "kmsKeyIdRef"}
    ),
    "DBInstanceAutomatedBackupsReplication": frozenset(
        {"sourceDbInstanceArn", "sourceDbInstanceArnRef", "kmsKeyId", "kmsKeyIdRef"}
    ),
    "ParameterGroup": frozenset({"family", "name"}),
    "Bucket": frozenset({"objectLockEnabled", "region"}),
    "Key": frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion"}),
    # An AWS Backup vault keeps its key for life (the recovery points in it are encrypted with it).
    "Vault": frozenset({"kmsKeyArn", "kmsKeyArnRef"}),
    "Zone": frozenset({"name", "delegationSetId"}),
    "Trail": frozenset({"name"}),
    "WebACL": frozenset({"name", "scope"}),
    "Role": frozenset({"name", "path"}),
    "PodIdentityAssociation": frozenset({"clusterName", "clusterNameRef", "namespace", "serviceAccount"}),
    "AccessEntry": frozenset({"clusterName", "clusterNameRef", "principalArn", "type"}),
}
# GCP: from the Terraform google provider's ForceNew arguments that upjet exposes (conservative).
_GCP_REPLACED_BY: dict[str, frozenset[str]] = {
    "Network": frozenset({"autoCreateSubnetworks", "description", "enableUlaInternalIpv6", "internalIpv6Range"}),
    "Subnetwork": frozenset({"ipCidrRange", "network", "networkRef", "purpose"}),
    "Router": frozenset({"network", "networkRef"}),
    "RouterNAT": frozenset({"router", "routerRef"}),
    "Firewall": frozenset({"network", "networkRef", "direction"}),
    "Cluster": frozenset(
        {
            "network",
            "networkRef",
            "subnetwork",
            "subnetworkRef",
            "ipAllocationPolicy",
            "privateClusterConfig",
            "networkingMode",
            "datapathProvider",
            "enableAutopilot",
        }
    ),
    "NodePool": frozenset({"cluster", "clusterRef", "nodeConfig", "initialNodeCount", "nodeLocations"}),
    "KeyRing": frozenset(),
    "CryptoKey": frozenset({"keyRing", "keyRingRef", "purpose", "importOnly", "skipInitialVersionCreation"}),
    "Bucket": frozenset({"customPlacementConfig"}),
    "ManagedZone": frozenset({"dnsName", "visibility"}),
    "ProjectBucketConfig": frozenset({"bucketId"}),
    "SecurityPolicy": frozenset({"type"}),
    "ServiceAccountIAMMember": frozenset({"serviceAccountId", "serviceAccountIdRef", "member", "role"}),
    "ProjectIAMMember": frozenset({"member", "role", "condition"}),
    "DatabaseInstance": frozenset({"encryptionKeyName", "masterInstanceName"}),
    "Instance": frozenset({"tier", "authorizedNetwork", "connectMode", "reservedIpRange", "customerManagedKey"}),
}
# Azure: from the Terraform azurerm provider's ForceNew arguments that upjet exposes (conservative).
_AZURE_REPLACED_BY: dict[str, frozenset[str]] = {
    "VirtualNetwork": frozenset(),
    "Subnet": frozenset({"virtualNetworkName", "virtualNetworkNameRef"}),
    "NATGateway": frozenset({"zones"}),
    "PublicIP": frozenset({"sku", "zones", "ipVersion"}),
    "KubernetesCluster": frozenset(
        {"dnsPrefix", "nodeResourceGroup", "networkProfile", "privateClusterEnabled", "privateDnsZoneId", "diskEncryptionSetId"}
    ),
    "KubernetesClusterNodePool": frozenset(
        {
            "kubernetesClusterId",
            "kubernetesClusterIdRef",
            "vmSize",
            "osDiskSizeGb",
            "osDiskType",
            "zones",
            "vnetSubnetId",
            "vnetSubnetIdRef",
            "maxPods",
        }
    ),
    "Account": frozenset({"accountTier", "isHnsEnabled", "infrastructureEncryptionEnabled"}),
    "Container": frozenset({"storageAccountId", "storageAccountIdRef"}),
    "Vault": frozenset({"tenantId", "softDeleteRetentionDays"}),
    "Key": frozenset({"keyVaultId", "keyVaultIdRef", "keyType", "keySize", "curve"}),
    "DNSZone": frozenset(),
    "FlexibleServer": frozenset({"administratorLogin", "delegatedSubnetId", "privateDnsZoneId", "geoRedundantBackupEnabled"}),
    "RedisCache": frozenset({"subnetId", "subnetIdRef"}),
    "FrontdoorProfile": frozenset({"skuName"}),
    "FrontdoorFirewallPolicy": frozenset({"skuName"}),
    "FederatedIdentityCredential": frozenset({"parentId", "parentIdRef", "issuer", "subject"}),
}
# Every regional managed resource moves to another region (AWS, GCP) or location (Azure) only by being
# recreated; on GCP a project and on Azure a resource group are where the resource is, too.
_ALWAYS_REPLACED = {
    "aws": frozenset({"region"}),
    "gcp": frozenset({"region", "location", "project"}),
    "azure": frozenset({"location", "resourceGroupName", "resourceGroupNameRef"}),
}
_REPLACED_BY_CLOUD = {"aws": _REPLACED_BY, "gcp": _GCP_REPLACED_BY, "azure": _AZURE_REPLACED_BY}
# Changed in place, but only forward: a control-plane or engine upgrade cannot be rolled back by a revert.
_ONE_WAY: dict[str, frozenset[str]] = {
    "Cluster": frozenset({"version"}),
    "NodeGroup": frozenset({"version", "releaseVersion"}),
    "Instance": frozenset({"engineVersion"}),
    "ReplicationGroup": frozenset({"engineVersion"}),
}
_ONE_WAY_BY_CLOUD: dict[str, dict[str, frozenset[str]]] = {
    "aws": _ONE_WAY,
    "gcp": {"Cluster": frozenset({"minMasterVersion"}), "NodePool": frozenset({"version"})},
    "azure": {
        "KubernetesCluster": frozenset({"kubernetesVersion"}),
        "KubernetesClusterNodePool": frozenset({"orchestratorVersion"}),
    },
}


def management_policies(kind: str, prod: bool) -> tuple[str, ...]:
    """Protected kinds never get Delete; everything else may be cleaned up when removed from git."""
    del prod  # the rule is the same in every environment: dev data is someone's data too
    return KEEP_ON_REMOVAL if kind in PROTECTED_KINDS else FULL_CONTROL


def is_crossplane_managed(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).split("/")[0].endswith(".upbound.io") and "forProvider" in obj.get("spec", {})


def is_protected(obj: Mapping[str, Any]) -> bool:
    """Whether removing this object from git must leave the cloud resource in place (no Delete policy)."""
    if not is_crossplane_managed(obj):
        return False
    return str(obj.get("kind")) in PROTECTED_KINDS


def may_delete(obj: Mapping[str, Any]) -> bool:
    """What Crossplane will do when the object goes away: delete the cloud resource or orphan it."""
    policies = obj.get("spec", {}).get("managementPolicies", ["*"])  # the CRD's default is ["*"]
    return "*" in policies or "Delete" in policies


def cloud_of_api(api_version: str) -> str:
    """`s3.aws.m.upbound.io/v1beta1` -> aws: the provider family a managed resource belongs to."""
    group = api_version.split("/", 1)[0]
    return group.removesuffix(".m.upbound.io").rsplit(".", 1)[-1]


def _replaced_by(kind: str, api_version: str) -> frozenset[str]:
    cloud = cloud_of_api(api_version)
    return _REPLACED_BY_CLOUD.get(cloud, {}).get(kind, frozenset()) | _ALWAYS_REPLACED.get(cloud, frozenset())


def replacement_fields(kind: str, api_version: str = "aws.m.upbound.io/v1beta1") -> set[str]:
    """spec.forProvider paths whose change makes the provider delete and recreate the resource
    (the kind of an AWS managed resource unless its apiVersion says another cloud)."""
    return {f"spec.forProvider.{field}" for field in _replaced_by(kind, api_version)}


# --- what `make diff` says about a change to a managed resource -------------------------------------
# (reason, risk class) pairs; the classes are mnops.review.RISK_CLASSES.
Reason = tuple[str, str]


def _for_provider_field(path: Sequence[str]) -> str | None:
    """The top-level spec.forProvider field a changed leaf belongs to (None outside forProvider)."""
    return path[2] if len(path) > 2 and tuple(path[:2]) == ("spec", "forProvider") else None


def change_risk(obj: Mapping[str, Any], path: Sequence[str], before: Any, after: Any) -> Reason | None:
    """Why changing this leaf of a managed resource is risky: the provider recreates the resource, an
    upgrade that a revert cannot undo, or a management policy that would now delete it on removal."""
    if not is_crossplane_managed(obj):
        return None
    kind, api_version = str(obj.get("kind")), str(obj.get("apiVersion", ""))
    where = ".".join(p for p in path if not p.startswith("["))
    field = _for_provider_field(path)
    if field and field in _replaced_by(kind, api_version):
        data = kind in PROTECTED_KINDS
        return (
            f"replaces the cloud resource: {where} {before} -> {after} cannot change in place, the provider deletes and "
            f"recreates it{' (and its data)' if data else ''}",
            "data-deletion" if data else "infrastructure-replacement",
        )
    if field and field in _ONE_WAY_BY_CLOUD.get(cloud_of_api(api_version), {}).get(kind, frozenset()):
        reason = f"one-way upgrade: {where} {before} -> {after} (in place; a revert cannot downgrade it)"
        return reason, "infrastructure-replacement"
    if tuple(path[:2]) == ("spec", "managementPolicies") and kind in PROTECTED_KINDS and may_delete(obj):
        return "management policies now allow Delete: removing it from git would delete the cloud resource", "data-deletion"
    return None


def removal_risk(obj: Mapping[str, Any]) -> Reason | None:
    """What removing a managed resource from git does in the cloud."""
    if not is_crossplane_managed(obj):
        return None
    if may_delete(obj):
        data = str(obj.get("kind")) in PROTECTED_KINDS
        return (
            f"deletes the cloud resource (its management policies allow Delete){': data is lost' if data else ''}",
            "data-deletion" if data else "infrastructure-replacement",
        )
    return "orphans the cloud resource: it stays in the account, unmanaged (no Delete policy)", "infrastructure-replacement"
