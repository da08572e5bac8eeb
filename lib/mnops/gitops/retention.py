"""Which objects hold data, and the Argo CD annotation that keeps them when their owner goes.

Service and folder Applications cascade (Argo CD's resources finalizer): removing a service or a
platform folder from the inventory removes its Application, and Argo CD deletes what it deployed
instead of leaving it running unmanaged. Objects that hold data must survive that, and also a
removal from git: they carry `argocd.argoproj.io/sync-options: Prune=false,Delete=false`
(Argo CD's documented per-resource options: never pruned when gone from git, never deleted with
their Application). Deleting them stays a human decision, made explicit with the inventory flag
`data.allow_delete: true` on the cluster (or environment) that should lose its data.

    objects = protect_data(objects, allow_delete=False)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
RETAIN_OPTIONS = ("Prune=false", "Delete=false")

# (API group, kind) of objects whose deletion deletes data. A CloudNativePG Cluster and a Redis
# custom resource own their PersistentVolumeClaims, so deleting them deletes the volumes; a
# Namespace takes everything in it along. Deleting a Crossplane managed bucket or database deletes
# the cloud resource, backups included.
DATA_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "PersistentVolumeClaim"),
        ("", "Namespace"),
        ("apps", "StatefulSet"),
        ("postgresql.cnpg.io", "Cluster"),
        ("redis.redis.opstreelabs.in", "Redis"),
        ("redis.redis.opstreelabs.in", "RedisReplication"),
        ("redis.redis.opstreelabs.in", "RedisCluster"),
        ("s3.aws.m.upbound.io", "Bucket"),
        ("storage.gcp.m.upbound.io", "Bucket"),
        ("storage.azure.m.upbound.io", "Account"),
        ("storage.azure.m.upbound.io", "Container"),
        ("rds.aws.m.upbound.io", "Instance"),
        ("rds.aws.m.upbound.io", "DBInstanceAutomatedBackupsReplication"),  # stopping it deletes the DR copies
        ("elasticache.aws.m.upbound.io", "ReplicationGroup"),
        ("sql.gcp.m.upbound.io", "DatabaseInstance"),
        ("dbforpostgresql.azure.m.upbound.io", "FlexibleServer"),
    }
)


def group_kind(obj: dict[str, Any]) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return group, str(obj.get("kind", ""))


def holds_data(obj: dict[str, Any]) -> bool:
    return group_kind(obj) in DATA_KINDS


def sync_options(obj: dict[str, Any]) -> list[str]:
    """The object's per-resource sync options, as Argo CD reads them (comma-separated, trimmed)."""
    value = obj.get("metadata", {}).get("annotations", {}).get(SYNC_OPTIONS, "")
    return [option.strip() for option in str(value).split(",") if option.strip()]


def retain(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with Prune=false and Delete=false added to any sync options it already has."""
    options = [o for o in sync_options(obj) if o.split("=", 1)[0] not in ("Prune", "Delete")]
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("annotations", {})[SYNC_OPTIONS] = ",".join(sorted([*options, *RETAIN_OPTIONS]))
    return obj


def is_retained(obj: dict[str, Any]) -> bool:
    return set(RETAIN_OPTIONS) <= set(sync_options(obj))


def protect_data(objects: Iterable[dict[str, Any]], *, allow_delete: bool) -> list[dict[str, Any]]:
    """Every data-holding object retained, unless the inventory explicitly allows deleting data."""
    return [obj if allow_delete or not holds_data(obj) else retain(obj) for obj in objects]
