"""The OpenTofu root module that creates the management cluster, the one thing Crossplane cannot create.

Emitted as JSON configuration (`main.tf.json`) from the management target's inventory: the state
bucket (S3 backend with native lock files), the network, the EKS cluster with its node group and
Pod Identity agent, and the IAM role the Crossplane providers run as. Applied once by an operator;
scanned offline by checkov (`make infra-scan`); `tofu validate` runs in the GitHub workflow.
"""

from __future__ import annotations

import json
from typing import Any

from mnops.infra.aws_data import PUBLISHER_SUFFIX, pusher_role_arn
from mnops.infra.network import carve
from mnops.inventory.model import Target

Block = dict[str, Any]
AWS_PROVIDER_VERSION = "6.21.0"  # hashicorp/aws, pinned exactly; Renovate proposes updates
TOFU_VERSION = ">= 1.10.0"  # S3 native state locking (use_lockfile) needs 1.10


def _policy(statements: list[Block]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True, separators=(",", ":"))


def _state_bucket(name: str, bucket: str) -> dict[str, Block]:
    ref = f"${{aws_s3_bucket.{name}.id}}"
    return {
        "aws_s3_bucket": {name: {"bucket": bucket}},
        "aws_s3_bucket_versioning": {name: {"bucket": ref, "versioning_configuration": {"status": "Enabled"}}},
        "aws_s3_bucket_server_side_encryption_configuration": {
            name: {
                "bucket": ref,
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": {
                            "sse_algorithm": "aws:kms",
                            "kms_master_key_id": "${aws_kms_key.bootstrap.arn}",
                        },
                        "bucket_key_enabled": True,
                    }
                ],
            }
        },
        "aws_s3_bucket_public_access_block": {
            name: {
                "bucket": ref,
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            }
        },
        "aws_s3_bucket_lifecycle_configuration": {
            name: {
                "bucket": ref,
                "rule": [
                    {
                        "id": "old-state-versions",
                        "status": "Enabled",
                        "filter": [{}],
                        "noncurrent_version_expiration": [{"noncurrent_days": 90}],
                        "abort_incomplete_multipart_upload": [{"days_after_initiation": 7}],
                    }
                ],
            }
        },
    }


