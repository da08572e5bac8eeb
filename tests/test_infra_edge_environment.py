"""CloudFront and WAF belong to the environment, not to whichever of its clusters is primary: one
infra-edge-<environment> folder on the management cluster, synced by one Argo CD Application, and a DR role
swap changes nothing in it (a new distribution would be a new domain and a new certificate, during a
disaster). Each cluster keeps only its gateway load balancer's security group.

Environments, primaries and standbys come from the inventory, never from a list in this file.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import journey_support as journey
import pytest
import yaml
from conftest import CRD_SCHEMAS, ROOT, real_parameters

from mnops.gitops.diffing import Key, TargetChanges, _namespace_moves
from mnops.gitops.rules import fleet_problems
from mnops.infra.edge import fronted_by_cloudfront, web_acl_name
from mnops.infra.model import edge_namespace, infra_namespace
from mnops.kapitan_inventory import compiles_manifests
from mnops.manifest_validation import validate_document

# What the environment's edge is made of; none of it may be in a cluster's folder.
EDGE_KINDS = {"WebACL", "Certificate", "CertificateValidation", "Distribution"}


def fronted_environments() -> set[str]:
    """Environments whose managed AWS clusters CloudFront fronts."""
    return {
        p["cluster"]["environment"]
        for n, p in real_parameters().items()
        if compiles_manifests(p)
        and p["cloud"]["provider"] == "aws"
        and p.get("infra", {}).get("management_cluster") not in (None, n)
        and fronted_by_cloudfront(p)
    }


def standby_pairs() -> list[tuple[str, str, str]]:
    """(environment, primary, standby) for each standby cluster behind CloudFront."""
    return [
        (params["cluster"]["environment"], params["data"]["primary_cluster"], name)
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params) and params["cluster"]["role"] == "standby" and fronted_by_cloudfront(params)
    ]


def documents(folder: Path) -> list[dict[str, Any]]:
    return [doc for path in sorted(folder.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def edge_folder_files(repo: Path, environment: str) -> dict[str, bytes]:
    """Every file of the environment's edge folder, byte for byte."""
    found = {}
    for folder in repo.glob(f"compiled/*/infra/{edge_namespace(environment)}"):
        found |= {str(p.relative_to(repo)): p.read_bytes() for p in sorted(folder.iterdir())}
    return found


def gateway_objects(repo: Path, cluster: str) -> dict[str, dict[str, Any]]:
    """The cluster's gateway load-balancer security group and its rules: 'Kind/name' -> forProvider."""
    found = {}
    for folder in repo.glob(f"compiled/*/infra/{infra_namespace(cluster)}"):
        for doc in documents(folder):
            spec = doc.get("spec", {}).get("forProvider", {})
            group = doc["kind"] == "SecurityGroup" and doc["metadata"]["name"] == "gateway"
            if group or spec.get("securityGroupIdRef") == {"name": "gateway"}:
                found[f"{doc['kind']}/{doc['metadata']['name']}"] = spec
    return found


def external_dns_values(repo: Path, cluster: str) -> bytes:
    return (repo / "compiled" / cluster / "helm-values" / "external-dns.yaml").read_bytes()


def cut_over_outputs(params: dict[str, Any]) -> dict[str, Any]:
    """Values of the shape AWS assigns at the cut-over, for the environment's account and web ACL."""
    account, uuid = params["cloud"]["account"], "12345678-90ab-cdef-1234-567890abcdef"
    return {
        "validation_records": [
            {"name": f"_{'a' * 31}{n}.{host}.", "value": f"_{'b' * 31}{n}.xlfgrmvvlj.acm-validations.aws."}
            for n, host in enumerate(params["gateway"]["hostnames"])
        ],
        "certificate_arn": f"arn:aws:acm:us-east-1:{account}:certificate/{uuid}",
        "web_acl_arn": f"arn:aws:wafv2:us-east-1:{account}:global/webacl/{web_acl_name(params['cluster']['environment'])}/{uuid}",
        "distribution_domain": "d111111abcdef8.cloudfront.net",
    }


def test_the_inventory_puts_cloudfront_in_front_of_some_environment() -> None:
    assert fronted_environments(), "no environment behind CloudFront: every test below would check nothing"


def test_each_fronted_environment_has_one_edge_folder_and_no_cluster_folder_holds_the_edge() -> None:
    folders = sorted(p.name for p in ROOT.glob("compiled/*/infra/infra-edge-*"))
    assert folders == sorted(edge_namespace(env) for env in fronted_environments())
    for folder in ROOT.glob("compiled/*/infra/infra-*"):
        kinds = {doc["kind"] for doc in documents(folder)}
        if folder.name in folders:
            assert {"WebACL", "Certificate", "CertificateValidation", "Bucket", "Key"} <= kinds, folder.name
        else:
            assert not kinds & EDGE_KINDS, f"{folder.name} holds part of an environment's edge: {kinds & EDGE_KINDS}"


