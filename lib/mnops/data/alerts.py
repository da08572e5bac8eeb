"""The data-protection alerts: backups older than the RPO, WAL archiving failing, replica lag, and
the DR replica cluster falling behind. Metric names are the exporters' own:

- CloudNativePG default queries: cnpg_pg_stat_archiver_*, cnpg_pg_replication_lag,
  cnpg_pg_stat_database_tup_*; Barman Cloud plugin: barman_cloud_cloudnative_pg_io_*
- redis_exporter: redis_rdb_last_save_timestamp_seconds, redis_rdb_changes_since_last_save,
  redis_rdb_last_bgsave_status, redis_aof_last_write_status
- Velero: velero_backup_last_successful_timestamp{schedule}, velero_backup_failure_total
- kube-state-metrics: kube_cronjob_status_last_successful_time

A periodic backup is "too old" when it is older than its schedule period plus the RPO: one missed
run is tolerated for the length of the RPO, never longer.

A store the environment runs on RDS or ElastiCache (infra.data_services) gets none of its group:
the cloud takes those backups and none of these exporters exist (docs/disaster-recovery.md).
"""

from __future__ import annotations

from mnops.data import DataSettings
from mnops.k8s.data_extras import Alert
from mnops.units import standard_cron

DOC_PATH = "docs/disaster-recovery.md"

# Runbook anchors in docs/disaster-recovery.md (a test checks each heading exists).
RUNBOOKS = {
    "wal": "runbook-postgresql-wal-archiving",
    "pg-backup": "runbook-postgresql-base-backups",
    "replica-lag": "runbook-postgresql-replica-lag",
    "dr-lag": "runbook-dr-replica-cluster-behind",
    "redis-persistence": "runbook-redis-persistence",
    "redis-copy": "runbook-redis-snapshot-copy",
    "velero": "runbook-velero-backups",
}


def cron_period_seconds(cron: str) -> int:
    """How often a five-field cron fires, roughly: every N minutes, hourly, daily, weekly or monthly."""
    minute, hour, day, _month, weekday = standard_cron(cron).split()
    if hour == "*" and minute.startswith("*/"):
        return 60 * int(minute[2:])
    if hour == "*":
        return 3600
    if hour.startswith("*/"):
        return 3600 * int(hour[2:])
    if weekday != "*":
        return 7 * 86400
    if day != "*":
        return 31 * 86400
    return 86400


