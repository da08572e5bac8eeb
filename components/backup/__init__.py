"""Velero backups and the data-protection alerts: manifests/backup/.

BackupStorageLocation (this cluster's bucket; plus, on a primary with a DR region, a location in
the DR region; on a standby, a read-only location holding the primary's cross-region copies),
VolumeSnapshotLocation, one Schedule per seed tier (hourly 24h, daily 7d, weekly 4w, monthly 12
months) and the cross-region Schedule. The PrometheusRule holds every backup and DR alert.
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.data import Bucket, DataSettings, data_settings
from mnops.data.alerts import data_alerts
from mnops.data.cloud import VELERO_PROVIDERS, velero_location_config, velero_snapshot_config
from mnops.inventory import Target
from mnops.k8s.data_extras import prometheus_rule
from mnops.k8s.velero import backup_storage_location, schedule, volume_snapshot_location

PRIMARY_LOCATION = "default"
DR_LOCATION = "dr-region"
PRIMARY_COPY_LOCATION = "primary-cross-region"


def velero_objects(target: Target, data: DataSettings) -> list[dict[str, Any]]:
    bk = data.backup
    if not bk.enabled:
        return []
    ns, provider = bk.namespace, VELERO_PROVIDERS[data.provider]
    ident = identity(target, "velero", "backup")
    buckets = {b.purpose: b for b in data.buckets()}
    own = buckets["velero"]
    objects = [
        backup_storage_location(
            PRIMARY_LOCATION,
            ns,
            ident,
            provider=provider,
            bucket=own.name,
            config=velero_location_config(target, own),
            default=True,
        ),
        volume_snapshot_location(
            PRIMARY_LOCATION,
            ns,
            ident,
            provider=provider,
            config=velero_snapshot_config(target),
        ),
    ]
    namespaces = sorted(set(target.namespaces.values()))
    for tier in bk.schedules:
        objects.append(
            schedule(
                tier.name,
                ns,
                ident,
                cron=tier.cron,
                ttl=tier.ttl,
                included_namespaces=namespaces,
                storage_location=PRIMARY_LOCATION,
                snapshot_volumes=bk.snapshot_volumes,
                volume_snapshot_locations=[PRIMARY_LOCATION] if bk.snapshot_volumes else [],
            )
        )
    cross = buckets.get("velero cross-region")
    if cross is not None:
        objects.append(
            backup_storage_location(
                DR_LOCATION, ns, ident, provider=provider, bucket=cross.name, config=velero_location_config(target, cross)
            )
        )
        tier = bk.cross_region
        # Volume data is moved into the DR bucket: regional disk snapshots would not survive the region.
        objects.append(
            schedule(
                tier.name,
                ns,
                ident,
                cron=tier.cron,
                ttl=tier.ttl,
                included_namespaces=namespaces,
                storage_location=DR_LOCATION,
                snapshot_volumes=bk.snapshot_volumes,
                move_snapshot_data=bk.snapshot_volumes,
            )
        )
    if data.standby and data.other_region is not None:
        # Read-only: the standby restores the primary's namespaces from here during a failover.
        copy = data.bucket_name("velero", cluster=data.primary_cluster, suffix="-dr")
        config = velero_location_config(target, _in_region(data, copy))
        objects.append(
            backup_storage_location(
                PRIMARY_COPY_LOCATION, ns, ident, provider=provider, bucket=copy, config=config, access_mode="ReadOnly"
            )
        )
    return objects


def _in_region(data: DataSettings, name: str) -> Bucket:
    return Bucket(
        name, "velero", data.primary_cluster, data.region, data.versioning, data.noncurrent_version_days, "", in_dr_region=True
    )


def alert_objects(target: Target, data: DataSettings) -> list[dict[str, Any]]:
    groups = data_alerts(data, target.repo_url)
    ident = identity(target, "data-protection", "alerting")
    return [prometheus_rule("data-protection", data.data_namespace, ident, groups=groups)] if any(groups.values()) else []


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    data = data_settings(target)
    return output({"backup": velero_objects(target, data) + alert_objects(target, data)})
