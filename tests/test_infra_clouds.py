"""GKE and AKS on a copy of the repository: the production clusters switched to another cloud class
compile into that cloud's managed resources, strictly valid against the CRD schemas and their CEL
rules, with the same guarantees the AWS layer gives.

One copy per cloud (tests/cloud_support.py), compiled once per run and shared with the other files that
read it. Which clusters are switched is read from the copy's inventory (the production targets), never
listed here. Azure compiles twice, as an operator does: the first sync creates the identities and the
cluster, whose principal IDs and OIDC issuer then go into the target files so that the role assignments
and federated credentials follow.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cloud_support import ANNOTATION, PLACES, annotated, load_all, switched_repository, workload_annotations
from conftest import CRD_SCHEMAS

from mnops.infra.capabilities import capability_gaps
from mnops.infra.protection import is_protected, may_delete, replacement_fields
from mnops.kapitan_inventory import render_inventory
from mnops.manifest_validation import validate_document
from mnops.security.secret_names import store_name

pytestmark = pytest.mark.slow  # compiles a copy of the repository


@dataclass(frozen=True)
class Switched:
    cloud: str
    repo: Path
    clusters: tuple[str, ...]
    parameters: dict[str, Any]
    first_sync: dict[str, list[str]]  # Azure: cluster -> the kinds of its first compile, before the IDs were known
    first_annotations: dict[str, set[str]]  # Azure: cluster -> its client-id values then

    @property
    def management(self) -> str:
        managers = {self.parameters[c]["infra"]["management_cluster"] for c in self.clusters}
        assert len(managers) == 1
        return managers.pop()

    def folder(self, cluster: str) -> Path:
        return self.repo / "compiled" / self.management / "infra" / f"infra-{cluster}"

    def documents(self, cluster: str) -> list[dict[str, Any]]:
        return [d for path in sorted(self.folder(cluster).glob("*.yaml")) for d in load_all(path)]

    def by_kind(self, cluster: str, kind: str) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.documents(cluster) if d["kind"] == kind}


@pytest.fixture(scope="module", params=sorted(PLACES))
def switched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Switched:
    """The cloud's copy (tests/cloud_support.py), compiled once per run and shared with other files."""
    copy = switched_repository(tmp_path_factory, request.param)
    parameters = render_inventory(copy.repo / "inventory")
    return Switched(copy.cloud, copy.repo, copy.clusters, parameters, copy.first_sync, copy.first_annotations)


def group_of(doc: dict[str, Any]) -> str:
    return str(doc["apiVersion"]).split("/", 1)[0]


# --- the layer is the switched cloud's, and strictly valid --------------------------------------


def test_switched_clusters_get_their_own_cloud_layer(switched: Switched) -> None:
    for cluster in switched.clusters:
        groups = {group_of(d) for d in switched.documents(cluster) if d["kind"] != "Namespace"}
        assert groups, f"{cluster}: no managed resources"
        foreign = sorted(g for g in groups if not g.endswith(f"{switched.cloud}.m.upbound.io"))
        assert foreign == [], f"{cluster} on {switched.cloud} got resources of another cloud: {foreign}"


def test_management_tree_is_valid_against_crd_schemas_and_their_cel_rules(switched: Switched) -> None:
    tree = switched.repo / "compiled" / switched.management / "infra"
    versions = tuple(switched.parameters[switched.management]["kubernetes"]["supported_versions"])
    docs = [(path, d) for path in sorted(tree.rglob("*.yaml")) for d in load_all(path)]
    findings = [f.render() for path, d in docs for f in validate_document(d, str(path.relative_to(tree)), versions, CRD_SCHEMAS)]
    assert findings == []
    for cluster in switched.clusters:
        assert len(switched.documents(cluster)) > 40, f"{cluster}: too few objects for a whole cloud layer"


def test_every_group_emitted_has_its_provider_package_at_the_pinned_release(switched: Switched) -> None:
    crossplane = switched.parameters[switched.management]["crossplane"][switched.cloud]
    providers = {
        d["spec"]["package"].rsplit("/", 1)[-1]
        for d in load_all(switched.repo / "compiled" / switched.management / "infra" / "crossplane" / "provider.yaml")
    }
    version = crossplane["provider_version"]
    assert f"provider-family-{switched.cloud}:{version}" in providers
    for cluster in switched.clusters:
        for group in {group_of(d) for d in switched.documents(cluster) if d["kind"] != "Namespace"}:
            family = group.removesuffix(f".{switched.cloud}.m.upbound.io")
            if family == f"{switched.cloud}.m.upbound.io":
                continue  # the ProviderConfig's group belongs to the family package
            assert f"provider-{switched.cloud}-{family}:{version}" in providers, f"no provider for {group}"


