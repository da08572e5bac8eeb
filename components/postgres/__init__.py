"""PostgreSQL with CloudNativePG: manifests/postgres/.

Cluster (3 instances over zones in prod, 1 in dev), Barman Cloud ObjectStore (WAL archiving and
base backups to the cluster's bucket), ScheduledBackup, optional PgBouncer Pooler and a PodMonitor.
On a standby cluster (role standby) the Cluster is a replica cluster that keeps recovering from
the DR-region copy of the primary's archive, ready to be promoted (scripts/dr/failover.py).
Nothing at all where the environment chose RDS (infra.data_services.postgres): the management
cluster creates the database then (mnops.infra.aws_data).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.data import DataSettings, data_settings
from mnops.data.cloud import barman_credentials, identity_annotations, identity_pod_labels
from mnops.inventory import Target
from mnops.k8s.cnpg import ClusterSpec, ExternalCluster, Recovery, cluster, object_store, pooler, scheduled_backup
from mnops.k8s.data_extras import pod_monitor

PRIMARY_SOURCE = "primary-archive"


def postgres_objects(target: Target, data: DataSettings) -> list[dict[str, Any]]:
    pg = data.postgres
    if not pg.enabled or not data.in_cluster("postgres"):
        return []
    ns = data.data_namespace
    ident = identity(target, "postgres", "database", version=pg.image.rsplit(":", 1)[-1].split("@")[0])
    store_name = f"{pg.cluster_name}-store"
    own = next(b for b in data.buckets() if b.purpose == "postgres")
    objects = [
        object_store(
            store_name,
            ns,
            ident,
            destination=f"{own.url(data.provider)}/{pg.cluster_name}",
            credentials=barman_credentials(data.provider),
            retention=pg.retention,
            wal_compression=pg.wal_compression,
        )
    ]
    externals: list[ExternalCluster] = []
    recovery = None
    replica_of = None
    if data.standby:
        # The standby recovers continuously from the primary's archive as replicated into this region.
        copy = data.primary_wal_copy
        objects.append(
            object_store(
                f"{PRIMARY_SOURCE}-store",
                ns,
                ident,
                destination=f"{copy.url(data.provider)}/{pg.cluster_name}",
                credentials=barman_credentials(data.provider),
                retention=pg.retention,
                wal_compression=pg.wal_compression,
            )
        )
        externals.append(ExternalCluster(PRIMARY_SOURCE, f"{PRIMARY_SOURCE}-store", pg.cluster_name))
        recovery = Recovery(PRIMARY_SOURCE)
        replica_of = PRIMARY_SOURCE
    spec = ClusterSpec(
        instances=pg.instances,
        image=pg.image,
        storage_class=target.cloud["storage_class"],
        storage_size=pg.storage_size,
        wal_storage_size=pg.wal_storage_size,
        resources=pg.resources.as_k8s(),
        parameters=pg.parameters,
        database=pg.database,
        owner=pg.owner,
        object_store=store_name,
        # After a promotion the former standby archives under its own name: no clash with the primary's WAL.
        server_name=pg.cluster_name if not data.standby else f"{pg.cluster_name}-{data.cluster}",
        recovery=recovery,
        replica_of=replica_of,
        external_clusters=externals,
        zone_spread=len(target.cluster.zones) > 1,
        service_account_annotations=identity_annotations(target, ns, pg.cluster_name),
        pod_labels=identity_pod_labels(target),
    )
    objects.append(cluster(pg.cluster_name, ns, ident, spec))
    if not data.standby:
        # A replica cluster cannot take base backups of its own; after promotion this is applied.
        objects.append(
            scheduled_backup(f"{pg.cluster_name}-daily", ns, ident, cluster_name=pg.cluster_name, cron=pg.backup_schedule)
        )
    if pg.pooler_enabled:
        objects.append(
            pooler(
                f"{pg.cluster_name}-pooler-rw",
                ns,
                ident,
                cluster_name=pg.cluster_name,
                instances=pg.pooler_instances,
                pool_mode=pg.pool_mode,
                parameters=pg.pooler_parameters,
            )
        )
    # Instances only: PgBouncer pods carry cnpg.io/cluster too, and the operator scrapes them
    # through the Pooler's own PodMonitor (enablePodMonitor).
    instances = {"cnpg.io/cluster": pg.cluster_name, "cnpg.io/podRole": "instance"}
    objects.append(pod_monitor(pg.cluster_name, ns, ident, selector=instances, port="metrics"))
    return objects


def main(input_params: dict[str, Any]) -> Any:
    target = current_target()
    return output({"postgres": postgres_objects(target, data_settings(target))})
