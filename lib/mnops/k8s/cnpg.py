"""Builders for CloudNativePG kinds (postgresql.cnpg.io/v1) and the Barman Cloud ObjectStore.

Field names follow the CRD schemas in the schema mirror (cluster_v1, scheduledbackup_v1,
pooler_v1, barmancloud.cnpg.io objectstore_v1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata
from mnops.units import check_cron, standard_cron

CNPG_API = "postgresql.cnpg.io/v1"
BARMAN_API = "barmancloud.cnpg.io/v1"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


@dataclass(frozen=True)
class Recovery:
    """Bootstrap from another cluster's object store (PITR or a replica cluster)."""

    source: str  # name of an external cluster
    target_time: str | None = None  # RFC 3339; None = replay everything


@dataclass(frozen=True)
class ExternalCluster:
    """An external cluster read through the Barman Cloud plugin."""

    name: str
    object_store: str
    server_name: str

    def as_k8s(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plugin": {
                "name": BARMAN_PLUGIN,
                "parameters": {"barmanObjectName": self.object_store, "serverName": self.server_name},
            },
        }


@dataclass(frozen=True)
class ClusterSpec:
    instances: int
    image: str
    storage_class: str
    storage_size: str
    wal_storage_size: str
    resources: Mapping[str, Mapping[str, str]]
    parameters: Mapping[str, str]
    database: str
    owner: str
    object_store: str  # ObjectStore this cluster archives WAL to
    server_name: str
    recovery: Recovery | None = None
    replica_of: str | None = None  # external cluster name when this is a replica cluster
    external_clusters: Sequence[ExternalCluster] = ()
    zone_spread: bool = True
    service_account_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)


def cluster(name: str, namespace: str, identity: Identity, spec: ClusterSpec) -> dict[str, Any]:
    """A Cluster spread over zones, archiving WAL with the Barman Cloud plugin."""
    if spec.instances < 1:
        raise BuildError(f"cluster {name} needs at least one instance")
    if "archive_timeout" not in spec.parameters:
        raise BuildError(f"cluster {name}: archive_timeout must be set, it bounds the data lost in a restore")
    if spec.replica_of and not spec.recovery:
        raise BuildError(f"cluster {name}: a replica cluster must bootstrap by recovery from {spec.replica_of}")
    known = {external.name for external in spec.external_clusters}
    for source in filter(None, (spec.replica_of, spec.recovery.source if spec.recovery else None)):
        if source not in known:
            raise BuildError(f"cluster {name}: source {source!r} is not one of its external clusters {sorted(known)}")
    if spec.recovery:
        recovery: dict[str, Any] = {"source": spec.recovery.source, "database": spec.database, "owner": spec.owner}
        if spec.recovery.target_time:
            recovery["recoveryTarget"] = {"targetTime": spec.recovery.target_time}
        bootstrap: dict[str, Any] = {"recovery": recovery}
    else:
        bootstrap = {"initdb": {"database": spec.database, "owner": spec.owner, "dataChecksums": True}}
    body: dict[str, Any] = {
        "instances": spec.instances,
        "imageName": spec.image,
        "primaryUpdateStrategy": "unsupervised",
        "enablePDB": True,
        "postgresql": {"parameters": dict(sorted(spec.parameters.items()))},
        "bootstrap": bootstrap,
        "storage": {"storageClass": spec.storage_class, "size": spec.storage_size},
        "walStorage": {"storageClass": spec.storage_class, "size": spec.wal_storage_size},
        "resources": {k: dict(v) for k, v in sorted(spec.resources.items())},
        # Instances on different nodes (hard) and spread over zones (hard): a zone loss keeps a quorum.
        "affinity": {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": "required",
            "topologyKey": "kubernetes.io/hostname",
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"cnpg.io/cluster": name}},
            }
        ]
        if spec.zone_spread
        else [],
        "inheritedMetadata": {"labels": {**identity.labels(), **spec.pod_labels}},
        # The instance pods upload WAL with the cloud identity bound to this ServiceAccount.
        "serviceAccountTemplate": {"metadata": {"annotations": dict(spec.service_account_annotations)}}
        if spec.service_account_annotations
        else None,
        "plugins": [
            {
                "name": BARMAN_PLUGIN,
                "isWALArchiver": True,
                "parameters": {"barmanObjectName": spec.object_store, "serverName": spec.server_name},
            }
        ],
        "externalClusters": [e.as_k8s() for e in sorted(spec.external_clusters, key=lambda e: e.name)],
    }
    if spec.replica_of:
        body["replica"] = {"enabled": True, "source": spec.replica_of}
    return k8s_object(CNPG_API, "Cluster", metadata(name, identity, namespace), spec=body)


def object_store(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    destination: str,
    credentials: Mapping[str, Any],
    retention: str,
    wal_compression: str,
) -> dict[str, Any]:
    """Where barman-cloud writes base backups and WAL; credentials come from the cloud identity."""
    if not destination or "://" not in destination:
        raise BuildError(f"object store {name}: destination {destination!r} must be a URL such as s3://bucket/path")
    configuration = {
        "destinationPath": destination,
        **credentials,
        "wal": {"compression": wal_compression, "maxParallel": 4},
        "data": {"compression": "gzip", "jobs": 2},
    }
    return k8s_object(
        BARMAN_API,
        "ObjectStore",
        metadata(name, identity, namespace),
        spec={"configuration": configuration, "retentionPolicy": retention},
    )


def scheduled_backup(name: str, namespace: str, identity: Identity, *, cluster_name: str, cron: str) -> dict[str, Any]:
    """A base backup on a five-field cron; CloudNativePG's cron has a leading seconds field."""
    try:
        check_cron(cron)
    except ValueError as error:
        raise BuildError(f"scheduled backup {name}: {error}") from None
    return k8s_object(
        CNPG_API,
        "ScheduledBackup",
        metadata(name, identity, namespace),
        spec={
            "schedule": f"0 {standard_cron(cron)}",
            "cluster": {"name": cluster_name},
            "method": "plugin",
            "pluginConfiguration": {"name": BARMAN_PLUGIN},
            "backupOwnerReference": "self",
            "immediate": True,
        },
    )


def pooler(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    cluster_name: str,
    instances: int,
    pool_mode: str,
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """A PgBouncer in front of the primary (type rw)."""
    if instances < 1:
        raise BuildError(f"pooler {name} needs at least one instance")
    return k8s_object(
        CNPG_API,
        "Pooler",
        metadata(name, identity, namespace),
        spec={
            "cluster": {"name": cluster_name},
            "instances": instances,
            "type": "rw",
            "pgbouncer": {"poolMode": pool_mode, "parameters": dict(sorted(parameters.items()))},
            "monitoring": {"enablePodMonitor": True},
        },
    )
