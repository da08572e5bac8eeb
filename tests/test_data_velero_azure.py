"""Velero on AKS, on a copy of the repository whose production clusters are switched to Azure: its
locations name what the management tree creates, its identity may write the snapshots where the
VolumeSnapshotLocation puts them, and its pod mounts the credentials file the Azure plugin requires.

The copy is tests/cloud_support.py's Azure one, compiled once per run for this file and
tests/test_infra_clouds.py: after its first sync it records what an operator copies from it (each identity's
principal and client ID, Velero's among them), so that Velero's role assignments and its ServiceAccount's
annotation are compiled. Which clusters are switched is read from the copy's inventory.
What the plugin requires is upstream's (velero-plugin-for-microsoft-azure, volume_snapshotter.go Init;
velero pkg/util/azure: storage.go, credential.go).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from cloud_support import load_all, switched_repository
from conftest import ROOT

from mnops.charts.cluster import RenderedChart, Setup, render_clusters
from mnops.charts.compile_check import cache_root, chart_mirror, helm_binary
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.kapitan_inventory import render_inventory
from mnops.workload_identity import AZURE_CLIENT_ID, RECORDED_CLIENT_ID, identity_name

pytestmark = pytest.mark.slow  # compiles a copy of the repository

# The credentials-file keys the Azure volume snapshotter's Init refuses to start without.
SNAPSHOTTER_KEYS = frozenset({"AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP"})
# Keys that would make upstream's NewCredential use a client secret or certificate instead of workload identity.
SECRET_KEYS = frozenset({"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE", "AZURE_CLIENT_CERTIFICATE_PATH",
                         "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_STORAGE_KEY"})  # fmt: skip
SNAPSHOT_ROLE = "Disk Snapshot Contributor"


@dataclass(frozen=True)
class AzureCopy:
    repo: Path
    clusters: tuple[str, ...]
    parameters: dict[str, Any]
    velero_identities: dict[str, str]  # cluster -> the name of Velero's user-assigned identity

    @property
    def management(self) -> str:
        (manager,) = {self.parameters[c]["infra"]["management_cluster"] for c in self.clusters}
        return str(manager)

    def infra(self, cluster: str) -> list[dict[str, Any]]:
        """The management tree's managed resources of one cluster."""
        folder = self.repo / "compiled" / self.management / "infra" / f"infra-{cluster}"
        return [d for path in sorted(folder.glob("*.yaml")) for d in load_all(path)]

    def infra_of_kind(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        """(cluster, name) -> object, over every switched cluster's managed resources."""
        return {(c, d["metadata"]["name"]): d for c in self.clusters for d in self.infra(c) if d["kind"] == kind}

    def backup(self, cluster: str, kind: str) -> dict[str, dict[str, Any]]:
        path = self.repo / "compiled" / cluster / "manifests" / "backup" / f"{kind.lower()}.yaml"
        return {d["metadata"]["name"]: d for d in load_all(path)}


def velero_identity(parameters: Mapping[str, Any], cluster: str) -> str:
    """The name of Velero's user-assigned identity on a cluster, as the layer names it."""
    return identity_name(parameters["cloud"], cluster, parameters["backup"]["namespace"], "velero")


@pytest.fixture(scope="module")
def azure(tmp_path_factory: pytest.TempPathFactory) -> AzureCopy:
    copy = switched_repository(tmp_path_factory, "azure")
    parameters = render_inventory(copy.repo / "inventory")
    identities = {c: velero_identity(parameters[c], c) for c in copy.clusters}
    for cluster, name in identities.items():
        recorded = parameters[cluster]["cloud"]
        assert name in recorded["principal_ids"] and name in recorded["client_ids"], f"{cluster}: {name} not recorded"
    return AzureCopy(copy.repo, copy.clusters, parameters, identities)


@pytest.fixture(scope="module")
def velero_charts(azure: AzureCopy) -> dict[str, RenderedChart]:
    """The velero chart as the copy's compile rendered it, per switched cluster (from the render cache)."""
    cache = cache_root(ROOT)
    setup = Setup(azure.repo / "compiled", cache / "charts", cache / "renders", helm_binary(ROOT), chart_mirror(ROOT))
    switched = {c: azure.parameters[c] for c in azure.clusters}
    renders = render_clusters(switched, read_lock(azure.repo / LOCK_FILE), setup)
    found = {r.target: r for r in renders if r.key == "velero"}
    assert sorted(found) == sorted(azure.clusters), "every switched cluster runs Velero"
    return found


def subscription_of(resource_id: str) -> str:
    """The subscription of an Azure resource ID (/subscriptions/<id>/resourceGroups/...)."""
    parts = resource_id.strip("/").split("/")
    assert parts[0] == "subscriptions", resource_id
    return parts[1]


def resource_group_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    assert [p.lower() for p in parts[2:3]] == ["resourcegroups"], resource_id
    return parts[3]


def external_name(resource_group: dict[str, Any]) -> str:
    """The name Azure knows a ResourceGroup by: Crossplane's external name, else the object's name."""
    meta = resource_group["metadata"]
    return str(meta.get("annotations", {}).get("crossplane.io/external-name", meta["name"]))


def snapshot_scopes(azure: AzureCopy, cluster: str) -> list[str]:
    """Where Velero's identity holds the snapshot role: the scopes of the role assignments to the principal
    the copy recorded for the identity whose client ID Velero's ServiceAccount carries."""
    principal = azure.parameters[cluster]["cloud"]["principal_ids"][azure.velero_identities[cluster]]
    return [d["spec"]["forProvider"]["scope"] for d in azure.infra(cluster)
            if d["kind"] == "RoleAssignment" and d["spec"]["forProvider"]["principalId"] == principal
            and d["spec"]["forProvider"]["roleDefinitionName"] == SNAPSHOT_ROLE]  # fmt: skip


def dotenv(text: str) -> dict[str, str]:
    """KEY=value lines, as godotenv reads the plugin's credentials file (no quoting used here)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert all("=" in line for line in lines), text
    return dict(line.split("=", 1) for line in lines)


def velero_deployment(chart: RenderedChart) -> dict[str, Any]:
    (deployment,) = [d for d in chart.objects_of_kind({"Deployment"}) if d["metadata"]["name"] == "velero"]
    return deployment


def node_agent(chart: RenderedChart) -> dict[str, Any]:
    (daemon_set,) = [d for d in chart.objects_of_kind({"DaemonSet"}) if d["metadata"]["name"] == "node-agent"]
    return daemon_set


def mounted_credentials(chart: RenderedChart, workload: dict[str, Any], container: str) -> dict[str, str]:
    """The file AZURE_CREDENTIALS_FILE names in one rendered Velero container, read through its volume and ConfigMap."""
    pod = workload["spec"]["template"]["spec"]
    (found,) = [c for c in pod["containers"] if c["name"] == container]
    paths = [PurePosixPath(e["value"]) for e in found.get("env", []) if e["name"] == "AZURE_CREDENTIALS_FILE"]
    assert len(paths) == 1, f"{chart.target}: {container} is given no AZURE_CREDENTIALS_FILE (Init fails without it)"
    path = paths[0]
    mounts = [m for m in found.get("volumeMounts", []) if PurePosixPath(m["mountPath"]) == path.parent]
    assert len(mounts) == 1, f"{chart.target}: {container}: nothing is mounted at {path.parent}"
    mount = mounts[0]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    maps = {d["metadata"]["name"]: d for d in chart.objects_of_kind({"ConfigMap"})}
    config_map = maps[volume["configMap"]["name"]]
    assert config_map["metadata"]["namespace"] == workload["metadata"]["namespace"] == chart.namespace
    return dotenv(config_map["data"][path.name])


# --- the storage locations name what the management tree creates --------------------------------


def test_velero_storage_locations_name_the_account_and_group_the_management_tree_creates(azure: AzureCopy) -> None:
    containers = azure.infra_of_kind("Container")
    accounts = azure.infra_of_kind("Account")
    groups = azure.infra_of_kind("ResourceGroup")
    checked = 0
    for cluster in azure.clusters:
        for name, location in azure.backup(cluster, "BackupStorageLocation").items():
            config, bucket = location["spec"]["config"], location["spec"]["objectStorage"]["bucket"]
            owners = [key for key in containers if key[1] == bucket]
            assert len(owners) == 1, f"{cluster}/{name}: container {bucket} is created {len(owners)} times"
            owner = owners[0][0]
            account = containers[owners[0]]["spec"]["forProvider"]["storageAccountIdRef"]["name"]
            assert config["storageAccount"] == account, f"{cluster}/{name}"
            created = accounts[(owner, account)]["spec"]["forProvider"]
            group = groups[(owner, created["resourceGroupNameRef"]["name"])]
            assert config["resourceGroup"] == external_name(group), f"{cluster}/{name}"
            assert config["storageAccountURI"] == f"https://{account}.blob.core.windows.net", f"{cluster}/{name}"
            subscription = subscription_of(created["identity"]["identityIds"][0])
            # A standby's target does not know its primary's subscription: its location of the primary's copies
            # may leave it out (the endpoint is given), never name another one.
            allowed = {subscription} if owner == cluster else {subscription, None}
            assert config.get("subscriptionId") in allowed, f"{cluster}/{name}"
            checked += 1
    assert checked >= len(azure.clusters), "every switched cluster has a backup storage location"


def test_velero_storage_locations_sign_in_with_workload_identity_not_account_keys(azure: AzureCopy) -> None:
    accounts = azure.infra_of_kind("Account")
    assert accounts and all(a["spec"]["forProvider"]["sharedAccessKeyEnabled"] is False for a in accounts.values())
    for cluster in azure.clusters:
        for name, location in azure.backup(cluster, "BackupStorageLocation").items():
            config = location["spec"]["config"]
            # Without useAAD "true" the plugin lists the account's keys, which it may not and which are disabled.
            assert config.get("useAAD") == "true", f"{cluster}/{name}"
            assert "storageAccountKeyEnvVar" not in config, f"{cluster}/{name}"


# --- snapshots: where Velero's identity may write them, with the file the snapshotter requires ----


def test_velero_snapshots_go_to_a_group_where_its_identity_holds_the_snapshot_role(azure: AzureCopy) -> None:
    for cluster in azure.clusters:
        scopes = snapshot_scopes(azure, cluster)
        assert scopes, f"{cluster}: Velero's identity holds no {SNAPSHOT_ROLE} assignment"
        (location,) = azure.backup(cluster, "VolumeSnapshotLocation").values()
        assert location["spec"]["provider"] == "velero.io/azure"
        group = location["spec"]["config"]["resourceGroup"]
        assert group in {resource_group_of(s) for s in scopes}, f"{cluster}: snapshots in {group}, role on {scopes}"


def test_velero_pod_mounts_the_credentials_file_the_azure_snapshotter_requires(
    azure: AzureCopy, velero_charts: dict[str, RenderedChart]
) -> None:
    for cluster in azure.clusters:
        chart = velero_charts[cluster]
        credentials = mounted_credentials(chart, velero_deployment(chart), "velero")
        assert set(credentials) >= SNAPSHOTTER_KEYS, f"{cluster}: {sorted(credentials)}"
        assert not SECRET_KEYS & set(credentials), f"{cluster}: a secret in a ConfigMap"
        (aks,) = [d for d in azure.infra(cluster) if d["kind"] == "KubernetesCluster"]
        # The snapshotter reads the disks from this group: AKS's node resource group holds them.
        assert credentials["AZURE_RESOURCE_GROUP"] == aks["spec"]["forProvider"]["nodeResourceGroup"], cluster
        scopes = snapshot_scopes(azure, cluster)
        assert credentials["AZURE_SUBSCRIPTION_ID"] in {subscription_of(s) for s in scopes}, cluster


def test_velero_runs_as_the_identity_holding_its_roles(azure: AzureCopy, velero_charts: dict[str, RenderedChart]) -> None:
    identities = azure.infra_of_kind("UserAssignedIdentity")
    for cluster in azure.clusters:
        chart = velero_charts[cluster]
        service_account = velero_deployment(chart)["spec"]["template"]["spec"]["serviceAccountName"]
        (account,) = [d for d in chart.objects_of_kind({"ServiceAccount"}) if d["metadata"]["name"] == service_account]
        client = account["metadata"]["annotations"][AZURE_CLIENT_ID]
        recorded = identities[(cluster, azure.velero_identities[cluster])]["metadata"]["annotations"][RECORDED_CLIENT_ID]
        assert client == recorded, f"{cluster}: Velero's ServiceAccount is not bound to the identity its roles go to"


def test_velero_node_agent_reads_the_storage_as_the_server_does(
    azure: AzureCopy, velero_charts: dict[str, RenderedChart]
) -> None:
    """File-system backups run in the node agent: same ServiceAccount, the workload-identity pod labels
    (the webhook injects the token only into labelled pods) and the same credentials file mounted where its
    AZURE_CREDENTIALS_FILE points (the chart passes the variable to both pods, its volumes to the server only)."""
    for cluster in azure.clusters:
        chart = velero_charts[cluster]
        server, agent = velero_deployment(chart)["spec"]["template"], node_agent(chart)["spec"]["template"]
        assert agent["spec"]["serviceAccountName"] == server["spec"]["serviceAccountName"], cluster
        identity_labels = azure.parameters[cluster]["cloud"]["workload_identity"].get("pod_labels", {})
        assert identity_labels, f"{cluster}: Azure's workload identity names no pod label"
        for labels in (server["metadata"]["labels"], agent["metadata"]["labels"]):
            assert labels.items() >= identity_labels.items(), f"{cluster}: {labels}"
        server_file = mounted_credentials(chart, velero_deployment(chart), "velero")
        assert mounted_credentials(chart, node_agent(chart), "node-agent") == server_file, cluster
