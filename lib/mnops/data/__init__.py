"""Typed settings of the data layer (PostgreSQL, Redis, Velero) read from a validated inventory.

    settings = data_settings(target)      # DataSettings, built only from schema-valid parameters

Bucket names, regions and the role of the cluster (primary or standby) are decided here once, so
the components, the object-storage table and the DR scripts all agree on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops import units
from mnops.data.managed import DataServices, data_services
from mnops.inventory.model import Resources, Target

PURPOSES = ("postgres", "redis", "velero")


@dataclass(frozen=True)
class SecretStore:
    kind: str
    name: str
    refresh_interval: str


@dataclass(frozen=True)
class Bucket:
    """One backup bucket: where it lives and where its copies go."""

    name: str
    purpose: str
    cluster: str
    region: str
    versioning: bool
    noncurrent_version_days: int
    retention: str  # what the owner of the data keeps (human text for the table)
    replicate_to: str | None = None  # bucket name in the DR region, if replicated
    in_dr_region: bool = False  # a `-dr` copy in the DR region: on Azure, in the cluster's DR storage account

    @property
    def account(self) -> str:
        """The Azure storage account holding this bucket as a container."""
        return storage_account(self.cluster, dr=self.in_dr_region)

    @property
    def account_url(self) -> str:
        """The Azure storage account's blob endpoint (public Azure cloud)."""
        return f"https://{self.account}.blob.core.windows.net"

    def url(self, provider: str) -> str:
        """Base URL as barman-cloud and the copy job write it."""
        if provider == "aws":
            return f"s3://{self.name}"
        if provider == "gcp":
            return f"gs://{self.name}"
        return f"{self.account_url}/{self.name}"


def storage_account(cluster: str, dr: bool = False) -> str:
    """Azure storage account names allow only 3-24 lower-case letters and digits. A cluster's `-dr` copies
    live in a second account in the DR region (`...dr`): an account and its containers are in one region."""
    base = "mnops" + "".join(c for c in cluster if c.isalnum())
    return base[:22] + "dr" if dr else (base + "backup")[:24]


@dataclass(frozen=True)
class PostgresSettings:
    enabled: bool
    cluster_name: str
    image: str
    instances: int
    database: str
    owner: str
    storage_size: str
    wal_storage_size: str
    resources: Resources
    parameters: Mapping[str, str]
    backup_schedule: str
    retention: str
    wal_compression: str
    pooler_enabled: bool
    pooler_instances: int
    pool_mode: str
    pooler_parameters: Mapping[str, str]
    replica_lag_seconds: int

    @property
    def archive_timeout_seconds(self) -> int:
        return postgres_seconds(self.parameters["archive_timeout"])


@dataclass(frozen=True)
class RedisSettings:
    enabled: bool
    topology: str
    name: str
    image: str
    sentinel_image: str
    exporter_image: str
    replicas: int
    sentinels: int
    shards: int
    replicas_per_shard: int
    storage_size: str
    resources: Resources
    appendonly: bool
    appendfsync: str
    rdb_save: tuple[str, ...]
    maxmemory_percent: int
    maxmemory_policy: str
    password_secret: str
    password_key: str
    password_remote_key: str
    snapshot_copy_enabled: bool
    snapshot_copy_schedule: str
    snapshot_copy_retention: str
    uploader_images: Mapping[str, str]

    def config_lines(self) -> list[str]:
        """redis.conf lines for durability; the operator appends them and the drill runs them."""
        return [
            f"appendonly {'yes' if self.appendonly else 'no'}",
            f"appendfsync {self.appendfsync}",
            "aof-use-rdb-preamble yes",
            "save " + " ".join(self.rdb_save) if self.rdb_save else 'save ""',
            f"maxmemory {self.maxmemory_bytes}",
            f"maxmemory-policy {self.maxmemory_policy}",
        ]

    @property
    def maxmemory_bytes(self) -> int:
        """The memory limit's `maxmemory_percent`, in bytes (Redis reads a plain byte count)."""
        return units.memory_bytes(self.resources.memory_limit) * self.maxmemory_percent // 100