def test_the_provider_config_reaches_the_cluster_account_without_a_static_key(switched: Switched) -> None:
    for cluster in switched.clusters:
        (config,) = switched.by_kind(cluster, "ProviderConfig").values()
        assert config["spec"]["credentials"]["source"] != "Secret"
        assert switched.parameters[cluster]["cloud"]["account"] in str(config["spec"])


# --- never delete data by accident ---------------------------------------------------------------

PROTECTED = {
    "gcp": {"Bucket", "CryptoKey", "KeyRing", "Cluster", "ManagedZone", "ProjectBucketConfig"},
    "azure": {"Account", "Container", "Vault", "Key", "KubernetesCluster", "DNSZone", "ResourceGroup", "Workspace"},
}


def test_data_holding_resources_are_never_deleted_when_removed_from_git(switched: Switched) -> None:
    kinds = set()
    for cluster in switched.clusters:
        for doc in switched.documents(cluster):
            if is_protected(doc):
                kinds.add(doc["kind"])
                assert not may_delete(doc), f"{cluster}: {doc['kind']} {doc['metadata']['name']} may be deleted"
    assert PROTECTED[switched.cloud] <= kinds


def test_make_diff_knows_which_fields_replace_the_cloud_resources(switched: Switched) -> None:
    """Every kind with a field the cloud cannot change in place is in protection's list for this cloud."""
    expected = {
        "gcp": {("Subnetwork", "ipCidrRange"), ("Cluster", "privateClusterConfig"), ("Bucket", "location")},
        "azure": {("KubernetesCluster", "networkProfile"), ("Account", "location"), ("Subnet", "virtualNetworkNameRef")},
    }
    docs = {d["kind"]: d for cluster in switched.clusters for d in switched.documents(cluster)}
    for kind, field in expected[switched.cloud]:
        assert f"spec.forProvider.{field}" in replacement_fields(kind, docs[kind]["apiVersion"]), (kind, field)


# --- control plane, network, edge ----------------------------------------------------------------


def test_production_api_server_is_private_encrypted_and_protected(switched: Switched) -> None:
    for cluster in switched.clusters:
        params = switched.parameters[cluster]
        if switched.cloud == "gcp":
            gke = switched.by_kind(cluster, "Cluster")[cluster]["spec"]["forProvider"]
            assert gke["privateClusterConfig"]["enablePrivateNodes"] is True
            assert gke["privateClusterConfig"]["enablePrivateEndpoint"] is (params["cluster"]["environment"] == "prod")
            assert gke["deletionProtection"] is True
            assert gke["minMasterVersion"] == params["infra"]["eks"]["version"]
            assert gke["workloadIdentityConfig"]["workloadPool"] == f"{params['cloud']['account']}.svc.id.goog"
            assert "APISERVER" in gke["loggingConfig"]["enableComponents"]
            key = gke["databaseEncryption"]["keyName"].rsplit("/", 1)[-1]
            assert gke["databaseEncryption"]["state"] == "ENCRYPTED" and key in switched.by_kind(cluster, "CryptoKey")
            assert switched.by_kind(cluster, "ProjectSink"), "audit logs are routed to the locked bucket"
            assert all(b["spec"]["forProvider"]["locked"] for b in switched.by_kind(cluster, "ProjectBucketConfig").values())
        else:
            aks = switched.by_kind(cluster, "KubernetesCluster")[cluster]["spec"]["forProvider"]
            assert aks["privateClusterEnabled"] is (params["cluster"]["environment"] == "prod")
            assert aks["kubernetesVersion"] == params["infra"]["eks"]["version"]
            assert aks["oidcIssuerEnabled"] is True and aks["workloadIdentityEnabled"] is True
            assert aks["localAccountDisabled"] is True and aks["azureActiveDirectoryRoleBasedAccessControl"]["azureRbacEnabled"]
            (audit,) = [d for d in switched.by_kind(cluster, "MonitorDiagnosticSetting").values()
                        if d["spec"]["forProvider"]["targetResourceId"].endswith(f"/managedClusters/{cluster}")]  # fmt: skip
            assert "kube-audit" in {log["category"] for log in audit["spec"]["forProvider"]["enabledLog"]}
            workspace = audit["spec"]["forProvider"]["logAnalyticsWorkspaceId"].rsplit("/", 1)[-1]
            assert workspace in switched.by_kind(cluster, "Workspace")


