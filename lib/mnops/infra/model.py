"""The infrastructure of one workload cluster, read from its validated inventory.

infra = cluster_infra(target)       # network, EKS, nodes, data services, buckets, identities
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnops.data import Bucket, data_settings
from mnops.infra.network import ZoneSubnets, carve
from mnops.inventory.model import Target


def zone_namespace(environment: str) -> str:
    return f"infra-dns-{environment}"


def edge_namespace(environment: str) -> str:
    """The environment's CloudFront and WAF (mnops.infra.edge): like its zone, whichever cluster is primary."""
    return f"infra-edge-{environment}"


@dataclass(frozen=True)
class CloudIdentity:
    """A ServiceAccount of the workload cluster that calls the cloud, and what it may touch."""

    namespace: str
    service_account: str
    workload: str  # the {workload} of cloud.workload_identity.value_template
    purpose: str
    statements: tuple[dict[str, Any], ...]  # IAM policy statements, each scoped to its own resources
    managed_policies: tuple[str, ...] = ()
    # What it touches, said once for every cloud (AWS has it as the statements above; GKE and AKS
    # grant their own roles from these): bucket purposes, the cluster's secrets, its DNS zone, disks.
    bucket_purposes: frozenset[str] = frozenset()
    reads_secrets: bool = False
    writes_dns: bool = False
    snapshots: bool = False
    only_on: str | None = None  # a cloud's own controller (the EKS add-ons), absent elsewhere


def infra_namespace(cluster: str) -> str:
    """Where the management cluster keeps a cluster's managed resources (and its compiled folder's name)."""
    return f"infra-{cluster}"


@dataclass(frozen=True)
class ClusterInfra:
    name: str
    environment: str
    role: str
    region: str
    account: str
    project: str
    cidr: str
    zones: tuple[ZoneSubnets, ...]
    settings: dict[str, Any]  # the raw `infra` section (validated)
    buckets: tuple[Bucket, ...]
    dr_region: str | None
    hostnames: tuple[str, ...]
    namespaces: dict[str, str]
    parameters: dict[str, Any]

    @property
    def namespace(self) -> str:
        """Where the management cluster keeps this cluster's managed resources."""
        return infra_namespace(self.name)

    @property
    def cloud(self) -> str:
        """The cloud the cluster runs on (`cloud.provider`): which layer builds its resources."""
        return str(self.parameters["cloud"]["provider"])

    @property
    def zone_namespace(self) -> str:
        """Where the environment's hosted zone lives: one per environment, whichever cluster is primary."""
        return zone_namespace(self.environment)

    @property
    def edge_namespace(self) -> str:
        return edge_namespace(self.environment)

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    @property
    def nat_zones(self) -> tuple[ZoneSubnets, ...]:
        """Zones with their own NAT gateway: all of them per-zone, else the first one only."""
        return self.zones if self.settings["nat"] == "per-zone" else self.zones[:1]

    def nat_for(self, zone: str) -> str:
        names = [z.zone for z in self.nat_zones]
        return zone if zone in names else names[0]

    @property
    def public_zone(self) -> str:
        """The environment's own DNS zone (api.dev.example.io lives in dev.example.io; prod in the apex)."""
        zone = str(self.settings["dns"]["zone"])
        if not self.hostnames:
            return zone
        parent = self.hostnames[0].split(".", 1)[1]
        return parent if parent.endswith(zone) else zone

    def role_name(self, namespace: str, workload: str) -> str:
        """The IAM role name the workload-identity annotation of the workload cluster points at."""
        template: str = self.parameters["cloud"]["workload_identity"]["value_template"]
        arn = template.format(cluster=self.name, namespace=namespace, workload=workload)
        return arn.rsplit("/", 1)[-1]

    def arn(self, service: str, resource: str, region: str | None = None) -> str:
        where = "" if service in {"iam", "s3", "route53"} else (region or self.region)
        account = "" if service in {"s3", "route53"} else self.account
        return f"arn:aws:{service}:{where}:{account}:{resource}"


def cluster_infra(target: Target) -> ClusterInfra:
    p = target.parameters
    infra = p["infra"]
    data = data_settings(target)
    buckets = list(data.buckets())
    loki_bucket = p["logging"].get("loki", {}).get("bucket")
    if loki_bucket:
        buckets.append(
            Bucket(
                loki_bucket,
                "logs",
                target.cluster.name,
                target.cluster.region,
                data.versioning,
                data.noncurrent_version_days,
                f"Loki chunks, retention {p['logging']['retention']}",
            )
        )
    return ClusterInfra(
        name=target.cluster.name,
        environment=target.cluster.environment,
        role=target.cluster.role,
        region=target.cluster.region,
        account=str(p["cloud"].get("account", "")),
        project=target.project_name,
        cidr=infra["networks"][target.cluster.name],
        zones=_zones(target),
        settings=dict(infra),
        buckets=tuple(sorted(buckets, key=lambda b: b.name)),
        dr_region=data.other_region,
        hostnames=tuple(p["gateway"].get("hostnames", [])),
        namespaces=dict(p["namespaces"]),
        parameters=dict(p),
    )


def _zones(target: Target) -> tuple[ZoneSubnets, ...]:
    """AWS subnets are zonal: a private and a public one per zone. GKE's and AKS's are regional (their
    layers carve the network by purpose), so there the zones carry no subnet of their own."""
    if target.parameters["cloud"]["provider"] != "aws":
        return tuple(ZoneSubnets(zone, "", "") for zone in target.cluster.zones)
    infra = target.parameters["infra"]
    return tuple(carve(infra["networks"][target.cluster.name], target.cluster.zones, infra["subnets"]))
