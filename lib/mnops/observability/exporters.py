"""Metric names of the data-store exporters that dashboards may query, beside the service contract.

Redis is scraped through oliver006/redis_exporter (the `redis_*` names below); PostgreSQL runs
under CloudNativePG, whose instance manager exports `cnpg_*` (the built-in collector plus the
default monitoring queries). Only names listed here or in `contract.py` may appear in a panel:
the dashboard tests extract every metric name from the parsed queries and compare.
"""

from __future__ import annotations

from mnops.observability.contract import Metric, metric_names

# redis_exporter: one series set per Redis instance (labels `instance`, `pod`, `namespace`).
REDIS_METRICS: tuple[Metric, ...] = (
    Metric("redis_up", "gauge", (), "1 if the exporter could reach Redis."),
    Metric("redis_connected_clients", "gauge", (), "Client connections."),
    Metric("redis_blocked_clients", "gauge", (), "Clients blocked on BLPOP and friends."),
    Metric("redis_rejected_connections_total", "counter", (), "Connections refused (maxclients reached)."),
    Metric("redis_memory_used_bytes", "gauge", (), "Memory Redis has allocated."),
    Metric("redis_memory_max_bytes", "gauge", (), "The maxmemory setting (0 = unlimited)."),
    Metric("redis_commands_processed_total", "counter", (), "Commands executed."),
    Metric("redis_keyspace_hits_total", "counter", (), "Successful key look-ups."),
    Metric("redis_keyspace_misses_total", "counter", (), "Failed key look-ups."),
    Metric("redis_evicted_keys_total", "counter", (), "Keys evicted because of maxmemory."),
    Metric("redis_expired_keys_total", "counter", (), "Keys removed by expiry."),
    Metric("redis_db_keys", "gauge", ("db",), "Keys per logical database."),
    Metric("redis_connected_slaves", "gauge", (), "Replicas connected to this primary."),
    Metric("redis_net_input_bytes_total", "counter", (), "Bytes received from clients."),
    Metric("redis_net_output_bytes_total", "counter", (), "Bytes sent to clients."),
)

# CloudNativePG instance manager (labels `namespace`, `pod`, `cluster` of the PostgreSQL cluster).
POSTGRES_METRICS: tuple[Metric, ...] = (
    Metric("cnpg_collector_up", "gauge", (), "1 if PostgreSQL answers the instance manager."),
    Metric("cnpg_collector_last_available_backup_timestamp", "gauge", (), "Unix time of the newest usable backup."),
    Metric("cnpg_collector_last_failed_backup_timestamp", "gauge", (), "Unix time of the newest failed backup."),
    Metric("cnpg_backends_total", "gauge", ("datname", "state"), "Server processes, by database and state."),
    Metric("cnpg_backends_waiting_total", "gauge", (), "Backends waiting on a lock."),
    Metric("cnpg_pg_database_size_bytes", "gauge", ("datname",), "Database size on disk."),
    Metric("cnpg_pg_replication_lag", "gauge", (), "Seconds the replica is behind the primary."),
    Metric("cnpg_pg_replication_streaming_replicas", "gauge", (), "Replicas streaming from this primary."),
    Metric("cnpg_pg_replication_in_recovery", "gauge", (), "1 on a replica, 0 on the primary."),
    Metric("cnpg_pg_stat_archiver_archived_count", "counter", (), "WAL files archived."),
    Metric("cnpg_pg_stat_archiver_failed_count", "counter", (), "WAL archive attempts that failed."),
    Metric("cnpg_pg_stat_archiver_seconds_since_last_archival", "gauge", (), "Seconds since the last WAL file was archived."),
    Metric("cnpg_pg_stat_database_xact_commit", "counter", ("datname",), "Transactions committed."),
    Metric("cnpg_pg_stat_database_xact_rollback", "counter", ("datname",), "Transactions rolled back."),
    Metric("cnpg_pg_stat_database_deadlocks", "counter", ("datname",), "Deadlocks detected."),
    Metric("cnpg_pg_stat_database_blks_hit", "counter", ("datname",), "Blocks found in shared buffers."),
    Metric("cnpg_pg_stat_database_blks_read", "counter", ("datname",), "Blocks read from disk."),
)


def exporter_metric_names() -> set[str]:
    return {metric.name for metric in REDIS_METRICS + POSTGRES_METRICS}


def allowed_metric_names() -> set[str]:
    """Every name a dashboard query may use: the service contract, its recording rules, the exporters."""
    return metric_names() | exporter_metric_names()