def test_cluster_ranges_lie_in_the_address_plan_and_do_not_overlap(switched: Switched) -> None:
    for cluster in switched.clusters:
        network = ipaddress.ip_network(switched.parameters[cluster]["infra"]["networks"][cluster])
        ranges = []
        if switched.cloud == "gcp":
            (subnet,) = switched.by_kind(cluster, "Subnetwork").values()
            body = subnet["spec"]["forProvider"]
            ranges = [body["ipCidrRange"], *(r["ipCidrRange"] for r in body["secondaryIpRange"])]
            gke = switched.by_kind(cluster, "Cluster")[cluster]["spec"]["forProvider"]
            ranges.append(gke["privateClusterConfig"]["masterIpv4CidrBlock"])
            names = {r["rangeName"] for r in body["secondaryIpRange"]}
            policy = gke["ipAllocationPolicy"]
            assert {policy["clusterSecondaryRangeName"], policy["servicesSecondaryRangeName"]} <= names
        else:
            (vnet,) = switched.by_kind(cluster, "VirtualNetwork").values()
            (subnet,) = switched.by_kind(cluster, "Subnet").values()
            assert subnet["spec"]["forProvider"]["addressPrefixes"] == vnet["spec"]["forProvider"]["addressSpace"]
            profile = switched.by_kind(cluster, "KubernetesCluster")[cluster]["spec"]["forProvider"]["networkProfile"]
            ranges = [*vnet["spec"]["forProvider"]["addressSpace"], profile["podCidr"], profile["serviceCidr"]]
            assert ipaddress.ip_address(profile["dnsServiceIp"]) in ipaddress.ip_network(profile["serviceCidr"])
        parsed = [ipaddress.ip_network(r) for r in ranges]
        assert len(parsed) >= 3
        assert all(r.subnet_of(network) for r in parsed)  # type: ignore[arg-type]
        assert all(not a.overlaps(b) for i, a in enumerate(parsed) for b in parsed[i + 1 :])


def test_private_nodes_reach_the_internet_through_nat(switched: Switched) -> None:
    for cluster in switched.clusters:
        if switched.cloud == "gcp":
            (nat,) = switched.by_kind(cluster, "RouterNAT").values()
            body = nat["spec"]["forProvider"]
            assert body["routerRef"]["name"] in switched.by_kind(cluster, "Router")
            subnets = {s["nameRef"]["name"] for s in body["subnetwork"]}
            assert subnets == set(switched.by_kind(cluster, "Subnetwork"))
        else:
            (nat,) = switched.by_kind(cluster, "NATGateway")
            (association,) = switched.by_kind(cluster, "SubnetNATGatewayAssociation").values()
            assert association["spec"]["forProvider"]["natGatewayIdRef"]["name"] == nat
            assert association["spec"]["forProvider"]["subnetIdRef"]["name"] in switched.by_kind(cluster, "Subnet")
            assert switched.by_kind(cluster, "NATGatewayPublicIPAssociation")
            profile = switched.by_kind(cluster, "KubernetesCluster")[cluster]["spec"]["forProvider"]["networkProfile"]
            assert profile["outboundType"] == "userAssignedNATGateway"


