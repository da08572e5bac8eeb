"""One workload cluster's Azure layer as Crossplane v2 managed resources (`*.azure.m.upbound.io`).

The same layer as mnops.infra.aws in AKS's terms: a resource group, a virtual network whose one
node subnet egresses through a NAT gateway and admits only Front Door, a private AKS cluster with
workload identity, its OIDC issuer and audit logs in Log Analytics, a user node pool, Key Vault and
its key, the storage account holding the containers of docs/object-storage.md, the DNS zone, and
Front Door with a WAF policy in front of the gateway. Everything is in the management cluster's
`infra-<cluster>` namespace; Azure resource IDs are written out where a field takes no reference
(they follow from the names).

Three things Azure only knows once the first sync created them come from the target file afterwards:
role assignments take a literal principal ID (provider-upjet-azure has no reference for it), so a
grant is emitted once its identity's ID is in `cloud.principal_ids`; the workload cluster's
`azure.workload.identity/client-id` annotations carry each identity's client ID (`cloud.client_ids`,
see mnops.workload_identity); and federated credentials need the cluster's OIDC issuer URL
(`cloud.oidc_issuer`).

Managed PostgreSQL and Redis (Azure Database for PostgreSQL, Azure Cache for Redis) are not generated
yet: a managed choice in `infra.data_services` builds no database on this cloud (refusing it outside
AWS belongs to the managed-data rules).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from mnops import workload_identity
from mnops.data import storage_account
from mnops.infra.azure_groups import resource_groups
from mnops.infra.identities import buckets_for, portable_identities
from mnops.infra.model import CloudIdentity, ClusterInfra
from mnops.infra.network import allocate
from mnops.infra.protection import management_policies
from mnops.k8s.crossplane import managed_resource
from mnops.k8s.meta import Identity
from mnops.security.secret_names import store_names

Obj = dict[str, Any]
API_VERSION = "v1beta1"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 - Entra ID's token-exchange audience, not a secret
# Control-plane logs the AKS diagnostic setting sends to Log Analytics (kube-audit: every API request).
AKS_LOGS = (
    "kube-audit",
    "kube-audit-admin",
    "kube-apiserver",
    "guard",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
)
FRONT_DOOR_SKU = "Premium_AzureFrontDoor"  # managed WAF rule sets need Premium
LOG_RETENTION_RANGE = (30, 730)  # Log Analytics accepts 30 to 730 days


def ranges(infra: ClusterInfra) -> dict[str, str]:
    """The cluster's network cut into the nodes' virtual network and the pod and service ranges
    (Azure CNI overlay: pods and services are outside the virtual network, inside the plan's range)."""
    return allocate(infra.cidr, infra.settings["azure"]["ranges"], "parameters.infra.azure.ranges")


def vault_name(infra: ClusterInfra) -> str:
    """The Key Vault External Secrets reads (`cloud.secret_store.vault_url`)."""
    return str(urlparse(infra.parameters["cloud"]["secret_store"]["vault_url"]).hostname).split(".", 1)[0]


def identity_name(infra: ClusterInfra, namespace: str, workload: str) -> str:
    """The user-assigned identity whose client ID the workload cluster's annotation carries once recorded."""
    return workload_identity.identity_name(infra.parameters["cloud"], infra.name, namespace, workload)


class AzureLayer:
    """Builds the objects of one cluster; each method returns the objects of one concern."""

    def __init__(self, infra: ClusterInfra, identity: Identity, provider_config: str, tenant_id: str) -> None:
        self.infra = infra
        self.identity = identity
        self.provider_config = provider_config
        self.tenant_id = tenant_id
        self.settings: Mapping[str, Any] = infra.settings["azure"]
        self.ranges = ranges(infra)
        self.groups = resource_groups(infra.project, infra.name)
        self.group = self.groups.cluster
        self.principals: Mapping[str, str] = infra.parameters["cloud"].get("principal_ids", {})
        self.client_ids: Mapping[str, str] = infra.parameters["cloud"].get("client_ids", {})

    # --- helpers ---------------------------------------------------------------------------
    def tags(self) -> dict[str, str]:
        i = self.infra
        return {"cluster": i.name, "environment": i.environment, "project": i.project, "managed-by": "crossplane"}

    def mr(
        self,
        group: str,
        kind: str,
        name: str,
        for_provider: Mapping[str, Any],
        *,
        located: bool = True,
        annotations: Mapping[str, str] | None = None,
    ) -> Obj:
        """A managed resource in the cluster's resource group (`located`: it also takes a location and tags)."""
        body = dict(for_provider)
        if located:
            body = {"location": self.infra.region, "resourceGroupNameRef": self.ref(self.group), "tags": self.tags(), **body}
        return managed_resource(
            f"{group}.azure.m.upbound.io/{API_VERSION}" if group else f"azure.m.upbound.io/{API_VERSION}",
            kind,
            name,
            self.infra.namespace,
            self.identity,
            for_provider=body,
            management_policies=management_policies(kind, self.infra.prod),
            provider_config_name=self.provider_config,
            annotations=annotations,
        )

    @staticmethod
    def ref(name: str) -> dict[str, str]:
        return {"name": name}

    def resource_id(self, path: str, group: str | None = None) -> str:
        """An Azure resource ID, for the fields that take no reference."""
        return f"/subscriptions/{self.infra.account}/resourceGroups/{group or self.group}/providers/{path}"

    def identity_id(self, name: str) -> str:
        return self.resource_id(f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")

    def role(self, name: str, role: str, scope: str, identity: str) -> list[Obj]:
        """A role assignment for one of the layer's identities, once its principal ID is known."""
        principal = self.principals.get(identity)
        if not principal:
            return []
        body = {"scope": scope, "roleDefinitionName": role, "principalId": principal, "principalType": "ServicePrincipal"}
        return [self.mr("authorization", "RoleAssignment", name, body, located=False)]

    # --- network ---------------------------------------------------------------------------
    def network(self) -> list[Obj]:
        i, r = self.infra, self.ranges
        per_zone = i.settings["nat"] == "per-zone"
        objs = [
            self.mr("", "ResourceGroup", self.group, {"location": i.region, "tags": self.tags()}, located=False),
            self.mr("network", "VirtualNetwork", "vnet", {"addressSpace": [r["nodes"]]}),
            self.mr(
                "network",
                "Subnet",
                "nodes",
                {
                    "resourceGroupNameRef": self.ref(self.group),
                    "virtualNetworkNameRef": self.ref("vnet"),
                    "addressPrefixes": [r["nodes"]],
                    # Egress only through the NAT gateway; Key Vault and Storage over service endpoints.
                    "defaultOutboundAccessEnabled": False,
                    "serviceEndpoints": ["Microsoft.KeyVault", "Microsoft.Storage"],
                },
                located=False,
            ),
            # StandardV2 NAT gateways and addresses are zone-redundant: `nat: per-zone` survives a zone loss
            # with the one gateway a subnet can have; Standard lives in one zone.
            self.mr(
                "network",
                "PublicIP",
                "nat",
                {
                    "allocationMethod": "Static",
                    "sku": "StandardV2" if per_zone else "Standard",
                    "zones": self.zones() if per_zone else [],
                },
            ),
            self.mr(
                "network",
                "NATGateway",
                "nat",
                {
                    "skuName": "StandardV2" if per_zone else "Standard",
                    "idleTimeoutInMinutes": 4,
                    "zones": self.zones() if per_zone else [],
                },
            ),
            self.mr(
                "network",
                "NATGatewayPublicIPAssociation",
                "nat",
                {"natGatewayIdRef": self.ref("nat"), "publicIpAddressIdRef": self.ref("nat")},
                located=False,
            ),
            self.mr(
                "network",
                "SubnetNATGatewayAssociation",
                "nodes",
                {"natGatewayIdRef": self.ref("nat"), "subnetIdRef": self.ref("nodes")},
                located=False,
            ),
        ]
        return objs + self.security_group()

    def zones(self) -> list[str]:
        """Azure's zone numbers from the cluster's zones (AKS labels nodes `<region>-<n>`)."""
        return [z.zone.rsplit("-", 1)[-1] for z in self.infra.zones]

    def security_group(self) -> list[Obj]:
        """Azure's default rules admit the virtual network and the load balancer's probes; these admit
        HTTPS from Front Door's back ends only, and deny the rest of the internet explicitly."""
        rules = [
            ("allow-front-door-https", 100, "Allow", "Tcp", "AzureFrontDoor.Backend", "443", "HTTPS from Front Door only"),
            ("deny-internet-inbound", 4000, "Deny", "*", "Internet", "*", "nothing else from the internet"),
        ]
        objs = [self.mr("network", "SecurityGroup", "nodes", {})]
        for name, priority, access, protocol, source, port, text in rules:
            objs.append(
                self.mr(
                    "network",
                    "SecurityRule",
                    name,
                    {
                        "resourceGroupNameRef": self.ref(self.group),
                        "networkSecurityGroupNameRef": self.ref("nodes"),
                        "description": text,
                        "direction": "Inbound",
                        "priority": priority,
                        "access": access,
                        "protocol": protocol,
                        "sourceAddressPrefix": source,
                        "sourcePortRange": "*",
                        "destinationAddressPrefix": "*",
                        "destinationPortRange": port,
                    },
                    located=False,
                )
            )
        objs.append(
            self.mr(
                "network",
                "SubnetNetworkSecurityGroupAssociation",
                "nodes",
                {"subnetIdRef": self.ref("nodes"), "networkSecurityGroupIdRef": self.ref("nodes")},
                located=False,
            )
        )
        return objs

    # --- keys --------------------------------------------------------------------------------
    def keys(self) -> list[Obj]:
        """The cluster's Key Vault (External Secrets reads it) and the key the storage account encrypts with."""
        i = self.infra
        vault = vault_name(i)
        cmk = f"{i.name}-storage-cmk"
        return [
            self.mr(
                "keyvault",
                "Vault",
                vault,
                {
                    "tenantId": self.tenant_id,
                    "skuName": "premium",
                    # Access by Azure RBAC only; a deleted vault or key stays recoverable for 90 days and
                    # cannot be purged before. Crossplane manages keys from outside the network: RBAC gates it.
                    "rbacAuthorizationEnabled": True,
                    "purgeProtectionEnabled": True,
                    "softDeleteRetentionDays": 90,
                },
            ),
            self.mr(
                "keyvault",
                "Key",
                "data",
                {
                    "name": "data",
                    "keyVaultIdRef": self.ref(vault),
                    "keyType": "RSA-HSM",
                    "keySize": 3072,
                    "keyOpts": ["unwrapKey", "wrapKey"],
                    "rotationPolicy": {
                        "automatic": {"timeAfterCreation": "P90D"},
                        "expireAfter": "P2Y",
                        "notifyBeforeExpiry": "P30D",
                    },
                    "tags": self.tags(),
                },
                located=False,
            ),
            self.mr("managedidentity", "UserAssignedIdentity", cmk, {"name": cmk}),
            *self.role(
                f"{cmk}-uses-key",
                "Key Vault Crypto Service Encryption User",
                self.resource_id(f"Microsoft.KeyVault/vaults/{vault}"),
                cmk,
            ),
        ]

    # --- AKS ---------------------------------------------------------------------------------
    def cluster(self) -> list[Obj]:
        i, r = self.infra, self.ranges
        control = i.settings["eks"]  # the control-plane settings every cloud reads (version, endpoint, logs)
        nodes = i.settings["nodes"]
        plane = f"{i.name}-control-plane"
        workspace = f"{i.name}-logs"
        cluster_id = self.resource_id(f"Microsoft.ContainerService/managedClusters/{i.name}")
        workspace_id = self.resource_id(f"Microsoft.OperationalInsights/workspaces/{workspace}")
        low, high = LOG_RETENTION_RANGE
        body: dict[str, Any] = {
            "dnsPrefix": i.name,
            "kubernetesVersion": control["version"],
            "skuTier": self.settings["sku_tier"],
            "automaticUpgradeChannel": "patch",
            "nodeOsUpgradeChannel": "NodeImage",
            "nodeResourceGroup": self.groups.nodes,
            "identity": {"type": "UserAssigned", "identityIdsRefs": [self.ref(plane)]},
            "defaultNodePool": {
                "name": "system",
                "vmSize": self.vm_size(nodes["instance_types"][0]),
                "autoScalingEnabled": True,
                "minCount": nodes["min_size"],
                "maxCount": nodes["max_size"],
                "nodeCount": nodes["desired_size"],
                "zones": self.zones(),
                "vnetSubnetIdRef": self.ref("nodes"),
                "osDiskSizeGb": nodes["disk_gib"],
                "osSku": "AzureLinux",
                "onlyCriticalAddonsEnabled": True,
                "temporaryNameForRotation": "systemtmp",
                "upgradeSettings": {"maxSurge": "33%"},
                "nodeLabels": {"node-role": "system"},
            },
            "networkProfile": {
                "networkPlugin": "azure",
                "networkPluginMode": "overlay",
                # Cilium enforces the compiled NetworkPolicies.
                "networkDataPlane": "cilium",
                "networkPolicy": "cilium",
                "podCidr": r["pods"],
                "serviceCidr": r["services"],
                "dnsServiceIp": _nth_address(r["services"], 10),
                "loadBalancerSku": "standard",
                "outboundType": "userAssignedNATGateway",
            },
            "privateClusterEnabled": not control["public_endpoint"],
            "oidcIssuerEnabled": True,
            "workloadIdentityEnabled": True,
            # Entra ID accounts only, authorised by Azure RBAC: no local admin certificate to leak.
            "localAccountDisabled": True,
            "azureActiveDirectoryRoleBasedAccessControl": {
                "azureRbacEnabled": True,
                "tenantId": self.tenant_id,
                "adminGroupObjectIds": list(self.settings["admin_group_object_ids"]),
            },
            "azurePolicyEnabled": self.settings["azure_policy"],
            "storageProfile": {"diskDriverEnabled": True, "snapshotControllerEnabled": True},
            "imageCleanerEnabled": True,
            "imageCleanerIntervalHours": 48,
            "tags": self.tags(),
        }
        if self.settings["defender"]:
            body["microsoftDefender"] = {"logAnalyticsWorkspaceId": workspace_id}
        objs = [
            self.mr(
                "operationalinsights",
                "Workspace",
                workspace,
                {"sku": "PerGB2018", "retentionInDays": min(max(control["log_retention_days"], low), high)},
            ),
            self.mr("managedidentity", "UserAssignedIdentity", plane, {"name": plane}),
            # AKS joins nodes and load balancers to our subnet and NAT gateway on its own identity's behalf.
            *self.role(
                f"{plane}-network", "Network Contributor", self.resource_id("Microsoft.Network/virtualNetworks/vnet"), plane
            ),
            self.mr("containerservice", "KubernetesCluster", i.name, body),
            self.mr(
                "containerservice",
                "KubernetesClusterNodePool",
                "apps",
                {
                    "kubernetesClusterIdRef": self.ref(i.name),
                    "mode": "User",
                    "vmSize": self.settings["apps_pool"]["vm_size"],
                    # Capacity on demand up to the inventory's vCPU limit (Karpenter's role on EKS).
                    "autoScalingEnabled": True,
                    "minCount": 0,
                    "maxCount": max(1, nodes["karpenter_cpu_limit"] // self.settings["apps_pool"]["vcpus"]),
                    "zones": self.zones(),
                    "vnetSubnetIdRef": self.ref("nodes"),
                    "osDiskSizeGb": nodes["disk_gib"],
                    "osSku": "AzureLinux",
                    "temporaryNameForRotation": "appstmp",
                    "upgradeSettings": {"maxSurge": "33%"},
                    "tags": self.tags(),
                },
                located=False,
            ),
            self.mr(
                "insights",
                "MonitorDiagnosticSetting",
                f"{i.name}-audit",
                {
                    "name": "audit",
                    "targetResourceId": cluster_id,
                    "logAnalyticsWorkspaceId": workspace_id,
                    "logAnalyticsDestinationType": "Dedicated",
                    "enabledLog": [{"category": category} for category in AKS_LOGS],
                },
                located=False,
            ),
            self.mr(
                "insights",
                "MonitorDiagnosticSetting",
                f"{vault_name(i)}-audit",
                {
                    "name": "audit",
                    "targetResourceId": self.resource_id(f"Microsoft.KeyVault/vaults/{vault_name(i)}"),
                    "logAnalyticsWorkspaceId": workspace_id,
                    "enabledLog": [{"category": "AuditEvent"}],
                },
                located=False,
            ),
            # The read-only CI deployer: Azure RBAC reader on the cluster (admins come from the admin groups).
            self.mr(
                "authorization",
                "RoleAssignment",
                f"{i.name}-deployer",
                {
                    "scope": cluster_id,
                    "roleDefinitionName": "Azure Kubernetes Service RBAC Reader",
                    "principalId": self.settings["deployer_object_id"],
                },
                located=False,
            ),
        ]
        return objs

    def vm_size(self, instance_type: str) -> str:
        size: str = self.settings["vm_sizes"][instance_type]
        return size

    # --- workload identities ---------------------------------------------------------------
    def workload_identities(self) -> list[Obj]:
        objs: list[Obj] = []
        for ci in portable_identities(self.infra):
            objs += self.workload_identity(ci)
        return objs

    def workload_identity(self, ci: CloudIdentity) -> list[Obj]:
        """A user-assigned identity the Kubernetes ServiceAccount federates with, and what it may touch."""
        i = self.infra
        name = identity_name(i, ci.namespace, ci.workload)
        # The recorded client ID, on the identity it belongs to: the workload cluster's annotation carries
        # it, and the capability check matches the two in the compiled files.
        client = {workload_identity.RECORDED_CLIENT_ID: self.client_ids[name]} if name in self.client_ids else None
        objs = [self.mr("managedidentity", "UserAssignedIdentity", name, {"name": name}, annotations=client)]
        issuer = i.parameters["cloud"].get("oidc_issuer")
        if issuer:
            objs.append(
                self.mr(
                    "managedidentity",
                    "FederatedIdentityCredential",
                    name,
                    {
                        "parentIdRef": self.ref(name),
                        "resourceGroupNameRef": self.ref(self.group),
                        "audience": [TOKEN_AUDIENCE],
                        "issuer": issuer,
                        "subject": f"system:serviceaccount:{ci.namespace}:{ci.service_account}",
                    },
                    located=False,
                )
            )
        accounts = {b.name: b.account for b in i.buckets}
        for container in buckets_for(i, ci.bucket_purposes):
            account = self.resource_id(f"Microsoft.Storage/storageAccounts/{accounts[container]}")
            scope = f"{account}/blobServices/default/containers/{container}"
            objs += self.role(f"{name}-{container}", "Storage Blob Data Contributor", scope, name)
        if ci.reads_secrets:
            # One assignment per secret, scoped to the name the ExternalSecrets read it under (Key Vault's
            # RBAC scopes single secrets); an assignment waits, retried, until an operator stored its secret.
            vault = self.resource_id(f"Microsoft.KeyVault/vaults/{vault_name(i)}")
            for secret in sorted(set(store_names(i.parameters).values())):
                objs += self.role(f"{name}-secret-{secret.lower()}", "Key Vault Secrets User", f"{vault}/secrets/{secret}", name)
        if ci.writes_dns and i.role == "primary":
            zone = self.resource_id(f"Microsoft.Network/dnsZones/{i.public_zone}", self.dns_group())
            objs += self.role(f"{name}-dns", "DNS Zone Contributor", zone, name)
        if ci.snapshots:
            # The node resource group holds the volumes' disks; Velero's VolumeSnapshotLocation keeps the snapshots there.
            nodes = f"/subscriptions/{i.account}/resourceGroups/{self.groups.nodes}"
            objs += self.role(f"{name}-snapshots", "Disk Snapshot Contributor", nodes, name)
        return objs

    # --- storage -----------------------------------------------------------------------------
    def storage(self) -> list[Obj]:
        """The buckets of docs/object-storage.md as containers of the cluster's storage account, and the
        `-dr` copies as containers of a second account in the DR region (`data.regions.dr`).

        An account's geo-redundancy (GRS) would not do for the copies: its secondary is Azure's fixed paired
        region, not necessarily the DR region, readable only as a whole account after a failover, and it
        would leave the `-dr` containers the data layer reads in the DR region empty. So, as S3 replication
        and Storage Transfer do on the other clouds, object replication copies each replicated container
        into its `-dr` container (a delete at the source leaves the copy's earlier versions, which expire like any
        old version);
        each account is zone-redundant in production and locally redundant elsewhere."""
        i = self.infra
        home = sorted({b.name for b in i.buckets if not b.in_dr_region})
        away = sorted({b.name for b in i.buckets if b.in_dr_region} | {b.replicate_to for b in i.buckets if b.replicate_to})
        days = {b.name: b.noncurrent_version_days for b in i.buckets}
        objs = self.account(storage_account(i.name), i.region, home, days)
        if away and i.dr_region:
            objs += self.account(storage_account(i.name, dr=True), i.dr_region, away, days)
        replicated = [b for b in i.buckets if b.replicate_to]
        if replicated and i.dr_region:
            rules = [
                {
                    "sourceContainerNameRef": self.ref(b.name),
                    "destinationContainerNameRef": self.ref(str(b.replicate_to)),
                    "copyBlobsCreatedAfter": "Everything",
                }
                for b in replicated
            ]
            body = {
                "sourceStorageAccountIdRef": self.ref(storage_account(i.name)),
                "destinationStorageAccountIdRef": self.ref(storage_account(i.name, dr=True)),
                "rules": rules,
            }
            objs.append(self.mr("storage", "ObjectReplication", f"{i.name}-dr", body, located=False))
        return objs

    def account(self, account: str, region: str, containers: list[str], days: Mapping[str, int]) -> list[Obj]:
        """A private, key-less storage account in `region`, its containers, and their old versions' expiry."""
        i = self.infra
        cmk = f"{i.name}-storage-cmk"
        body: dict[str, Any] = {
            "location": region,
            "accountKind": "StorageV2",
            "accountTier": "Standard",
            "accountReplicationType": "ZRS" if i.prod else "LRS",
            "minTlsVersion": "TLS1_2",
            "httpsTrafficOnlyEnabled": True,
            "allowNestedItemsToBePublic": False,
            "sharedAccessKeyEnabled": False,  # Entra ID (workload identity) only: no account key to leak
            "defaultToOauthAuthentication": True,
            "crossTenantReplicationEnabled": False,
            "infrastructureEncryptionEnabled": True,
            "networkRules": {
                "defaultAction": "Deny",
                "bypass": ["AzureServices"],
                "virtualNetworkSubnetIdsRefs": [self.ref("nodes")],
            },
            # Object replication needs versions on both sides and the source's change feed.
            "blobProperties": {
                "versioningEnabled": True,
                "changeFeedEnabled": True,
                "deleteRetentionPolicy": {"days": 7},
                "containerDeleteRetentionPolicy": {"days": 7},
            },
            "identity": {"type": "UserAssigned", "identityIds": [self.identity_id(cmk)]},
        }
        if cmk in self.principals:
            # The key wraps the account's data keys once its identity may use it (versionless: rotates).
            body["customerManagedKey"] = {
                "keyVaultKeyId": f"https://{vault_name(i)}.vault.azure.net/keys/data",
                "userAssignedIdentityId": self.identity_id(cmk),
            }
        objs = [self.mr("storage", "Account", account, body)]
        objs += [
            self.mr(
                "storage",
                "Container",
                name,
                {"storageAccountIdRef": self.ref(account), "containerAccessType": "private"},
                located=False,
            )
            for name in containers
        ]
        # Old versions make an overwrite or a delete recoverable; they expire after the inventory's
        # noncurrent_version_days (the owners' own retention removes current objects).
        rules = [
            {
                "name": f"oldversions{index}",
                "enabled": True,
                "filters": {"blobTypes": ["blockBlob"], "prefixMatch": [f"{name}/"]},
                "actions": {"version": {"deleteAfterDaysSinceCreation": days.get(name, min(days.values()))}},
            }
            for index, name in enumerate(containers)
        ]
        policy = {"storageAccountIdRef": self.ref(account), "rule": rules}
        objs.append(self.mr("storage", "ManagementPolicy", account, policy, located=False))
        return objs

    # --- DNS and edge ----------------------------------------------------------------------
    def dns_group(self) -> str:
        """The resource group cert-manager's DNS-01 solver looks for the zone in (`tls.dns01`)."""
        return str(self.infra.parameters["tls"]["dns01"].get("resource_group", self.group))

    def dns_and_edge(self) -> list[Obj]:
        i = self.infra
        objs: list[Obj] = []
        if i.role == "primary":
            group = self.dns_group()
            objs += [
                self.mr("", "ResourceGroup", group, {"location": i.region, "tags": self.tags()}, located=False),
                self.mr(
                    "network",
                    "DNSZone",
                    i.public_zone,
                    {"resourceGroupNameRef": self.ref(group), "tags": self.tags()},
                    located=False,
                ),
            ]
        return objs + self.front_door()

    def front_door(self) -> list[Obj]:
        """Front Door Premium in front of the gateway: managed WAF rule sets and a per-client rate limit."""
        i = self.infra
        edge = i.settings["edge"]
        host = i.hostnames[0] if i.hostnames else i.public_zone
        waf = "".join(c for c in i.name if c.isalnum()) + "waf"  # WAF policy names: letters and digits only
        endpoint_id = self.resource_id(f"Microsoft.Cdn/profiles/edge/afdEndpoints/{i.name}")
        rate_rule = {
            "name": "RatePerClientIp",
            "type": "RateLimitRule",
            "priority": 1,
            "action": "Block",
            "rateLimitDurationInMinutes": 5,
            "rateLimitThreshold": edge["rate_limit_per_5_minutes"],
            # Every request: a client address that is not the one impossible address.
            "matchCondition": [
                {
                    "matchVariable": "RemoteAddr",
                    "operator": "IPMatch",
                    "negationCondition": True,
                    "matchValues": ["255.255.255.255/32"],
                }
            ],
        }
        return [
            self.mr(
                "cdn",
                "FrontdoorProfile",
                "edge",
                {
                    "resourceGroupNameRef": self.ref(self.group),
                    "skuName": FRONT_DOOR_SKU,
                    "responseTimeoutSeconds": 60,
                    "tags": self.tags(),
                },
                located=False,
            ),
            self.mr(
                "cdn",
                "FrontdoorEndpoint",
                i.name,
                {"cdnFrontdoorProfileIdRef": self.ref("edge"), "tags": self.tags()},
                located=False,
            ),
            self.mr(
                "cdn",
                "FrontdoorOriginGroup",
                "gateway",
                {
                    "cdnFrontdoorProfileIdRef": self.ref("edge"),
                    "sessionAffinityEnabled": False,
                    "healthProbe": {"protocol": "Https", "path": "/healthz", "requestType": "GET", "intervalInSeconds": 30},
                    "loadBalancing": {"sampleSize": 4, "successfulSamplesRequired": 3},
                },
                located=False,
            ),
            # The gateway's load balancer, by the origin name pointed at it (`infra.edge.origin_hostname`, the one
            # CloudFront uses on AWS): the public names go to Front Door.
            self.mr(
                "cdn",
                "FrontdoorOrigin",
                "gateway",
                {
                    "cdnFrontdoorOriginGroupIdRef": self.ref("gateway"),
                    "hostName": edge.get("origin_hostname") or f"origin.{host}",
                    "originHostHeader": host,
                    "certificateNameCheckEnabled": True,
                    "httpsPort": 443,
                    "priority": 1,
                    "weight": 1000,
                    "enabled": True,
                },
                located=False,
            ),
            self.mr(
                "cdn",
                "FrontdoorRoute",
                "gateway",
                {
                    "cdnFrontdoorEndpointIdRef": self.ref(i.name),
                    "cdnFrontdoorOriginGroupIdRef": self.ref("gateway"),
                    "cdnFrontdoorOriginIdsRefs": [self.ref("gateway")],
                    "patternsToMatch": ["/*"],
                    "supportedProtocols": ["Http", "Https"],
                    "httpsRedirectEnabled": True,
                    "forwardingProtocol": "HttpsOnly",  # never plain HTTP to the origin
                    "linkToDefaultDomain": True,
                },
                located=False,
            ),
            self.mr(
                "cdn",
                "FrontdoorFirewallPolicy",
                waf,
                {
                    "resourceGroupNameRef": self.ref(self.group),
                    "skuName": FRONT_DOOR_SKU,
                    "mode": "Prevention",
                    "enabled": True,
                    "customRule": [rate_rule],
                    "managedRule": [
                        {"type": rules["type"], "version": rules["version"], "action": rules["action"]}
                        for rules in self.settings["managed_rule_sets"]
                    ],
                    "tags": self.tags(),
                },
                located=False,
            ),
            self.mr(
                "cdn",
                "FrontdoorSecurityPolicy",
                "edge",
                {
                    "cdnFrontdoorProfileIdRef": self.ref("edge"),
                    "securityPolicies": {
                        "firewall": {
                            "cdnFrontdoorFirewallPolicyIdRef": self.ref(waf),
                            "association": {"patternsToMatch": ["/*"], "domain": [{"cdnFrontdoorDomainId": endpoint_id}]},
                        }
                    },
                },
                located=False,
            ),
        ]

    def all(self) -> list[Obj]:
        return self.network() + self.keys() + self.cluster() + self.workload_identities() + self.storage() + self.dns_and_edge()


def _nth_address(cidr: str, n: int) -> str:
    return str(ipaddress.IPv4Network(cidr)[n])
