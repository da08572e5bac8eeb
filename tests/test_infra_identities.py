"""Every controller that calls AWS gets what its own documentation says it needs, at the version we install,
and nothing broader: the upstream lists are test data (fixtures/upstream-iam.yml, each with its source and
version), the roles are built from the inventory. Clusters come from the inventory, never from a list here.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.infra.identities import LBC_CLUSTER_TAG, cloud_identities
from mnops.infra.model import CloudIdentity, cluster_infra
from mnops.inventory.model import build_target
from mnops.kapitan_inventory import compiles_manifests

COMPILED = ROOT / "compiled"
UPSTREAM: dict[str, dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "fixtures" / "upstream-iam.yml").read_text())


def clusters() -> list[str]:
    return [
        name
        for name, params in sorted(real_parameters().items())
        if compiles_manifests(params)
        and params["services"]
        and params["cloud"]["provider"] == "aws"
        and params.get("infra", {}).get("management_cluster") not in (None, name)
    ]


CLUSTERS = clusters()


@cache
def identities(cluster: str) -> dict[str, CloudIdentity]:
    """ServiceAccount name -> its identity, as the management cluster builds it for this cluster."""
    return {ci.service_account: ci for ci in cloud_identities(cluster_infra(build_target(real_parameters()[cluster])))}


def granted(ci: CloudIdentity) -> set[str]:
    actions: set[str] = set()
    for statement in ci.statements:
        assert statement["Effect"] == "Allow"
        actions |= {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
    return actions


def covered(action: str, patterns: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(action, pattern) for pattern in patterns)


def compiled_documents(cluster_dir: Path, folder: str) -> Iterator[dict[str, Any]]:
    for path in sorted((cluster_dir / folder).rglob("*.yaml")):
        yield from (d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))


# Why an upstream action is not needed here, checked on the compiled cluster (the reason names the feature).
def _no_interruption_queue(cluster_dir: Path) -> bool:
    values = yaml.safe_load((cluster_dir / "helm-values" / "karpenter.yaml").read_text())
    return not (values.get("settings") or {}).get("interruptionQueue")


def _no_object_tagging(cluster_dir: Path) -> bool:
    locations = [d for d in compiled_documents(cluster_dir, "manifests/backup") if d["kind"] == "BackupStorageLocation"]
    return bool(locations) and not any("tagging" in (d["spec"].get("config") or {}) for d in locations)


def _no_find(cluster_dir: Path) -> bool:
    secrets = [d for d in compiled_documents(cluster_dir, "manifests") if d["kind"] == "ExternalSecret"]
    return bool(secrets) and not any("find" in item for d in secrets for item in d["spec"].get("dataFrom", []))


UNUSED_FEATURES: dict[str, Callable[[Path], bool]] = {
    "interruption queue": _no_interruption_queue,
    "object tagging": _no_object_tagging,
    "dataFrom.find": _no_find,
}


def cases() -> list[tuple[str, str]]:
    return [(cluster, account) for cluster in CLUSTERS for account in sorted(UPSTREAM) if account in identities(cluster)]


def test_the_upstream_table_covers_every_add_on_and_backup_writer() -> None:
    """The add-ons and the backup and log writers the issue names: a new one needs its upstream list too."""
    for cluster in CLUSTERS:
        # Our own writers (the RDB copy job, services with cloud_identity) have no upstream policy to follow.
        ours = {"redis-rdb-copy", *real_parameters()[cluster]["services"]}
        missing = sorted(set(identities(cluster)) - set(UPSTREAM) - ours)
        assert not missing, f"{cluster}: no upstream policy in fixtures/upstream-iam.yml for {missing}"
    assert cases()


@pytest.mark.parametrize(("cluster", "account"), cases())
def test_every_action_the_upstream_policy_lists_is_granted(cluster: str, account: str) -> None:
    upstream = UPSTREAM[account]
    ci = identities(cluster)[account]
    ours = granted(ci)
    wanted = set(upstream["actions"]) - set(upstream.get("not_needed", {}))
    missing = sorted(a for a in wanted if not (a in ours or any(fnmatch.fnmatchcase(o, a) for o in ours)))
    assert not missing, f"{cluster} {account}: upstream ({upstream['source']}) also grants {missing}"
    assert tuple(ci.managed_policies) == ((upstream["managed"],) if "managed" in upstream else ())
    for feature in set(upstream.get("not_needed", {}).values()):
        assert UNUSED_FEATURES[feature](COMPILED / cluster), f"{cluster} {account}: {feature!r} is used: its actions are needed"


@pytest.mark.parametrize(("cluster", "account"), cases())
def test_nothing_is_granted_beyond_upstream_but_the_listed_extras(cluster: str, account: str) -> None:
    upstream = UPSTREAM[account]
    allowed = set(upstream["actions"]) - set(upstream.get("not_needed", {})) | set(upstream.get("extra", {}))
    broader = sorted(a for a in granted(identities(cluster)[account]) if not covered(a, allowed))
    assert not broader, f"{cluster} {account}: {broader} are not in {upstream['source']}"


def conditions(ci: CloudIdentity) -> str:
    return json.dumps([s.get("Condition", {}) for s in ci.statements])


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_the_load_balancer_controller_may_change_only_what_it_tagged_for_this_cluster(cluster: str) -> None:
    """The controller tags with elbv2.k8s.aws/cluster (not kubernetes.io/cluster/<name>): the conditions must
    name that key, with this cluster's name as its value, wherever upstream asks for the tag."""
    ci = identities(cluster)["aws-load-balancer-controller"]
    by_sid = {s["Sid"]: s for s in ci.statements}
    values = yaml.safe_load((COMPILED / cluster / "helm-values" / "aws-load-balancer-controller.yaml").read_text())
    assert values["clusterName"] == cluster
    assert "kubernetes.io/cluster" not in conditions(ci)
    for sid in ("ManageOwnGroup", "ManageOwnBalancer"):
        assert by_sid[sid]["Condition"] == {"StringEquals": {f"aws:ResourceTag/{LBC_CLUSTER_TAG}": cluster}}
    for sid in ("CreateOwnBalancer", "TagNewGroup", "TagNewBalancer"):
        assert by_sid[sid]["Condition"]["StringEquals"][f"aws:RequestTag/{LBC_CLUSTER_TAG}"] == cluster
    assert "elasticloadbalancing:SetSecurityGroups" in by_sid["ManageOwnBalancer"]["Action"]


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_karpenter_launches_and_terminates_only_this_clusters_nodes(cluster: str) -> None:
    ci = identities(cluster)["karpenter"]
    by_sid = {s["Sid"]: s for s in ci.statements}
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    assert by_sid["AllowScopedDeletion"]["Condition"]["StringEquals"] == owned
    assert by_sid["AllowPassingInstanceRole"]["Resource"] == [
        f"arn:aws:iam::{real_parameters()[cluster]['cloud']['account']}:role/{cluster}-nodes"
    ]
    region = real_parameters()[cluster]["cluster"]["region"]
    assert by_sid["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": region}}