def test_the_edge_has_a_per_client_rate_rule_and_the_waf_rules_of_the_inventory(switched: Switched) -> None:
    for cluster in switched.clusters:
        infra = switched.parameters[cluster]["infra"]
        if switched.cloud == "gcp":
            (policy,) = switched.by_kind(cluster, "SecurityPolicy").values()
            rules = policy["spec"]["forProvider"]["rule"]
            (rate,) = [r for r in rules if r["action"] in ("rate_based_ban", "throttle")]
            options = rate["rateLimitOptions"]
            assert options["enforceOnKey"] == "IP"
            assert options["rateLimitThreshold"] == {"count": infra["edge"]["rate_limit_per_5_minutes"], "intervalSec": 300}
            waf = [r["match"]["expr"]["expression"] for r in rules if "expr" in r["match"]]
            assert waf == [f"evaluatePreconfiguredWaf('{w}')" for w in infra["gcp"]["waf_rules"]]
            assert max(r["priority"] for r in rules) == 2147483647, "Cloud Armor needs its default rule"
        else:
            (policy,) = switched.by_kind(cluster, "FrontdoorFirewallPolicy").values()
            body = policy["spec"]["forProvider"]
            assert body["mode"] == "Prevention"
            (rate,) = [r for r in body["customRule"] if r["type"] == "RateLimitRule"]
            assert (rate["rateLimitThreshold"], rate["rateLimitDurationInMinutes"]) == (
                infra["edge"]["rate_limit_per_5_minutes"],
                5,
            )
            assert [r["type"] for r in body["managedRule"]] == [r["type"] for r in infra["azure"]["managed_rule_sets"]]
            (security,) = switched.by_kind(cluster, "FrontdoorSecurityPolicy").values()
            firewall = security["spec"]["forProvider"]["securityPolicies"]["firewall"]
            assert firewall["cdnFrontdoorFirewallPolicyIdRef"]["name"] == policy["metadata"]["name"]
            endpoints = firewall["association"]["domain"]
            assert all(
                d["cdnFrontdoorDomainId"].rsplit("/", 1)[-1] in switched.by_kind(cluster, "FrontdoorEndpoint") for d in endpoints
            )
            (route,) = switched.by_kind(cluster, "FrontdoorRoute").values()
            assert route["spec"]["forProvider"]["forwardingProtocol"] == "HttpsOnly"


# --- storage -------------------------------------------------------------------------------------