def _publisher_identity(target: Target) -> dict[str, Block]:
    """External Secrets' identity: it publishes managed databases' connections into the workload
    accounts by assuming each cluster's publisher role (mnops.infra.aws_data), and can do nothing else."""
    trust = [
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    assume = {
        # Each workload account's publisher role may write only that cluster's `managed/` secrets.
        "Sid": "AssumePublishersInWorkloadAccounts",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Resource": [f"arn:aws:iam::*:role/*-{PUBLISHER_SUFFIX}"],
    }
    return {
        "aws_iam_role": {
            "external_secrets": {"name": pusher_role_arn(target).rsplit("/", 1)[-1], "assume_role_policy": _policy(trust)}
        },
        "aws_iam_role_policy": {"external_secrets": {"role": "${aws_iam_role.external_secrets.id}", "policy": _policy([assume])}},
        "aws_eks_pod_identity_association": {
            "external_secrets": {
                "cluster_name": "${aws_eks_cluster.main.name}",
                "namespace": target.parameters["charts"]["external-secrets"]["namespace"],
                "service_account": "external-secrets",
                "role_arn": "${aws_iam_role.external_secrets.arn}",
            }
        },
    }


def root_module(target: Target) -> dict[str, Block]:
    """The files of the management cluster's bootstrap: main.tf.json and versions.tf.json (the `terraform`
    block on its own: checkov's terraform_json parser cannot read it, and needs not to)."""
    p = target.parameters
    infra, crossplane = p["infra"], p["crossplane"]
    name, region, account = target.cluster.name, target.cluster.region, str(p["cloud"]["account"])
    prefix = p["data"]["object_storage"]["bucket_prefix"]
    zones = carve(infra["networks"][name], target.cluster.zones, infra["subnets"])
    state_bucket = f"{prefix}-{name}-tofu-state"
    tags = {"cluster": name, "environment": target.cluster.environment, "project": target.project_name, "managed-by": "opentofu"}
    resources: dict[str, dict[str, Block]] = {}

    def add(kind: str, key: str, body: Block) -> None:
        resources.setdefault(kind, {})[key] = body

    for kind, blocks in [*_state_bucket("state", state_bucket).items(), *_publisher_identity(target).items()]:
        for key, body in blocks.items():
            add(kind, key, body)
    add(
        "aws_kms_key",
        "bootstrap",
        {
            "description": f"{name}: state, secrets and logs",
            "enable_key_rotation": True,
            "deletion_window_in_days": 30,
            "policy": _policy(
                [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudWatchLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                        "Resource": "*",
                    },
                ]
            ),
        },
    )
    # --- network ---
    add("aws_vpc", "main", {"cidr_block": infra["networks"][name], "enable_dns_hostnames": True, "enable_dns_support": True})
    add("aws_default_security_group", "main", {"vpc_id": "${aws_vpc.main.id}"})  # no rules: the default SG allows nothing
    add("aws_internet_gateway", "main", {"vpc_id": "${aws_vpc.main.id}"})
    add(
        "aws_route_table",
        "public",
        {"vpc_id": "${aws_vpc.main.id}", "route": [{"cidr_block": "0.0.0.0/0", "gateway_id": "${aws_internet_gateway.main.id}"}]},
    )
    nat_zones = zones if infra["nat"] == "per-zone" else zones[:1]
    for index, z in enumerate(zones):
        nat = nat_zones[index] if infra["nat"] == "per-zone" else nat_zones[0]
        add(
            "aws_subnet",
            f"private_{index}",
            {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": z.private,
                "availability_zone": z.zone,
                "tags": {"kubernetes.io/role/internal-elb": "1"},
            },
        )
        add(
            "aws_subnet",
            f"public_{index}",
            {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": z.public,
                "availability_zone": z.zone,
                "map_public_ip_on_launch": False,
                "tags": {"kubernetes.io/role/elb": "1"},
            },
        )
        add(
            "aws_route_table_association",
            f"public_{index}",
            {"subnet_id": f"${{aws_subnet.public_{index}.id}}", "route_table_id": "${aws_route_table.public.id}"},
        )
        nat_index = zones.index(nat)
        add(
            "aws_route_table",
            f"private_{index}",
            {
                "vpc_id": "${aws_vpc.main.id}",
                "route": [{"cidr_block": "0.0.0.0/0", "nat_gateway_id": f"${{aws_nat_gateway.nat_{nat_index}.id}}"}],
            },
        )
        add(
            "aws_route_table_association",
            f"private_{index}",
            {"subnet_id": f"${{aws_subnet.private_{index}.id}}", "route_table_id": f"${{aws_route_table.private_{index}.id}}"},
        )
    for z in nat_zones:
        index = zones.index(z)
        add("aws_eip", f"nat_{index}", {"domain": "vpc"})
        add(
            "aws_nat_gateway",
            f"nat_{index}",
            {"allocation_id": f"${{aws_eip.nat_{index}.id}}", "subnet_id": f"${{aws_subnet.public_{index}.id}}"},
        )
    add(
        "aws_cloudwatch_log_group",
        "flow_logs",
        {
            "name": f"/aws/vpc/{name}/flow-logs",
            "kms_key_id": "${aws_kms_key.bootstrap.arn}",
            "retention_in_days": infra["logs"]["flow_log_retention_days"],
        },
    )
    add(
        "aws_iam_role",
        "flow_logs",
        {
            "name": f"{name}-flow-logs",
            "assume_role_policy": _policy(
                [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            ),
        },
    )
    add(
        "aws_iam_role_policy",
        "flow_logs",
        {
            "role": "${aws_iam_role.flow_logs.id}",
            "policy": _policy(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                        "Resource": "${aws_cloudwatch_log_group.flow_logs.arn}:*",
                    }
                ]
            ),
        },
    )
    add(
        "aws_flow_log",
        "main",
        {
            "vpc_id": "${aws_vpc.main.id}",
            "traffic_type": "ALL",
            "log_destination": "${aws_cloudwatch_log_group.flow_logs.arn}",
            "iam_role_arn": "${aws_iam_role.flow_logs.arn}",
        },
    )
    # --- the management EKS cluster ---
    private = [f"${{aws_subnet.private_{i}.id}}" for i in range(len(zones))]
    add(
        "aws_iam_role",
        "cluster",
        {
            "name": f"{name}-cluster",
            "assume_role_policy": _policy(
                [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            ),
        },
    )
    add(
        "aws_iam_role_policy_attachment",
        "cluster",
        {"role": "${aws_iam_role.cluster.name}", "policy_arn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"},
    )
    add(
        "aws_cloudwatch_log_group",
        "cluster",
        {
            "name": f"/aws/eks/{name}/cluster",
            "kms_key_id": "${aws_kms_key.bootstrap.arn}",
            "retention_in_days": infra["eks"]["log_retention_days"],
        },
    )
    add(
        "aws_eks_cluster",
        "main",
        {
            "name": name,
            "version": infra["eks"]["version"],
            "role_arn": "${aws_iam_role.cluster.arn}",
            "vpc_config": {
                "subnet_ids": private,
                "endpoint_private_access": True,
                "endpoint_public_access": bool(infra["eks"]["public_endpoint"]),
            },
            "access_config": {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            "enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
            "encryption_config": {"resources": ["secrets"], "provider": {"key_arn": "${aws_kms_key.bootstrap.arn}"}},
            "deletion_protection": True,
            "depends_on": ["aws_cloudwatch_log_group.cluster", "aws_iam_role_policy_attachment.cluster"],
        },
    )
    add(
        "aws_iam_role",
        "nodes",
        {
            "name": f"{name}-nodes",
            "assume_role_policy": _policy(
                [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            ),
        },
    )
    for index, policy in enumerate(("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy")):
        add(
            "aws_iam_role_policy_attachment",
            f"nodes_{index}",
            {"role": "${aws_iam_role.nodes.name}", "policy_arn": f"arn:aws:iam::aws:policy/{policy}"},
        )
    nodes = infra["nodes"]
    add(
        "aws_eks_node_group",
        "system",
        {
            "cluster_name": "${aws_eks_cluster.main.name}",
            "node_group_name": "system",
            "node_role_arn": "${aws_iam_role.nodes.arn}",
            "subnet_ids": private,
            "instance_types": list(nodes["instance_types"]),
            "ami_type": "AL2023_x86_64_STANDARD",
            "scaling_config": {
                "min_size": nodes["min_size"],
                "max_size": nodes["max_size"],
                "desired_size": nodes["desired_size"],
            },
            "update_config": {"max_unavailable": 1},
        },
    )
    for addon in ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"):
        add("aws_eks_addon", addon.replace("-", "_"), {"cluster_name": "${aws_eks_cluster.main.name}", "addon_name": addon})
    # --- the identity Crossplane's providers run as, bound to their ServiceAccount by Pod Identity ---
    add(
        "aws_iam_role",
        "crossplane",
        {
            "name": f"{name}-crossplane",
            "assume_role_policy": _policy(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "pods.eks.amazonaws.com"},
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                    }
                ]
            ),
        },
    )
    add(
        "aws_iam_role_policy",
        "crossplane",
        {
            "role": "${aws_iam_role.crossplane.id}",
            "policy": _policy(
                [
                    {
                        "Sid": "AssumeProvisionerInWorkloadAccounts",
                        "Effect": "Allow",
                        "Action": ["sts:AssumeRole", "sts:TagSession"],
                        "Resource": [f"arn:aws:iam::*:role/{crossplane['account_role']}"],
                    }
                ]
            ),
        },
    )
    add(
        "aws_eks_pod_identity_association",
        "crossplane",
        {
            "cluster_name": "${aws_eks_cluster.main.name}",
            "namespace": "crossplane-system",
            "service_account": "provider-aws",
            "role_arn": "${aws_iam_role.crossplane.arn}",
        },
    )
    for role in infra["eks"]["admin_roles"]:
        add(
            "aws_eks_access_entry",
            role.replace("-", "_"),
            {"cluster_name": "${aws_eks_cluster.main.name}", "principal_arn": f"arn:aws:iam::{account}:role/{role}"},
        )
        add(
            "aws_eks_access_policy_association",
            role.replace("-", "_"),
            {
                "cluster_name": "${aws_eks_cluster.main.name}",
                "principal_arn": f"arn:aws:iam::{account}:role/{role}",
                "policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "access_scope": {"type": "cluster"},
            },
        )
    generated = f"Generated by make compile from inventory/targets/{name}.yml (lib/mnops/infra/bootstrap.py); do not edit."
    versions = {
        "//": generated,
        "terraform": {
            "required_version": TOFU_VERSION,
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}},
            # The state bucket is created by this module: the first apply runs with local state, then
            # `tofu init -migrate-state` moves it here (docs/infrastructure.md, step 3).
            "backend": {
                "s3": {
                    "bucket": state_bucket,
                    "key": f"{name}/bootstrap.tfstate",
                    "region": region,
                    "encrypt": True,
                    "use_lockfile": True,
                }
            },
        },
    }
    main = {
        "//": generated,
        "provider": {"aws": {"region": region, "allowed_account_ids": [account], "default_tags": {"tags": tags}}},
        "resource": resources,
        "output": {
            "cluster_name": {"value": "${aws_eks_cluster.main.name}"},
            "crossplane_role_arn": {"value": "${aws_iam_role.crossplane.arn}"},
            "external_secrets_role_arn": {"value": "${aws_iam_role.external_secrets.arn}"},
        },
    }
    return {"main.tf": main, "versions.tf": versions}
