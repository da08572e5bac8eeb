"""docs/infrastructure.md: the per-cluster table, the diagram and the bootstrap, from the inventory.

Each cluster is described in its own cloud's terms and priced with its own cloud class's rate table
(`pricing.infrastructure` in inventory/classes/cloud/<provider>.yml).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnops.data.managed import data_services
from mnops.infra.aws import EKS_ADDONS, INTERFACE_ENDPOINTS
from mnops.infra.azure import ranges as azure_ranges
from mnops.infra.edge import edge_plan
from mnops.infra.gcp import ranges as gcp_ranges
from mnops.infra.identities import cloud_identities, portable_identities
from mnops.infra.model import ClusterInfra
from mnops.inventory.model import Target

BOOTSTRAP_TEXT = Path(__file__).with_name("bootstrap_steps.md")
MANAGED_DATA_TEXT = Path(__file__).with_name("managed_data.md")


@dataclass(frozen=True)
class Words:
    """How one cloud names the parts of the layer (diagram and table)."""

    kubernetes: str
    network: str
    storage: str
    edge: str
    groups: str


WORDS = {
    "aws": Words("EKS", "VPC", "S3 buckets, KMS", "CloudFront + WAF", "*.aws.m.upbound.io"),
    "gcp": Words("GKE", "VPC network, Cloud NAT", "GCS buckets, Cloud KMS", "Cloud Armor policy", "*.gcp.m.upbound.io"),
    "azure": Words("AKS", "VNet, NAT gateway", "Blob containers, Key Vault", "Front Door WAF policy", "*.azure.m.upbound.io"),
}


def aws_monthly_cost(infra: ClusterInfra, pricing: Mapping[str, Any]) -> float:
    """The fixed monthly baseline: control plane, system nodes, NAT, endpoints, keys, zone, WAF.
    Traffic, stored bytes and what Karpenter adds come on top."""
    hourly, monthly, hours = pricing["hourly"], pricing["monthly"], pricing["hours_per_month"]
    nodes = infra.settings["nodes"]
    instance = hourly["instance"][nodes["instance_types"][0]]
    total = hourly["eks_control_plane"] * hours
    total += nodes["desired_size"] * (instance * hours + nodes["disk_gib"] * monthly["ebs_gp3_per_gib"])
    total += len(infra.nat_zones) * (hourly["nat_gateway"] + hourly["public_ipv4"]) * hours
    total += len(INTERFACE_ENDPOINTS) * len(infra.zones) * hourly["interface_endpoint_per_zone"] * hours
    total += 3 * monthly["kms_key"] + (monthly["route53_zone"] if infra.role == "primary" else 0)
    if infra.role == "primary" and edge_plan(infra) is not None:
        # The environment's edge (one web ACL and its log key, infra-edge-<environment>), on its primary's row like the zone.
        total += monthly["waf_web_acl"] + (len(infra.settings["edge"]["managed_rule_groups"]) + 1) * monthly["waf_rule"]
        total += monthly["kms_key"]
    return round(float(total + data_services_cost(infra, pricing)), 2)


def _rds_copies(infra: ClusterInfra) -> int:
    """A Multi-AZ instance is two instances and two volumes."""
    return 2 if infra.settings["data_services"]["rds"].get("multi_az", infra.prod) else 1


def data_services_cost(infra: ClusterInfra, pricing: Mapping[str, Any]) -> float:
    """RDS (instance and its gp3 storage) and ElastiCache nodes, where the cluster chose them; a class
    without a rate in the table counts as 0 and the table says so (missing_rates)."""
    hourly, monthly, hours = pricing["hourly"], pricing["monthly"], pricing["hours_per_month"]
    chosen, choice, total = infra.settings["data_services"], data_services(infra.parameters), 0.0
    if choice.managed("postgres"):
        rds = chosen["rds"]
        rate = hourly.get("rds_instance", {}).get(rds["instance_class"], 0.0)
        total += _rds_copies(infra) * (rate * hours + rds["allocated_storage_gib"] * monthly.get("rds_gp3_per_gib", 0.0))
    if choice.managed("redis"):
        cache = chosen["elasticache"]
        total += (1 + cache["replicas"]) * hourly.get("elasticache_node", {}).get(cache["node_type"], 0.0) * hours
    return float(total)


def missing_rates(infra: ClusterInfra, pricing: Mapping[str, Any]) -> list[str]:
    chosen, choice, hourly = infra.settings["data_services"], data_services(infra.parameters), pricing["hourly"]
    wanted = []
    if choice.managed("postgres"):
        wanted.append(("rds_instance", chosen["rds"]["instance_class"]))
    if choice.managed("redis"):
        wanted.append(("elasticache_node", chosen["elasticache"]["node_type"]))
    return [name for table, name in wanted if name not in hourly.get(table, {})]


def data_services_text(infra: ClusterInfra) -> str:
    """The data services column: who runs each store and, for a managed one, how."""
    chosen, choice = infra.settings["data_services"], data_services(infra.parameters)
    if choice.managed("postgres"):
        rds = chosen["rds"]
        how = f"read replica of {infra.parameters['data']['primary_cluster']}" if infra.role == "standby" else (
            f"PITR {rds['backup_retention_days']} d")  # fmt: skip
        az = "Multi-AZ" if _rds_copies(infra) == 2 else "single-AZ"
        postgres = f"PostgreSQL: RDS {rds['engine_version']} {rds['instance_class']}, {az}, {how}"
    else:
        postgres = f"PostgreSQL: {chosen['postgres']}"
    if choice.managed("redis"):
        cache = chosen["elasticache"]
        failover = ", Multi-AZ with failover" if cache["replicas"] else ""
        redis = f"Redis: ElastiCache {cache['engine_version']} {1 + cache['replicas']} x {cache['node_type']}{failover}, TLS"
    else:
        redis = f"Redis: {chosen['redis']}"
    return f"{postgres}, {redis}" if not choice.any_managed else f"{postgres}<br>{redis}"


def gcp_monthly_cost(infra: ClusterInfra, pricing: Mapping[str, Any]) -> float:
    """The fixed monthly baseline on GKE: cluster fee, system nodes and their disks, Cloud NAT per VM,
    key versions, the zone, the Cloud Armor policy and its rules. Traffic, stored bytes, log volume and
    what node auto-provisioning adds come on top."""
    hourly, monthly, hours = pricing["hourly"], pricing["monthly"], pricing["hours_per_month"]
    nodes, gcp = infra.settings["nodes"], infra.settings["gcp"]
    machine = gcp["machine_types"][nodes["instance_types"][0]]
    total = hourly["gke_cluster_management"] * hours
    total += nodes["desired_size"] * (hourly["instance"][machine] * hours + nodes["disk_gib"] * monthly["pd_balanced_per_gib"])
    total += min(nodes["desired_size"], 32) * hourly["nat_per_vm"] * hours
    other_regions = {b.region for b in infra.buckets} - {infra.region}
    total += (3 + len(other_regions)) * monthly["kms_key_version"] + (monthly["dns_zone"] if infra.role == "primary" else 0)
    total += monthly["cloud_armor_policy"] + (len(gcp["waf_rules"]) + 2) * monthly["cloud_armor_rule"]
    return round(float(total), 2)


def azure_monthly_cost(infra: ClusterInfra, pricing: Mapping[str, Any]) -> float:
    """The fixed monthly baseline on AKS: the Standard tier's SLA fee, system nodes and their Premium SSD
    disks, the NAT gateway and its address, the DNS zone, Front Door Premium's base fee and the HSM key.
    Traffic, requests, stored bytes, log volume and the user pool's nodes come on top."""
    hourly, monthly, hours = pricing["hourly"], pricing["monthly"], pricing["hours_per_month"]
    nodes, azure = infra.settings["nodes"], infra.settings["azure"]
    size = azure["vm_sizes"][nodes["instance_types"][0]]
    total = (hourly["aks_standard_tier"] * hours) if azure["sku_tier"] != "Free" else 0.0
    total += nodes["desired_size"] * (hourly["instance"][size] * hours + nodes["disk_gib"] * monthly["premium_ssd_per_gib"])
    total += (hourly["nat_gateway"] + hourly["public_ip"]) * hours
    total += (
        (monthly["dns_zone"] if infra.role == "primary" else 0) + monthly["front_door_premium"] + monthly["key_vault_hsm_key"]
    )
    return round(float(total), 2)