def object_storage_rows(repo: Path, cluster: str) -> Iterator[list[str]]:
    for line in (repo / "docs" / "object-storage.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1] == cluster:
            yield cells


def test_every_bucket_is_private_encrypted_with_its_own_key_versioned_and_expires_old_versions(switched: Switched) -> None:
    for cluster in switched.clusters:
        buckets = switched.by_kind(cluster, "Bucket" if switched.cloud == "gcp" else "Container")
        assert buckets
        for cells in object_storage_rows(switched.repo, cluster):
            if "(read)" not in cells[4]:
                assert cells[4].strip("`") in buckets, f"{cluster}: {cells[4]} is in docs/object-storage.md but not created"
        if switched.cloud == "gcp":
            keys = switched.by_kind(cluster, "CryptoKey")
            for name, bucket in buckets.items():
                body = bucket["spec"]["forProvider"]
                assert body["publicAccessPrevention"] == "enforced" and body["uniformBucketLevelAccess"] is True, name
                assert body["versioning"] == {"enabled": True} and body["forceDestroy"] is False, name
                key = body["encryption"]["defaultKmsKeyName"]
                assert key.rsplit("/", 1)[-1] in keys, f"{name}: encrypted with a key the layer does not create"
                assert f"/locations/{body['location'].lower()}/" in key, f"{name}: its key must be in its location"
                deletes = [r for r in body["lifecycleRule"] if r["action"]["type"] == "Delete"]
                assert deletes and all("daysSinceNoncurrentTime" in r["condition"] for r in deletes), name
        else:
            accounts = switched.by_kind(cluster, "Account")
            assert accounts
            for account in accounts.values():
                body = account["spec"]["forProvider"]
                assert body["allowNestedItemsToBePublic"] is False and body["sharedAccessKeyEnabled"] is False
                assert body["minTlsVersion"] == "TLS1_2" and body["httpsTrafficOnlyEnabled"] is True
                assert body["infrastructureEncryptionEnabled"] is True and body["blobProperties"]["versioningEnabled"] is True
                assert body["customerManagedKey"]["keyVaultKeyId"].endswith("/keys/data"), "the key once its identity may use it"
                assert body["networkRules"]["defaultAction"] == "Deny"
            assert all(c["spec"]["forProvider"]["containerAccessType"] == "private" for c in buckets.values())
            for name, policy in switched.by_kind(cluster, "ManagementPolicy").items():
                prefixes = {p for rule in policy["spec"]["forProvider"]["rule"] for p in rule["filters"]["prefixMatch"]
                            if "deleteAfterDaysSinceCreation" in rule["actions"]["version"]}  # fmt: skip
                held = {c for c, body in buckets.items() if body["spec"]["forProvider"]["storageAccountIdRef"]["name"] == name}
                assert held and prefixes == {f"{c}/" for c in held}, f"{name}: old versions expire in every container"


def test_replicated_buckets_are_copied_to_their_dr_bucket(switched: Switched) -> None:
    checked = 0
    for cluster in switched.clusters:
        for cells in object_storage_rows(switched.repo, cluster):
            if len(cells) > 9 and cells[9].startswith("to `"):
                source, target = cells[4].strip("`"), cells[9].split("`")[1]
                if switched.cloud == "gcp":
                    jobs = [j["spec"]["forProvider"]["replicationSpec"] for j in switched.by_kind(cluster, "Job").values()]
                    pairs = {(j["gcsDataSource"]["bucketNameRef"]["name"], j["gcsDataSink"]["bucketNameRef"]["name"])
                             for j in jobs}  # fmt: skip
                    assert (source, target) in pairs
                else:
                    assert azure_replicates(switched, cluster, source, target)
                checked += 1
    assert checked, "no replicated bucket in the switched environment: the check would be empty"


def azure_replicates(switched: Switched, cluster: str, source: str, target: str) -> bool:
    """Object replication fills `target`, a container of an account in the DR region, from `source`,
    a container of an account in the cluster's region (the account's own geo-redundancy fills nothing)."""
    containers, accounts = switched.by_kind(cluster, "Container"), switched.by_kind(cluster, "Account")

    def account_of(container: str) -> str:
        return str(containers[container]["spec"]["forProvider"]["storageAccountIdRef"]["name"])

    region = switched.parameters[cluster]["cluster"]["region"]
    (other,) = set(switched.parameters[cluster]["data"]["regions"].values()) - {region}
    assert accounts[account_of(source)]["spec"]["forProvider"]["location"] == region
    assert accounts[account_of(target)]["spec"]["forProvider"]["location"] == other
    pairs = set()
    for replication in switched.by_kind(cluster, "ObjectReplication").values():
        body = replication["spec"]["forProvider"]
        between = (body["sourceStorageAccountIdRef"]["name"], body["destinationStorageAccountIdRef"]["name"])
        for rule in body["rules"]:
            pair = (rule["sourceContainerNameRef"]["name"], rule["destinationContainerNameRef"]["name"])
            if between == (account_of(pair[0]), account_of(pair[1])):
                pairs.add(pair)
    return (source, target) in pairs


def test_azure_dr_containers_live_in_the_dr_region_where_the_data_layer_reads_them(switched: Switched) -> None:
    """Every `-dr` URL the compiled data layer uses names a container of the DR-region account."""
    if switched.cloud != "azure":
        pytest.skip("only Azure keeps containers in an account of their own")
    checked = 0
    for cluster in switched.clusters:
        for path in sorted((switched.repo / "compiled").rglob("*.yaml")):
            for url in re.findall(r"https://([a-z0-9]+)\.blob\.core\.windows\.net/([a-z0-9-]+-dr)\b", path.read_text()):
                account, container = url
                if container not in switched.by_kind(cluster, "Container"):
                    continue
                owner = switched.by_kind(cluster, "Container")[container]["spec"]["forProvider"]["storageAccountIdRef"]["name"]
                assert account == owner, f"{path}: {container} addressed in {account}, created in {owner}"
                region = switched.parameters[cluster]["cluster"]["region"]
                (other,) = set(switched.parameters[cluster]["data"]["regions"].values()) - {region}
                assert switched.by_kind(cluster, "Account")[owner]["spec"]["forProvider"]["location"] == other
                checked += 1
    assert checked, "no `-dr` container URL in the compiled tree: the check would be empty"


# --- workload identity ---------------------------------------------------------------------------


def test_every_workload_identity_annotation_has_its_cloud_identity_and_binding(switched: Switched) -> None:
    key = ANNOTATION[switched.cloud]
    for cluster in switched.clusters:
        found = set()
        bound = set()
        for path in sorted((switched.repo / "compiled" / cluster).rglob("*.yaml")):
            for doc in load_all(path):
                found |= set(annotated(doc, key))
                if doc.get("kind") == "ServiceAccount" and key in doc["metadata"].get("annotations", {}):
                    bound.add((doc["metadata"]["namespace"], doc["metadata"]["name"]))
        assert found, f"{cluster}: no workload-identity annotation; the check would be empty"
        if switched.cloud == "gcp":
            project = switched.parameters[cluster]["cloud"]["account"]
            accounts = {f"{n}@{project}.iam.gserviceaccount.com" for n in switched.by_kind(cluster, "ServiceAccount")}
            assert found <= accounts, f"{cluster}: no service account for {sorted(found - accounts)}"
            members = {
                m["spec"]["forProvider"]["member"]
                for m in switched.by_kind(cluster, "ServiceAccountIAMMember").values()
                if m["spec"]["forProvider"]["role"] == "roles/iam.workloadIdentityUser"
            }
            for namespace, name in sorted(bound):
                assert f"serviceAccount:{project}.svc.id.goog[{namespace}/{name}]" in members, (namespace, name)
        else:
            # The annotation carries a client ID recorded after the first sync, never the identity's name.
            clients = {client: name for name, client in switched.parameters[cluster]["cloud"]["client_ids"].items()}
            assert found <= set(clients), f"{cluster}: annotations that are no recorded client ID: {sorted(found - set(clients))}"
            assert {clients[c] for c in found} <= set(switched.by_kind(cluster, "UserAssignedIdentity"))
            issuer = switched.parameters[cluster]["cloud"]["oidc_issuer"]
            credentials = {
                c["spec"]["forProvider"]["subject"] for c in switched.by_kind(cluster, "FederatedIdentityCredential").values()
                if c["spec"]["forProvider"]["issuer"] == issuer
            }  # fmt: skip
            for namespace, name in sorted(bound):
                assert f"system:serviceaccount:{namespace}:{name}" in credentials, (namespace, name)


def test_azure_grants_follow_the_principal_ids_of_the_first_sync(switched: Switched) -> None:
    """Before the first sync knows them, no role assignment names a principal nobody has; after, each
    identity of the layer gets its grants (the deployer's, an existing principal, is there from the start)."""
    if switched.cloud != "azure":
        pytest.skip("only Azure role assignments take a literal principal ID")
    for cluster in switched.clusters:
        before = switched.first_sync[cluster]
        assert before.count("RoleAssignment") == 1 and "FederatedIdentityCredential" not in before
        params = switched.parameters[cluster]
        principals = params["cloud"]["principal_ids"]
        deployer = params["infra"]["azure"]["deployer_object_id"]
        assigned = {r["spec"]["forProvider"]["principalId"] for r in switched.by_kind(cluster, "RoleAssignment").values()}
        assert assigned <= set(principals.values()) | {deployer}, "a grant names a principal the layer did not create"
        # AKS joins the subnet on its control plane's identity; the storage account unwraps its key on its own.
        assert {principals[f"{cluster}-control-plane"], principals[f"{cluster}-storage-cmk"], deployer} <= assigned
        assert len(assigned) > 3, "the workload identities get their data roles too"


def test_azure_client_id_annotations_wait_for_the_recorded_client_ids(switched: Switched) -> None:
    """Before the first sync no client ID is known: no ServiceAccount names an identity the webhook cannot use."""
    if switched.cloud != "azure":
        pytest.skip("only Azure's annotation carries an ID assigned by the cloud")
    for cluster in switched.clusters:
        assert switched.first_annotations[cluster] == set(), f"{cluster}: annotated before any client ID was recorded"
        assert workload_annotations(switched.repo, cluster, ANNOTATION["azure"]), f"{cluster}: none after the first sync"


def test_azure_capability_check_accepts_recorded_client_ids_and_finds_names_and_unknown_ids(
    switched: Switched, tmp_path: Path
) -> None:
    if switched.cloud != "azure":
        pytest.skip("only Azure's annotation carries an ID assigned by the cloud")
    cluster = switched.clusters[0]
    infra = switched.folder(cluster)
    assert client_id_gaps(switched.repo / "compiled" / cluster, infra) == []
    accounts = [p for p in sorted((switched.repo / "compiled" / cluster).rglob("*.yaml"))
                if ANNOTATION["azure"] in p.read_text()]  # fmt: skip
    assert accounts, "no annotated ServiceAccount: the check would be empty"
    client = sorted(v for d in load_all(accounts[0]) for v in annotated(d, ANNOTATION["azure"]))[0]
    for wrong, gap in [(f"{cluster}-external-secrets", "not a client ID"), ("0d000000-0000-4000-8000-000000000000", "no user")]:
        copy = tmp_path / wrong / cluster
        shutil.copytree(switched.repo / "compiled" / cluster, copy)
        changed = copy / accounts[0].relative_to(switched.repo / "compiled" / cluster)
        changed.write_text(changed.read_text().replace(client, wrong))
        (found,) = client_id_gaps(copy, infra)
        assert wrong in found and gap in found, found


def client_id_gaps(cluster_dir: Path, infra_dir: Path) -> list[str]:
    return [g for g in capability_gaps(cluster_dir, infra_dir) if g.startswith(ANNOTATION["azure"])]


STORE_NAME = {"gcp": re.compile(r"^[A-Za-z0-9_-]{1,255}$"), "azure": re.compile(r"^[0-9A-Za-z-]{1,127}$")}


def test_external_secrets_read_valid_store_names_and_the_cloud_grants_exactly_those(switched: Switched) -> None:
    """Secret paths have `/`, which neither Secret Manager nor Key Vault accepts: the ExternalSecrets read the
    mapped names, and the grants of the cluster's secret reader name the same ones."""
    for cluster in switched.clusters:
        keys = {str(item["remoteRef"]["key"])
                for path in sorted((switched.repo / "compiled" / cluster).rglob("*.yaml")) for d in load_all(path)
                if d.get("kind") == "ExternalSecret" for item in d["spec"].get("data", [])}  # fmt: skip
        assert keys, f"{cluster}: no ExternalSecret"
        invalid = sorted(k for k in keys if not STORE_NAME[switched.cloud].match(k))
        assert invalid == [], f"{cluster}: not a {switched.cloud} secret name: {invalid}"
        if switched.cloud == "gcp":
            number = switched.parameters[cluster]["cloud"]["project_number"]
            (grant,) = [m["spec"]["forProvider"] for m in switched.by_kind(cluster, "ProjectIAMMember").values()
                        if m["spec"]["forProvider"]["role"] == "roles/secretmanager.secretAccessor"]  # fmt: skip
            expression = grant["condition"]["expression"]
            assert expression.count("||") + expression.count("&&") <= 12, "IAM allows 12 logical operators"
            exact = set(re.findall(rf'resource\.name == "projects/{number}/secrets/([^"]+)"', expression))
            prefixes = [p for p in re.findall(rf'startsWith\("projects/{number}/secrets/([^"]+)"\)', expression)
                        if not p.endswith("/")]  # fmt: skip
            assert prefixes == [store_name("gcp-secret-manager", switched.parameters[cluster]["secrets"]["key_prefix"])]
            granted = {k for k in keys if k in exact or k.startswith(prefixes[0])}
        else:
            granted = {r["spec"]["forProvider"]["scope"].split("/secrets/", 1)[1]
                       for r in switched.by_kind(cluster, "RoleAssignment").values()
                       if r["spec"]["forProvider"]["roleDefinitionName"] == "Key Vault Secrets User"}  # fmt: skip
        assert keys <= granted, f"{cluster}: read but not granted: {sorted(keys - granted)}"


# --- the generated doc ---------------------------------------------------------------------------


def test_infrastructure_doc_lists_the_clusters_on_their_cloud_with_its_rates(switched: Switched) -> None:
    text = (switched.repo / "docs" / "infrastructure.md").read_text()
    assert "must be built by hand" not in text, "a switched cluster was left out of the layer"
    source = switched.parameters[switched.clusters[0]]["pricing"]["infrastructure"]["source"]
    assert source in text, "the estimate must quote the cluster's own cloud's rate table"
    for cluster in switched.clusters:
        (row,) = [line for line in text.splitlines() if line.startswith(f"| {cluster} |")]
        cells = [c.strip() for c in row.split("|")]
        assert cells[2] == switched.cloud
        assert re.fullmatch(r"[0-9,]+", cells[-2]) and int(cells[-2].replace(",", "")) > 0, row
