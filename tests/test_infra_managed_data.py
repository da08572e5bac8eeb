"""Switching an environment's PostgreSQL to RDS and Redis to ElastiCache rewires its clusters.

One copy of the repository, one edit of one environment class (the choice and the operator charts,
as docs/infrastructure.md says), one `make compile`; then the gate's pieces and what must change:
the in-cluster stores are gone with their operators, buckets, monitors, dashboards and alerts; the
services' connection secrets and network egress point at the managed services; the management
cluster creates them encrypted, protected and never deleted from git, and publishes every value the
cluster reads. The environment is the one with a standby cluster (found in the inventory), so the
read replica and the cross-region publishing are exercised too.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import journey_support as journey
import pytest
import yaml
from conftest import CRD_SCHEMAS, real_parameters

from mnops import units
from mnops.data.alerts import cron_period_seconds
from mnops.data.managed import OPERATOR_CHARTS
from mnops.infra.capabilities import capability_gaps, managed_reads, published_values
from mnops.infra.key_regions import key_reference_gaps
from mnops.infra.protection import is_protected, may_delete
from mnops.kapitan_inventory import compiles_manifests
from mnops.review.compiled import documents as compiled_documents
from mnops.review.dr_impact import dr_facts, managed_documents

pytestmark = pytest.mark.slow  # compiles a copy of the repository

# Kinds of the in-cluster stores and metric prefixes of their exporters: none may remain.
IN_CLUSTER_GROUPS = ("postgresql.cnpg.io", "barmancloud.cnpg.io", "redis.redis.opstreelabs.in")
EXPORTER_METRICS = re.compile(r"\b(cnpg_|barman_cloud_|redis_)[a-z_]+")


@cache
def switched_environment() -> tuple[str, tuple[str, ...]]:
    """The environment of a standby cluster, and every cluster of it (from the inventory)."""
    params = {n: p for n, p in real_parameters().items() if compiles_manifests(p)}
    env = next(p["cluster"]["environment"] for p in params.values() if p["cluster"]["role"] == "standby")
    return env, tuple(sorted(n for n, p in params.items() if p["cluster"]["environment"] == env))


def switch_to_managed(repo: Path, env: str) -> None:
    """docs/infrastructure.md's recipe: the choice and the operator charts, in the environment class."""
    path = repo / "inventory" / "classes" / "env" / f"{env}.yml"
    document = journey.load(path)
    parameters = document["parameters"]
    parameters.setdefault("infra", {})["data_services"] = {"postgres": "rds", "redis": "elasticache"}
    charts = parameters.setdefault("charts", {})
    for key in (k for keys in OPERATOR_CHARTS.values() for k in keys):
        charts[key] = {"enabled": False}
    journey.dump(path, document)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = journey.copy_repository(tmp_path_factory.mktemp("managed") / "repo")
    switch_to_managed(copy, switched_environment()[0])
    compiled = journey.regenerate(copy)
    assert compiled.returncode == 0, compiled.stderr
    return copy