COSTS: dict[str, Callable[[ClusterInfra, Mapping[str, Any]], float]] = {
    "aws": aws_monthly_cost,
    "gcp": gcp_monthly_cost,
    "azure": azure_monthly_cost,
}


def monthly_cost(infra: ClusterInfra, pricing: Mapping[str, Any] | None = None) -> float:
    """The cluster's fixed monthly baseline at its own cloud class's rates (or the rates given)."""
    rates = pricing if pricing is not None else infra.parameters["pricing"]["infrastructure"]
    return COSTS[infra.cloud](infra, rates)


def network_cells(infra: ClusterInfra) -> tuple[str, str]:
    """(subnets, NAT) in the cloud's own shape: zonal subnet pairs on AWS, blocks by purpose on GKE."""
    if infra.cloud == "gcp":
        blocks = gcp_ranges(infra)
        subnets = ", ".join(f"{purpose}: {blocks[purpose]}" for purpose in ("nodes", "pods", "services", "control_plane"))
        return subnets, "Cloud NAT (regional)"
    if infra.cloud == "azure":
        blocks = azure_ranges(infra)
        subnets = f"nodes (VNet): {blocks['nodes']}, pods (overlay): {blocks['pods']}, services: {blocks['services']}"
        sku = "StandardV2, zone-redundant" if infra.settings["nat"] == "per-zone" else "Standard"
        return subnets, f"NAT gateway ({sku})"
    return ", ".join(f"{z.zone}: {z.private} / {z.public}" for z in infra.zones), str(infra.settings["nat"])