@dataclass(frozen=True)
class VeleroSchedule:
    name: str
    cron: str
    ttl_seconds: int

    @property
    def ttl(self) -> str:
        """Velero's Go duration, in whole hours: 24h -> '24h0m0s'."""
        hours, rest = divmod(self.ttl_seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}h{minutes}m{seconds}s"


@dataclass(frozen=True)
class BackupSettings:
    enabled: bool
    namespace: str
    plugin_images: Mapping[str, str]
    schedules: tuple[VeleroSchedule, ...]
    cross_region_enabled: bool
    cross_region: VeleroSchedule
    snapshot_volumes: bool


@dataclass(frozen=True)
class DataSettings:
    cluster: str
    environment: str
    role: str
    provider: str
    region: str
    rpo_seconds: int
    rto_seconds: int
    secret_store: SecretStore
    bucket_prefix: str
    versioning: bool
    noncurrent_version_days: int
    primary_region: str
    dr_region: str
    primary_cluster: str
    data_namespace: str
    postgres: PostgresSettings
    redis: RedisSettings
    backup: BackupSettings
    services: DataServices
    managed_settings: Mapping[str, Any]  # infra.data_services: sizes and retention of RDS / ElastiCache

    @property
    def standby(self) -> bool:
        return self.role == "standby"

    def in_cluster(self, store: str) -> bool:
        """Whether this cluster runs the store itself (operator objects, in-cluster backups and alerts)."""
        return self.services.in_cluster(store)

    def managed_backups(self) -> list[str]:
        """How the cloud's managed services back themselves up, one sentence each (no bucket of ours)."""
        lines = []
        if self.services.managed("postgres"):
            rds = self.managed_settings["rds"]
            if self.standby:
                lines.append(f"PostgreSQL on Amazon RDS: a read replica of {self.primary_cluster}'s instance, "
                             f"automated backups kept {rds['backup_retention_days']} d")  # fmt: skip
            else:
                copy = f", copied to {self.other_region} by automated backup replication" if self.other_region else ""
                lines.append(f"PostgreSQL on Amazon RDS: automated backups and point-in-time recovery for "
                             f"{rds['backup_retention_days']} d (window {rds['backup_window']} UTC){copy}")  # fmt: skip
                tiers = ", ".join(f"{t.name} {-(-t.ttl_seconds // 86400)} d" for t in vault_tiers(self.backup.schedules))
                there = (
                    f", each copied to the vault `{self.cluster}-backups-dr` in {self.other_region}" if self.other_region else ""
                )
                lines.append(f"PostgreSQL on Amazon RDS: AWS Backup snapshots in the vault `{self.cluster}-backups`, "
                             f"kept {tiers}{there}")  # fmt: skip
        if self.services.managed("redis"):
            cache = self.managed_settings["elasticache"]
            lines.append(f"Redis on Amazon ElastiCache: daily snapshots kept {cache['snapshot_retention_days']} d "
                         f"(window {cache['snapshot_window']} UTC)")  # fmt: skip
        return lines

    @property
    def other_region(self) -> str | None:
        """The region this cluster's cross-region copies go to (None if there is no second region)."""
        if self.primary_region == self.dr_region:
            return None
        return self.dr_region if self.region == self.primary_region else self.primary_region

    def bucket_name(self, purpose: str, cluster: str | None = None, suffix: str = "") -> str:
        return f"{self.bucket_prefix}-{cluster or self.cluster}-{purpose}{suffix}"

    def buckets(self) -> list[Bucket]:
        """Every bucket this cluster writes to, with its copy in the other region where there is one."""
        other = self.other_region
        kept = {
            "postgres": f"base backups + WAL, recovery window {self.postgres.retention}",
            "redis": f"RDB copy every run of `{self.redis.snapshot_copy_schedule}`, each expires after "
            f"{self.redis.snapshot_copy_retention}",
            "velero": "per schedule TTL: " + ", ".join(f"{s.name} {s.ttl_seconds // 3600}h" for s in self.backup.schedules),
        }
        found: list[Bucket] = []
        for purpose in PURPOSES:
            if purpose in ("postgres", "redis") and not self.in_cluster(purpose):
                continue  # RDS and ElastiCache keep their own backups: no bucket of ours holds them
            replicate = purpose == "postgres" and other is not None
            found.append(
                Bucket(
                    name=self.bucket_name(purpose),
                    purpose=purpose,
                    cluster=self.cluster,
                    region=self.region,
                    versioning=self.versioning,
                    noncurrent_version_days=self.noncurrent_version_days,
                    retention=kept[purpose],
                    replicate_to=self.bucket_name(purpose, suffix="-dr") if replicate else None,
                )
            )
        if other is not None and self.backup.cross_region_enabled and not self.standby:
            found.append(
                Bucket(
                    name=self.bucket_name("velero", suffix="-dr"),
                    purpose="velero cross-region",
                    cluster=self.cluster,
                    region=other,
                    versioning=self.versioning,
                    noncurrent_version_days=self.noncurrent_version_days,
                    retention=f"{self.backup.cross_region.name} TTL {self.backup.cross_region.ttl_seconds // 3600}h",
                    in_dr_region=True,
                )
            )
        return found

    @property
    def primary_wal_copy(self) -> Bucket:
        """For a standby: the DR-region copy of the primary's WAL archive, which its replica cluster reads."""
        return Bucket(
            name=self.bucket_name("postgres", cluster=self.primary_cluster, suffix="-dr"),
            purpose="postgres",
            cluster=self.primary_cluster,
            region=self.region,
            versioning=self.versioning,
            noncurrent_version_days=self.noncurrent_version_days,
            retention="replica of the primary's archive",
            in_dr_region=True,
        )