@cache
def key_aliases() -> frozenset[tuple[str, str]]:
    """(region, alias) of every KMS alias the management trees create."""
    found = set()
    for path in sorted(COMPILED.glob("*/infra/*/alias.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found.add((doc["spec"]["forProvider"]["region"], doc["metadata"]["annotations"]["crossplane.io/external-name"]))
    return frozenset(found)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_keys_are_granted_by_alias_condition_not_by_alias_arn(cluster: str) -> None:
    """An alias ARN as a statement's Resource governs only the alias: KMS would refuse every use of the key. Each
    alias the condition names is one the management cluster creates, in a region the statement's keys are in."""
    checked = 0
    for account, ci in identities(cluster).items():
        for statement in ci.statements:
            if any(a.startswith("kms:") for a in statement["Action"]):
                assert all(":alias/" not in r for r in statement["Resource"]), f"{account}: {statement['Sid']}"
                regions = {r.split(":")[3] for r in statement["Resource"]}
                for alias in statement["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]:
                    assert any((r, alias) in key_aliases() for r in regions), f"{account}: no {alias} in {regions}"
                    checked += 1
    assert checked


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_dns_writers_change_only_names_in_the_zone(cluster: str) -> None:
    zone = real_parameters()[cluster]["infra"]["dns"]["zone"]
    for account, prefix in (("external-dns", ""), ("cert-manager", "_acme-challenge.")):
        (change,) = [s for s in identities(cluster)[account].statements if "route53:ChangeResourceRecordSets" in s["Action"]]
        names = change["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
        assert names == [f"{prefix}{zone}", f"{prefix}*.{zone}"], account
    (acme,) = [s for s in identities(cluster)["cert-manager"].statements if s["Sid"] == "ChallengeRecords"]
    assert acme["Condition"]["ForAllValues:StringEquals"] == {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}


def test_each_unused_feature_check_fails_once_the_feature_is_used(tmp_path: Path) -> None:
    """The not_needed exemptions hold only while the feature is off: each check sees it turned on."""
    cluster_dir = shutil.copytree(COMPILED / CLUSTERS[0], tmp_path / CLUSTERS[0])
    assert all(check(cluster_dir) for check in UNUSED_FEATURES.values())

    def edit(folder: str, kind: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the first document of that kind in the folder."""
        for path in sorted((cluster_dir / folder).glob("*.yaml")):
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
            if docs and docs[0].get("kind") == kind:
                change(docs[0])
                path.write_text(yaml.safe_dump_all(docs))
                return
        raise AssertionError(f"no {kind} in {folder}")

    karpenter = cluster_dir / "helm-values" / "karpenter.yaml"
    values = yaml.safe_load(karpenter.read_text())
    karpenter.write_text(yaml.safe_dump({**values, "settings": {**values.get("settings", {}), "interruptionQueue": "q"}}))
    edit("manifests/backup", "BackupStorageLocation", lambda d: d["spec"]["config"].update(tagging="team=x"))
    edit("manifests/secrets", "ExternalSecret", lambda d: d["spec"].setdefault("dataFrom", []).append({"find": {}}))
    assert not any(check(cluster_dir) for check in UNUSED_FEATURES.values())
