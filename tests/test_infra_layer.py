"""The management cluster's infrastructure tree: what Crossplane, AWS and Argo CD will do with it.

Clusters come from the inventory (every cluster target naming a management cluster), never from
a list in this file.
"""

from __future__ import annotations

import copy
import fnmatch
import ipaddress
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloud_support import annotated
from conftest import CRD_SCHEMAS, ROOT, real_parameters

from mnops.crd_cel import escape_property, evaluate_rules
from mnops.infra.protection import is_protected, may_delete, replacement_fields
from mnops.kapitan_inventory import compiles_manifests
from mnops.manifest_validation import crd_validator, validate_document

COMPILED = ROOT / "compiled"


@cache
def workload_clusters() -> dict[str, tuple[str, dict[str, Any]]]:
    """cluster -> (its management cluster, its parameters), from the real inventory."""
    found = {}
    for name, params in real_parameters().items():
        manager = params.get("infra", {}).get("management_cluster")
        if compiles_manifests(params) and manager and manager != name and params["cloud"]["provider"] == "aws":
            found[name] = (manager, params)
    return found


def infra_folder(cluster: str) -> Path:
    manager, _ = workload_clusters()[cluster]
    return COMPILED / manager / "infra" / f"infra-{cluster}"


def load_all(path: Path) -> list[Any]:
    return [d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if d]


@cache
def _documents(folder: str) -> tuple[dict[str, Any], ...]:
    return tuple(d for path in sorted(Path(folder).glob("*.yaml")) for d in load_all(path))


def documents(folder: Path) -> Iterator[dict[str, Any]]:
    """Each test gets its own copies: the parsed files are cached once per process."""
    yield from copy.deepcopy(_documents(str(folder)))


def by_kind(cluster: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents(infra_folder(cluster)) if d["kind"] == kind}


CLUSTERS = sorted(workload_clusters())


def test_the_inventory_has_workload_clusters_with_a_management_cluster() -> None:
    assert CLUSTERS, "no cluster names a management cluster: the tests below would check nothing"
    for cluster in CLUSTERS:
        assert infra_folder(cluster).is_dir(), f"{cluster}: no compiled infrastructure folder"


# --- the CEL evaluator against the consumer's rules -------------------------------------------


def schema_of(obj: dict[str, Any]) -> dict[str, Any]:
    validator = crd_validator(CRD_SCHEMAS, obj["apiVersion"], obj["kind"])
    assert validator is not None, f"no schema for {obj['apiVersion']} {obj['kind']}"
    schema: dict[str, Any] = validator.schema
    return schema


def test_cel_rules_reject_a_managed_resource_without_a_required_parameter() -> None:
    association = next(iter(by_kind(CLUSTERS[0], "PodIdentityAssociation").values()))
    schema = schema_of(association)
    assert evaluate_rules(schema, association).failures == []
    broken = copy.deepcopy(association)
    del broken["spec"]["forProvider"]["namespace"]  # `namespace` is escaped as __namespace__ in the rule
    failures = evaluate_rules(schema, broken).failures
    assert [f.message for f in failures] == ["spec.forProvider.namespace is a required parameter"]


def test_cel_rules_apply_the_schema_default_management_policies() -> None:
    """Without managementPolicies the API server defaults to ['*'] (create): the rule must then apply."""
    cluster = by_kind(CLUSTERS[0], "Cluster")[CLUSTERS[0]]
    broken = copy.deepcopy(cluster)
    del broken["spec"]["managementPolicies"]
    del broken["spec"]["forProvider"]["vpcConfig"]
    failures = evaluate_rules(schema_of(cluster), broken).failures
    assert [f.message for f in failures] == ["spec.forProvider.vpcConfig is a required parameter"]
    broken["spec"]["managementPolicies"] = ["Observe"]  # observe-only imports need no parameters
    assert evaluate_rules(schema_of(cluster), broken).failures == []