_PG_UNITS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}


def postgres_seconds(value: str) -> int:
    """A PostgreSQL time setting ('30s', '5min', '1h', bare number = seconds) in whole seconds."""
    text = value.strip()
    for unit in sorted(_PG_UNITS, key=len, reverse=True):
        if text.endswith(unit) and text[: -len(unit)].strip().isdigit():
            return int(int(text[: -len(unit)]) * _PG_UNITS[unit])
    if text.isdigit():
        return int(text)
    raise ValueError(f"{value!r} is not a PostgreSQL time such as '30s' or '5min'")


def _resources(raw: Mapping[str, Any]) -> Resources:
    return Resources(str(raw["requests"]["cpu"]), raw["requests"]["memory"], str(raw["limits"]["cpu"]), raw["limits"]["memory"])


def _schedule(name: str, raw: Mapping[str, Any]) -> VeleroSchedule:
    return VeleroSchedule(name, raw["schedule"], units.duration_seconds(raw["ttl"]))


def backup_schedules(backup: Mapping[str, Any]) -> tuple[VeleroSchedule, ...]:
    """The plan's retention table (`backup.schedules`), shortest retention first."""
    return tuple(sorted((_schedule(n, raw) for n, raw in backup["schedules"].items()), key=lambda s: (s.ttl_seconds, s.name)))


def vault_tiers(schedules: tuple[VeleroSchedule, ...]) -> list[VeleroSchedule]:
    """The tiers a managed database keeps as snapshots in a backup vault (AWS Backup): those taken daily or
    less often. Tiers taken more often (hourly, kept 24 h) are its point-in-time recovery window instead."""
    from mnops.data.alerts import cron_period_seconds  # alerts imports this module

    return [s for s in schedules if cron_period_seconds(s.cron) >= 86400]


