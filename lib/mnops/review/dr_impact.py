"""Disaster-recovery impact: backup schedules, retention, WAL archiving, replicas and the DR cluster,
as RPO and retention against the plan's targets, plus observability coverage cells turned off.

Read from what the operators get: Velero Schedules (cron and ttl), CloudNativePG Clusters (WAL
archiving through the barman-cloud plugin, archive_timeout, instances, replica clusters),
ScheduledBackups and ObjectStore retention, Redis replicas; for a store on RDS or ElastiCache
(infra.data_services) the Instance and ReplicationGroup in the management cluster's tree
(compiled/<management>/infra/infra-<cluster>/): a change there alone counts as touching <cluster>,
and their backup retention, Multi-AZ and deletion protection are held against the targets too.
The plan's targets (seed 7.1, 7.2):
RPO under 15 minutes, RTO under 1 hour, backups kept 24 hours hourly, 7 days daily, 4 weeks weekly
and 12 months monthly. A change that makes a cluster miss a target it met is risky, and so is
turning off any coverage cell (observability.coverage: scrape, RED rules, alerts, SLO, dashboard,
logs, traces, runbooks) of any service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnops import yamlio
from mnops.infra.model import infra_namespace
from mnops.inventory.model import build_target
from mnops.observability.coverage import CHECKS, Expected, coverage
from mnops.review import ReviewInput, RiskItem, Section
from mnops.review.compiled import Doc, documents, managed_folder

TITLE = "Disaster-recovery impact"  # the section's heading; also named when the section finds no change

HOUR, DAY = 3600, 86400
RPO_TARGET = 15 * 60
RTO_TARGET = HOUR
# (tier, backup at least this often, kept at least this long): the plan's retention table.
RETENTION_TARGETS = (
    ("hourly", HOUR, DAY),
    ("daily", DAY, 7 * DAY),
    ("weekly", 7 * DAY, 28 * DAY),
    ("monthly", 31 * DAY, 365 * DAY),
)
POSTGRES_DEFAULT_ARCHIVE_TIMEOUT = 300  # CloudNativePG sets archive_timeout to 5min unless told otherwise
RDS_LOG_UPLOAD = 300  # RDS uploads transaction logs for point-in-time recovery every 5 minutes
# RDS automated backups and ElastiCache snapshots are daily and kept N days: the plan's daily tier.
MANAGED_RETENTION_TARGET = next(keep for tier, _, keep in RETENTION_TARGETS if tier == "daily")
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_PG_DURATION = re.compile(r"^(\d+)\s*(ms|s|min|h|d)?$")


def go_seconds(value: str) -> int:
    """A Go duration as Velero writes it ('168h0m0s') in seconds."""
    return int(sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in _GO_DURATION.findall(str(value))))


def pg_seconds(value: str) -> int:
    """A PostgreSQL time setting ('30s', '5min', '300' = seconds) in seconds."""
    match = _PG_DURATION.match(str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a PostgreSQL duration")
    factor = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400, None: 1}[match.group(2)]
    return int(int(match.group(1)) * factor)


def cron_period(expression: str) -> int:
    """How often a cron schedule runs, in seconds (5 fields, or CloudNativePG's 6 with seconds first)."""
    fields = str(expression).split()
    if len(fields) == 6:
        fields = fields[1:]
    minute, hour, day, _month, weekday = fields
    if minute == "*" or minute.startswith("*/"):
        return 60 * (int(minute[2:]) if minute.startswith("*/") else 1)
    if hour == "*" or hour.startswith("*/"):
        return HOUR * (int(hour[2:]) if hour.startswith("*/") else 1)
    if day == "*" and weekday == "*":
        return DAY
    if day == "*":
        return 7 * DAY
    return 31 * DAY


def _days(seconds: int) -> str:
    if seconds % DAY == 0 and seconds >= DAY:
        return f"{seconds // DAY}d"
    if seconds % HOUR == 0 and seconds >= HOUR:
        return f"{seconds // HOUR}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 and seconds >= 60 else f"{seconds}s"


def _switch(on: bool | None, yes: str, no: str) -> str:
    return yes if on else no


@dataclass(frozen=True)
class ManagedFacts:
    """The recovery settings of a cluster's RDS instance and ElastiCache group (None: the cluster has none)."""

    rds_retention_days: int | None = None
    rds_multi_az: bool | None = None
    rds_deletion_protection: bool | None = None
    cache_retention_days: int | None = None
    cache_multi_az: bool | None = None

    def lines(self) -> dict[str, str]:
        # RDS retention is already shown as "PostgreSQL backups kept"; RTO follows from Multi-AZ.
        shown: dict[str, str] = {}
        if self.rds_multi_az is not None:
            shown["RDS Multi-AZ (RTO)"] = _switch(
                self.rds_multi_az, "on: the standby in another zone takes over in about a minute",
                "off: a zone loss is a point-in-time restore to a new instance",
            )  # fmt: skip
            shown["RDS deletion protection"] = _switch(self.rds_deletion_protection, "on", "off")
        if self.cache_retention_days is not None:
            shown["ElastiCache snapshots kept"] = f"{self.cache_retention_days}d"
            shown["ElastiCache Multi-AZ (RTO)"] = _switch(
                self.cache_multi_az, "on: a replica in another zone is promoted automatically",
                "off: a node or zone loss empties the cache until it is replaced",
            )  # fmt: skip
        return shown

    def misses(self, prod: bool) -> list[str]:
        """The plan's targets these settings miss (Multi-AZ is required in prod only, as the compile does)."""
        keep = MANAGED_RETENTION_TARGET
        found = []
        if self.rds_retention_days is not None and self.rds_retention_days * DAY < keep:
            found.append(f"RDS backups kept {self.rds_retention_days}d, under the daily tier's {_days(keep)}")
        if self.cache_retention_days is not None and self.cache_retention_days * DAY < keep:
            found.append(f"ElastiCache snapshots kept {self.cache_retention_days}d, under the daily tier's {_days(keep)}")
        if prod and self.rds_multi_az is False:
            found.append(f"RDS Multi-AZ off in prod: a zone loss becomes a restore (RTO target {_days(RTO_TARGET)})")
        if prod and self.cache_multi_az is False:
            found.append("ElastiCache Multi-AZ off in prod: a zone loss has no replica to promote")
        if self.rds_deletion_protection is False:
            found.append("RDS deletion protection off: deleting the instance takes its automated backups with it")
        return found


def managed_facts(docs: list[Doc]) -> ManagedFacts:
    def for_provider(kind: str, group: str) -> dict[str, Any] | None:
        found = [d for d in docs if d["kind"] == kind and str(d.get("apiVersion", "")).startswith(group)]
        return ((found[0].get("spec") or {}).get("forProvider") or {}) if found else None

    rds = for_provider("Instance", "rds.aws.m.upbound.io/")
    cache = for_provider("ReplicationGroup", "elasticache.")
    return ManagedFacts(
        rds_retention_days=None if rds is None else int(rds.get("backupRetentionPeriod", 0)),
        rds_multi_az=None if rds is None else bool(rds.get("multiAz")),
        rds_deletion_protection=None if rds is None else bool(rds.get("deletionProtection")),
        cache_retention_days=None if cache is None else int(cache.get("snapshotRetentionLimit", 0)),
        cache_multi_az=None if cache is None else bool(cache.get("multiAzEnabled")),
    )


@dataclass(frozen=True)
class DrFacts:
    """What one cluster does for recovery, as the operators will run it."""

    schedules: Mapping[str, tuple[int, int]]  # Velero schedule -> (period, ttl) in seconds
    postgres_rpo: int | None  # worst-case data loss in seconds; None without PostgreSQL
    postgres_rpo_why: str
    postgres_retention: str
    postgres_instances: int
    replica_of: str  # the archive a replica (DR) cluster follows, "" when none
    redis_replicas: int
    managed: ManagedFacts = field(default_factory=ManagedFacts)

    def retention_misses(self) -> list[str]:
        misses = []
        for tier, often, keep in RETENTION_TARGETS:
            if not any(period <= often and ttl >= keep for period, ttl in self.schedules.values()):
                misses.append(f"no backup at least {tier} kept {_days(keep)}")
        return misses

    def rpo_miss(self) -> str | None:
        if self.postgres_rpo is not None and self.postgres_rpo >= RPO_TARGET:
            return f"PostgreSQL RPO {_days(self.postgres_rpo)} is not under {_days(RPO_TARGET)}"
        return None

    def lines(self) -> dict[str, str]:
        shown = {f"velero {name}": f"every {_days(p)}, kept {_days(t)}" for name, (p, t) in sorted(self.schedules.items())}
        if self.postgres_rpo is not None:
            shown["PostgreSQL RPO"] = f"{_days(self.postgres_rpo)} ({self.postgres_rpo_why})"
            shown["PostgreSQL backups kept"] = self.postgres_retention or "(no retention policy)"
            shown["PostgreSQL instances"] = str(self.postgres_instances)
        shown["PostgreSQL replica (DR) of"] = self.replica_of or "none"
        shown["Redis replicas"] = str(self.redis_replicas)
        return shown | self.managed.lines()


def _postgres(docs: list[Doc]) -> tuple[int | None, str, int, str]:
    clusters_ = [d for d in docs if d["kind"] == "Cluster" and str(d.get("apiVersion", "")).startswith("postgresql.cnpg.io/")]
    if not clusters_:
        return None, "", 0, ""
    spec = clusters_[0].get("spec") or {}
    replica = spec.get("replica") or {}
    archived = any(p.get("isWALArchiver") for p in spec.get("plugins") or []) or bool(
        (spec.get("backup") or {}).get("barmanObjectStore")
    )
    timeout = ((spec.get("postgresql") or {}).get("parameters") or {}).get("archive_timeout")
    if archived:
        rpo = pg_seconds(timeout) if timeout is not None else POSTGRES_DEFAULT_ARCHIVE_TIMEOUT
        why = f"WAL archived, archive_timeout {timeout or '5min (default)'}"
    else:
        periods = [cron_period(d["spec"]["schedule"]) for d in docs if d["kind"] == "ScheduledBackup"]
        rpo = min(periods) if periods else 10**9
        why = "no WAL archiving: the last base backup" if periods else "no WAL archiving and no scheduled backup"
    source = str(replica.get("source", "")) if replica.get("enabled") else ""
    return rpo, why, int(spec.get("instances", 1)), source


def _rds(docs: list[Doc]) -> tuple[int | None, str, int, str, str]:
    """(rpo, why, instances, replica of, retention) of an RDS instance, if the cluster's PostgreSQL is one."""
    found = [d for d in docs if d["kind"] == "Instance" and str(d.get("apiVersion", "")).startswith("rds.aws.m.upbound.io/")]
    if not found:
        return None, "", 0, "", ""
    spec = (found[0].get("spec") or {}).get("forProvider") or {}
    source = str(spec.get("replicateSourceDb", "")).rsplit(":", 1)[-1]
    retention = f"{spec.get('backupRetentionPeriod', 0)}d (RDS automated backups)"
    return RDS_LOG_UPLOAD, "RDS, transaction logs uploaded every 5min", 2 if spec.get("multiAz") else 1, source, retention


def managed_documents(root: Path, cluster: str, manager: str | None = None) -> list[Doc]:
    """The cluster's RDS and ElastiCache objects, from the management cluster's tree (none if it has none).

    Without the manager's name, any cluster's tree that has this cluster's folder."""
    docs: list[Doc] = []
    folders = (
        [managed_folder(root, cluster, manager)] if manager else sorted(root.glob(f"compiled/*/infra/{infra_namespace(cluster)}"))
    )
    for path in (p for folder in folders for p in sorted(folder.glob("*.yaml"))):
        if path.stem in ("instance", "replicationgroup"):
            docs.extend(d for d in yamlio.load_all_bytes(path.read_bytes()) if isinstance(d, dict) and "kind" in d)
    return docs


def dr_facts(docs: list[Doc]) -> DrFacts:
    schedules = {
        str(d["metadata"]["name"]): (
            cron_period(d["spec"]["schedule"]),
            go_seconds((d["spec"].get("template") or {}).get("ttl", "720h")),
        )
        for d in docs
        if d["kind"] == "Schedule" and str(d.get("apiVersion", "")).startswith("velero.io/")
    }
    rpo, why, instances, replica_of = _postgres(docs)
    stores = [d for d in docs if d["kind"] == "ObjectStore"]
    retention = ", ".join(
        sorted(
            str((s.get("spec") or {}).get("retentionPolicy", "")) for s in stores if (s.get("spec") or {}).get("retentionPolicy")
        )
    )
    if rpo is None:
        rpo, why, instances, replica_of, retention = _rds(docs)
    redis = [d for d in docs if d["kind"] == "RedisReplication"]
    cache = [d for d in docs if d["kind"] == "ReplicationGroup" and str(d.get("apiVersion", "")).startswith("elasticache.")]
    redis_replicas = int((redis[0].get("spec") or {}).get("clusterSize", 1)) if redis else 0
    if cache:
        redis_replicas = int(((cache[0].get("spec") or {}).get("forProvider") or {}).get("numCacheClusters", 1))
    return DrFacts(schedules, rpo, why, retention, instances, replica_of, redis_replicas, managed_facts(docs))


def _prod(review: ReviewInput, cluster: str) -> bool:
    parameters = review.head_parameters.get(cluster) or review.base_parameters.get(cluster) or {}
    return (parameters.get("cluster") or {}).get("environment") == "prod"


def _repo_with_docs(root: Path, repo: Path) -> Path:
    """Runbooks are checked in the checkout (docs/runbooks); a bare compiled folder falls back to its own docs/."""
    return repo if (repo / "docs" / "runbooks").is_dir() else root


def coverage_cells(root: Path, repo: Path, cluster: str, parameters: Mapping[str, Any]) -> dict[tuple[str, str], bool]:
    """(service, check) -> covered, for one side of one cluster."""
    if not parameters or not (root / "compiled" / cluster / "manifests").is_dir():
        return {}
    target = build_target(parameters)
    expected = {cluster: tuple(Expected(s.name, s.dependencies.redis) for s in target.services)}
    report = coverage(root / "compiled", _repo_with_docs(root, repo), expected)
    return {(service, check): cell.ok for _, service, cells in report.rows for check, cell in zip(CHECKS, cells, strict=True)}


def build(review: ReviewInput) -> Section | None:
    text: list[str] = []
    rows = ["| cluster | what | before | after |", "| --- | --- | --- | --- |"]
    risks: list[RiskItem] = []
    for cluster in review.touched_clusters:
        manager = review.manager_of.get(cluster)
        base_docs = documents(review.base_root, cluster) + managed_documents(review.base_root, cluster, manager)
        head_docs = documents(review.head_root, cluster) + managed_documents(review.head_root, cluster, manager)
        before, after = dr_facts(base_docs), dr_facts(head_docs)
        if before != after:
            old, new = before.lines(), after.lines()
            for what in sorted(set(old) | set(new)):
                if old.get(what) != new.get(what):
                    text.append(f"{cluster}: {what}: {old.get(what, '(none)')} -> {new.get(what, '(none)')}")
                    rows.append(f"| {cluster} | {what} | {old.get(what, '(none)')} | {new.get(what, '(none)')} |")
            misses = [m for m in after.retention_misses() if m not in before.retention_misses()]
            rpo = after.rpo_miss() if before.rpo_miss() is None else None
            prod = _prod(review, cluster)
            misses += [m for m in after.managed.misses(prod) if m not in before.managed.misses(prod)]
            for miss in [*misses, *([rpo] if rpo else [])]:
                risks.append(RiskItem("data-deletion", cluster, f"misses the plan's target: {miss}"))
            if before.replica_of and not after.replica_of:
                risks.append(
                    RiskItem(
                        "data-deletion",
                        cluster,
                        f"no longer replicates {before.replica_of}: a regional failover must restore from backups "
                        f"(RTO target {_days(RTO_TARGET)})",
                    )
                )
            if after.postgres_instances < before.postgres_instances and after.postgres_instances < 2:
                risks.append(RiskItem("data-deletion", cluster, "PostgreSQL down to one instance: a node loss becomes a restore"))
        if cluster not in review.changed_clusters:
            continue  # only its managed stores changed: its coverage cells read its own folder, which did not
        base_cells = coverage_cells(review.base_root, review.base_repo, cluster, review.base_parameters.get(cluster) or {})
        head_cells = coverage_cells(review.head_root, review.head_repo, cluster, review.head_parameters.get(cluster) or {})
        for (service, check), ok in sorted(base_cells.items()):
            if ok and not head_cells.get((service, check), False) and (service, check) in head_cells:
                text.append(f"{cluster}: observability coverage of {service} loses {check}")
                rows.append(f"| {cluster} | coverage {service} / {check} | yes | **no** |")
                # "observability" is a risk class of its own on the diff branch (reviewers by risk); the lead merges both.
                risks.append(RiskItem("observability", cluster, f"observability coverage turned off: {service} / {check}"))
    if not text:
        return None
    note = (
        "Targets: RPO under 15m, RTO under 1h, retention 24h hourly / 7d daily / 4w weekly / 12 months monthly (plan 7.1, 7.2);"
        " RDS and ElastiCache: backups kept 7d, Multi-AZ in prod, deletion protection on."
    )
    return Section("dr", TITLE, "\n".join([*text, note]) + "\n", "\n".join([*rows, "", note]) + "\n", tuple(risks))
