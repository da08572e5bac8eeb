"""A repository copy whose production clusters run on another cloud (GKE or AKS), compiled once per test run.

    copy = switched_repository(tmp_path_factory, "azure")   # built by the first worker that asks, shared
    copy.repo, copy.clusters, copy.first_sync, copy.first_annotations

tests/test_infra_clouds.py checks each cloud's layer on it and tests/test_data_velero_azure.py Velero on
AKS: both read the same compiled copy (once_per_run), so each switched inventory is compiled once per run,
not once per file. Which clusters are switched is read from the copy's inventory, never listed here.

Azure compiles twice, as an operator does: the first sync (make diff's --scratch compile) creates the
identities and the cluster, whose principal IDs, client IDs and OIDC issuer then go into the target files
so that the role assignments, federated credentials and client-ID annotations follow in the second,
whole compile. What the first sync emitted is kept beside the copy (first-sync.json) for the tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import journey_support as journey
import pytest
import yaml
from conftest import once_per_run

from mnops.kapitan_inventory import render_inventory

ENVIRONMENT = "prod"  # private API server, deletion protection, three zones and a DR region to replicate to

# The workload-identity annotation each cloud's webhook reads on a ServiceAccount.
ANNOTATION = {"gcp": "iam.gke.io/gcp-service-account", "azure": "azure.workload.identity/client-id"}


@dataclass(frozen=True)
class Place:
    """Where a cloud's fixture puts the environment's clusters, by role."""

    regions: dict[str, str]
    zones: dict[str, list[str]]


PLACES = {
    "gcp": Place(
        {"primary": "us-east1", "standby": "us-west1"},
        {"us-east1": ["us-east1-b", "us-east1-c", "us-east1-d"], "us-west1": ["us-west1-a", "us-west1-b", "us-west1-c"]},
    ),
    "azure": Place(
        {"primary": "eastus", "standby": "westus2"},
        {"eastus": ["eastus-1", "eastus-2", "eastus-3"], "westus2": ["westus2-1", "westus2-2", "westus2-3"]},
    ),
}


@dataclass(frozen=True)
class SwitchedRepository:
    """A compiled repository copy with ENVIRONMENT's clusters on `cloud` (tests only read it)."""

    cloud: str
    repo: Path
    clusters: tuple[str, ...]
    first_sync: dict[str, list[str]]  # Azure: cluster -> the kinds of its first compile, before the IDs were known
    first_annotations: dict[str, set[str]]  # Azure: cluster -> its client-id annotation values then


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if isinstance(d, dict)]