def capacity(infra: ClusterInfra) -> str:
    nodes = infra.settings["nodes"]
    size = nodes["instance_types"][0]
    if infra.cloud == "gcp":
        size = infra.settings["gcp"]["machine_types"][size]
        extra = "node auto-provisioning"
    elif infra.cloud == "azure":
        size = infra.settings["azure"]["vm_sizes"][size]
        extra = f"the apps pool ({infra.settings['azure']['apps_pool']['vm_size']})"
    else:
        extra = "Karpenter"
    return f"{nodes['min_size']}-{nodes['max_size']} x {size} (system) + {extra} up to {nodes['karpenter_cpu_limit']} vCPU"


def cluster_row(infra: ClusterInfra, pricing: Mapping[str, Any] | None = None) -> str:
    subnets, nat = network_cells(infra)
    buckets = "<br>".join(f"`{b.name}`" for b in infra.buckets)
    api = "public+private" if infra.settings["eks"]["public_endpoint"] else "private"
    kubernetes = f"{WORDS[infra.cloud].kubernetes} {infra.settings['eks']['version']} ({api} API)"
    rates = pricing if pricing is not None else infra.parameters["pricing"]["infrastructure"]
    unpriced = missing_rates(infra, rates)
    cost = f"{monthly_cost(infra, pricing):,.0f}" + (f" + {', '.join(unpriced)} (no rate)" if unpriced else "")
    return (
        f"| {infra.name} | {infra.cloud} | {infra.region} | {infra.cidr} | {subnets} | {nat} | {kubernetes} | "
        f"{capacity(infra)} | {data_services_text(infra)} | {buckets} | "
        f"{_names(infra)} | {cost} |"
    )


def _names(infra: ClusterInfra) -> str:
    """The public hostnames, and (on AWS) how far CloudFront in front of them has got (mnops.infra.edge)."""
    plan = edge_plan(infra) if infra.cloud == "aws" else None
    names = ", ".join(infra.hostnames) or "-"
    return f"{names} (CloudFront: {plan.phase}; origin {plan.origin})" if plan else names


