"""Which ServiceAccounts of a workload cluster call the cloud, and the least each one may do.

The role names follow the cloud class's workload-identity template, the same one the compiled
ServiceAccounts and chart values carry in their annotation; tests/test_infra_capabilities.py
checks every annotated ServiceAccount in compiled/ has its role and Pod Identity association.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mnops.data import Bucket, data_settings
from mnops.infra.model import CloudIdentity, ClusterInfra
from mnops.inventory.layers import effective_service
from mnops.inventory.model import build_target

ADDON_NAMESPACE = "kube-system"
HOSTED_ZONES = "arn:aws:route53:::hostedzone/*"
# What the backup and log writers do with their objects; Velero also resumes multipart uploads (ListMultipartUploadParts).
S3_OBJECT_ACTIONS = ("s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject")
VELERO_OBJECT_ACTIONS = (*S3_OBJECT_ACTIONS, "s3:ListMultipartUploadParts")
# The AWS Load Balancer Controller tags everything it creates with this key and the cluster's name (its clusterName value).
LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
# The data key's counterpart in the DR region (mnops.infra.aws.DR_KEY: identities cannot import the layer).
DR_DATA_KEY = "data-dr"
# EBS CSI driver v1.64: the managed version of its example policy, limited to volumes and snapshots it tagged.
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicyV2"


def _buckets(infra: ClusterInfra, purposes: Iterable[str]) -> list[Bucket]:
    wanted = set(purposes)
    return sorted((b for b in infra.buckets if b.purpose in wanted or b.purpose.split()[0] in wanted), key=lambda b: b.name)


def buckets_for(infra: ClusterInfra, purposes: Iterable[str]) -> list[str]:
    """The cluster's buckets of these purposes (`velero`, `postgres`, `logs`, ...), by name."""
    return [b.name for b in _buckets(infra, purposes)]


def _allow(sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Allow statement; actions sorted so that the same inventory gives the same policy bytes."""
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _s3_statements(
    infra: ClusterInfra, purposes: set[str], object_actions: tuple[str, ...] = S3_OBJECT_ACTIONS
) -> tuple[dict[str, Any], ...]:
    """Read and write the cluster's own buckets of these purposes, and use the keys that encrypt them."""
    buckets = _buckets(infra, purposes)
    if not buckets:
        return ()
    names = [b.name for b in buckets]
    return (
        _allow("ListOwnBuckets", ["s3:ListBucket"], [f"arn:aws:s3:::{n}" for n in names]),
        _allow("ReadWriteOwnObjects", list(object_actions), [f"arn:aws:s3:::{n}/*" for n in names]),
        *_kms_statements(infra, buckets),
    )


def _archive_source_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """A standby's replica cluster recovers from the DR-region copy of its primary's WAL archive: read only."""
    if infra.role != "standby":
        return ()
    copy = data_settings(build_target(infra.parameters)).primary_wal_copy
    return (
        _allow("ListPrimaryArchive", ["s3:ListBucket"], [f"arn:aws:s3:::{copy.name}"]),
        _allow("ReadPrimaryArchive", ["s3:GetObject"], [f"arn:aws:s3:::{copy.name}/*"]),
        *_kms_statements(infra, [copy], "UsePrimaryArchiveKey", ("kms:Decrypt",)),
    )


def _bucket_key(infra: ClusterInfra, bucket: Bucket) -> tuple[str, str]:
    """(region, alias) of the key that encrypts a bucket (mnops.infra.aws, data_key_in): its owner's data key in
    the owner's region, the DR-region counterpart (data-dr) for the copies in the DR region."""
    own_region = bucket.cluster == infra.name and bucket.region == infra.region
    return bucket.region, f"alias/{bucket.cluster}-{'data' if own_region else DR_DATA_KEY}"


def _data_key(infra: ClusterInfra) -> tuple[list[str], dict[str, Any]]:
    """The cluster's data key, by its alias: an alias ARN as Resource would only govern the alias itself."""
    keys = [infra.arn("kms", "key/*")]
    return keys, {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [f"alias/{infra.name}-data"]}}


