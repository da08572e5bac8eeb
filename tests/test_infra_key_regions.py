"""KMS keys are regional: every key a managed resource names exists in the region where it is used.

The check (mnops.infra.key_regions) runs over every managed resource of every management cluster's
compiled tree, and is shown to fail on the mistakes it exists for. Clusters come from the inventory.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.infra.key_regions import key_reference_gaps
from mnops.kapitan_inventory import compiles_manifests


@cache
def trees() -> dict[str, tuple[dict[str, Any], ...]]:
    """Management cluster -> every object of its compiled infrastructure tree."""
    params = {n: p for n, p in real_parameters().items() if compiles_manifests(p)}
    managers = {
        p["infra"]["management_cluster"]
        for n, p in params.items()
        if p.get("infra", {}).get("management_cluster") not in (None, n)
    }
    found = {}
    for manager in sorted(managers):
        paths = sorted((ROOT / "compiled" / manager / "infra").rglob("*.yaml"))
        found[manager] = tuple(
            d for p in paths for d in yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader) if isinstance(d, dict)
        )
    return found


def objects(manager: str) -> list[dict[str, Any]]:
    return json.loads(json.dumps(trees()[manager]))  # a copy each test may change


def replicating_clusters() -> list[tuple[str, str]]:
    """(management cluster, namespace) of every cluster that replicates a bucket to its DR region."""
    return sorted(
        {
            (m, o["metadata"]["namespace"])
            for m, objs in trees().items()
            for o in objs
            if o["kind"] == "BucketReplicationConfiguration"
        }
    )


def test_the_inventory_has_management_trees_and_replicated_buckets() -> None:
    assert trees() and all(trees().values()), "no management cluster compiles infrastructure: nothing would be checked"
    assert replicating_clusters(), "no cluster replicates a bucket: the DR-region key checks below would check nothing"


@pytest.mark.parametrize("manager", sorted(trees()))
def test_every_kms_key_a_managed_resource_names_exists_in_its_region(manager: str) -> None:
    assert key_reference_gaps(objects(manager)) == []


def _find(objs: list[dict[str, Any]], namespace: str, kind: str, name: str | None = None) -> dict[str, Any]:
    return next(
        o for o in objs if o["kind"] == kind and o["metadata"]["namespace"] == namespace and name in (None, o["metadata"]["name"])
    )


@pytest.mark.parametrize(("manager", "namespace"), replicating_clusters())
def test_the_key_check_reports_a_key_of_another_region(manager: str, namespace: str) -> None:
    """The mistakes it exists for: a DR bucket encrypted with the primary region's alias, a replica key of the
    source region, an IAM grant on an alias that its region does not have, and a key nobody creates."""
    objs = objects(manager)
    replication = _find(objs, namespace, "BucketReplicationConfiguration")["spec"]["forProvider"]["rule"][0]
    target = replication["destination"]["bucketRef"]["name"]
    replication["destination"]["encryptionConfiguration"]["replicaKmsKeyIdRef"]["name"] = "data"
    encryption = _find(objs, namespace, "BucketServerSideEncryptionConfiguration", target)["spec"]["forProvider"]
    cluster = namespace.removeprefix("infra-")
    encryption["rule"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] = f"alias/{cluster}-data"
    role = _find(objs, namespace, "Role", f"{cluster}-s3-replication")["spec"]["forProvider"]["inlinePolicy"][0]
    policy = json.loads(role["policy"])
    encrypt = next(s for s in policy["Statement"] if s.get("Sid") == "EncryptReplicas")
    encrypt["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] = [f"alias/{cluster}-data"]
    role["policy"] = json.dumps(policy)
    group = _find(objs, namespace, "Group", "flow-logs")["spec"]["forProvider"]
    group["kmsKeyIdRef"]["name"] = "no-such-key"
    gaps = "\n".join(key_reference_gaps(objs))
    assert f"BucketReplicationConfiguration/{replication_name(objs, namespace)}: replicaKmsKeyIdRef names Key data of" in gaps
    assert f"BucketServerSideEncryptionConfiguration/{target}: kmsMasterKeyId names alias/{cluster}-data" in gaps
    assert f"Role/{cluster}-s3-replication: its policy grants keys of" in gaps
    assert "Group/flow-logs: kmsKeyIdRef names Key no-such-key, which this tree does not create" in gaps
    assert len(key_reference_gaps(objs)) == 4, gaps


def replication_name(objs: list[dict[str, Any]], namespace: str) -> str:
    return str(_find(objs, namespace, "BucketReplicationConfiguration")["metadata"]["name"])


@pytest.mark.parametrize(("manager", "namespace"), replicating_clusters())
def test_replicas_are_written_with_the_dr_region_key_by_a_role_that_may_use_exactly_it(manager: str, namespace: str) -> None:
    """S3 replicates SSE-KMS objects only when told to, and then needs a replica key of the destination's
    region; the role may decrypt with the source key and encrypt with that one, only through S3, only for
    these buckets."""
    objs = objects(manager)
    cluster = namespace.removeprefix("infra-")
    configs = [o for o in objs if o["kind"] == "BucketReplicationConfiguration" and o["metadata"]["namespace"] == namespace]
    sources, targets = set(), set()
    for config in configs:
        for rule in config["spec"]["forProvider"]["rule"]:
            assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"
            assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyIdRef"] == {"name": "data-dr"}
            sources.add(config["spec"]["forProvider"]["bucketRef"]["name"])
            targets.add(rule["destination"]["bucketRef"]["name"])
    role = _find(objs, namespace, "Role", f"{cluster}-s3-replication")["spec"]["forProvider"]
    statements = {s.get("Sid"): s for s in json.loads(role["inlinePolicy"][0]["policy"])["Statement"]}
    key = _find(objs, namespace, "Key", "data")["spec"]["forProvider"]["region"]
    dr_key = _find(objs, namespace, "Key", "data-dr")["spec"]["forProvider"]["region"]
    for sid, action, alias, region, buckets in (
        ("DecryptSources", "kms:Decrypt", f"alias/{cluster}-data", key, sources),
        ("EncryptReplicas", "kms:Encrypt", f"alias/{cluster}-data-dr", dr_key, targets),
    ):
        statement = statements[sid]
        assert statement["Action"] == [action]
        assert all(r.startswith(f"arn:aws:kms:{region}:") for r in statement["Resource"])
        condition = statement["Condition"]
        assert condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == [alias]
        assert condition["StringEquals"]["kms:ViaService"] == f"s3.{region}.amazonaws.com"
        named = {
            arn.removeprefix("arn:aws:s3:::").removesuffix("/*")
            for arn in condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
        }
        assert named == buckets
    assert key != dr_key