def test_validation_reports_a_broken_managed_resource_and_a_rule_it_cannot_evaluate(tmp_path: Path) -> None:
    """Through validate_document (make validate's path): a broken rule fails; so does a rule cel-python
    cannot evaluate (a Kubernetes CEL library function it lacks), never a silent pass."""
    association = next(iter(by_kind(CLUSTERS[0], "PodIdentityAssociation").values()))
    broken = copy.deepcopy(association)
    del broken["spec"]["forProvider"]["namespace"]
    assert [f.message for f in validate_document(broken, "test", ("1.33",), CRD_SCHEMAS)] == [
        "spec.forProvider.namespace is a required parameter (CRD CEL rule)"
    ]
    group, _, version = association["apiVersion"].rpartition("/")
    schema = {**schema_of(association), "x-kubernetes-validations": [{"rule": "isURL(self.spec.forProvider.region)"}]}
    (tmp_path / group).mkdir()
    (tmp_path / group / f"{association['kind'].lower()}_{version}.json").write_text(json.dumps(schema))
    assert [f.message.split(":")[0] for f in validate_document(association, "test", ("1.33",), str(tmp_path))] == [
        "rule could not be evaluated"
    ]


def test_cel_property_escaping_follows_kubernetes() -> None:
    assert escape_property("namespace") == "__namespace__"
    assert escape_property("a.b-c/d") == "a__dot__b__dash__c__slash__d"
    assert escape_property("forProvider") == "forProvider"


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_infrastructure_object_is_valid_against_its_crd_schema_and_cel_rules(cluster: str) -> None:
    from mnops.manifest_validation import validate_document

    versions = tuple(real_parameters()[workload_clusters()[cluster][0]]["kubernetes"]["supported_versions"])
    docs = list(documents(infra_folder(cluster)))
    findings = [f.render() for d in docs for f in validate_document(d, cluster, versions, CRD_SCHEMAS)]
    assert len(docs) > 50
    assert findings == []


# --- network -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_subnets_lie_in_the_vpc_in_every_zone_and_do_not_overlap(cluster: str) -> None:
    params = workload_clusters()[cluster][1]
    vpc = ipaddress.ip_network(by_kind(cluster, "VPC")["vpc"]["spec"]["forProvider"]["cidrBlock"])
    assert str(vpc) == params["infra"]["networks"][cluster]
    subnets = by_kind(cluster, "Subnet")
    ranges = [ipaddress.ip_network(s["spec"]["forProvider"]["cidrBlock"]) for s in subnets.values()]
    assert all(r.subnet_of(vpc) for r in ranges)
    assert all(not a.overlaps(b) for i, a in enumerate(ranges) for b in ranges[i + 1 :])
    zones = params["cluster"]["zones"]
    assert sorted(subnets) == sorted([f"private-{z}" for z in zones] + [f"public-{z}" for z in zones])


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_production_survives_a_zone_loss_and_hides_its_api_server(cluster: str) -> None:
    params = workload_clusters()[cluster][1]
    nats = by_kind(cluster, "NATGateway")
    eks = by_kind(cluster, "Cluster")[cluster]["spec"]["forProvider"]
    routes = by_kind(cluster, "Route")
    if params["cluster"]["environment"] == "prod":
        assert len(nats) == len(params["cluster"]["zones"])
        for zone in params["cluster"]["zones"]:
            assert routes[f"private-{zone}-default"]["spec"]["forProvider"]["natGatewayIdRef"]["name"] == f"nat-{zone}"
        assert eks["vpcConfig"]["endpointPublicAccess"] is False
        assert eks["deletionProtection"] is True
    assert nats, "private subnets need a NAT gateway"
    assert {"audit", "api"} <= set(eks["enabledClusterLogTypes"])
    assert eks["version"] == params["infra"]["eks"]["version"]


# --- never delete data by accident ---------------------------------------------------------------


def management_trees() -> list[Path]:
    return sorted({COMPILED / manager / "infra" for manager, _ in workload_clusters().values()})