def _human(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def data_alerts(data: DataSettings, repo_url: str) -> dict[str, list[Alert]]:
    """Alert groups by name for one cluster."""
    base = repo_url.removesuffix(".git") + f"/blob/main/{DOC_PATH}#"
    ns, rpo = data.data_namespace, data.rpo_seconds
    sel = f'namespace="{ns}"'

    def alert(  # noqa: PLR0917 - positional on purpose: each call below reads as one table row
        name: str, expr: str, for_: str, severity: str, priority: str, service: str, summary: str,
              description: str, runbook: str) -> Alert:  # fmt: skip
        return Alert(name, expr, for_, severity, priority, service, summary, description, base + RUNBOOKS[runbook])

    groups: dict[str, list[Alert]] = {"postgres-backup": [], "redis-backup": [], "velero-backup": []}
    pg = data.postgres
    if pg.enabled and data.in_cluster("postgres"):
        pod = f'{sel}, pod=~"{pg.cluster_name}-[0-9]+"'
        writes = (
            f"sum by (namespace, pod) (rate(cnpg_pg_stat_database_tup_inserted{{{pod}}}[15m])"
            f" + rate(cnpg_pg_stat_database_tup_updated{{{pod}}}[15m])"
            f" + rate(cnpg_pg_stat_database_tup_deleted{{{pod}}}[15m])) > 0"
        )
        groups["postgres-backup"] += [
            alert("PostgresWALArchivingFailing", f"increase(cnpg_pg_stat_archiver_failed_count{{{pod}}}[5m]) > 0", "5m",
                  "critical", "P1", "postgres", "PostgreSQL cannot archive WAL to object storage",
                  "{{ $labels.pod }} failed to archive WAL for 5 minutes; every minute adds to the data a restore "
                  "would lose, and pg_wal fills up.", "wal"),
            alert("PostgresWALArchiveOlderThanRPO",
                  f"cnpg_pg_stat_archiver_seconds_since_last_archival{{{pod}}} > {rpo} and on (namespace, pod) {writes}",
                  "0m", "critical", "P1", "postgres", "PostgreSQL's newest archived WAL is older than the RPO",
                  f"{{{{ $labels.pod }}}} has written data but archived nothing for more than {_human(rpo)} (RPO); "
                  f"archive_timeout is {pg.parameters['archive_timeout']}.", "wal"),
        ]  # fmt: skip
        if not data.standby:
            period = cron_period_seconds(pg.backup_schedule)
            groups["postgres-backup"] += [
                alert("PostgresBaseBackupTooOld",
                      f"time() - barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{{{pod}}} > {period + rpo}",
                      "0m", "warning", "P2", "postgres", "No recent PostgreSQL base backup",
                      f"The newest base backup of {pg.cluster_name} is older than {_human(period + rpo)} "
                      f"(schedule period + RPO); restores need ever more WAL replay.", "pg-backup"),
                alert("PostgresReplicaLagHigh",
                      f"max by (namespace, pod) (cnpg_pg_replication_lag{{{pod}}}) > {pg.replica_lag_seconds}",
                      "5m", "warning", "P2", "postgres", "A PostgreSQL replica is behind the primary",
                      f"{{{{ $labels.pod }}}} replays WAL more than {_human(pg.replica_lag_seconds)} behind the "
                      "primary; a failover to it would lose that much.", "replica-lag"),
            ]  # fmt: skip
        else:
            groups["postgres-backup"].append(
                alert("PostgresDRReplicaBehind",
                      f"max by (namespace, pod) (cnpg_pg_replication_lag{{{pod}}}) > {rpo}",
                      "5m", "critical", "P1", "postgres", "The DR replica cluster is falling behind the primary",
                      f"The replica cluster in {data.region} replays the primary's archive more than {_human(rpo)} "
                      "(RPO) behind: a regional failover now would break the RPO.", "dr-lag")
            )  # fmt: skip
    rd = data.redis
    if rd.enabled and data.in_cluster("redis"):
        rsel = f'{sel}, pod=~"{rd.name}-.*"'
        groups["redis-backup"] += [
            alert("RedisSnapshotOlderThanRPO",
                  f"time() - redis_rdb_last_save_timestamp_seconds{{{rsel}}} > {rpo} "
                  f"and on (namespace, pod) redis_rdb_changes_since_last_save{{{rsel}}} > 0",
                  "5m", "warning", "P2", "redis", "Redis has unsaved changes older than the RPO",
                  f"{{{{ $labels.pod }}}} has not written an RDB snapshot for more than {_human(rpo)} although data "
                  "changed; only the AOF protects it now.", "redis-persistence"),
            alert("RedisPersistenceFailing",
                  f"redis_rdb_last_bgsave_status{{{rsel}}} == 0 or redis_aof_last_write_status{{{rsel}}} == 0",
                  "5m", "critical", "P1", "redis", "Redis cannot write its RDB snapshot or AOF",
                  "{{ $labels.pod }} reports a failed background save or AOF write (disk full or read-only?).",
                  "redis-persistence"),
        ]  # fmt: skip
        if rd.snapshot_copy_enabled:
            limit = cron_period_seconds(rd.snapshot_copy_schedule) + rpo
            groups["redis-backup"].append(
                alert("RedisSnapshotCopyTooOld",
                      f'time() - kube_cronjob_status_last_successful_time{{{sel}, cronjob="redis-rdb-copy"}} > {limit}',
                      "0m", "warning", "P2", "redis", "No recent Redis snapshot in object storage",
                      f"The RDB copy job has not succeeded for more than {_human(limit)} (schedule period + RPO).",
                      "redis-copy")
            )  # fmt: skip
    bk = data.backup
    if bk.enabled:
        tiers = list(bk.schedules)
        if any(b.purpose == "velero cross-region" for b in data.buckets()):
            tiers.append(bk.cross_region)
        for tier in tiers:
            limit = cron_period_seconds(tier.cron) + rpo
            camel = "".join(part.capitalize() for part in tier.name.split("-"))
            groups["velero-backup"].append(
                alert(f"Velero{camel}BackupTooOld",
                      f'time() - velero_backup_last_successful_timestamp{{schedule="{tier.name}"}} > {limit}',
                      "0m", "critical" if tier.name == "hourly" else "warning", "P1" if tier.name == "hourly" else "P2",
                      "velero", f"No recent {tier.name} Velero backup",
                      f"The last successful {tier.name} backup is older than {_human(limit)} "
                      "(schedule period + RPO).", "velero")
            )  # fmt: skip
        groups["velero-backup"].append(
            alert("VeleroBackupFailing", "increase(velero_backup_failure_total[1h]) > 0", "0m", "warning", "P2",
                  "velero", "A Velero backup failed", "{{ $labels.schedule }} had a failed backup in the last hour.",
                  "velero")
        )  # fmt: skip
    return groups