def _kms_statements(
    infra: ClusterInfra,
    buckets: Iterable[Bucket],
    sid: str = "UseDataKeys",
    actions: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey"),
) -> tuple[dict[str, Any], ...]:
    """Buckets are encrypted with a data key of their region (SSE-KMS): writers generate data keys with it,
    readers decrypt. Keys by alias (kms:ResourceAliases), one statement per region: an alias names a key in
    its own region only (mnops.infra.key_regions checks each one exists there)."""
    by_region: dict[str, set[str]] = {}
    for region, alias in (_bucket_key(infra, b) for b in buckets):
        by_region.setdefault(region, set()).add(alias)
    return tuple(
        _allow(
            sid if region == infra.region else f"{sid}InDrRegion",
            list(actions),
            [infra.arn("kms", "key/*", region=region)],
            {"ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(aliases)}},
        )
        for region, aliases in sorted(by_region.items())
    )


def _ebs_key_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """Volumes encrypted with the data key (the gp3 StorageClass's kmsKeyId): EC2 works with the key through a
    grant the caller creates, for AWS resources only (aws-ebs-csi-driver docs/install.md, "Encrypted EBS Volumes")."""
    keys, alias = _data_key(infra)
    return (
        _allow("VolumeKey", ["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"], keys, alias),
        _allow(
            "VolumeKeyGrants",
            ["kms:CreateGrant"],
            keys,
            {**alias, "Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    )


def _zone_names(infra: ClusterInfra, prefix: str = "") -> list[str]:
    zone = infra.settings["dns"]["zone"]
    return [f"{prefix}{zone}", f"{prefix}*.{zone}"]


def _zone_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """external-dns (docs/tutorials/aws.md, the ABAC variant): changes only names in our zone."""
    return (
        _allow(
            "ChangeOwnZone",
            ["route53:ChangeResourceRecordSets"],
            [HOSTED_ZONES],
            {"ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": _zone_names(infra)}},
        ),
        _allow("ReadZones", ["route53:ListResourceRecordSets", "route53:ListTagsForResources"], [HOSTED_ZONES]),
        _allow("FindZone", ["route53:ListHostedZones"], ["*"]),
    )


def _acme_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """cert-manager's DNS-01 solver (cert-manager.io docs, ACME DNS01 Route53): TXT challenge records only."""
    return (
        _allow("WaitForChange", ["route53:GetChange"], ["arn:aws:route53:::change/*"]),
        _allow(
            "ChallengeRecords",
            ["route53:ChangeResourceRecordSets"],
            [HOSTED_ZONES],
            {
                "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
                "ForAllValues:StringLike": {
                    "route53:ChangeResourceRecordSetsNormalizedRecordNames": _zone_names(infra, "_acme-challenge.")
                },
            },
        ),
        _allow("ReadRecords", ["route53:ListResourceRecordSets"], [HOSTED_ZONES]),
        _allow("FindZone", ["route53:ListHostedZonesByName"], ["*"]),
    )


def _secret_arns(infra: ClusterInfra, keys: set[str]) -> list[str]:
    # AWS appends six random characters to a secret's ARN: `-??????` matches exactly one secret.
    return [infra.arn("secretsmanager", f"secret:{k}") for k in sorted(keys)]


def _secret_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """External Secrets (docs/provider/aws-secrets-manager.md): read the cluster's own paths. No ListSecrets or
    BatchGetSecretValue: those serve `dataFrom.find`, which no compiled ExternalSecret uses."""
    secrets = infra.parameters["secrets"]
    keys = {f"{secrets['key_prefix']}*"} | {f"{s['remote_key']}-??????" for s in secrets.get("platform_secrets", {}).values()}
    actions = [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
    ]
    return (_allow("ReadOwnSecrets", actions, _secret_arns(infra, keys)),)


def cloud_identities(infra: ClusterInfra) -> list[CloudIdentity]:
    """Every cloud-calling ServiceAccount of the cluster, from the same inventory that compiles it."""
    p = infra.parameters
    charts = p["charts"]
    data_ns = infra.namespaces.get("data", infra.namespaces["apps"])
    found: list[CloudIdentity] = []
    if charts.get("external-secrets", {}).get("enabled"):
        ns = charts["external-secrets"]["namespace"]
        found.append(
            CloudIdentity(
                ns,
                "external-secrets",
                "external-secrets",
                "read the cluster's secrets",
                _secret_statements(infra),
                reads_secrets=True,
            )
        )
    if charts.get("cert-manager", {}).get("enabled"):
        ns = charts["cert-manager"]["namespace"]
        found.append(
            CloudIdentity(
                ns, "cert-manager", "cert-manager", "ACME DNS-01 records in the zone", _acme_statements(infra), writes_dns=True
            )
        )
    if p["backup"]["enabled"]:
        ns = p["backup"]["namespace"]
        # velero-plugin-for-aws (README, "Set permissions for Velero"): EBS snapshots of the volumes it backs up.
        snapshot_actions = ["ec2:CreateSnapshot", "ec2:CreateTags", "ec2:CreateVolume", "ec2:DeleteSnapshot"]
        snapshots = _allow("VolumeSnapshots", [*snapshot_actions, "ec2:DescribeSnapshots", "ec2:DescribeVolumes"], ["*"])
        found.append(
            CloudIdentity(
                ns,
                "velero",
                "velero",
                "Velero backups",
                # Restoring a volume from a snapshot of an encrypted volume needs the volume key's grant too.
                (*_s3_statements(infra, {"velero"}, VELERO_OBJECT_ACTIONS), *_ebs_key_statements(infra), snapshots),
                bucket_purposes=frozenset({"velero"}),
                snapshots=True,
            )
        )
    if p["postgres"]["enabled"] and infra.settings["data_services"]["postgres"] == "cloudnative-pg":
        name = p["postgres"]["cluster_name"]
        found.append(
            CloudIdentity(
                data_ns,
                name,
                name,
                "WAL archive and base backups",
                (*_s3_statements(infra, {"postgres"}), *_archive_source_statements(infra)),
                bucket_purposes=frozenset({"postgres"}),
            )
        )
    redis_copy = p["redis"]["snapshot_copy"]
    if p["redis"]["enabled"] and redis_copy["enabled"] and infra.settings["data_services"]["redis"] == "operator":
        found.append(
            CloudIdentity(
                data_ns,
                "redis-rdb-copy",
                "redis-rdb-copy",
                "RDB snapshot copies",
                _s3_statements(infra, {"redis"}),
                bucket_purposes=frozenset({"redis"}),
            )
        )
    if p["logging"].get("loki", {}).get("bucket"):
        ns = infra.namespaces["logging"]
        found.append(
            CloudIdentity(
                ns,
                "loki",
                "loki",
                "log chunks",
                _s3_statements(infra, {"logs"}),
                bucket_purposes=frozenset({"logs"}),
            )
        )
    found += addon_identities(infra)
    found += service_identities(infra)
    return sorted(found, key=lambda i: (i.namespace, i.service_account))


def portable_identities(infra: ClusterInfra) -> list[CloudIdentity]:
    """The identities every cloud gives the cluster (the EKS add-ons' controllers only exist on AWS)."""
    return [ci for ci in cloud_identities(infra) if ci.only_on in (None, infra.cloud)]


def service_identities(infra: ClusterInfra) -> list[CloudIdentity]:
    """Application services with `cloud_identity: true` (their ServiceAccount carries the annotation): a role that
    reads the secrets the service declares (`secret_refs`, at the paths External Secrets reads them from) and
    nothing else. A service that declares none is refused by the inventory rules (mnops.infra.rules)."""
    p = infra.parameters
    prefix = p["secrets"]["key_prefix"]
    found = []
    for name in sorted(p["services"]):
        service = effective_service(p, name)
        refs = service.get("secret_refs", [])
        if not (service["cloud_identity"] and refs):
            continue
        keys = {f"{prefix}{ref['name']}-??????" for ref in refs}
        reads = _allow(
            "ReadOwnSecrets", ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], _secret_arns(infra, keys)
        )
        found.append(CloudIdentity(infra.namespaces["apps"], name, name, "its own secrets", (reads,)))
    return found


def addon_identities(infra: ClusterInfra) -> list[CloudIdentity]:
    """The cluster add-ons' controllers (docs/infrastructure.md), all in kube-system."""
    lbc = _load_balancer_controller_statements(infra)
    karpenter = _karpenter_statements(infra)
    return [
        CloudIdentity(
            ADDON_NAMESPACE,
            "aws-load-balancer-controller",
            "aws-load-balancer-controller",
            "NLBs for the gateway",
            lbc,
            only_on="aws",
        ),
        # external-dns comes with the AWS add-on charts (infra.aws_addons); GKE and AKS clusters do not install it.
        CloudIdentity(
            ADDON_NAMESPACE,
            "external-dns",
            "external-dns",
            "gateway hostnames in the zone",
            _zone_statements(infra),
            writes_dns=True,
            only_on="aws",
        ),
        CloudIdentity(ADDON_NAMESPACE, "karpenter", "karpenter", "nodes on demand", karpenter, only_on="aws"),
        CloudIdentity(
            ADDON_NAMESPACE,
            "ebs-csi-controller-sa",
            "ebs-csi-controller",
            "gp3 volumes",
            _ebs_key_statements(infra),
            (EBS_CSI_POLICY,),
            only_on="aws",
        ),
    ]


def _ec2(infra: ClusterInfra, *resources: str) -> list[str]:
    return [infra.arn("ec2", r) for r in resources]


def _load_balancer_controller_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """docs/install/iam_policy.json of the controller at the chart's version (v3.5.0), built here: the same
    actions and resources, and where upstream only asks for its cluster tag to be present, that tag's value
    must be this cluster (an NLB of another cluster in the account is not ours to change)."""
    ours = {f"aws:ResourceTag/{LBC_CLUSTER_TAG}": infra.name}
    tagging_ours = {f"aws:RequestTag/{LBC_CLUSTER_TAG}": infra.name}
    untouched_tag = {"Null": {f"aws:RequestTag/{LBC_CLUSTER_TAG}": "true"}, "StringEquals": ours}
    groups = _ec2(infra, "security-group/*")
    elb = ("targetgroup/*/*", "loadbalancer/net/*/*", "loadbalancer/app/*/*")
    balancers = [infra.arn("elasticloadbalancing", r) for r in elb]
    listeners = [
        infra.arn("elasticloadbalancing", r)
        for r in ("listener/net/*/*/*", "listener/app/*/*/*", "listener-rule/net/*/*/*", "listener-rule/app/*/*/*")
    ]
    describe = [
        *(f"ec2:{a}" for a in ("DescribeAccountAttributes", "DescribeAddresses", "DescribeAvailabilityZones",
                               "DescribeInternetGateways", "DescribeVpcs", "DescribeVpcPeeringConnections", "DescribeSubnets",
                               "DescribeSecurityGroups", "DescribeInstances", "DescribeNetworkInterfaces", "DescribeTags",
                               "GetCoipPoolUsage", "DescribeCoipPools", "GetSecurityGroupsForVpc", "DescribeIpamPools",
                               "DescribeRouteTables")),
        *(f"elasticloadbalancing:{a}" for a in ("DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeListeners",
                                                "DescribeListenerCertificates", "DescribeSSLPolicies", "DescribeRules",
                                                "DescribeTargetGroups", "DescribeTargetGroupAttributes", "DescribeTargetHealth",
                                                "DescribeTags", "DescribeTrustStores", "DescribeListenerAttributes",
                                                "DescribeCapacityReservation")),
    ]  # fmt: skip
    # Certificates, WAF and Shield for ALBs: the controller looks them up whatever the load balancer type.
    integrations = [
        "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
        "iam:ListServerCertificates", "iam:GetServerCertificate", "waf-regional:GetWebACL",
        "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL",
        "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
        "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection", "shield:DeleteProtection",
    ]  # fmt: skip
    manage_own = [
        "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools",
    ]  # fmt: skip
    listener_changes = [
        "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
    ]  # fmt: skip
    return (
        _allow(
            "ServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            ["*"],
            {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        ),
        _allow("Describe", describe, ["*"]),
        _allow("Integrations", integrations, ["*"]),
        # Rules on the nodes' group towards the load balancer's own group (manage-backend-security-group-rules).
        _allow("BackendRules", ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], ["*"]),
        _allow("CreateGroup", ["ec2:CreateSecurityGroup"], ["*"]),
        _allow(
            "TagNewGroup",
            ["ec2:CreateTags"],
            groups,
            {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup", **tagging_ours}},
        ),
        _allow("RetagOwnGroup", ["ec2:CreateTags", "ec2:DeleteTags"], groups, untouched_tag),
        _allow(
            "ManageOwnGroup",
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup", "ec2:RevokeSecurityGroupIngress"],
            ["*"],
            {"StringEquals": ours},
        ),
        _allow(
            "CreateOwnBalancer",
            ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            ["*"],
            {"StringEquals": tagging_ours},
        ),
        _allow(
            "Listeners",
            [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteRule",
            ],
            ["*"],
        ),
        _allow(
            "RetagOwnBalancer",
            ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            balancers,
            untouched_tag,
        ),
        _allow("TagListeners", ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"], listeners),
        _allow("ManageOwnBalancer", manage_own, ["*"], {"StringEquals": ours}),
        _allow(
            "TagNewBalancer",
            ["elasticloadbalancing:AddTags"],
            balancers,
            {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                    **tagging_ours,
                }
            },
        ),
        _allow(
            "Targets",
            ["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"],
            [infra.arn("elasticloadbalancing", "targetgroup/*/*")],
        ),
        _allow("ListenerSettings", listener_changes, ["*"]),
    )


def _karpenter_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    """The controller policies of Karpenter's getting-started CloudFormation template at the chart's version
    (v1.14.1), built here for this cluster, region and account. Without its SQS statement: no interruption
    queue is configured (the chart's settings.interruptionQueue), so the controller reads none."""
    name, region = infra.name, infra.region
    owned = {f"aws:ResourceTag/kubernetes.io/cluster/{name}": "owned"}
    request_owned = {f"aws:RequestTag/kubernetes.io/cluster/{name}": "owned", "aws:RequestTag/eks:eks-cluster-name": name}
    in_pool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    request_pool = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    launched = _ec2(infra, "fleet/*", "instance/*", "volume/*", "network-interface/*", "launch-template/*",
                    "spot-instances-request/*")  # fmt: skip
    profiles = [infra.arn("iam", "instance-profile/*")]
    profile_region = {"aws:ResourceTag/topology.kubernetes.io/region": region}
    profile_request = {**request_owned, "aws:RequestTag/topology.kubernetes.io/region": region}
    node_class = {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    cluster_arn = infra.arn("eks", f"cluster/{name}")
    discovery = [
        f"ec2:{a}"
        for a in ("DescribeCapacityReservations", "DescribeImages", "DescribeInstances", "DescribeInstanceStatus",
                  "DescribeInstanceTypeOfferings", "DescribeInstanceTypes", "DescribeLaunchTemplates",
                  "DescribePlacementGroups", "DescribeSecurityGroups", "DescribeSpotPriceHistory", "DescribeSubnets")
    ]  # fmt: skip
    return (
        _allow(
            "AllowScopedEC2InstanceAccessActions",
            ["ec2:CreateFleet", "ec2:RunInstances"],
            [
                f"arn:aws:ec2:{region}::image/*",
                f"arn:aws:ec2:{region}::snapshot/*",
                *_ec2(infra, "security-group/*", "subnet/*", "capacity-reservation/*", "placement-group/*"),
            ],
        ),
        _allow(
            "AllowScopedEC2LaunchTemplateAccessActions",
            ["ec2:CreateFleet", "ec2:RunInstances"],
            _ec2(infra, "launch-template/*"),
            {"StringEquals": owned, "StringLike": in_pool},
        ),
        _allow(
            "AllowScopedEC2InstanceActionsWithTags",
            ["ec2:CreateFleet", "ec2:CreateLaunchTemplate", "ec2:RunInstances"],
            launched,
            {"StringEquals": request_owned, "StringLike": request_pool},
        ),
        _allow(
            "AllowScopedResourceCreationTagging",
            ["ec2:CreateTags"],
            launched,
            {
                "StringEquals": {**request_owned, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                "StringLike": request_pool,
            },
        ),
        _allow(
            "AllowScopedResourceTagging",
            ["ec2:CreateTags"],
            _ec2(infra, "instance/*"),
            {
                "StringEquals": owned,
                "StringLike": in_pool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": name},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        ),
        _allow(
            "AllowScopedDeletion",
            ["ec2:DeleteLaunchTemplate", "ec2:TerminateInstances"],
            _ec2(infra, "instance/*", "launch-template/*"),
            {"StringEquals": owned, "StringLike": in_pool},
        ),
        _allow(
            "AllowPassingInstanceRole",
            ["iam:PassRole"],
            [infra.arn("iam", f"role/{name}-nodes")],
            {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
        _allow(
            "AllowScopedInstanceProfileCreationActions",
            ["iam:CreateInstanceProfile"],
            profiles,
            {"StringEquals": profile_request, "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}},
        ),
        _allow(
            "AllowScopedInstanceProfileTagActions",
            ["iam:TagInstanceProfile"],
            profiles,
            {
                "StringEquals": {**owned, **profile_region, **profile_request},
                "StringLike": {**node_class, "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
        _allow(
            "AllowScopedInstanceProfileActions",
            ["iam:AddRoleToInstanceProfile", "iam:DeleteInstanceProfile", "iam:RemoveRoleFromInstanceProfile"],
            profiles,
            {"StringEquals": {**owned, **profile_region}, "StringLike": node_class},
        ),
        _allow("AllowAPIServerEndpointDiscovery", ["eks:DescribeCluster"], [cluster_arn]),
        _allow(
            "AllowZonalShiftStatusReadOnly",
            ["arc-zonal-shift:GetManagedResource"],
            ["*"],
            {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}},
        ),
        _allow("AllowRegionalReadActions", discovery, ["*"], {"StringEquals": {"aws:RequestedRegion": region}}),
        _allow("AllowSSMReadActions", ["ssm:GetParameter"], [f"arn:aws:ssm:{region}::parameter/aws/service/*"]),
        _allow("AllowPricingReadActions", ["pricing:GetProducts"], ["*"]),
        _allow("AllowUnscopedInstanceProfileListAction", ["iam:ListInstanceProfiles"], ["*"]),
        _allow("AllowInstanceProfileReadActions", ["iam:GetInstanceProfile"], profiles),
    )