def test_data_resources_are_never_deleted_when_removed_from_git() -> None:
    protected = [d for tree in management_trees() for d in documents_under(tree) if is_protected(d)]
    kinds = {d["kind"] for d in protected}
    assert {"Bucket", "Key", "Cluster", "Zone"} <= kinds
    for obj in protected:
        assert not may_delete(obj), f"{obj['kind']} {obj['metadata']['name']} may be deleted: {obj['spec']['managementPolicies']}"
        if obj["kind"] == "Bucket":
            assert obj["spec"]["forProvider"]["forceDestroy"] is False


def documents_under(tree: Path) -> Iterator[dict[str, Any]]:
    for folder in sorted(p for p in tree.iterdir() if p.is_dir()):
        yield from documents(folder)


def test_protection_helpers_tell_protected_from_disposable() -> None:
    bucket = {"apiVersion": "s3.aws.m.upbound.io/v1beta1", "kind": "Bucket", "spec": {"forProvider": {}}}
    route = {"apiVersion": "ec2.aws.m.upbound.io/v1beta1", "kind": "Route", "spec": {"forProvider": {}}}
    assert is_protected(bucket) and not is_protected(route)
    assert may_delete(bucket), "without managementPolicies the CRD default ['*'] deletes"
    assert "spec.forProvider.cidrBlock" in replacement_fields("Subnet")
    assert "spec.forProvider.region" in replacement_fields("Route")


def test_infrastructure_applications_never_cascade() -> None:
    for tree in management_trees():
        apps = [d for d in documents(tree / "argocd") if d["kind"] == "Application"]
        folders = sorted(p.name for p in tree.iterdir() if p.is_dir() and p.name != "argocd")
        folder_apps = [a for a in apps if "source" in a["spec"]]
        assert sorted(a["spec"]["source"]["path"].rsplit("/", 1)[-1] for a in folder_apps) == folders
        for app in apps:
            assert "finalizers" not in app["metadata"], f"{app['metadata']['name']} would cascade a deletion"
            assert app["spec"]["syncPolicy"]["automated"]["prune"] is False