def documents(root: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(root.rglob("*.yaml")):
        yield from (d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if isinstance(d, dict))


def management_infra(repo: Path, cluster: str) -> Path:
    manager = real_parameters()[cluster]["infra"]["management_cluster"]
    return repo / "compiled" / manager / "infra"


def managed(repo: Path, cluster: str, kind: str) -> dict[str, dict[str, Any]]:
    folder = management_infra(repo, cluster) / f"infra-{cluster}"
    return {f"{d['apiVersion'].split('.')[0]}/{d['metadata']['name']}": d for d in documents(folder) if d["kind"] == kind}


def clusters() -> tuple[str, ...]:
    return switched_environment()[1]


def test_the_switched_repository_passes_the_gate(repo: Path) -> None:
    """Strict schemas with CEL rules, coverage, runbooks, storage table, CI map and the security policy."""
    assert journey.gate(repo, CRD_SCHEMAS) == {}


@pytest.mark.parametrize("cluster", clusters())
def test_the_in_cluster_stores_and_their_operators_are_gone(repo: Path, cluster: str) -> None:
    tree = repo / "compiled" / cluster
    kinds = {(d["apiVersion"].split("/")[0], d["kind"]) for d in documents(tree / "manifests")}
    assert not {k for k in kinds if k[0] in IN_CLUSTER_GROUPS}, "CloudNativePG or redis-operator objects remain"
    assert not (tree / "manifests" / "postgres").exists() and not (tree / "manifests" / "redis").exists()
    charts = {key for keys in OPERATOR_CHARTS.values() for key in keys}
    assert not {path.stem for path in (tree / "helm-values").glob("*.yaml")} & charts
    sources = [s for d in documents(tree / "manifests" / "argocd") if d["kind"] == "Application"
               for s in d["spec"].get("sources", [d["spec"].get("source", {})])]  # fmt: skip
    assert sources and not [s["chart"] for s in sources if s.get("chart") in charts]
    assert not [p.name for p in (tree / "manifests" / "dashboards").rglob("*") if "postgres" in p.name or "redis" in p.name]


@pytest.mark.parametrize("cluster", clusters())
def test_no_rule_monitor_or_dashboard_reads_an_exporter_that_no_longer_runs(repo: Path, cluster: str) -> None:
    tree = repo / "compiled" / cluster
    kinds = {"PrometheusRule", "PodMonitor", "ConfigMap", "GrafanaDashboard"}
    readers = [
        f"{d['kind']}/{d['metadata']['name']}"
        for d in documents(tree / "manifests")
        if d.get("kind") in kinds and EXPORTER_METRICS.search(json.dumps(d))
    ]
    readers += [p.name for p in (tree / "rules").rglob("*.yaml") if EXPORTER_METRICS.search(p.read_text())]
    assert readers == []


def test_the_scans_above_see_the_in_cluster_stores_where_they_still_run(repo: Path) -> None:
    """Control: the same scans find the stores, exporters and in-cluster URLs in a cluster not switched."""
    others = [n for n, p in real_parameters().items() if compiles_manifests(p) and n not in clusters()]
    tree = repo / "compiled" / others[0]
    assert {d["apiVersion"].split("/")[0] for d in documents(tree / "manifests")} & set(IN_CLUSTER_GROUPS)
    assert any(EXPORTER_METRICS.search(json.dumps(d)) for d in documents(tree / "manifests") if d.get("kind") == "PrometheusRule")
    assert managed_reads(tree) == set()


@pytest.mark.parametrize("cluster", clusters())
def test_the_services_connection_strings_read_the_published_managed_endpoints(repo: Path, cluster: str) -> None:
    prefix = real_parameters()[cluster]["secrets"]["key_prefix"]
    urls: dict[str, str] = {}
    for doc in documents(repo / "compiled" / cluster / "manifests" / "secrets"):
        if doc["kind"] != "ExternalSecret":
            continue
        templates = doc["spec"]["target"].get("template", {}).get("data", {})
        keys = {item["remoteRef"]["key"] for item in doc["spec"]["data"]}
        for name in ("DATABASE_URL", "REDIS_URL"):
            if name in templates:
                urls[doc["metadata"]["name"]] = templates[name]
                assert keys <= {f"{prefix}managed/{s}{c}" for s in ("postgres", "redis") for c in ("", "-credentials")}
                assert "svc" not in templates[name], "still the in-cluster Service"
    assert any(u.startswith("postgresql://") for u in urls.values())
    assert all(u.startswith("rediss://") for u in urls.values() if u.startswith("redis")), "ElastiCache takes TLS only"
    assert capability_gaps(repo / "compiled" / cluster, management_infra(repo, cluster) / f"infra-{cluster}") == []
    assert managed_reads(repo / "compiled" / cluster) <= set(published_values(management_infra(repo, cluster)))


@pytest.mark.parametrize("cluster", clusters())
def test_egress_to_the_stores_is_exactly_their_subnet_groups_on_their_ports(repo: Path, cluster: str) -> None:
    subnets = {d["metadata"]["name"]: d["spec"]["forProvider"]["cidrBlock"] for d in managed(repo, cluster, "Subnet").values()}
    groups = managed(repo, cluster, "SubnetGroup")
    expected = {
        port: {subnets[ref["name"]] for ref in groups[f"{group}/{store}"]["spec"]["forProvider"]["subnetIdRefs"]}
        for port, group, store in ((5432, "rds", "postgres"), (6379, "elasticache", "redis"))
    }
    services = real_parameters()[cluster]["services"]
    checked = 0
    for policy in documents(repo / "compiled" / cluster / "manifests" / "network-policies"):
        deps = services.get(policy["metadata"]["name"], {}).get("dependencies", {})
        for rule in policy["spec"].get("egress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            for port, store in ((5432, "postgres"), (6379, "redis")):
                if port in ports:
                    assert deps.get(store), f"{policy['metadata']['name']} reaches {store} without depending on it"
                    assert {peer["ipBlock"]["cidr"] for peer in rule["to"]} == expected[port]
                    checked += 1
    assert checked, "no service egress to a data store was found"
    for cidr in expected[5432] | expected[6379]:
        network = ipaddress.ip_network(real_parameters()[cluster]["infra"]["networks"][cluster])
        assert ipaddress.ip_network(cidr).subnet_of(network)  # type: ignore[arg-type]


@pytest.mark.parametrize("cluster", clusters())
def test_the_databases_are_encrypted_private_and_never_deleted_from_git(repo: Path, cluster: str) -> None:
    params = real_parameters()[cluster]
    rds = params["infra"]["data_services"]["rds"]
    instance = managed(repo, cluster, "Instance")["rds/postgres"]
    spec = instance["spec"]["forProvider"]
    assert spec["storageEncrypted"] is True and spec["kmsKeyIdRef"] == {"name": "data"}
    assert spec["publiclyAccessible"] is False and spec["deletionProtection"] is True
    assert spec["multiAz"] is rds.get("multi_az", params["cluster"]["environment"] == "prod")
    assert spec["backupRetentionPeriod"] == rds["backup_retention_days"]
    assert "password" not in spec, "passwords are generated into a Secret, never written here"
    cache_group = managed(repo, cluster, "ReplicationGroup")["elasticache/redis"]["spec"]["forProvider"]
    assert cache_group["transitEncryptionEnabled"] is True and cache_group["atRestEncryptionEnabled"] == "true"
    assert cache_group["automaticFailoverEnabled"] is cache_group["multiAzEnabled"] is (cache_group["numCacheClusters"] > 1)
    assert "authToken" not in cache_group and cache_group["authTokenSecretRef"]["name"]
    data = [instance, managed(repo, cluster, "ReplicationGroup")["elasticache/redis"]]
    data += list(managed(repo, cluster, "DBInstanceAutomatedBackupsReplication").values())
    for obj in data:
        assert is_protected(obj) and not may_delete(obj), f"{obj['kind']} may be deleted by a removal from git"
        assert "Prune=false" in obj["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]


def test_a_standby_follows_its_primary_with_a_read_replica_and_the_primary_copies_its_backups(repo: Path) -> None:
    params = real_parameters()
    for cluster in clusters():
        spec = managed(repo, cluster, "Instance")["rds/postgres"]["spec"]["forProvider"]
        replication = managed(repo, cluster, "DBInstanceAutomatedBackupsReplication")
        # make diff's DR review reads the same facts: still within the RPO, still replicating.
        facts = dr_facts(compiled_documents(repo, cluster) + managed_documents(repo, cluster))
        assert facts.postgres_rpo is not None and facts.rpo_miss() is None
        # ...and the managed stores meet the plan: retention, Multi-AZ in prod, deletion protection.
        assert facts.managed.misses(prod=params[cluster]["cluster"]["environment"] == "prod") == []
        assert facts.managed.rds_deletion_protection is True
        if params[cluster]["cluster"]["role"] == "standby":
            primary = params[cluster]["data"]["primary_cluster"]
            assert spec["replicateSourceDb"].endswith(f":db:{primary}-postgres")
            assert facts.replica_of == f"{primary}-postgres"
            assert "username" not in spec and not replication
            # The replica answers to its primary's user and password: the primary publishes them here too.
            pushed = published_values(management_infra(repo, cluster))
            credentials = f"{params[cluster]['secrets']['key_prefix']}managed/postgres-credentials"
            assert pushed[(credentials, "password")].startswith(f"infra-{primary}/")
        else:
            assert "replicateSourceDb" not in spec
            assert replication["rds/postgres"]["spec"]["forProvider"]["region"] == params[cluster]["data"]["regions"]["dr"]


def test_the_primary_keeps_the_plans_longer_tiers_in_aws_backup_with_a_copy_in_the_dr_region(repo: Path) -> None:
    """RDS keeps at most 35 days; the plan's retention table (backup.schedules) goes further. Each tier of a
    day or more is a rule of an AWS Backup plan for the instance, kept as long, copied to a vault of the DR
    region encrypted with that region's key; the vaults are never deleted from git. Shorter tiers are PITR."""
    params = real_parameters()
    for cluster in clusters():
        plans = managed(repo, cluster, "Plan")
        if params[cluster]["cluster"]["role"] == "standby":
            assert not plans, "a standby's instance is a read replica of the primary's: the primary's plan covers it"
            continue
        tiers = params[cluster]["backup"]["schedules"].values()
        kept = {n: units.duration_seconds(t["ttl"]) for n, t in params[cluster]["backup"]["schedules"].items()}
        daily = {n for n, t in params[cluster]["backup"]["schedules"].items() if cron_period_seconds(t["schedule"]) >= 86400}
        longer = {n: -(-kept[n] // 86400) for n in daily}
        assert longer and len(longer) < len(tiers), "the inventory's table should have both kinds of tier"
        pitr = params[cluster]["infra"]["data_services"]["rds"]["backup_retention_days"] * 86400
        assert all(kept[n] <= pitr for n in kept if n not in daily), "a sub-daily tier must lie within RDS's PITR window"
        vaults = {name.split("/")[1]: v["spec"]["forProvider"] for name, v in managed(repo, cluster, "Vault").items()}
        keys = {name.split("/")[1]: k["spec"]["forProvider"]["region"] for name, k in managed(repo, cluster, "Key").items()}
        dr = params[cluster]["data"]["regions"]["dr"]
        assert (
            vaults["backups"]["region"] == keys[vaults["backups"]["kmsKeyArnRef"]["name"]] == params[cluster]["cluster"]["region"]
        )
        assert vaults["backups-dr"]["region"] == keys[vaults["backups-dr"]["kmsKeyArnRef"]["name"]] == dr
        for vault in managed(repo, cluster, "Vault").values():
            assert is_protected(vault) and not may_delete(vault) and vault["spec"]["forProvider"]["forceDestroy"] is False
        dr_vault = managed(repo, cluster, "Vault")["backup/backups-dr"]["metadata"]["annotations"]["crossplane.io/external-name"]
        rules = {r["ruleName"]: r for r in plans["backup/postgres"]["spec"]["forProvider"]["rule"]}
        assert {n: r["lifecycle"]["deleteAfter"] for n, r in rules.items()} == longer
        for rule in rules.values():
            assert rule["targetVaultNameRef"] == {"name": "backups"} and rule["schedule"].startswith("cron(")
            [copy] = rule["copyAction"]
            assert copy["destinationVaultArn"].split(":")[3] == dr and copy["destinationVaultArn"].endswith(
                f":backup-vault:{dr_vault}"
            )
            assert copy["lifecycle"] == rule["lifecycle"]
        selection = managed(repo, cluster, "Selection")["backup/postgres"]["spec"]["forProvider"]
        assert selection["resourcesRefs"] == [{"name": "postgres"}] and selection["planIdRef"] == {"name": "postgres"}
        role = managed(repo, cluster, "Role")[f"iam/{selection['iamRoleArnRef']['name']}"]["spec"]["forProvider"]
        assert [s["Principal"] for s in json.loads(role["assumeRolePolicy"])["Statement"]] == [
            {"Service": "backup.amazonaws.com"}
        ]
    manager = params[clusters()[0]]["infra"]["management_cluster"]
    tree = list(documents(repo / "compiled" / manager / "infra"))
    assert key_reference_gaps(tree) == [], "a vault, replica or backup copy names a key of another region"


def test_the_publishing_path_is_scoped_to_each_cluster(repo: Path) -> None:
    """The management cluster's External Secrets may assume each publisher role, which may write only
    its own cluster's `managed/` secrets; the bootstrap gives External Secrets nothing else."""
    manager = real_parameters()[clusters()[0]]["infra"]["management_cluster"]
    bootstrap = json.loads((repo / "compiled" / manager / "bootstrap" / "main.tf.json").read_text())
    eso_name = bootstrap["resource"]["aws_iam_role"]["external_secrets"]["name"]
    statements = json.loads(bootstrap["resource"]["aws_iam_role_policy"]["external_secrets"]["policy"])["Statement"]
    assert [s["Action"] for s in statements] == [["sts:AssumeRole", "sts:TagSession"]]
    for cluster in clusters():
        prefix = real_parameters()[cluster]["secrets"]["key_prefix"]
        role = managed(repo, cluster, "Role")[f"iam/{cluster}-connection-publisher"]["spec"]["forProvider"]
        trust = json.loads(role["assumeRolePolicy"])["Statement"]
        assert [t["Principal"]["AWS"].rsplit("/", 1)[-1] for t in trust] == [eso_name]
        resources = [r for s in json.loads(role["inlinePolicy"][0]["policy"])["Statement"] for r in s["Resource"]]
        assert resources and all(r.endswith(f":secret:{prefix}managed/*") for r in resources)


def test_provider_families_follow_what_is_emitted(repo: Path) -> None:
    manager = real_parameters()[clusters()[0]]["infra"]["management_cluster"]
    providers = {d["metadata"]["name"] for d in documents(repo / "compiled" / manager / "infra" / "crossplane")}
    assert {"provider-aws-rds", "provider-aws-elasticache", "provider-aws-backup"} <= providers
    assert (repo / "compiled" / manager / "helm-values" / "external-secrets.yaml").exists()


def test_the_infrastructure_doc_and_the_storage_table_say_who_runs_the_data(repo: Path) -> None:
    infra = (repo / "docs" / "infrastructure.md").read_text()
    storage = (repo / "docs" / "object-storage.md").read_text()
    for cluster in clusters():
        row = next(line for line in infra.splitlines() if line.startswith(f"| {cluster} |"))
        assert "PostgreSQL: RDS" in row and "Redis: ElastiCache" in row
        assert "(no rate)" not in row, "the cloud class's rate table prices the default RDS and ElastiCache classes"
        assert f"{cluster}-postgres`" not in storage and f"-{cluster}-redis`" not in storage
        assert f"- {cluster}: PostgreSQL on Amazon RDS" in storage