def annotated(value: Any, key: str) -> Iterator[str]:
    """Every value of `key` anywhere in a document."""
    if isinstance(value, dict):
        for k, item in value.items():
            if k == key:
                yield str(item)
            else:
                yield from annotated(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from annotated(item, key)


def workload_annotations(repo: Path, cluster: str, key: str) -> set[str]:
    """Every value of the workload-identity annotation in the cluster's compiled files."""
    return {value for path in sorted((repo / "compiled" / cluster).rglob("*.yaml")) for d in load_all(path)
            for value in annotated(d, key)}  # fmt: skip


def environment_targets(repo: Path, environment: str) -> list[str]:
    """The cluster targets of one environment, from the copy's target files."""
    found = []
    for path in sorted((repo / "inventory" / "targets").glob("*.yml")):
        classes = journey.load(path).get("classes", [])
        if f"env.{environment}" in classes and "management" not in classes:
            found.append(path.stem)
    return found


def switch_environment(repo: Path, environment: str, cloud: str) -> tuple[str, ...]:
    """Put every cluster of the environment on `cloud`: its class, region, zones and account, and the
    environment's data regions (the DR copies follow the clusters)."""
    place = PLACES[cloud]
    targets = environment_targets(repo, environment)
    regions = {}
    for index, name in enumerate(targets):
        path = repo / "inventory" / "targets" / f"{name}.yml"
        target = journey.load(path)
        target["classes"] = [f"cloud.{cloud}" if c.startswith("cloud.") else c for c in target["classes"]]
        cluster = target["parameters"]["cluster"]
        region = place.regions[cluster.get("role", "primary")]
        regions[cluster.get("role", "primary")] = region
        cluster["region"], cluster["zones"] = region, place.zones[region]
        account = target["parameters"].setdefault("cloud", {})
        if cloud == "gcp":
            account["account"] = f"mnops-{name}"
            account["project_number"] = f"{100000000000 + index}"
        else:
            account["account"] = f"0a1b2c3d-0000-4000-8000-{index + 1:012x}"  # a subscription ID
        journey.dump(path, target)
    env_file = repo / "inventory" / "classes" / "env" / f"{environment}.yml"
    env = journey.load(env_file)
    data_regions = env["parameters"]["data"]["regions"]
    data_regions["primary"] = regions["primary"]
    data_regions["dr"] = regions.get("standby", regions["primary"])
    journey.dump(env_file, env)
    return tuple(targets)


def infra_documents(repo: Path, management: str, cluster: str) -> list[dict[str, Any]]:
    """The management tree's managed resources of one cluster."""
    folder = repo / "compiled" / management / "infra" / f"infra-{cluster}"
    return [d for path in sorted(folder.glob("*.yaml")) for d in load_all(path)]


def record_first_sync(repo: Path, management: str, cluster: str, index: int) -> None:
    """What an operator copies from the first sync's status into the target file (Azure): the OIDC issuer
    and every user-assigned identity's principal and client ID."""
    identities = sorted(d["metadata"]["name"] for d in infra_documents(repo, management, cluster)
                        if d["kind"] == "UserAssignedIdentity")  # fmt: skip
    path = repo / "inventory" / "targets" / f"{cluster}.yml"
    target = journey.load(path)
    target["parameters"]["cloud"]["oidc_issuer"] = f"https://eastus.oic.prod-aks.azure.com/tenant/{cluster}/"
    target["parameters"]["cloud"]["principal_ids"] = {
        name: f"0b1c2d3e-0000-4000-8000-{index:04x}{number:08x}" for number, name in enumerate(identities)
    }
    target["parameters"]["cloud"]["client_ids"] = {
        name: f"0c1d2e3f-0000-4000-8000-{index:04x}{number:08x}" for number, name in enumerate(identities)
    }
    journey.dump(path, target)


def _build(folder: Path, cloud: str) -> None:
    repo = journey.copy_repository(folder / "repo")
    clusters = switch_environment(repo, ENVIRONMENT, cloud)
    assert clusters, f"no {ENVIRONMENT} cluster in the inventory: nothing would be switched"
    first: dict[str, Any] = {"clusters": list(clusters), "kinds": {}, "annotations": {}}
    if cloud == "azure":
        # The first sync only needs compiled/ (make diff's --scratch compile); the second is the whole compile.
        compiled = journey.run(repo, "scripts/compile.py", "--scratch")
        assert compiled.returncode == 0, compiled.stderr
        (management,) = {p["infra"]["management_cluster"] for c, p in render_inventory(repo / "inventory").items()
                         if c in clusters}  # fmt: skip
        for index, cluster in enumerate(clusters):
            first["kinds"][cluster] = [d["kind"] for d in infra_documents(repo, management, cluster)]
            first["annotations"][cluster] = sorted(workload_annotations(repo, cluster, ANNOTATION[cloud]))
            record_first_sync(repo, management, cluster, index)
    compiled = journey.regenerate(repo)
    assert compiled.returncode == 0, compiled.stderr
    (folder / "first-sync.json").write_text(json.dumps(first, sort_keys=True))


def switched_repository(tmp_path_factory: pytest.TempPathFactory, cloud: str) -> SwitchedRepository:
    """ENVIRONMENT's clusters switched to `cloud` on a compiled repository copy, built once per run."""
    folder = once_per_run(tmp_path_factory, f"switched-{cloud}", lambda f: _build(f, cloud))
    first = json.loads((folder / "first-sync.json").read_text())
    return SwitchedRepository(
        cloud,
        folder / "repo",
        tuple(first["clusters"]),
        first["kinds"],
        {cluster: set(values) for cluster, values in first["annotations"].items()},
    )
