"""`make diff` on infrastructure: a change that replaces a cloud resource, a one-way upgrade, and a removal
that deletes (or orphans) one are in the risky list, named with the field that causes it.

Synthetic managed resources check each rule; one real `make diff` of a repository copy whose second
commit moves a cluster's network range and the EKS version checks the whole command end to end.
Clusters come from the inventory, never from a list in this file.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import real_parameters
from diff_support import seed_base_cache
from gitops_checks import ROOT, git_commit, init_repo

from mnops.gitops.diffing import Key, TargetChanges, risks_of
from mnops.k8s.crossplane import FULL_CONTROL, KEEP_ON_REMOVAL
from mnops.kapitan_inventory import compiles_manifests

PLAN = Path("inventory/classes/platform/infra.yml")


def managed(group: str, kind: str, name: str, for_provider: dict[str, Any], policies: tuple[str, ...]) -> dict[str, Any]:
    return {
        "apiVersion": f"{group}.aws.m.upbound.io/v1beta1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "infra-x"},
        "spec": {"forProvider": dict(for_provider), "managementPolicies": list(policies)},
    }


def key(obj: dict[str, Any]) -> Key:
    return Key("mgmt", obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"], obj["apiVersion"].split("/")[0])


def risks(removed=(), changed=()) -> list[tuple[str, str, str]]:
    changes = TargetChanges()
    changes.removed = {key(o): o for o in removed}
    changes.changed = {key(new): (old, new) for old, new in changed}
    return sorted((r.key.kind, r.reason, r.risk_class) for r in risks_of("mgmt", changes))


def test_a_changed_immutable_field_is_a_replacement_and_names_the_field():
    old = managed("ec2", "Subnet", "private-a", {"cidrBlock": "10.0.0.0/19", "mapPublicIpOnLaunch": False}, FULL_CONTROL)
    new = managed("ec2", "Subnet", "private-a", {"cidrBlock": "10.9.0.0/19", "mapPublicIpOnLaunch": False}, FULL_CONTROL)
    ((kind, reason, risk_class),) = risks(changed=[(old, new)])
    assert kind == "Subnet" and risk_class == "infrastructure-replacement"
    assert reason.startswith("replaces the cloud resource: spec.forProvider.cidrBlock 10.0.0.0/19 -> 10.9.0.0/19")
    # A field the cloud changes in place is not a replacement.
    mutable = managed("ec2", "Subnet", "private-a", {"cidrBlock": "10.0.0.0/19", "mapPublicIpOnLaunch": True}, FULL_CONTROL)
    assert risks(changed=[(old, mutable)]) == []


def test_replacing_a_database_is_a_data_deletion_and_an_engine_upgrade_is_one_way():
    postgres = {"engine": "postgres", "engineVersion": "16", "instanceClass": "db.r7g.large"}
    old = managed("rds", "Instance", "postgres", postgres, KEEP_ON_REMOVAL)
    engine = managed("rds", "Instance", "postgres", {**postgres, "engine": "mysql"}, KEEP_ON_REMOVAL)
    upgrade = managed("rds", "Instance", "postgres", {**postgres, "engineVersion": "17"}, KEEP_ON_REMOVAL)
    ((_, reason, risk_class),) = risks(changed=[(old, engine)])
    assert risk_class == "data-deletion" and "spec.forProvider.engine postgres -> mysql" in reason and "its data" in reason
    ((_, reason, risk_class),) = risks(changed=[(old, upgrade)])
    assert reason.startswith("one-way upgrade: spec.forProvider.engineVersion 16 -> 17")
    assert risk_class == "infrastructure-replacement"


def test_rekeying_a_backup_vault_is_a_data_deletion_and_removing_one_orphans_it():
    old = managed("backup", "Vault", "backups", {"kmsKeyArnRef": {"name": "data"}, "forceDestroy": False}, KEEP_ON_REMOVAL)
    new = managed("backup", "Vault", "backups", {"kmsKeyArnRef": {"name": "other"}, "forceDestroy": False}, KEEP_ON_REMOVAL)
    ((_, reason, risk_class),) = risks(changed=[(old, new)])
    assert risk_class == "data-deletion" and "spec.forProvider.kmsKeyArnRef" in reason
    ((_, reason, risk_class),) = risks(removed=[old])
    assert reason.startswith("orphans the cloud resource") and risk_class == "infrastructure-replacement"


def test_a_removal_deletes_or_orphans_the_cloud_resource_by_its_management_policies():
    bucket = managed("s3", "Bucket", "backups", {"forceDestroy": False}, KEEP_ON_REMOVAL)
    group = managed("ec2", "SecurityGroup", "nodes", {"name": "x-nodes"}, FULL_CONTROL)
    eks = managed("eks", "Cluster", "prod", {"version": "1.33"}, KEEP_ON_REMOVAL)
    unprotected_bucket = managed("s3", "Bucket", "logs", {"forceDestroy": False}, FULL_CONTROL)
    found = risks(removed=[bucket, group, eks, unprotected_bucket])
    orphaned = "orphans the cloud resource: it stays in the account, unmanaged (no Delete policy)"
    assert found == [
        ("Bucket", "deletes the cloud resource (its management policies allow Delete): data is lost", "data-deletion"),
        ("Bucket", orphaned, "infrastructure-replacement"),
        ("Cluster", orphaned, "infrastructure-replacement"),
        ("SecurityGroup", "deletes the cloud resource (its management policies allow Delete)", "infrastructure-replacement"),
    ]
    # A CloudNativePG Cluster (not a managed resource) is still a stateful deletion.
    cnpg = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "data"}, "spec": {}}
    assert risks(removed=[cnpg]) == [("Cluster", "deletes a stateful object (data may be lost)", "data-deletion")]


def test_management_policies_that_add_delete_to_data_are_a_data_deletion():
    old = managed("kms", "Key", "data", {"enableKeyRotation": True}, KEEP_ON_REMOVAL)
    new = managed("kms", "Key", "data", {"enableKeyRotation": True}, FULL_CONTROL)
    ((_, reason, risk_class),) = risks(changed=[(old, new)])
    assert risk_class == "data-deletion" and reason.startswith("management policies now allow Delete")


# --- one real `make diff` of a repository copy -------------------------------------------------------


def managed_aws_clusters() -> dict[str, dict[str, Any]]:
    return {
        name: params
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params)
        and params["cloud"]["provider"] == "aws"
        and params["infra"].get("management_cluster") not in (None, name)
    }


def free_range(networks: dict[str, str]) -> str:
    taken = [ipaddress.ip_network(c) for c in networks.values()]
    return next(
        str(n) for n in ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=16) if not any(n.overlaps(t) for t in taken)
    )


@pytest.mark.slow
def test_make_diff_names_the_replaced_network_and_the_one_way_eks_upgrade(tmp_path, tmp_path_factory):
    clusters = managed_aws_clusters()
    cluster, params = next(iter(clusters.items()))
    manager = params["infra"]["management_cluster"]
    old_cidr = params["infra"]["networks"][cluster]
    new_cidr = free_range({**params["infra"]["networks"], **params["infra"]["peered_networks"]})
    old_version = params["infra"]["eks"]["version"]
    new_version = f"1.{int(old_version.split('.')[1]) + 1}"
    repo = init_repo(tmp_path / "repo")
    plan = repo / PLAN
    text = plan.read_text()
    network_line, version_line = f"    {cluster}: {old_cidr}\n", f'      version: "{old_version}"\n'
    assert text.count(network_line) == 1 and text.count(version_line) == 1
    text = text.replace(network_line, f"    {cluster}: {new_cidr}\n")
    plan.write_text(text.replace(version_line, f'      version: "{new_version}"\n'))
    git_commit(repo, f"{cluster}: new address range; EKS {new_version}")
    seed_base_cache(tmp_path_factory, repo)  # HEAD~1 is the cold diff's base: only HEAD is compiled

    command = [sys.executable, str(ROOT / "scripts" / "diff.py"), "--repo", str(repo), "--color", "never", "--base", "HEAD~1"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    risky = [line.strip().removeprefix("! ") for line in result.stdout.splitlines() if line.startswith("  ! ")]
    vpc = f"{manager}: VPC infra-{cluster}/vpc: replaces the cloud resource: spec.forProvider.cidrBlock {old_cidr} -> {new_cidr}"
    assert any(line.startswith(vpc) for line in risky), risky
    subnets = [line for line in risky if line.startswith(f"{manager}: Subnet infra-{cluster}/") and "cidrBlock" in line]
    assert len(subnets) == 2 * len(params["cluster"]["zones"]), subnets  # a private and a public subnet per zone
    for name, other in clusters.items():
        if other["infra"]["eks"]["version"] != old_version:
            continue  # an environment that pins its own version does not move
        upgrade = (
            f"{other['infra']['management_cluster']}: Cluster infra-{name}/{name}: one-way upgrade: "
            f"spec.forProvider.version {old_version} -> {new_version}"
        )
        assert any(line.startswith(upgrade) for line in risky), (name, risky)