# --- buckets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_bucket_is_versioned_encrypted_private_and_expires_old_versions(cluster: str) -> None:
    buckets = by_kind(cluster, "Bucket")
    assert buckets
    for kind in ("BucketVersioning", "BucketServerSideEncryptionConfiguration", "BucketPublicAccessBlock",
                 "BucketLifecycleConfiguration"):  # fmt: skip
        assert sorted(by_kind(cluster, kind)) == sorted(buckets), f"{cluster}: not every bucket has its {kind}"
    for name, sse in by_kind(cluster, "BucketServerSideEncryptionConfiguration").items():
        assert sse["spec"]["forProvider"]["rule"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms", name
    for name, block in by_kind(cluster, "BucketPublicAccessBlock").items():
        fields = block["spec"]["forProvider"]
        assert all(fields[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")), name


def test_buckets_of_the_object_storage_table_exist_with_their_replication() -> None:
    """docs/object-storage.md (generated from the inventory) is what the clusters write to."""
    table = (ROOT / "docs" / "object-storage.md").read_text()
    for cluster in CLUSTERS:
        buckets = by_kind(cluster, "Bucket")
        for line in table.splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) > 4 and cells[1] == cluster and "(read)" not in cells[4]:
                assert cells[4].strip("`") in buckets, f"{cluster}: bucket {cells[4]} is in the table but not created"
            if len(cells) > 9 and cells[1] == cluster and cells[9].startswith("to `"):
                source = cells[4].strip("`")
                target = cells[9].split("`")[1]
                rule = by_kind(cluster, "BucketReplicationConfiguration")[source]["spec"]["forProvider"]["rule"][0]
                assert rule["destination"]["bucketRef"]["name"] == target


# --- identities ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_cloud_identity_annotation_has_its_role_and_pod_identity_association(cluster: str) -> None:
    annotation = workload_clusters()[cluster][1]["cloud"]["workload_identity"]["annotation"]
    role_names: set[str] = set()
    for path in sorted((COMPILED / cluster).rglob("*.yaml")):
        for doc in load_all(path):
            role_names |= {arn.rsplit("/", 1)[-1] for arn in annotated(doc, annotation)}
    assert role_names, f"{cluster}: no workload-identity annotation found; the check below would be empty"
    roles = by_kind(cluster, "Role")
    associations = by_kind(cluster, "PodIdentityAssociation")
    assert role_names <= set(roles), f"roles missing for {sorted(role_names - set(roles))}"
    assert role_names <= set(associations), f"associations missing for {sorted(role_names - set(associations))}"
    assert "eks-pod-identity-agent" in by_kind(cluster, "Addon"), "associations need the Pod Identity agent"


def secret_keys_read(cluster: str) -> set[str]:
    """Every secret path the cluster's ExternalSecrets read (the consumer of the policy)."""
    keys = set()
    for doc in documents(COMPILED / cluster / "manifests" / "secrets"):
        for item in doc.get("spec", {}).get("data", []) + doc.get("spec", {}).get("dataFrom", []):
            ref = item.get("remoteRef") or item.get("extract") or {}
            if "key" in ref:
                keys.add(ref["key"])
    return keys


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_secret_access_is_exactly_the_paths_the_cluster_reads(cluster: str) -> None:
    keys = secret_keys_read(cluster)
    assert keys, f"{cluster}: no ExternalSecret found; the check would be empty"
    (role,) = [r for n, r in by_kind(cluster, "Role").items() if n.endswith("-external-secrets")]
    statements = json.loads(role["spec"]["forProvider"]["inlinePolicy"][0]["policy"])["Statement"]
    resources = [r.split(":secret:", 1)[1] for s in statements for r in s["Resource"]]
    assert "*" not in resources
    # AWS appends "-" and six random characters to a secret's ARN.
    for key in sorted(keys):
        assert any(fnmatch.fnmatchcase(f"{key}-AbC123", pattern) for pattern in resources), f"{cluster}: {key} not readable"
    assert not any(fnmatch.fnmatchcase("someone-else/secret-AbC123", pattern) for pattern in resources)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_object_access_names_the_cluster_own_buckets(cluster: str) -> None:
    """Its own buckets; a standby also reads the DR-region copy of its primary's WAL archive, which the primary
    creates (docs/object-storage.md: `(read)`)."""
    params = workload_clusters()[cluster][1]
    buckets = set(by_kind(cluster, "Bucket"))
    if params["cluster"]["role"] == "standby":
        primary = params["data"]["primary_cluster"]
        copy = f"{params['data']['object_storage']['bucket_prefix']}-{primary}-postgres-dr"
        assert copy in by_kind(primary, "Bucket"), f"{primary} does not create {copy}"
        buckets.add(copy)
    checked = 0
    for name, role in by_kind(cluster, "Role").items():
        for inline in role["spec"]["forProvider"].get("inlinePolicy", []):
            for statement in json.loads(inline["policy"])["Statement"]:
                if any(str(a).startswith("s3:") for a in statement["Action"]) and statement.get("Principal") is None:
                    for resource in statement["Resource"]:
                        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
                        assert bucket in buckets, f"{name}: {resource} is not one of {cluster}'s buckets"
                        checked += 1
    assert checked


def test_infrastructure_doc_lists_every_managed_cluster() -> None:
    """Whether the committed doc is what the inventory generates is make check's (the registry's) job."""
    text = (ROOT / "docs" / "infrastructure.md").read_text()
    assert text.startswith("<!-- generated")
    for cluster in CLUSTERS:
        assert f"| {cluster} |" in text


def test_cel_kubernetes_string_functions_evaluate_karpenter_rules() -> None:
    """Karpenter's rules call `find` (Kubernetes' CEL string library), which cel-python lacks."""
    cluster = CLUSTERS[0]
    node_class = load_all(COMPILED / cluster / "manifests" / "capacity" / "ec2nodeclass.yaml")[0]
    schema = schema_of(node_class)
    assert evaluate_rules(schema, node_class).failures == []
    node_class["spec"]["amiFamily"] = "AL2"  # contradicts the al2023 alias
    assert [f.message for f in evaluate_rules(schema, node_class).failures] == [
        "if set, amiFamily must be 'AL2023' or 'Custom' when using an AL2023 alias"
    ]
