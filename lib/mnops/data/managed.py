"""Who runs a cluster's PostgreSQL and Redis: the cluster itself or the cloud's managed service.

    choice = data_services(params)          # DataServices(postgres='rds', redis='operator')
    choice.managed("postgres")              # True: no CloudNativePG objects in this cluster
    keys = connection_keys(params, "postgres")
    keys.endpoint                           # 'machine-native-ops/prod/managed/postgres'

The choice is `infra.data_services.postgres` (`cloudnative-pg` or `rds`) and `.redis` (`operator` or
`elasticache`), set per environment. A managed service is created by the management cluster's
Crossplane (mnops.infra.aws_data), which also publishes its endpoint and credentials to the
cluster's own secret store under `connection_keys()`; the workload cluster reads them from there
with External Secrets, like every other secret (docs/infrastructure.md, "Managed data services").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mnops.inventory.model import Service

STORES = ("postgres", "redis")
IN_CLUSTER = {"postgres": "cloudnative-pg", "redis": "operator"}
MANAGED = {"postgres": "rds", "redis": "elasticache"}
# The operator charts that only serve the in-cluster choice: a cluster on the managed service runs none.
OPERATOR_CHARTS = {"postgres": ("cloudnative-pg", "plugin-barman-cloud"), "redis": ("redis-operator",)}
PORTS = {"postgres": 5432, "redis": 6379}
# What the management cluster publishes per store: endpoint properties, then credential properties.
ENDPOINT_PROPERTIES = ("host", "port")
CREDENTIAL_PROPERTIES = {"postgres": ("username", "password"), "redis": ("password",)}


@dataclass(frozen=True)
class DataServices:
    postgres: str
    redis: str

    def of(self, store: str) -> str:
        return self.postgres if store == "postgres" else self.redis

    def managed(self, store: str) -> bool:
        return self.of(store) == MANAGED[store]

    def in_cluster(self, store: str) -> bool:
        return self.of(store) == IN_CLUSTER[store]

    @property
    def any_managed(self) -> bool:
        return any(self.managed(s) for s in STORES)


@dataclass(frozen=True)
class ConnectionKeys:
    """Remote secrets (in the workload cluster's own store) that describe one managed data store."""

    endpoint: str  # properties: host, port
    credentials: str  # properties: username and password (PostgreSQL) or password (Redis AUTH token)

    def relative(self, prefix: str) -> ConnectionKeys:
        """The same keys without the cluster's prefix (the publishing SecretStore adds it)."""
        return ConnectionKeys(self.endpoint.removeprefix(prefix), self.credentials.removeprefix(prefix))


def data_services(params: Mapping[str, Any]) -> DataServices:
    """The choice of a target; targets without an infrastructure section run both in the cluster."""
    chosen = params.get("infra", {}).get("data_services", {})
    return DataServices(chosen.get("postgres", IN_CLUSTER["postgres"]), chosen.get("redis", IN_CLUSTER["redis"]))


def uses_in_cluster(services: Iterable[Service], params: Mapping[str, Any], store: str) -> bool:
    """Whether a service of the cluster depends on the store and the cluster runs it itself: what its
    in-cluster monitors, dashboards and alerts need (RDS and ElastiCache have no exporter here)."""
    return data_services(params).in_cluster(store) and any(getattr(s.dependencies, store) for s in services)


def data_subnets(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The cluster's private subnets, where RDS and ElastiCache put their network interfaces: the
    only addresses a managed store can have (its subnet groups list exactly these subnets)."""
    from mnops.infra.network import carve  # the address plan; imported here to keep this module light

    infra, cluster = params["infra"], params["cluster"]
    return tuple(z.private for z in carve(infra["networks"][cluster["name"]], cluster["zones"], infra["subnets"]))


def connection_keys(params: Mapping[str, Any], store: str) -> ConnectionKeys:
    prefix = params["secrets"]["key_prefix"]
    return ConnectionKeys(f"{prefix}managed/{store}", f"{prefix}managed/{store}-credentials")
