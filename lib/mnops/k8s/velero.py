"""Builders for Velero kinds (velero.io/v1): BackupStorageLocation, VolumeSnapshotLocation, Schedule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata
from mnops.units import check_cron

VELERO_API = "velero.io/v1"
_ACCESS_MODES = ("ReadWrite", "ReadOnly")


def backup_storage_location(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    provider: str,
    bucket: str,
    config: Mapping[str, str],
    default: bool = False,
    access_mode: str = "ReadWrite",
    prefix: str | None = None,
) -> dict[str, Any]:
    """A bucket Velero writes backups to (or, ReadOnly, restores from)."""
    if not bucket:
        raise BuildError(f"backup storage location {name} needs a bucket")
    if access_mode not in _ACCESS_MODES:
        raise BuildError(f"backup storage location {name}: access mode must be one of {_ACCESS_MODES}")
    return k8s_object(
        VELERO_API,
        "BackupStorageLocation",
        metadata(name, identity, namespace),
        spec={
            "provider": provider,
            "objectStorage": {"bucket": bucket, "prefix": prefix},
            "config": dict(sorted(config.items())),
            "default": default,
            "accessMode": access_mode,
        },
    )


def volume_snapshot_location(
    name: str, namespace: str, identity: Identity, *, provider: str, config: Mapping[str, str]
) -> dict[str, Any]:
    return k8s_object(
        VELERO_API,
        "VolumeSnapshotLocation",
        metadata(name, identity, namespace),
        spec={"provider": provider, "config": dict(sorted(config.items()))},
    )


def schedule(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    cron: str,
    ttl: str,
    included_namespaces: Sequence[str],
    storage_location: str,
    snapshot_volumes: bool,
    volume_snapshot_locations: Sequence[str] = (),
    move_snapshot_data: bool = False,
) -> dict[str, Any]:
    """A backup of the given namespaces on a five-field cron, kept for `ttl` (Go duration)."""
    try:
        check_cron(cron)
    except ValueError as error:
        raise BuildError(f"schedule {name}: {error}") from None
    if not included_namespaces:
        raise BuildError(f"schedule {name} must include at least one namespace")
    return k8s_object(
        VELERO_API,
        "Schedule",
        metadata(name, identity, namespace),
        spec={
            "schedule": cron,
            "useOwnerReferencesInBackup": False,
            "template": {
                "ttl": ttl,
                "includedNamespaces": sorted(included_namespaces),
                "includeClusterResources": True,
                "storageLocation": storage_location,
                "snapshotVolumes": snapshot_volumes,
                "volumeSnapshotLocations": list(volume_snapshot_locations),
                # Copies volume data into the bucket: EBS/PD snapshots do not leave their region.
                "snapshotMoveData": move_snapshot_data,
                "metadata": {"labels": {"velero.io/schedule-tier": name}},
            },
        },
    )
