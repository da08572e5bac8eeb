"""One workload cluster's AWS layer as Crossplane v2 managed resources (`*.aws.m.upbound.io`).

Everything lives in the management cluster's `infra-<cluster>` namespace and is linked by
references (`vpcIdRef`, `roleArnRef`, ...) to objects of the same namespace, so Crossplane
creates them in dependency order. Management policies come from mnops.infra.protection: data
(buckets, KMS keys, databases, DNS zones) is never deleted by a removal from git.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mnops.infra.edge import edge_plan, gateway_security_group
from mnops.infra.identities import cloud_identities
from mnops.infra.model import CloudIdentity, ClusterInfra
from mnops.infra.protection import management_policies
from mnops.k8s.crossplane import managed_resource
from mnops.k8s.meta import Identity

Obj = dict[str, Any]
# The EBS CSI driver comes from its chart instead (mnops.infra.addons): its values create the gp3 StorageClass.
EKS_ADDONS = ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs")
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ZONE = "public"  # the hosted zone's object name in infra-dns-<environment>
READ_ONLY_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# The data key's counterpart in the DR region (AwsLayer.dr_key).
DR_KEY = "data-dr"


class AwsLayer:
    """Builds the objects of one cluster; each method returns the objects of one concern."""

    def __init__(
        self,
        infra: ClusterInfra,
        identity: Identity,
        provider_config: str,
        namespace: str | None = None,
        *,
        environment_scope: bool = False,
    ) -> None:
        self.infra = infra
        self.identity = identity
        self.provider_config = provider_config
        self.namespace = namespace or infra.namespace  # the environment's zone and edge folders build in their own
        # An environment's folder (its edge) reads one of its clusters' settings but names and tags what it creates
        # after the environment: a role swap between its clusters must not rename, and so replace, anything.
        self.environment_scope = environment_scope
        self.owner = infra.environment if environment_scope else infra.name

    # --- helpers ---------------------------------------------------------------------------
    def tags(self, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        i = self.infra
        return {
            "Name": name,
            **({} if self.environment_scope else {"cluster": i.name}),
            "environment": i.environment,
            "project": i.project,
            "managed-by": "crossplane",
            **(extra or {}),
        }

    def mr(
        self,
        group: str,
        kind: str,
        name: str,
        for_provider: Mapping[str, Any],
        *,
        region: str | None = None,
        regional: bool = True,
        tags: bool = True,
        external_name: str | None = None,
        connection_secret: str | None = None,
    ) -> Obj:
        """A managed resource of this cluster; `regional=False` for global services (IAM, Route 53)."""
        body = dict(for_provider)
        if regional:
            body["region"] = region or self.infra.region
        if tags:
            body["tags"] = self.tags(f"{self.owner}-{name}")
        annotations = {"crossplane.io/external-name": external_name} if external_name else None
        return managed_resource(
            f"{group}.aws.m.upbound.io/v1beta1",
            kind,
            name,
            self.namespace,
            self.identity,
            for_provider=body,
            management_policies=management_policies(kind, self.infra.prod),
            provider_config_name=self.provider_config,
            connection_secret=connection_secret,
            annotations=annotations,
        )

    @staticmethod
    def ref(name: str) -> dict[str, str]:
        return {"name": name}

    def zone_ref(self) -> dict[str, str]:
        """The environment's hosted zone, in its own folder (public_zone)."""
        return {"name": ZONE, "namespace": self.infra.zone_namespace}

    @staticmethod
    def json(value: Any) -> str:
        return _json(value)

    # --- network ---------------------------------------------------------------------------
    def network(self) -> list[Obj]:
        i = self.infra
        objs = [
            self.mr("ec2", "VPC", "vpc", {"cidrBlock": i.cidr, "enableDnsHostnames": True, "enableDnsSupport": True}),
            self.mr("ec2", "InternetGateway", "internet-gateway", {"vpcIdRef": self.ref("vpc")}),
            self.mr("ec2", "RouteTable", "public", {"vpcIdRef": self.ref("vpc")}),
            self.mr(
                "ec2",
                "Route",
                "public-default",
                {
                    "destinationCidrBlock": "0.0.0.0/0",
                    "gatewayIdRef": self.ref("internet-gateway"),
                    "routeTableIdRef": self.ref("public"),
                },
                tags=False,
            ),
        ]
        for z in i.zones:
            # Subnet tags tell the load balancer controller and Karpenter which subnets are theirs.
            private_tags = {
                "kubernetes.io/role/internal-elb": "1",
                "karpenter.sh/discovery": i.name,
                f"kubernetes.io/cluster/{i.name}": "shared",
            }
            public_tags = {"kubernetes.io/role/elb": "1", f"kubernetes.io/cluster/{i.name}": "shared"}
            private = self.mr(
                "ec2",
                "Subnet",
                f"private-{z.zone}",
                {"availabilityZone": z.zone, "cidrBlock": z.private, "vpcIdRef": self.ref("vpc"), "mapPublicIpOnLaunch": False},
            )
            private["spec"]["forProvider"]["tags"].update(private_tags)
            public = self.mr(
                "ec2",
                "Subnet",
                f"public-{z.zone}",
                {"availabilityZone": z.zone, "cidrBlock": z.public, "vpcIdRef": self.ref("vpc"), "mapPublicIpOnLaunch": False},
            )
            public["spec"]["forProvider"]["tags"].update(public_tags)
            objs += [
                private,
                public,
                self.mr(
                    "ec2",
                    "RouteTableAssociation",
                    f"public-{z.zone}",
                    {"routeTableIdRef": self.ref("public"), "subnetIdRef": self.ref(f"public-{z.zone}")},
                    tags=False,
                ),
                self.mr("ec2", "RouteTable", f"private-{z.zone}", {"vpcIdRef": self.ref("vpc")}),
                self.mr(
                    "ec2",
                    "Route",
                    f"private-{z.zone}-default",
                    {
                        "destinationCidrBlock": "0.0.0.0/0",
                        "natGatewayIdRef": self.ref(f"nat-{i.nat_for(z.zone)}"),
                        "routeTableIdRef": self.ref(f"private-{z.zone}"),
                    },
                    tags=False,
                ),
                self.mr(
                    "ec2",
                    "RouteTableAssociation",
                    f"private-{z.zone}",
                    {"routeTableIdRef": self.ref(f"private-{z.zone}"), "subnetIdRef": self.ref(f"private-{z.zone}")},
                    tags=False,
                ),
            ]
        for z in i.nat_zones:
            objs += [
                self.mr("ec2", "EIP", f"nat-{z.zone}", {"domain": "vpc"}),
                self.mr(
                    "ec2",
                    "NATGateway",
                    f"nat-{z.zone}",
                    {
                        "allocationIdRef": self.ref(f"nat-{z.zone}"),
                        "subnetIdRef": self.ref(f"public-{z.zone}"),
                        "connectivityType": "public",
                    },
                ),
            ]
        objs += self.endpoints() + self.security_groups() + self.flow_logs()
        return objs

    def endpoints(self) -> list[Obj]:
        """Private paths to the AWS APIs the nodes call most (image pulls, identity, secrets, logs)."""
        region = self.infra.region
        objs = [
            self.mr(
                "ec2",
                "VPCEndpoint",
                "s3",
                {"serviceName": f"com.amazonaws.{region}.s3", "vpcEndpointType": "Gateway", "vpcIdRef": self.ref("vpc")},
            )
        ]
        for service in INTERFACE_ENDPOINTS:
            objs.append(
                self.mr(
                    "ec2",
                    "VPCEndpoint",
                    service.replace(".", "-"),
                    {
                        "serviceName": f"com.amazonaws.{region}.{service}",
                        "vpcEndpointType": "Interface",
                        "privateDnsEnabled": True,
                        "vpcIdRef": self.ref("vpc"),
                    },
                )
            )
        return objs

    def security_groups(self) -> list[Obj]:
        i = self.infra
        groups = {"nodes": "Worker nodes", "control-plane": "EKS control plane ENIs", "data": "Managed databases and caches"}
        objs = [
            self.mr(
                "ec2",
                "SecurityGroup",
                name,
                {
                    "name": f"{i.name}-{name}",
                    "description": f"{i.name}: {text}",
                    "vpcIdRef": self.ref("vpc"),
                    "revokeRulesOnDelete": True,
                },
            )
            for name, text in groups.items()
        ]

        def ingress(name: str, group: str, source: str, port: int | None, text: str) -> Obj:
            ports: dict[str, Any] = (
                {"ipProtocol": "-1"} if port is None else {"ipProtocol": "tcp", "fromPort": port, "toPort": port}
            )
            return self.mr(
                "ec2",
                "SecurityGroupIngressRule",
                name,
                {
                    **ports,
                    "description": text,
                    "securityGroupIdRef": self.ref(group),
                    "referencedSecurityGroupIdRef": self.ref(source),
                },
            )

        objs += [
            ingress("nodes-from-nodes", "nodes", "nodes", None, "pod to pod and node to node"),
            ingress("nodes-from-control-plane-kubelet", "nodes", "control-plane", 10250, "API server to kubelet"),
            ingress("nodes-from-control-plane-webhooks", "nodes", "control-plane", 443, "API server to admission webhooks"),
            ingress("control-plane-from-nodes", "control-plane", "nodes", 443, "kubelets and pods to the API server"),
            ingress("data-postgres-from-nodes", "data", "nodes", 5432, "PostgreSQL from the cluster only"),
            ingress("data-redis-from-nodes", "data", "nodes", 6379, "Redis from the cluster only"),
            self.mr(
                "ec2",
                "SecurityGroupEgressRule",
                "nodes-egress",
                {
                    "ipProtocol": "-1",
                    "cidrIpv4": "0.0.0.0/0",
                    "description": "image pulls and cloud APIs through NAT",
                    "securityGroupIdRef": self.ref("nodes"),
                },
            ),
            self.mr(
                "ec2",
                "SecurityGroupEgressRule",
                "control-plane-egress",
                {
                    "ipProtocol": "-1",
                    "cidrIpv4": i.cidr,
                    "description": "control plane to the VPC only",
                    "securityGroupIdRef": self.ref("control-plane"),
                },
            ),
        ]
        return objs

    def flow_logs(self) -> list[Obj]:
        i = self.infra
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        write = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Resource": [i.arn("logs", f"log-group:/aws/vpc/{i.name}/flow-logs:*")],
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                }
            ],
        }
        return [
            self.mr(
                "cloudwatchlogs",
                "Group",
                "flow-logs",
                {"retentionInDays": i.settings["logs"]["flow_log_retention_days"], "kmsKeyIdRef": self.ref("logs")},
                external_name=f"/aws/vpc/{i.name}/flow-logs",
            ),
            self.mr(
                "iam",
                "Role",
                f"{i.name}-flow-logs",
                {"assumeRolePolicy": _json(trust), "inlinePolicy": [{"name": "write-flow-logs", "policy": _json(write)}]},
                regional=False,
            ),
            self.mr(
                "ec2",
                "FlowLog",
                "vpc",
                {
                    "vpcIdRef": self.ref("vpc"),
                    "trafficType": "ALL",
                    "logDestinationType": "cloud-watch-logs",
                    "logDestinationRef": self.ref("flow-logs"),
                    "iamRoleArnRef": self.ref(f"{i.name}-flow-logs"),
                    "maxAggregationInterval": 60,
                },
            ),
        ]

    # --- encryption ------------------------------------------------------------------------
    def keys(self) -> list[Obj]:
        """One key for data (buckets, databases, secrets), one for logs: separate grants, separate audits."""
        i = self.infra
        objs = []
        for purpose in ("data", "logs", "eks"):
            objs += [
                self.mr(
                    "kms",
                    "Key",
                    purpose,
                    {
                        "description": f"{i.name} {purpose}",
                        "enableKeyRotation": True,
                        "deletionWindowInDays": 30,
                        "policy": _json(self.key_policy(purpose)),
                    },
                ),
                self.mr(
                    "kms",
                    "Alias",
                    purpose,
                    {"targetKeyIdRef": self.ref(purpose)},
                    tags=False,
                    external_name=f"alias/{i.name}-{purpose}",
                ),
            ]
        if i.dr_region:
            objs += self.dr_key(i.dr_region)
        return objs

    def dr_key(self, region: str) -> list[Obj]:
        """The data key's counterpart in the DR region: KMS keys never leave their region, so the copies
        there (replicated buckets, RDS backups, the DR backup vault) are encrypted with a key of that region.
        A regional key, not a multi-Region replica: the provider has no ReplicaKey kind we can validate."""
        i = self.infra
        return [
            self.mr(
                "kms",
                "Key",
                DR_KEY,
                {
                    "description": f"{i.name} data copied to {region}",
                    "enableKeyRotation": True,
                    "deletionWindowInDays": 30,
                    "policy": _json(self.key_policy(DR_KEY)),
                },
                region=region,
            ),
            self.mr(
                "kms",
                "Alias",
                DR_KEY,
                {"targetKeyIdRef": self.ref(DR_KEY)},
                region=region,
                tags=False,
                external_name=self.key_alias(DR_KEY),
            ),
        ]

    def key_alias(self, purpose: str) -> str:
        return f"alias/{self.owner}-{purpose}"

    def data_key_in(self, region: str) -> str:
        """Which of the cluster's data keys encrypts data in `region`: its own, or the DR region's."""
        i = self.infra
        if region == i.region:
            return "data"
        if region == i.dr_region:
            return DR_KEY
        raise ValueError(f"{i.name}: no data key in {region} (only {i.region} and its DR region {i.dr_region})")

    def key_policy(self, purpose: str) -> dict[str, Any]:
        i = self.infra
        statements: list[dict[str, Any]] = [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{i.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
        ]
        if purpose == "logs":
            statements.append(
                {
                    "Sid": "CloudWatchLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{i.region}.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                    "Resource": "*",
                }
            )
            statements.append(
                {
                    "Sid": "CloudTrail",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": ["kms:DescribeKey", "kms:GenerateDataKey*"],
                    "Resource": "*",
                }
            )
        return {"Version": "2012-10-17", "Statement": statements}

    # --- EKS -------------------------------------------------------------------------------
    def cluster(self) -> list[Obj]:
        i = self.infra
        eks = i.settings["eks"]
        nodes = i.settings["nodes"]
        private_subnets = [self.ref(f"private-{z.zone}") for z in i.zones]
        objs = [
            self.mr(
                "iam",
                "Role",
                f"{i.name}-cluster",
                {
                    "assumeRolePolicy": _json(_service_trust("eks.amazonaws.com")),
                    "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
                },
                regional=False,
            ),
            self.mr(
                "iam",
                "Role",
                f"{i.name}-nodes",
                {
                    "assumeRolePolicy": _json(_service_trust("ec2.amazonaws.com")),
                    # Karpenter's node role (its getting-started template at the chart's version): the VPC CNI
                    # add-on has no identity of its own and assigns pod addresses with the node's.
                    "managedPolicyArns": [
                        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
                        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                    ],
                },
                regional=False,
            ),
            self.mr(
                "cloudwatchlogs",
                "Group",
                "control-plane",
                {"retentionInDays": eks["log_retention_days"], "kmsKeyIdRef": self.ref("logs")},
                external_name=f"/aws/eks/{i.name}/cluster",
            ),
            self.mr(
                "eks",
                "Cluster",
                i.name,
                {
                    "version": eks["version"],
                    "roleArnRef": self.ref(f"{i.name}-cluster"),
                    "vpcConfig": {
                        "subnetIdRefs": private_subnets,
                        "securityGroupIdRefs": [self.ref("control-plane")],
                        "endpointPrivateAccess": True,
                        "endpointPublicAccess": eks["public_endpoint"],
                    },
                    "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
                    "enabledClusterLogTypes": list(CONTROL_PLANE_LOGS),
                    # EKS accepts the key's alias ARN: the key ID is only known once Crossplane created it.
                    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": i.arn("kms", f"alias/{i.name}-eks")}},
                    "deletionProtection": i.prod,
                    "upgradePolicy": {"supportType": "STANDARD"},
                },
            ),
            self.mr(
                "eks",
                "NodeGroup",
                "system",
                {
                    "clusterNameRef": self.ref(i.name),
                    "nodeRoleArnRef": self.ref(f"{i.name}-nodes"),
                    "subnetIdRefs": private_subnets,
                    "instanceTypes": list(nodes["instance_types"]),
                    "diskSize": nodes["disk_gib"],
                    "capacityType": "ON_DEMAND",
                    "amiType": "AL2023_x86_64_STANDARD",
                    "scalingConfig": {
                        "minSize": nodes["min_size"],
                        "maxSize": nodes["max_size"],
                        "desiredSize": nodes["desired_size"],
                    },
                    "updateConfig": {"maxUnavailable": 1},
                    "labels": {"node-role": "system"},
                },
            ),
        ]
        for addon in EKS_ADDONS:
            body: dict[str, Any] = {
                "addonName": addon,
                "clusterNameRef": self.ref(i.name),
                "resolveConflictsOnUpdate": "OVERWRITE",
            }
            objs.append(self.mr("eks", "Addon", addon, body))
        objs += self.access_entries()
        return objs

    def access_entries(self) -> list[Obj]:
        i = self.infra
        eks = i.settings["eks"]
        principals = [(r, ADMIN_POLICY, "cluster") for r in eks["admin_roles"]]
        principals.append((eks["deployer_role"], READ_ONLY_POLICY, "cluster"))
        objs: list[Obj] = []
        for role, policy, scope in principals:
            arn = i.arn("iam", f"role/{role}")
            objs += [
                self.mr(
                    "eks", "AccessEntry", role, {"clusterNameRef": self.ref(i.name), "principalArn": arn, "type": "STANDARD"}
                ),
                self.mr(
                    "eks",
                    "AccessPolicyAssociation",
                    role,
                    {
                        "clusterNameRef": self.ref(i.name),
                        "principalArn": arn,
                        "policyArn": policy,
                        "accessScope": {"type": scope},
                    },
                    tags=False,
                ),
            ]
        return objs

    def workload_identities(self) -> list[Obj]:
        objs: list[Obj] = []
        for ci in cloud_identities(self.infra):
            objs += self.pod_identity(ci)
        return objs

    def pod_identity(self, ci: CloudIdentity) -> list[Obj]:
        i = self.infra
        role = i.role_name(ci.namespace, ci.workload)
        body: dict[str, Any] = {"assumeRolePolicy": _json(_pod_identity_trust()), "description": f"{i.name}: {ci.purpose}"}
        if ci.statements:
            body["inlinePolicy"] = [
                {"name": "scoped", "policy": _json({"Version": "2012-10-17", "Statement": list(ci.statements)})}
            ]
        if ci.managed_policies:
            body["managedPolicyArns"] = list(ci.managed_policies)
        return [
            self.mr("iam", "Role", role, body, regional=False),
            self.mr(
                "eks",
                "PodIdentityAssociation",
                role,
                {
                    "clusterNameRef": self.ref(i.name),
                    "namespace": ci.namespace,
                    "serviceAccount": ci.service_account,
                    "roleArnRef": self.ref(role),
                },
            ),
        ]

    # --- storage ---------------------------------------------------------------------------
    def buckets(self) -> list[Obj]:
        objs: list[Obj] = []
        replication_sources = [b for b in self.infra.buckets if b.replicate_to]
        for bucket in self.infra.buckets:
            objs += self.bucket(bucket.name, bucket.region, bucket.noncurrent_version_days)
        if replication_sources:
            objs += self.replication(replication_sources)
        return objs

    def bucket(
        self,
        name: str,
        region: str,
        noncurrent_days: int,
        object_lock_days: int = 0,
        *,
        ownership: str = "BucketOwnerEnforced",
        key: str = "data",
        expire_days: int = 0,
    ) -> list[Obj]:
        """A private, versioned bucket encrypted with one of the cluster's keys; `expire_days` also expires
        current objects (log buckets), `ownership` BucketOwnerPreferred keeps ACLs for log deliveries."""
        body: dict[str, Any] = {"forceDestroy": False}
        if object_lock_days:
            body["objectLockEnabled"] = True
        objs = [
            self.mr("s3", "Bucket", name, body, region=region),
            self.mr(
                "s3",
                "BucketVersioning",
                name,
                {"bucketRef": self.ref(name), "versioningConfiguration": {"status": "Enabled"}},
                region=region,
                tags=False,
            ),
            self.mr(
                "s3",
                "BucketServerSideEncryptionConfiguration",
                name,
                {
                    "bucketRef": self.ref(name),
                    "rule": [
                        {
                            "applyServerSideEncryptionByDefault": {
                                "sseAlgorithm": "aws:kms",
                                "kmsMasterKeyId": self.key_alias(self.data_key_in(region) if key == "data" else key),
                            },
                            "bucketKeyEnabled": True,
                        }
                    ],
                },
                region=region,
                tags=False,
            ),
            self.mr(
                "s3",
                "BucketPublicAccessBlock",
                name,
                {
                    "bucketRef": self.ref(name),
                    "blockPublicAcls": True,
                    "blockPublicPolicy": True,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
                region=region,
                tags=False,
            ),
            self.mr(
                "s3",
                "BucketOwnershipControls",
                name,
                {"bucketRef": self.ref(name), "rule": {"objectOwnership": ownership}},
                region=region,
                tags=False,
            ),
            # Old versions are what makes an overwrite or a delete recoverable; they expire after the
            # inventory's noncurrent_version_days (the owners' own retention removes current objects).
            self.mr(
                "s3",
                "BucketLifecycleConfiguration",
                name,
                {
                    "bucketRef": self.ref(name),
                    "rule": [
                        {
                            "id": "expire-old-versions",
                            "status": "Enabled",
                            "filter": [{"prefix": ""}],
                            "noncurrentVersionExpiration": [{"noncurrentDays": noncurrent_days}],
                            "abortIncompleteMultipartUpload": [{"daysAfterInitiation": 7}],
                            **({"expiration": [{"days": expire_days}]} if expire_days else {}),
                        }
                    ],
                },
                region=region,
                tags=False,
            ),
        ]
        if object_lock_days:
            objs.append(
                self.mr(
                    "s3",
                    "BucketObjectLockConfiguration",
                    name,
                    {"bucketRef": self.ref(name), "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": object_lock_days}}},
                    region=region,
                    tags=False,
                )
            )
        return objs

    def replication(self, sources: list[Any]) -> list[Obj]:
        i = self.infra
        role = f"{i.name}-s3-replication"
        statements = [
            {
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{b.name}" for b in sources],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"],
                "Resource": [f"arn:aws:s3:::{b.name}/*" for b in sources],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": [f"arn:aws:s3:::{b.replicate_to}/*" for b in sources],
            },
        ]
        assert i.dr_region  # noqa: S101 - only a cluster with a DR region has replicated buckets
        # SSE-KMS objects: decrypt with the source key, encrypt the replica with the DR region's key, each only
        # through S3 in its region and for these buckets (with S3 Bucket Keys the context is the bucket ARN).
        # Key IDs exist only once Crossplane created the keys: the statements name them by alias.
        statements += [
            self.key_use_statement("DecryptSources", "kms:Decrypt", "data", i.region, [b.name for b in sources]),
            self.key_use_statement("EncryptReplicas", "kms:Encrypt", DR_KEY, i.dr_region, [str(b.replicate_to) for b in sources]),
        ]
        objs = [
            self.mr(
                "iam",
                "Role",
                role,
                {
                    "assumeRolePolicy": _json(_service_trust("s3.amazonaws.com")),
                    "inlinePolicy": [{"name": "replicate", "policy": _json({"Version": "2012-10-17", "Statement": statements})}],
                },
                regional=False,
            )
        ]
        for b in sources:
            assert b.replicate_to and i.dr_region  # noqa: S101 - buckets() only lists replicated buckets here
            objs += self.bucket(b.replicate_to, i.dr_region, b.noncurrent_version_days)
            objs.append(
                self.mr(
                    "s3",
                    "BucketReplicationConfiguration",
                    b.name,
                    {
                        "bucketRef": self.ref(b.name),
                        "roleRef": self.ref(role),
                        "rule": [
                            {
                                "id": "to-dr-region",
                                "status": "Enabled",
                                "priority": 1,
                                "filter": {"prefix": ""},
                                "deleteMarkerReplication": {"status": "Disabled"},
                                # Without this S3 skips every SSE-KMS object, i.e. all of ours (default encryption).
                                "sourceSelectionCriteria": {"sseKmsEncryptedObjects": {"status": "Enabled"}},
                                "destination": {
                                    "bucketRef": self.ref(b.replicate_to),
                                    "encryptionConfiguration": {"replicaKmsKeyIdRef": self.ref(DR_KEY)},
                                    "storageClass": "STANDARD",
                                    # Replication Time Control: 99.99 % of objects within 15 minutes (the seed's RPO).
                                    "replicationTime": {"status": "Enabled", "time": {"minutes": 15}},
                                    "metrics": {"status": "Enabled", "eventThreshold": {"minutes": 15}},
                                },
                            }
                        ],
                    },
                    tags=False,
                )
            )
        return objs

    def key_use_statement(self, sid: str, action: str, purpose: str, region: str, buckets: list[str]) -> dict[str, Any]:
        """`action` with one of the cluster's keys in `region`, only as S3 uses it for these buckets."""
        i = self.infra
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": [action],
            "Resource": [i.arn("kms", "key/*", region=region)],
            "Condition": {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": [self.key_alias(purpose)]},
                "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                "StringLike": {
                    "kms:EncryptionContext:aws:s3:arn": sorted(
                        arn for name in buckets for arn in (f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*")
                    )
                },
            },
        }

    # --- audit, DNS and edge ---------------------------------------------------------------
    def audit_trail(self) -> list[Obj]:
        """CloudTrail into a bucket with object lock: the audit log cannot be rewritten, even by an admin."""
        i = self.infra
        name = f"{i.parameters['data']['object_storage']['bucket_prefix']}-{i.name}-audit-trail"
        days = i.settings["logs"]["audit_trail_retention_days"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{name}",
                },
                {
                    "Sid": "TrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{name}/AWSLogs/{i.account}/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
        objs = self.bucket(name, i.region, days, object_lock_days=days)
        objs += [
            self.mr("s3", "BucketPolicy", name, {"bucketRef": self.ref(name), "policy": _json(policy)}, tags=False),
            self.mr(
                "cloudtrail",
                "Trail",
                "audit",
                {
                    "s3BucketNameRef": self.ref(name),
                    "isMultiRegionTrail": True,
                    "includeGlobalServiceEvents": True,
                    "enableLogFileValidation": True,
                    "enableLogging": True,
                    "kmsKeyIdRef": self.ref("logs"),
                },
            ),
        ]
        return objs

    def dns_and_edge(self) -> list[Obj]:
        """The gateway load balancer's security group: what of the edge is the cluster's own. CloudFront, WAF and
        their records are the environment's (mnops.infra.edge, built in infra-edge-<environment>)."""
        return gateway_security_group(self, edge_plan(self.infra))

    def public_zone(self) -> Obj:
        """The environment's hosted zone (build with namespace=infra.zone_namespace). It belongs to the environment,
        not to whichever cluster is primary: a role swap must not create a second zone of the same name, which
        Route 53 allows and nobody would resolve. external-dns and cert-manager write its records."""
        i = self.infra
        zone = self.mr(
            "route53",
            "Zone",
            ZONE,
            {"name": i.public_zone, "comment": f"{i.environment} gateway hostnames", "forceDestroy": False},
            regional=False,
            tags=False,
        )
        tags = {k: v for k, v in self.tags(f"{i.environment}-{ZONE}").items() if k != "cluster"}
        zone["spec"]["forProvider"]["tags"] = tags
        return zone

    def all(self) -> list[Obj]:
        return (
            self.network()
            + self.keys()
            + self.cluster()
            + self.workload_identities()
            + self.buckets()
            + self.audit_trail()
            + (self.dns_and_edge())
        )


def _service_trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _pod_identity_trust() -> dict[str, Any]:
    # EKS Pod Identity: the agent assumes the role for the associated ServiceAccount and tags the session.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def _json(value: Any) -> str:
    """IAM and WAF documents as compact, key-sorted JSON: the same inventory gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
