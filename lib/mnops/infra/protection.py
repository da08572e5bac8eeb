"""Which cloud resources must survive a mistake in git, and which edits destroy a resource.

    management_policies("Bucket", prod=True)   # ('Create', 'Observe', 'Update', 'LateInitialize')
    is_protected(obj)                          # True: removing it from git must not delete it
    replacement_fields("Subnet")               # {'spec.forProvider.cidrBlock', ...}: a change recreates it

`make diff` (engineer `diff`'s risky list) uses is_protected() and replacement_fields() to flag
infrastructure changes that delete or replace a cloud resource.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        "Zone",
        "Trail",
        # Azure / GCP equivalents of the same data (same rule, other clouds).
        "DatabaseInstance",
        "FlexibleServer",
        "RedisCache",
        "Account",
        "ManagedZone",
        "Vault",
        "KubernetesCluster",
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
    "Instance": frozenset({"engine", "identifier", "dbName", "storageEncrypted", "kmsKeyId", "username", "availabilityZone"}),
    "ReplicationGroup": frozenset({"engine", "atRestEncryptionEnabled", "subnetGroupName", "kmsKeyId"}),
    "Bucket": frozenset({"objectLockEnabled", "region"}),
    "Key": frozenset({"customerMasterKeySpec", "keyUsage", "multiRegion"}),
    "Zone": frozenset({"name", "delegationSetId"}),
    "Trail": frozenset({"name"}),
    "WebACL": frozenset({"name", "scope"}),
    "Role": frozenset({"name", "path"}),
    "PodIdentityAssociation": frozenset({"clusterName", "clusterNameRef", "namespace", "serviceAccount"}),
    "AccessEntry": frozenset({"clusterName", "clusterNameRef", "principalArn", "type"}),
}
# Every regional managed resource moves to another region only by being recreated.
_ALWAYS_REPLACED = frozenset({"region"})


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


def replacement_fields(kind: str) -> set[str]:
    """spec.forProvider paths whose change makes the provider delete and recreate the resource."""
    return {f"spec.forProvider.{field}" for field in _REPLACED_BY.get(kind, frozenset()) | _ALWAYS_REPLACED}