def diagram(management: Target, clusters: list[ClusterInfra]) -> str:
    families = ", ".join(f"provider-{c} family" for c in sorted({i.cloud for i in clusters}))
    lines = ["```mermaid", "flowchart LR", "  git[(git: compiled/)] --> argo[Argo CD]"]
    lines.append(f'  subgraph mgmt["management cluster {management.cluster.name} (OpenTofu bootstrap)"]')
    lines += [f"    argo --> xp[Crossplane + {families}]", "  end"]
    for infra in clusters:
        c, words = infra.name.replace("-", "_"), WORDS[infra.cloud]
        nat = {"gcp": "Cloud NAT", "azure": "NAT gateway"}.get(infra.cloud, f"NAT {infra.settings['nat']}")
        lines += [
            f'  subgraph {c}["{infra.name}: {infra.cloud} {infra.region} {infra.cidr}"]',
            f"    {c}_vpc[{words.network.split(',')[0]}, {len(infra.zones)} zones, {nat}] --> "
            f"{c}_eks[{words.kubernetes} {infra.settings['eks']['version']}]",
            f"    {c}_eks --> {c}_s3[({words.storage})]",
            *([f"    {c}_edge[{words.edge}] --> {c}_eks"] if _edge_in_front(infra) else []),
            *_managed_nodes(infra, c),
            "  end",
            f"  xp --> {c}_vpc",
        ]
    lines.append("```")
    return "\n".join(lines)


def _edge_in_front(infra: ClusterInfra) -> bool:
    """On AWS the environment's CloudFront reaches its primary's gateway (the origin name; a standby's after a failover)."""
    return infra.cloud != "aws" or (edge_plan(infra) is not None and infra.role == "primary")


def _managed_nodes(infra: ClusterInfra, c: str) -> list[str]:
    choice, lines = data_services(infra.parameters), []
    if choice.managed("postgres"):
        lines.append(f"    {c}_eks --> {c}_rds[(RDS PostgreSQL)]")
    if choice.managed("redis"):
        lines.append(f"    {c}_eks --> {c}_cache[(ElastiCache Redis)]")
    return lines


def cost_note(clusters: list[ClusterInfra]) -> list[str]:
    """What each cloud's estimate includes, and where its rates come from."""
    clouds = sorted({i.cloud for i in clusters})
    lines = []
    for cloud in clouds:
        pricing = next(i for i in clusters if i.cloud == cloud).parameters["pricing"]["infrastructure"]
        if cloud == "aws":
            what = (
                "control plane, system nodes and their gp3 disks, NAT gateways and their addresses, "
                f"{len(INTERFACE_ENDPOINTS)} interface endpoints per zone, KMS keys, hosted zone, WAF where CloudFront "
                "fronts the gateway, RDS instances with their storage and ElastiCache nodes where a cluster chose them; "
                "traffic, backup storage, stored "
                "bytes, CloudFront requests and Karpenter's extra nodes come on top"
            )
        elif cloud == "azure":
            what = (
                "AKS Standard tier fee, system nodes and their Premium SSD disks, NAT gateway and its address, DNS zone, "
                "Front Door Premium base fee, the HSM key; traffic, requests, stored bytes, log volume and the apps "
                "pool's nodes come on top"
            )
        else:
            what = (
                "GKE cluster fee, system nodes and their pd-balanced disks, Cloud NAT per node, KMS key versions, "
                "Cloud DNS zone, Cloud Armor policy and rules; traffic, stored bytes, log volume and auto-provisioned "
                "nodes come on top"
            )
        lines.append(
            f"- **{cloud}**: the fixed baseline ({what}). Rates: {pricing['source']} "
            f"(`pricing.infrastructure` in `inventory/classes/cloud/{cloud}.yml`)."
        )
    return lines