def test_the_edge_folder_is_synced_by_exactly_one_application_without_cascading_deletes() -> None:
    applications = [
        doc
        for path in ROOT.glob("compiled/*/infra/argocd/application.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "Application"
    ]
    projects = [
        doc
        for path in ROOT.glob("compiled/*/infra/argocd/appproject.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "AppProject"
    ]
    for environment in fronted_environments():
        folder = edge_namespace(environment)
        syncing = [a for a in applications if a["spec"].get("source", {}).get("path", "").endswith(f"/infra/{folder}")]
        assert len(syncing) == 1, f"{folder}: {len(syncing)} Applications"
        (app,) = syncing
        assert app["spec"]["destination"]["namespace"] == folder
        assert "resources-finalizer.argocd.argoproj.io" not in app["metadata"].get("finalizers", [])
        assert app["spec"]["syncPolicy"]["automated"]["prune"] is False
        (project,) = [p for p in projects if p["metadata"]["name"] == app["spec"]["project"]]
        assert folder in {d["namespace"] for d in project["spec"]["destinations"]}


def test_the_edge_names_nothing_after_a_cluster() -> None:
    """Tags and names are the environment's: the `cluster` tag would change with the primary."""
    for environment in fronted_environments():
        for folder in ROOT.glob(f"compiled/*/infra/{edge_namespace(environment)}"):
            for doc in documents(folder):
                tags = doc.get("spec", {}).get("forProvider", {}).get("tags", {})
                assert "cluster" not in tags, f"{doc['kind']}/{doc['metadata']['name']}"
                assert not tags or tags["environment"] == environment
            (acl,) = [d for d in documents(folder) if d["kind"] == "WebACL"]
            assert acl["spec"]["forProvider"]["name"] == web_acl_name(environment)


def test_outputs_recorded_for_one_cluster_of_an_environment_only_are_refused() -> None:
    """Outputs in one target file would be ignored, or, were they read from the primary, move the edge on a swap."""
    environment, primary, standby = standby_pairs()[0]
    parameters = copy.deepcopy(real_parameters())
    parameters[primary]["infra"]["edge"]["outputs"] = cut_over_outputs(parameters[primary])
    found = [p for p in fleet_problems(parameters) if p.path.startswith("parameters.infra.edge")]
    assert [(p.target, p.path) for p in found] == [(standby, "parameters.infra.edge.outputs")]
    assert "one CloudFront distribution" in found[0].render() and f"classes/env/{environment}.yml" in found[0].render()
    parameters[standby]["infra"]["edge"]["outputs"] = copy.deepcopy(parameters[primary]["infra"]["edge"]["outputs"])
    assert not [p for p in fleet_problems(parameters) if p.path.startswith("parameters.infra.edge")]


@pytest.mark.slow
@pytest.mark.parametrize(("environment", "primary", "standby"), standby_pairs())
def test_a_role_swap_changes_nothing_of_the_edge(environment: str, primary: str, standby: str, tmp_path: Path) -> None:
    """On a repository copy whose environment is cut over to CloudFront (outputs in its class): the DR runbook's
    last step makes the standby primary and the old primary its standby. The edge folder stays byte for byte,
    and so does each cluster's gateway security group and external-dns: the public names are CloudFront's
    whichever cluster is primary, and each cluster admits CloudFront's range of its own region."""
    repo = journey.copy_repository(tmp_path / "repo")
    path = journey.environment_class(repo, environment)
    document = journey.load(path)
    document["parameters"]["infra"]["edge"]["outputs"] = cut_over_outputs(real_parameters()[primary])
    journey.dump(path, document)
    # The cut-over state is read from compiled/ only, so it needs no generated docs (--scratch, as make diff
    # compiles: about 0.5 s of CPU less). The swap below is a full `make compile` of the cut-over copy.
    result = journey.run(repo, "scripts/compile.py", "--scratch")
    assert result.returncode == 0, result.stderr[-3000:]
    edge_before = edge_folder_files(repo, environment)
    kinds = {doc["kind"] for folder in repo.glob(f"compiled/*/infra/{edge_namespace(environment)}") for doc in documents(folder)}
    assert {"Distribution", "Record"} <= kinds, "the copy is not cut over: the swap would check less than the edge"
    clusters = (primary, standby)
    gateways_before = {c: gateway_objects(repo, c) for c in clusters}
    dns_before = {c: external_dns_values(repo, c) for c in clusters}
    for cluster in clusters:
        rules = gateways_before[cluster]
        assert "SecurityGroupIngressRule/gateway-origin-from-cloudfront" in rules, cluster
        assert not any(r.get("cidrIpv4") == "0.0.0.0/0" for r in rules.values()), f"{cluster} open around the WAF"

    journey.swap_roles(repo, environment, primary, standby)
    result = journey.regenerate(repo)
    assert result.returncode == 0, result.stderr[-3000:]

    assert edge_folder_files(repo, environment) == edge_before
    assert {c: gateway_objects(repo, c) for c in clusters} == gateways_before
    assert {c: external_dns_values(repo, c) for c in clusters} == dns_before
    # The cut-over folder (distribution, alias records) validates strictly, CEL rules included.
    versions = tuple(real_parameters()[primary]["kubernetes"]["supported_versions"])
    findings = [
        f.render()
        for folder in repo.glob(f"compiled/*/infra/{edge_namespace(environment)}")
        for doc in documents(folder)
        for f in validate_document(doc, "management", versions, CRD_SCHEMAS)
    ]
    assert findings == []


def test_make_diff_pairs_each_moved_edge_object_with_its_own_environments_folder() -> None:
    """Moving every environment's `WebACL edge` at once: each move names its own source, not one source twice."""
    changes = TargetChanges()
    environments = sorted(fronted_environments()) or ["prod"]
    for environment in [*environments, "other"]:
        old = Key("management", "WebACL", f"infra-{environment}", "edge", "wafv2.aws.m.upbound.io")
        changes.removed[old] = {}
        changes.added[replace(old, namespace=edge_namespace(environment))] = {}
    moves = {(risk.key.namespace, risk.reason) for risk in _namespace_moves(changes)}
    assert moves == {
        (edge_namespace(env), f"namespace move infra-{env} -> {edge_namespace(env)} (deleted and recreated, not moved)")
        for env in [*environments, "other"]
    }
