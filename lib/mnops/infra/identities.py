"""Which ServiceAccounts of a workload cluster call the cloud, and the least each one may do.

The role names follow the cloud class's workload-identity template, the same one the compiled
ServiceAccounts and chart values carry in their annotation; tests/test_infra_capabilities.py
checks every annotated ServiceAccount in compiled/ has its role and Pod Identity association.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mnops.infra.model import CloudIdentity, ClusterInfra

ADDON_NAMESPACE = "kube-system"


def buckets_for(infra: ClusterInfra, purposes: Iterable[str]) -> list[str]:
    """The cluster's buckets of these purposes (`velero`, `postgres`, `logs`, ...), by name."""
    wanted = set(purposes)
    return sorted(b.name for b in infra.buckets if b.purpose in wanted or b.purpose.split()[0] in wanted)


def _s3_statements(infra: ClusterInfra, purposes: set[str]) -> tuple[dict[str, Any], ...]:
    names = buckets_for(infra, purposes)
    if not names:
        return ()
    return (
        {
            "Sid": "ListOwnBuckets",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{n}" for n in names],
        },
        {
            "Sid": "ReadWriteOwnObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{n}/*" for n in names],
        },
    )


def _kms_statement(infra: ClusterInfra) -> dict[str, Any]:
    # Buckets are encrypted with the cluster's key: writers need to generate data keys with it.
    return {
        "Sid": "UseClusterKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": [infra.arn("kms", f"alias/{infra.name}-data")],
    }


def _zone_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    zone = infra.settings["dns"]["zone"]
    return (
        {
            "Sid": "ChangeOwnZone",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
            "Resource": ["arn:aws:route53:::hostedzone/*"],
            "Condition": {
                "ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": [f"*.{zone}", zone]}
            },
        },
        {
            "Sid": "FindZone",
            "Effect": "Allow",
            "Action": ["route53:GetChange", "route53:ListHostedZones", "route53:ListHostedZonesByName"],
            "Resource": ["*"],
        },
    )


def _secret_statements(infra: ClusterInfra) -> tuple[dict[str, Any], ...]:
    secrets = infra.parameters["secrets"]
    # AWS appends six random characters to a secret's ARN: `-??????` matches exactly one secret.
    keys = sorted(
        {f"{secrets['key_prefix']}*"} | {f"{s['remote_key']}-??????" for s in secrets.get("platform_secrets", {}).values()}
    )
    return (
        {
            "Sid": "ReadOwnSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"],
            "Resource": [infra.arn("secretsmanager", f"secret:{k}") for k in keys],
        },
    )


def _tagged(infra: ClusterInfra, sid: str, actions: list[str]) -> dict[str, Any]:
    """Actions allowed only on resources tagged with this cluster (what the controller itself created)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": ["*"],
        "Condition": {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{infra.name}": "owned"}},
    }


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
                ns, "cert-manager", "cert-manager", "ACME DNS-01 records in the zone", _zone_statements(infra), writes_dns=True
            )
        )
    if p["backup"]["enabled"]:
        ns = p["backup"]["namespace"]
        snapshots = {
            "Sid": "VolumeSnapshots",
            "Effect": "Allow",
            "Resource": ["*"],
            "Action": [
                "ec2:CreateSnapshot",
                "ec2:CreateTags",
                "ec2:CreateVolume",
                "ec2:DeleteSnapshot",
                "ec2:DescribeSnapshots",
                "ec2:DescribeVolumes",
            ],
        }
        found.append(
            CloudIdentity(
                ns,
                "velero",
                "velero",
                "Velero backups",
                (*_s3_statements(infra, {"velero"}), _kms_statement(infra), snapshots),
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
                (*_s3_statements(infra, {"postgres"}), _kms_statement(infra)),
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
                (*_s3_statements(infra, {"redis"}), _kms_statement(infra)),
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
                (*_s3_statements(infra, {"logs"}), _kms_statement(infra)),
                bucket_purposes=frozenset({"logs"}),
            )
        )
    found += addon_identities(infra)
    return sorted(found, key=lambda i: (i.namespace, i.service_account))


def portable_identities(infra: ClusterInfra) -> list[CloudIdentity]:
    """The identities every cloud gives the cluster (the EKS add-ons' controllers only exist on AWS)."""
    return [ci for ci in cloud_identities(infra) if ci.only_on in (None, infra.cloud)]


def addon_identities(infra: ClusterInfra) -> list[CloudIdentity]:
    """The cluster add-ons' controllers (docs/infrastructure.md), all in kube-system."""
    ec2_read = {
        "Sid": "Describe",
        "Effect": "Allow",
        "Resource": ["*"],
        "Action": [
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "elasticloadbalancing:Describe*",
        ],
    }
    lbc = (
        ec2_read,
        {
            "Sid": "CreateTagged",
            "Effect": "Allow",
            "Resource": ["*"],
            "Action": [
                "ec2:CreateSecurityGroup",
                "ec2:CreateTags",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
            ],
            "Condition": {"StringEquals": {f"aws:RequestTag/kubernetes.io/cluster/{infra.name}": "owned"}},
        },
        _tagged(
            infra,
            "ManageOwn",
            [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:DeleteSecurityGroup",
                "ec2:RevokeSecurityGroupIngress",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
            ],
        ),
    )
    karpenter = (
        ec2_read,
        {
            "Sid": "Launch",
            "Effect": "Allow",
            "Resource": ["*"],
            "Action": [
                "ec2:CreateFleet",
                "ec2:CreateLaunchTemplate",
                "ec2:CreateTags",
                "ec2:RunInstances",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSpotPriceHistory",
                "pricing:GetProducts",
                "ssm:GetParameter",
            ],
        },
        _tagged(infra, "TerminateOwn", ["ec2:DeleteLaunchTemplate", "ec2:TerminateInstances"]),
        {
            "Sid": "PassNodeRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [infra.arn("iam", f"role/{infra.name}-nodes")],
        },
        {
            "Sid": "InstanceProfiles",
            "Effect": "Allow",
            "Resource": ["*"],
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
            ],
        },
        {
            "Sid": "Cluster",
            "Effect": "Allow",
            "Action": ["eks:DescribeCluster"],
            "Resource": [infra.arn("eks", f"cluster/{infra.name}")],
        },
    )
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
            (),
            ("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",),
            only_on="aws",
        ),
    ]
