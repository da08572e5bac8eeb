"""Which cloud resources must survive a mistake in git, and which edits destroy a resource.

    management_policies("Bucket", prod=True)   # ('Create', 'Observe', 'Update', 'LateInitialize')
    is_protected(obj)                          # True: removing it from git must not delete it
    replacement_fields("Subnet")               # {'spec.forProvider.cidrBlock', ...}: a change recreates it

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
# Changed in place, but only forward: a control-plane or engine upgrade cannot be rolled back by a revert.
_ONE_WAY: dict[str, frozenset[str]] = {
    "Cluster": frozenset({"version"}),
    "NodeGroup": frozenset({"version", "releaseVersion"}),
    "Instance": frozenset({"engineVersion"}),
    "ReplicationGroup": frozenset({"engineVersion"}),
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


def replacement_fields(kind: str) -> set[str]:
    """spec.forProvider paths whose change makes the provider delete and recreate the resource."""
    return {f"spec.forProvider.{field}" for field in _REPLACED_BY.get(kind, frozenset()) | _ALWAYS_REPLACED}


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
    kind = str(obj.get("kind"))
    where = ".".join(p for p in path if not p.startswith("["))
    field = _for_provider_field(path)
    if field and field in _REPLACED_BY.get(kind, frozenset()) | _ALWAYS_REPLACED:
        data = kind in PROTECTED_KINDS
        return (
            f"replaces the cloud resource: {where} {before} -> {after} cannot change in place, the provider deletes and "
            f"recreates it{' (and its data)' if data else ''}",
            "data-deletion" if data else "infrastructure-replacement",
        )
    if field and field in _ONE_WAY.get(kind, frozenset()):
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