def data_settings(target: Target) -> DataSettings:
    """The data layer of one validated target."""
    p = target.parameters
    data, pg, rd, bk = p["data"], p["postgres"], p["redis"], p["backup"]
    store = data["secret_store"]
    postgres = PostgresSettings(
        enabled=pg["enabled"],
        cluster_name=pg["cluster_name"],
        image=pg["image"],
        instances=pg["instances"],
        database=pg["database"],
        owner=pg["owner"],
        storage_size=pg["storage_size"],
        wal_storage_size=pg["wal_storage_size"],
        resources=_resources(pg["resources"]),
        parameters=dict(sorted(pg["parameters"].items())),
        backup_schedule=pg["backup"]["schedule"],
        retention=pg["backup"]["retention"],
        wal_compression=pg["backup"]["wal_compression"],
        pooler_enabled=pg["pooler"]["enabled"],
        pooler_instances=pg["pooler"]["instances"],
        pool_mode=pg["pooler"]["pool_mode"],
        pooler_parameters=dict(sorted(pg["pooler"].get("parameters", {}).items())),
        replica_lag_seconds=units.duration_seconds(pg["alerts"]["replica_lag"]),
    )
    redis = RedisSettings(
        enabled=rd["enabled"],
        topology=rd["topology"],
        name=rd["name"],
        image=rd["images"]["redis"],
        sentinel_image=rd["images"]["sentinel"],
        exporter_image=rd["images"]["exporter"],
        replicas=rd["replicas"],
        sentinels=rd["sentinels"],
        shards=rd["shards"],
        replicas_per_shard=rd["replicas_per_shard"],
        storage_size=rd["storage_size"],
        resources=_resources(rd["resources"]),
        appendonly=rd["persistence"]["appendonly"],
        appendfsync=rd["persistence"]["appendfsync"],
        rdb_save=tuple(rd["persistence"]["rdb_save"]),
        maxmemory_percent=rd["maxmemory_percent"],
        maxmemory_policy=rd["maxmemory_policy"],
        password_secret=rd["password"]["secret"],
        password_key=rd["password"]["key"],
        password_remote_key=rd["password"]["remote_key"].format(cluster=target.cluster.name),
        snapshot_copy_enabled=rd["snapshot_copy"]["enabled"],
        snapshot_copy_schedule=rd["snapshot_copy"]["schedule"],
        snapshot_copy_retention=rd["snapshot_copy"]["retention"],
        uploader_images=dict(rd["snapshot_copy"]["images"]),
    )
    backup = BackupSettings(
        enabled=bk["enabled"],
        namespace=bk["namespace"],
        plugin_images=dict(bk["plugin_images"]),
        schedules=backup_schedules(bk),
        cross_region_enabled=bk["cross_region"]["enabled"],
        cross_region=_schedule("cross-region", bk["cross_region"]),
        snapshot_volumes=bk["snapshot_volumes"],
    )
    return DataSettings(
        cluster=target.cluster.name,
        environment=target.cluster.environment,
        role=target.cluster.role,
        provider=target.cluster.cloud,
        region=target.cluster.region,
        rpo_seconds=units.duration_seconds(data["rpo"]),
        rto_seconds=units.duration_seconds(data["rto"]),
        secret_store=SecretStore(store["kind"], store["name"], store.get("refresh_interval", "1h")),
        bucket_prefix=data["object_storage"]["bucket_prefix"],
        versioning=data["object_storage"]["versioning"],
        noncurrent_version_days=data["object_storage"]["noncurrent_version_days"],
        primary_region=data["regions"]["primary"],
        dr_region=data["regions"]["dr"],
        primary_cluster=data["primary_cluster"],
        data_namespace=target.namespaces.get("data", target.namespaces["apps"]),
        postgres=postgres,
        redis=redis,
        backup=backup,
        services=data_services(p),
        managed_settings=dict(p.get("infra", {}).get("data_services", {})),
    )
