"""What the data layer compiles into each target: sizes per environment, the DR replica cluster,
Velero's exact retention, labels others select on, secrets only by reference, alerts with runbooks."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CRD_SCHEMAS, ROOT, cluster_targets, real_parameters

from mnops.data import data_settings
from mnops.inventory import load_target
from mnops.manifest_validation import validate_document

DOC = ROOT / "docs" / "disaster-recovery.md"
CRDS = CRD_SCHEMAS


def docs(compiled: Path, target: str, folder: str, kind: str) -> list[dict[str, Any]]:
    path = compiled / target / "manifests" / folder / f"{kind.lower()}.yaml"
    return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []


def one(compiled: Path, target: str, folder: str, kind: str) -> dict[str, Any]:
    found = docs(compiled, target, folder, kind)
    assert len(found) == 1, f"{target}: expected one {kind} in {folder}, found {len(found)}"
    return found[0]


def test_velero_schedules_keep_exactly_the_seed_retention(compiled_tree: Path) -> None:
    backed_up = [t for t in cluster_targets() if real_parameters()[t].get("backup", {}).get("enabled")]
    assert backed_up
    for target in backed_up:
        schedules = {s["metadata"]["name"]: s for s in docs(compiled_tree, target, "backup", "Schedule")}
        ttl = {name: s["spec"]["template"]["ttl"] for name, s in schedules.items()}
        assert {k: ttl[k] for k in ("hourly", "daily", "weekly", "monthly")} == {
            "hourly": "24h0m0s", "daily": "168h0m0s", "weekly": "672h0m0s", "monthly": "8760h0m0s",
        }, target  # fmt: skip
        assert schedules["hourly"]["spec"]["schedule"] == "0 * * * *"


def test_prod_writes_a_daily_cross_region_copy_into_the_dr_region(compiled_tree: Path) -> None:
    locations = {b["metadata"]["name"]: b for b in docs(compiled_tree, "prod", "backup", "BackupStorageLocation")}
    assert locations["dr-region"]["spec"]["config"]["region"] == "us-west-2"
    cross = next(s for s in docs(compiled_tree, "prod", "backup", "Schedule") if s["metadata"]["name"] == "cross-region")
    assert cross["spec"]["template"]["storageLocation"] == "dr-region"
    assert cross["spec"]["template"]["snapshotMoveData"] is True, "EBS snapshots do not leave their region"
    dev_locations = {b["metadata"]["name"] for b in docs(compiled_tree, "dev", "backup", "BackupStorageLocation")}
    assert dev_locations == {"default"}


def test_postgres_runs_three_instances_over_zones_in_prod_and_one_in_dev(compiled_tree: Path) -> None:
    prod = one(compiled_tree, "prod", "postgres", "Cluster")["spec"]
    assert prod["instances"] == 3
    assert prod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert prod["postgresql"]["parameters"]["archive_timeout"] == "30s"
    assert prod["plugins"][0]["isWALArchiver"] is True
    assert one(compiled_tree, "dev", "postgres", "Cluster")["spec"]["instances"] == 1
    assert one(compiled_tree, "prod", "postgres", "ScheduledBackup")["spec"]["method"] == "plugin"


def test_prod_dr_runs_a_replica_cluster_recovering_from_prods_archive_copy(compiled_tree: Path) -> None:
    cluster = one(compiled_tree, "prod-dr", "postgres", "Cluster")["spec"]
    assert cluster["replica"] == {"enabled": True, "source": "primary-archive"}
    assert cluster["bootstrap"]["recovery"]["source"] == "primary-archive"
    stores = {s["metadata"]["name"]: s for s in docs(compiled_tree, "prod-dr", "postgres", "ObjectStore")}
    assert stores["primary-archive-store"]["spec"]["configuration"]["destinationPath"] == "s3://mnops-prod-postgres-dr/postgres"
    # It must never archive into the primary's server name, or a promotion would overwrite prod's WAL.
    assert cluster["plugins"][0]["parameters"]["serverName"] != "postgres"
    assert not docs(compiled_tree, "prod-dr", "postgres", "ScheduledBackup"), "a replica cluster takes no base backups"
    assert "replica" not in one(compiled_tree, "prod", "postgres", "Cluster")["spec"]


def test_redis_topology_follows_the_environment(compiled_tree: Path) -> None:
    assert docs(compiled_tree, "dev", "redis", "Redis") and not docs(compiled_tree, "dev", "redis", "RedisSentinel")
    replication = one(compiled_tree, "prod", "redis", "RedisReplication")
    sentinel = one(compiled_tree, "prod", "redis", "RedisSentinel")
    assert replication["spec"]["clusterSize"] == 3
    assert sentinel["spec"]["clusterSize"] == 3
    assert sentinel["spec"]["redisSentinelConfig"]["quorum"] == "2"
    assert replication["spec"]["pdb"]["enabled"] is True
    assert replication["spec"]["redisExporter"]["enabled"] is True
    zone = replication["spec"]["topologySpreadConstraints"][0]
    assert zone["topologyKey"] == "topology.kubernetes.io/zone" and zone["whenUnsatisfiable"] == "DoNotSchedule"


def test_redis_persistence_is_aof_everysec_plus_rdb(compiled_tree: Path) -> None:
    config = one(compiled_tree, "prod", "redis", "ConfigMap")["data"]["redis-additional.conf"]
    assert "appendonly yes" in config and "appendfsync everysec" in config and "save 900 1" in config
    replication = one(compiled_tree, "prod", "redis", "RedisReplication")
    assert (
        replication["spec"]["redisConfig"]["additionalRedisConfig"]
        == one(compiled_tree, "prod", "redis", "ConfigMap")["metadata"]["name"]
    )


def test_redis_resources_carry_the_label_policies_and_monitors_select_on(compiled_tree: Path) -> None:
    for kind in ("RedisReplication", "RedisSentinel"):
        assert one(compiled_tree, "prod", "redis", kind)["metadata"]["labels"]["app.kubernetes.io/name"] == "redis"
    assert one(compiled_tree, "dev", "redis", "Redis")["metadata"]["labels"]["app.kubernetes.io/name"] == "redis"


def test_passwords_come_only_from_external_secrets_never_from_git(compiled_tree: Path) -> None:
    for target in ("dev", "prod", "prod-dr", "staging"):
        for folder in ("postgres", "redis", "backup"):
            assert not docs(compiled_tree, target, folder, "Secret"), f"{target}/{folder} must not contain a Secret"
        secret = one(compiled_tree, target, "redis", "ExternalSecret")
        assert secret["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "cloud-secrets"}
        replication_or_standalone = docs(compiled_tree, target, "redis", "RedisReplication") or docs(
            compiled_tree, target, "redis", "Redis"
        )
        assert replication_or_standalone[0]["spec"]["kubernetesConfig"]["redisSecret"]["name"] == secret["spec"]["target"]["name"]
    text = "".join(p.read_text() for p in compiled_tree.rglob("*.yaml") if p.parts[-2] in {"postgres", "redis", "backup"})
    assert not re.search(r"(?i)(password|secretAccessKey)[ \t]*:[ \t]*['\"]?[A-Za-z0-9+/]{8,}", text)


def test_rdb_copy_job_uploads_with_the_cloud_identity_and_never_overlaps(compiled_tree: Path) -> None:
    job = one(compiled_tree, "staging", "redis", "CronJob")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert job["spec"]["schedule"] == "*/15 * * * *"
    account = one(compiled_tree, "staging", "redis", "ServiceAccount")
    assert real_parameters()["staging"]["cloud"]["workload_identity"]["annotation"] in account["metadata"]["annotations"]
    upload = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert "s3://mnops-staging-redis/" in upload["command"][-1]
    # Production runs it only once its images are pinned by digest (rule prod_copy_job_images_have_digests).
    assert not docs(compiled_tree, "prod", "redis", "CronJob")


def alerts(compiled: Path, target: str) -> Iterator[dict[str, Any]]:
    rule = one(compiled, target, "backup", "PrometheusRule")
    for group in rule["spec"]["groups"]:
        yield from group["rules"]


def test_every_alert_has_severity_priority_service_and_a_runbook_that_exists(compiled_tree: Path) -> None:
    doc = DOC.read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-") for h in re.findall(r"^#+ (.+)$", doc, re.M)}
    names = set()
    for target in ("dev", "prod", "prod-dr", "staging"):
        for alert in alerts(compiled_tree, target):
            names.add(alert["alert"])
            assert set(alert["labels"]) == {"severity", "priority", "service"}
            assert alert["labels"]["priority"] in {"P0", "P1", "P2", "P3"}
            assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
            anchor = alert["annotations"]["runbook_url"].split("#", 1)[1]
            assert anchor in anchors, f"{alert['alert']}: no heading for #{anchor} in docs/disaster-recovery.md"
    for required in ("PostgresWALArchivingFailing", "PostgresWALArchiveOlderThanRPO", "PostgresReplicaLagHigh",
                     "PostgresDRReplicaBehind", "RedisSnapshotOlderThanRPO", "VeleroHourlyBackupTooOld"):  # fmt: skip
        assert required in names


def test_dr_lag_alert_exists_only_on_the_standby(compiled_tree: Path) -> None:
    assert "PostgresDRReplicaBehind" in {a["alert"] for a in alerts(compiled_tree, "prod-dr")}
    assert "PostgresDRReplicaBehind" not in {a["alert"] for a in alerts(compiled_tree, "prod")}


@pytest.mark.parametrize("topology", ["standalone", "sentinel", "cluster"])
def test_every_redis_topology_builds_schema_valid_objects(topology: str) -> None:
    sys.path.insert(0, str(ROOT))
    from components.redis import redis_objects

    parameters = dict(real_parameters()["staging"])
    parameters["redis"] = {**parameters["redis"], "topology": topology}
    target = load_target("staging", parameters)
    objects = redis_objects(target, data_settings(target))
    kinds = {o["kind"] for o in objects}
    expected = {"standalone": "Redis", "sentinel": "RedisSentinel", "cluster": "RedisCluster"}[topology]
    assert expected in kinds
    for obj in objects:
        assert list(validate_document(obj, f"{topology}.yaml", ("1.33", "1.37"), CRDS)) == [], obj["kind"]