def render(management: Target, clusters: list[ClusterInfra], left_out: list[str]) -> str:
    rows = [cluster_row(i) for i in clusters]
    aws = [i for i in clusters if i.cloud == "aws"]
    gcp = [i for i in clusters if i.cloud == "gcp"]
    azure = [i for i in clusters if i.cloud == "azure"]
    identities = sorted({f"`{ci.namespace}/{ci.service_account}`" for i in aws for ci in cloud_identities(i)})
    groups = ", ".join(f"`{WORDS[c].groups}`" for c in sorted({i.cloud for i in clusters}))
    lines = [
        "<!-- generated by scripts/infra_docs.py from the inventory (make infra-docs); do not edit -->",
        "# Infrastructure (generated)",
        "",
        f"Every workload cluster's cloud layer is compiled into `compiled/{management.cluster.name}/infra/infra-<cluster>/` "
        f"as Crossplane v2 namespaced managed resources ({groups}) and synced by Argo CD on the management "
        "cluster. Only the management cluster itself is created outside Crossplane, by the OpenTofu module in "
        f"`compiled/{management.cluster.name}/bootstrap/` (steps below).",
        "",
        diagram(management, clusters),
        "",
        "## Clusters",
        "",
        "| cluster | cloud | region | network | subnets (AWS per zone: private / public; GKE, AKS: by purpose) | NAT "
        "| Kubernetes | node capacity | data services | buckets | DNS names | est. USD / month |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *(
            [f"Not generated (no layer for their cloud yet): {', '.join(left_out)}. Their cloud layer must be built by hand.", ""]
            if left_out
            else []
        ),
        "Estimated monthly cost, per cloud:",
        "",
        *cost_note(clusters),
        "",
    ]
    if aws:
        lines += [
            f"EKS add-ons on every EKS cluster: {', '.join(f'`{a}`' for a in EKS_ADDONS)}. Workload identities on EKS (IAM "
            "role + Pod Identity association each, policy scoped to the cluster's own buckets, secret paths or zone): "
            f"{', '.join(identities)}.",
            "",
        ]
    if gcp:
        portable = sorted({f"`{ci.namespace}/{ci.service_account}`" for i in gcp for ci in portable_identities(i)})
        lines += [
            "Workload identities on GKE (a Google service account each, `roles/iam.workloadIdentityUser` for the "
            "Kubernetes ServiceAccount, object access on the cluster's own buckets only; DNS by project role, since "
            "a project holds one cluster; secrets by a project role whose IAM condition admits the cluster's "
            "`secrets.key_prefix` and each other secret the ExternalSecrets read, under the names Secret Manager "
            "accepts, every `/` of a path as `_`): "
            f"{', '.join(portable)}. Cloud SQL and Memorystore are not generated: PostgreSQL and Redis run in the "
            "cluster (`infra.data_services`).",
            "",
        ]
    if azure:
        portable = sorted({f"`{ci.namespace}/{ci.service_account}`" for i in azure for ci in portable_identities(i)})
        waiting = sorted(
            i.name for i in azure if not (i.parameters["cloud"].get("oidc_issuer") and i.parameters["cloud"].get("client_ids"))
        )
        lines += [
            "Workload identities on AKS (a user-assigned identity each, federated with the Kubernetes ServiceAccount "
            "through the cluster's OIDC issuer; data roles on the cluster's own containers only, each Key Vault secret "
            "the ExternalSecrets read under the name Key Vault accepts (every `/` of the path as `--`), "
            f"the DNS zone): {', '.join(portable)}. Azure Database for PostgreSQL and Azure Cache for Redis are not "
            "generated: PostgreSQL and Redis run in the cluster (`infra.data_services`).",
            "",
        ]
        if waiting:
            lines += [
                "Waiting for their first sync (no `cloud.oidc_issuer` or `cloud.client_ids` yet, so no federated credentials "
                f"or client-ID annotations): {', '.join(waiting)}.",
                "",
            ]
    lines += [BOOTSTRAP_TEXT.read_text().rstrip(), ""]
    if aws:
        lines += [MANAGED_DATA_TEXT.read_text().rstrip(), ""]
    return "\n".join(lines)
