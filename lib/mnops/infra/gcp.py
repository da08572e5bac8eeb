"""One workload cluster's Google Cloud layer as Crossplane v2 managed resources (`*.gcp.m.upbound.io`).

The same layer as mnops.infra.aws, in GKE's terms: a VPC network with one regional subnetwork whose
secondary ranges hold pods and services (all carved from the cluster's range in the address plan),
Cloud Router + Cloud NAT, firewall rules, a regional private GKE cluster with workload identity,
CMEK keys, the buckets of docs/object-storage.md, a Cloud DNS zone, a Cloud Armor policy, and a
Google service account per ServiceAccount that calls the cloud. Everything is in the management
cluster's `infra-<cluster>` namespace and linked by references; GCP names most resources after
their object (the external name), so every name starts with the cluster's.

Managed PostgreSQL and Redis (Cloud SQL and Memorystore) are not generated yet: a managed choice in
`infra.data_services` builds no database on this cloud (refusing it outside AWS belongs to the
managed-data rules), so PostgreSQL and Redis stay with the in-cluster operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.data import Bucket
from mnops.errors import BuildError
from mnops.infra.identities import buckets_for, portable_identities
from mnops.infra.model import CloudIdentity, ClusterInfra
from mnops.infra.network import allocate
from mnops.infra.protection import management_policies
from mnops.k8s.crossplane import managed_resource
from mnops.k8s.meta import Identity
from mnops.security.secret_names import store_name, store_names

Obj = dict[str, Any]
GROUP = "gcp.m.upbound.io"
API_VERSION = "v1beta1"
# Google's health checkers and front ends (documented fixed ranges): load balancers reach the nodes from here.
GOOGLE_HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")
# The logs of every control-plane component GKE can export, the API server's (audit) included.
CONTROL_PLANE_LOGS = ("SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER")
# Node service account: write logs and metrics, pull images; nothing else.
NODE_ROLES = (
    "roles/artifactregistry.reader",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
)
KEY_ROTATION = "7776000s"  # 90 days, as AWS rotates KMS keys yearly at the latest
DEFAULT_RULE_PRIORITY = 2147483647  # Cloud Armor's mandatory last rule
IAM_CONDITION_OPERATORS = 12  # the most logical operators (&&, ||) one IAM condition expression may hold


def ranges(infra: ClusterInfra) -> dict[str, str]:
    """The cluster's network cut into nodes, pods, services and the control plane's /28."""
    return allocate(infra.cidr, infra.settings["gcp"]["ranges"], "parameters.infra.gcp.ranges")


def account_id(infra: ClusterInfra, namespace: str, workload: str) -> str:
    """The Google service account ID the workload-identity annotation of the workload cluster names."""
    template: str = infra.parameters["cloud"]["workload_identity"]["value_template"]
    email = template.format(cluster=infra.name, namespace=namespace, workload=workload)
    name = email.split("@", 1)[0]
    if not 6 <= len(name) <= 30:
        raise BuildError(
            f"{infra.name}: service account ID {name!r} from cloud.workload_identity.value_template must be "
            "6 to 30 characters (GCP)"
        )
    return name


class GcpLayer:
    """Builds the objects of one cluster; each method returns the objects of one concern."""

    def __init__(self, infra: ClusterInfra, identity: Identity, provider_config: str) -> None:
        self.infra = infra
        self.identity = identity
        self.provider_config = provider_config
        self.settings: Mapping[str, Any] = infra.settings["gcp"]
        self.project = infra.account
        self.project_number = str(infra.parameters["cloud"]["project_number"])
        self.ranges = ranges(infra)

    # --- helpers ---------------------------------------------------------------------------
    def name(self, suffix: str) -> str:
        """GCP names the resource after its object: the cluster's name keeps names unique per project."""
        return f"{self.infra.name}-{suffix}"

    def labels(self) -> dict[str, str]:
        i = self.infra
        return {"cluster": i.name, "environment": i.environment, "project": i.project, "managed-by": "crossplane"}

    def mr(self, group: str, kind: str, name: str, for_provider: Mapping[str, Any]) -> Obj:
        return managed_resource(
            f"{group}.{GROUP}/{API_VERSION}",
            kind,
            name,
            self.infra.namespace,
            self.identity,
            for_provider=for_provider,
            management_policies=management_policies(kind, self.infra.prod),
            provider_config_name=self.provider_config,
        )

    @staticmethod
    def ref(name: str) -> dict[str, str]:
        return {"name": name}

    def key_path(self, purpose: str, region: str | None = None) -> str:
        """A CryptoKey's resource name; written out because buckets and GKE take no reference to it."""
        where = region or self.infra.region
        ring = f"projects/{self.project}/locations/{where}/keyRings/{self.key_ring(where)}"
        return f"{ring}/cryptoKeys/{self.key_name(purpose, where)}"

    def key_ring(self, region: str) -> str:
        return self.name("keys") if region == self.infra.region else self.name(f"keys-{region}")

    def key_name(self, purpose: str, region: str) -> str:
        return self.name(purpose) if region == self.infra.region else self.name(f"{purpose}-{region}")

    def service_agent(self, service: str) -> str:
        """Google's per-project service agents, named by the project number."""
        n = self.project_number
        agents = {
            "storage": f"service-{n}@gs-project-accounts.iam.gserviceaccount.com",
            "container": f"service-{n}@container-engine-robot.iam.gserviceaccount.com",
            "logging": f"service-{n}@gcp-sa-logging.iam.gserviceaccount.com",
            "storagetransfer": f"project-{n}@storage-transfer-service.iam.gserviceaccount.com",
        }
        return f"serviceAccount:{agents[service]}"

    def project_member(self, name: str, role: str, member: str, condition: Mapping[str, str] | None = None) -> Obj:
        body: dict[str, Any] = {"project": self.project, "role": role, "member": member}
        if condition:
            body["condition"] = dict(condition)
        return self.mr("cloudplatform", "ProjectIAMMember", name, body)

    # --- network ---------------------------------------------------------------------------
    def network(self) -> list[Obj]:
        i, r = self.infra, self.ranges
        vpc, subnet = self.name("vpc"), self.name("nodes")
        objs = [
            self.mr(
                "compute",
                "Network",
                vpc,
                {
                    "autoCreateSubnetworks": False,
                    "routingMode": "REGIONAL",
                    "description": f"{i.name}: GKE nodes, pods and services",
                },
            ),
            self.mr(
                "compute",
                "Subnetwork",
                subnet,
                {
                    "region": i.region,
                    "networkRef": self.ref(vpc),
                    "ipCidrRange": r["nodes"],
                    "secondaryIpRange": [
                        {"rangeName": "pods", "ipCidrRange": r["pods"]},
                        {"rangeName": "services", "ipCidrRange": r["services"]},
                    ],
                    # Nodes have no external address: Google APIs over the private path, the rest through NAT.
                    "privateIpGoogleAccess": True,
                    "logConfig": {
                        "aggregationInterval": "INTERVAL_1_MIN",
                        "flowSampling": 1.0,
                        "metadata": "INCLUDE_ALL_METADATA",
                    },
                },
            ),
            self.mr("compute", "Router", self.name("router"), {"region": i.region, "networkRef": self.ref(vpc)}),
            # Cloud NAT is a regional, zone-redundant service: `nat: per-zone` needs no extra gateway here.
            self.mr(
                "compute",
                "RouterNAT",
                self.name("nat"),
                {
                    "region": i.region,
                    "routerRef": self.ref(self.name("router")),
                    "natIpAllocateOption": "AUTO_ONLY",
                    "sourceSubnetworkIpRangesToNat": "LIST_OF_SUBNETWORKS",
                    "subnetwork": [{"nameRef": self.ref(subnet), "sourceIpRangesToNat": ["ALL_IP_RANGES"]}],
                    "enableDynamicPortAllocation": True,
                    "enableEndpointIndependentMapping": False,
                    "logConfig": {"enable": True, "filter": "ERRORS_ONLY"},
                },
            ),
        ]
        return objs + self.firewall()

    def firewall(self) -> list[Obj]:
        """Ingress is denied by default (GCP's implied rule); these open what the cluster needs, logged."""
        i, r = self.infra, self.ranges
        vpc = self.name("vpc")
        log = {"metadata": "INCLUDE_ALL_METADATA"}

        def rule(suffix: str, body: Mapping[str, Any]) -> Obj:
            return self.mr("compute", "Firewall", self.name(suffix), {"networkRef": self.ref(vpc), "logConfig": log, **body})

        return [
            rule(
                "allow-internal",
                {
                    "description": f"{i.name}: node to node, pod to pod and pod to service",
                    "direction": "INGRESS",
                    "priority": 1000,
                    "sourceRanges": sorted([r["nodes"], r["pods"], r["services"]]),
                    "allow": [{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
                },
            ),
            rule(
                "allow-control-plane",
                {
                    "description": f"{i.name}: API server to kubelets and admission webhooks",
                    "direction": "INGRESS",
                    "priority": 1000,
                    "sourceRanges": [r["control_plane"]],
                    "allow": [{"protocol": "tcp", "ports": ["443", "8443", "9443", "10250"]}],
                },
            ),
            rule(
                "allow-health-checks",
                {
                    "description": f"{i.name}: Google load balancer health checks and proxies to the gateway",
                    "direction": "INGRESS",
                    "priority": 1000,
                    "sourceRanges": list(GOOGLE_HEALTH_CHECK_RANGES),
                    "allow": [{"protocol": "tcp"}],
                },
            ),
        ]

    # --- encryption ------------------------------------------------------------------------
    def keys(self) -> list[Obj]:
        """One key for data (buckets), one for logs, one for GKE's secrets; a data key in every other
        region a bucket lives or replicates in (a CMEK key must be where its bucket is)."""
        i = self.infra
        regions = [i.region, *sorted(self.bucket_regions() - {i.region})]
        objs: list[Obj] = []
        for region in regions:
            ring = self.key_ring(region)
            objs.append(self.mr("kms", "KeyRing", ring, {"location": region}))
            for purpose in ("data", "logs", "gke") if region == i.region else ("data",):
                objs.append(
                    self.mr(
                        "kms",
                        "CryptoKey",
                        self.key_name(purpose, region),
                        {
                            "keyRingRef": self.ref(ring),
                            "purpose": "ENCRYPT_DECRYPT",
                            "rotationPeriod": KEY_ROTATION,
                            "destroyScheduledDuration": "2592000s",  # 30 days to undo a destroy, as on AWS
                            "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"},
                            "labels": self.labels(),
                        },
                    )
                )
        # Service agents use the keys on the project's behalf; a condition keeps each grant to its key.
        # (CryptoKeyIAMMember would scope it without a condition, but its schema is not in the mirror.)
        grants = [("storage", "data", r) for r in regions] + [("container", "gke", i.region), ("logging", "logs", i.region)]
        for agent, purpose, region in grants:
            path = self.key_path(purpose, region)
            objs.append(
                self.project_member(
                    self.name(f"{agent}-uses-{self.key_name(purpose, region).removeprefix(i.name + '-')}-key"),
                    "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    self.service_agent(agent),
                    {"title": f"only {purpose} key", "expression": f'resource.name == "{path}"'},
                )
            )
        return objs

    # --- GKE -------------------------------------------------------------------------------
    def cluster(self) -> list[Obj]:
        i, r = self.infra, self.ranges
        control = i.settings["eks"]  # the control-plane settings every cloud reads (version, endpoint, logs)
        nodes = i.settings["nodes"]
        node_sa = self.name("nodes")
        objs = [
            self.mr(
                "cloudplatform",
                "ServiceAccount",
                node_sa,
                {"displayName": f"{i.name} GKE nodes", "description": "Node VMs: logs, metrics, image pulls"},
            ),
            *[
                self.project_member(
                    self.name(f"nodes-{role.split('/', 1)[1].replace('.', '-').lower()}"),
                    role,
                    f"serviceAccount:{node_sa}@{self.project}.iam.gserviceaccount.com",
                )
                for role in NODE_ROLES
            ],
            self.mr(
                "container",
                "Cluster",
                i.name,
                {
                    "location": i.region,  # regional: the control plane is replicated across the zones
                    "nodeLocations": [z.zone for z in i.zones],
                    "networkRef": self.ref(self.name("vpc")),
                    "subnetworkRef": self.ref(self.name("nodes")),
                    "networkingMode": "VPC_NATIVE",
                    "ipAllocationPolicy": {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"},
                    "privateClusterConfig": {
                        "enablePrivateNodes": True,
                        "enablePrivateEndpoint": not control["public_endpoint"],
                        "masterIpv4CidrBlock": r["control_plane"],
                        "masterGlobalAccessConfig": {"enabled": False},
                    },
                    # Who may reach the API server: the address plan's own and peered networks, never the internet.
                    "masterAuthorizedNetworksConfig": {
                        "cidrBlocks": [
                            {"cidrBlock": cidr, "displayName": name}
                            for name, cidr in sorted({**i.settings["networks"], **i.settings["peered_networks"]}.items())
                        ],
                        "gcpPublicCidrsAccessEnabled": False,
                    },
                    "removeDefaultNodePool": True,
                    "initialNodeCount": 1,
                    "minMasterVersion": control["version"],
                    "releaseChannel": {"channel": self.settings["release_channel"]},
                    "workloadIdentityConfig": {"workloadPool": f"{self.project}.svc.id.goog"},
                    "databaseEncryption": {"state": "ENCRYPTED", "keyName": self.key_path("gke")},
                    # Dataplane V2 enforces the compiled NetworkPolicies.
                    "datapathProvider": "ADVANCED_DATAPATH",
                    "enableShieldedNodes": True,
                    "enableLegacyAbac": False,
                    "masterAuth": {"clientCertificateConfig": {"issueClientCertificate": False}},
                    "loggingConfig": {"enableComponents": list(CONTROL_PLANE_LOGS)},
                    "monitoringConfig": {
                        "enableComponents": ["SYSTEM_COMPONENTS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"]
                    },
                    # The standard-rwo StorageClass of the cloud class is the Persistent Disk CSI driver's.
                    "addonsConfig": {
                        "gcePersistentDiskCsiDriverConfig": {"enabled": True},
                        "horizontalPodAutoscaling": {"disabled": False},
                        "httpLoadBalancing": {"disabled": False},
                    },
                    # Node auto-provisioning: capacity on demand up to the inventory's limit (Karpenter on EKS).
                    "clusterAutoscaling": {
                        "enabled": True,
                        "autoscalingProfile": "OPTIMIZE_UTILIZATION",
                        "resourceLimits": [
                            {"resourceType": "cpu", "maximum": nodes["karpenter_cpu_limit"]},
                            {
                                "resourceType": "memory",
                                "maximum": nodes["karpenter_cpu_limit"] * self.settings["memory_gib_per_cpu"],
                            },
                        ],
                        "autoProvisioningDefaults": {
                            "serviceAccount": f"{node_sa}@{self.project}.iam.gserviceaccount.com",
                            "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                            "diskType": "pd-balanced",
                            "diskSize": nodes["disk_gib"],
                            "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
                            "management": {"autoRepair": True, "autoUpgrade": True},
                        },
                    },
                    "securityPostureConfig": {"mode": "BASIC", "vulnerabilityMode": "VULNERABILITY_BASIC"},
                    "deletionProtection": i.prod,
                    "resourceLabels": self.labels(),
                },
            ),
            self.mr(
                "container",
                "NodePool",
                self.name("system"),
                {
                    "clusterRef": self.ref(i.name),
                    "location": i.region,
                    "nodeLocations": [z.zone for z in i.zones],
                    "initialNodeCount": max(1, -(-nodes["desired_size"] // len(i.zones))),  # per zone
                    # Totals over all zones, as min_size/max_size mean on EKS.
                    "autoscaling": {
                        "totalMinNodeCount": nodes["min_size"],
                        "totalMaxNodeCount": nodes["max_size"],
                        "locationPolicy": "BALANCED",
                    },
                    "management": {"autoRepair": True, "autoUpgrade": True},
                    "upgradeSettings": {"maxSurge": 1, "maxUnavailable": 0},
                    "nodeConfig": {
                        "machineType": self.machine_type(nodes["instance_types"][0]),
                        "diskSizeGb": nodes["disk_gib"],
                        "diskType": "pd-balanced",
                        "imageType": "COS_CONTAINERD",
                        "serviceAccountRef": self.ref(node_sa),
                        "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                        # Pods see the GKE metadata server: only workload identity, never the node's account.
                        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
                        "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
                        "labels": {"node-role": "system"},
                        "resourceLabels": self.labels(),
                    },
                },
            ),
        ]
        return objs + self.access() + self.audit_logs()

    def machine_type(self, instance_type: str) -> str:
        machine: str = self.settings["machine_types"][instance_type]
        return machine

    def access(self) -> list[Obj]:
        """GKE's IAM is per project: admins get container.admin, the CI deployer container.viewer."""
        objs = [
            self.project_member(self.name(f"admin-{index}"), "roles/container.admin", member)
            for index, member in enumerate(self.settings["admin_members"])
        ]
        objs.append(self.project_member(self.name("deployer"), "roles/container.viewer", self.settings["deployer_member"]))
        return objs

    def audit_logs(self) -> list[Obj]:
        """Admin-activity audit logs are always on; data-access logs of the Kubernetes API are turned on
        here, and both are routed into a locked, CMEK-encrypted log bucket kept for the audit retention."""
        i = self.infra
        bucket = self.name("audit")
        days = i.settings["logs"]["audit_trail_retention_days"]
        return [
            self.mr(
                "cloudplatform",
                "ProjectIAMAuditConfig",
                self.name("gke-data-access"),
                {
                    "project": self.project,
                    "service": "container.googleapis.com",
                    "auditLogConfig": [{"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}],
                },
            ),
            self.mr(
                "logging",
                "ProjectBucketConfig",
                bucket,
                {
                    "project": self.project,
                    "location": i.region,
                    "bucketId": bucket,
                    "retentionDays": days,
                    # Locked: the retention cannot be shortened and the bucket not deleted before it ends.
                    "locked": True,
                    "cmekSettings": {"kmsKeyNameRef": self.ref(self.name("logs"))},
                    "description": f"{i.name}: audit logs of the cluster and the project, {days} days",
                },
            ),
            self.mr(
                "logging",
                "ProjectSink",
                self.name("audit"),
                {
                    "project": self.project,
                    "destination": f"logging.googleapis.com/projects/{self.project}/locations/{i.region}/buckets/{bucket}",
                    "filter": 'logName:"cloudaudit.googleapis.com"',
                    "uniqueWriterIdentity": True,
                    "description": f"{i.name}: every audit log entry into the locked audit bucket",
                },
            ),
        ]

    # --- workload identities ---------------------------------------------------------------
    def workload_identities(self) -> list[Obj]:
        objs: list[Obj] = []
        for ci in portable_identities(self.infra):
            objs += self.workload_identity(ci)
        return objs

    def workload_identity(self, ci: CloudIdentity) -> list[Obj]:
        """A Google service account the Kubernetes ServiceAccount may act as, and what it may touch."""
        i = self.infra
        sa = account_id(i, ci.namespace, ci.workload)
        member = f"serviceAccount:{sa}@{self.project}.iam.gserviceaccount.com"
        objs = [
            self.mr("cloudplatform", "ServiceAccount", sa, {"displayName": f"{i.name} {ci.workload}", "description": ci.purpose}),
            self.mr(
                "cloudplatform",
                "ServiceAccountIAMMember",
                f"{sa}-workload-identity",
                {
                    "serviceAccountIdRef": self.ref(sa),
                    "role": "roles/iam.workloadIdentityUser",
                    "member": f"serviceAccount:{self.project}.svc.id.goog[{ci.namespace}/{ci.service_account}]",
                },
            ),
        ]
        for bucket in buckets_for(i, ci.bucket_purposes):
            objs.append(
                self.mr(
                    "storage",
                    "BucketIAMMember",
                    f"{sa}-{bucket}",
                    {"bucketRef": self.ref(bucket), "role": "roles/storage.objectUser", "member": member},
                )
            )
        if ci.reads_secrets:
            # SecretIAMMember is not in the mirror: a project grant whose condition names exactly the
            # secrets the cluster's ExternalSecrets read, by the names they read them under.
            objs.append(
                self.project_member(f"{sa}-secrets", "roles/secretmanager.secretAccessor", member, self.secrets_condition())
            )
        if ci.writes_dns:
            objs.append(self.project_member(f"{sa}-dns", "roles/dns.admin", member))
        if ci.snapshots:
            objs.append(self.project_member(f"{sa}-snapshots", "roles/compute.storageAdmin", member))
        return objs

    def secrets_condition(self) -> dict[str, str]:
        """An IAM condition matching the cluster's secrets and their versions, which Secret Manager names
        `projects/<project number>/secrets/<name>[/versions/<version>]` in conditions: everything under the
        cluster's `secrets.key_prefix` (as AWS grants `key_prefix*`), and each other secret by its name."""
        params = self.infra.parameters
        prefix = store_name(params["cloud"]["secret_store"]["provider"], params["secrets"]["key_prefix"])
        others = sorted({n for n in store_names(params).values() if not n.startswith(prefix)})
        secrets = f"projects/{self.project_number}/secrets"
        clauses = [f'resource.name.startsWith("{secrets}/{prefix}")']
        clauses += [f'resource.name == "{secrets}/{n}" || resource.name.startsWith("{secrets}/{n}/")' for n in others]
        expression = " || ".join(clauses)
        if expression.count("||") > IAM_CONDITION_OPERATORS:
            raise BuildError(
                f"{self.infra.name}: {len(others)} secrets outside secrets.key_prefix need more than the "
                f"{IAM_CONDITION_OPERATORS} logical operators an IAM condition allows; keep platform secrets under the prefix"
            )
        return {"title": "cluster-secrets", "description": f"the secrets {self.infra.name} reads", "expression": expression}

    # --- storage ---------------------------------------------------------------------------
    def buckets(self) -> list[Obj]:
        i = self.infra
        objs: list[Obj] = []
        for b in i.buckets:
            objs.append(self.bucket(b.name, b.region, b.noncurrent_version_days))
            if b.replicate_to:
                objs += self.replication(b)
        # The Cloud Storage service agent encrypts with the keys (granted in keys()); the transfer
        # service agent replicates, and needs Pub/Sub for the change notifications it subscribes to.
        if any(b.replicate_to for b in i.buckets):
            objs.append(
                self.project_member(self.name("transfer-pubsub"), "roles/pubsub.editor", self.service_agent("storagetransfer"))
            )
        return objs

    def bucket_regions(self) -> set[str]:
        i = self.infra
        regions = {b.region for b in i.buckets}
        return regions | ({i.dr_region} if i.dr_region and any(b.replicate_to for b in i.buckets) else set())

    def bucket(self, name: str, region: str, noncurrent_days: int) -> Obj:
        return self.mr(
            "storage",
            "Bucket",
            name,
            {
                "location": region.upper(),
                "storageClass": "STANDARD",
                "uniformBucketLevelAccess": True,
                "publicAccessPrevention": "enforced",
                "versioning": {"enabled": True},
                "encryption": {"defaultKmsKeyName": self.key_path("data", region)},
                "softDeletePolicy": {"retentionDurationSeconds": 7 * 86400},
                # Old versions make an overwrite or a delete recoverable; they expire after the inventory's
                # noncurrent_version_days (the owners' own retention removes current objects).
                "lifecycleRule": [
                    {
                        "action": {"type": "Delete"},
                        "condition": {"daysSinceNoncurrentTime": noncurrent_days, "withState": "ARCHIVED"},
                    },
                    {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}},
                ],
                "forceDestroy": False,
                "labels": self.labels(),
            },
        )

    def replication(self, source: Bucket) -> list[Obj]:
        """The replica in the DR region, and Storage Transfer's cross-bucket replication into it
        (event-driven: new and changed objects, deletes not propagated, as on AWS)."""
        i = self.infra
        assert source.replicate_to and i.dr_region  # noqa: S101 - buckets() calls this for replicated buckets only
        target = source.replicate_to
        agent = self.service_agent("storagetransfer")
        return [
            self.bucket(target, i.dr_region, source.noncurrent_version_days),
            *[
                self.mr(
                    "storage",
                    "BucketIAMMember",
                    f"transfer-{bucket}",
                    {"bucketRef": self.ref(bucket), "role": "roles/storage.admin", "member": agent},
                )
                for bucket in (source.name, target)
            ],
            self.mr(
                "storagetransfer",
                "Job",
                self.name(f"replicate-{source.purpose.split()[0]}"),
                {
                    "description": f"{i.name}: replicate {source.name} to {target} ({i.dr_region})",
                    "replicationSpec": {
                        "gcsDataSource": {"bucketNameRef": self.ref(source.name)},
                        "gcsDataSink": {"bucketNameRef": self.ref(target)},
                        "transferOptions": {"deleteObjectsUniqueInSink": False, "overwriteWhen": "DIFFERENT"},
                    },
                    "loggingConfig": {"logActions": ["COPY"], "logActionStates": ["FAILED"]},
                },
            ),
        ]

    # --- DNS and edge ----------------------------------------------------------------------
    def dns_and_edge(self) -> list[Obj]:
        i = self.infra
        edge = i.settings["edge"]
        rules: list[dict[str, Any]] = [
            {
                "priority": 100,
                "description": "rate per client IP",
                "action": "rate_based_ban",
                "match": {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["*"]}},
                "rateLimitOptions": {
                    "conformAction": "allow",
                    "exceedAction": "deny(429)",
                    "enforceOnKey": "IP",
                    "rateLimitThreshold": {"count": edge["rate_limit_per_5_minutes"], "intervalSec": 300},
                    "banThreshold": {"count": edge["rate_limit_per_5_minutes"], "intervalSec": 300},
                    "banDurationSec": 600,
                },
            }
        ]
        rules += [
            {
                "priority": 1000 + index,
                "description": f"WAF {waf}"[:64],
                "action": "deny(403)",
                "match": {"expr": {"expression": f"evaluatePreconfiguredWaf('{waf}')"}},
            }
            for index, waf in enumerate(self.settings["waf_rules"])
        ]
        rules.append(
            {
                "priority": DEFAULT_RULE_PRIORITY,
                "description": "default: allow",
                "action": "allow",
                "match": {"versionedExpr": "SRC_IPS_V1", "config": {"srcIpRanges": ["*"]}},
            }
        )
        objs = [
            self.mr(
                "compute",
                "SecurityPolicy",
                self.name("edge"),
                {
                    "type": "CLOUD_ARMOR",
                    "description": f"{i.name}: rate limit and WAF in front of the gateway",
                    "adaptiveProtectionConfig": {"layer7DdosDefenseConfig": {"enable": True}},
                    "rule": rules,
                },
            )
        ]
        if i.role == "primary":
            # One public zone per environment's primary cluster, signed (DNSSEC).
            zone = i.public_zone
            objs.append(
                self.mr(
                    "dns",
                    "ManagedZone",
                    self.name("public"),
                    {
                        "dnsName": f"{zone}.",
                        "description": f"{i.name} gateway hostnames",
                        "visibility": "public",
                        "dnssecConfig": {"state": "on"},
                        "cloudLoggingConfig": {"enableLogging": True},
                        "forceDestroy": False,
                        "labels": self.labels(),
                    },
                )
            )
        return objs

    def all(self) -> list[Obj]:
        return self.network() + self.keys() + self.cluster() + self.workload_identities() + self.buckets() + self.dns_and_edge()
