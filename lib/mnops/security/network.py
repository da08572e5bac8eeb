"""NetworkPolicies: default deny in every project namespace, then only the dependency graph.

Paths allowed, and nothing else:
  every pod          -> cluster DNS (53 UDP/TCP)
  gateway proxies    -> each public service, on its HTTP port
  service A          -> service B, on B's port, only if A lists B in dependencies.services
  service            -> Redis / PostgreSQL in the data namespace, only if it depends on them; to the
                        cluster's private subnets on the store's port instead where the environment runs
                        it on RDS / ElastiCache (infra.data_services), whose addresses live only there
  service            -> telemetry receivers (OpenTelemetry Collector; logs go through stdout)
  Prometheus         -> every metrics port
  rate limit service -> Redis (Envoy Gateway keeps the global rate limit counters there)
  Redis <-> Redis, PostgreSQL <-> PostgreSQL (replication), CNPG operator -> instance status port
  PostgreSQL         -> Kubernetes API (CNPG instance manager) and object storage on 443 (backups)
  PostgreSQL, jobs   -> the cloud's node-local credential endpoint where they reach object storage
"""

from __future__ import annotations

from typing import Any

from mnops.component import identity
from mnops.data.managed import PORTS, data_services, data_subnets
from mnops.inventory import Target
from mnops.k8s.netpol import Peer, Rule, network_policy
from mnops.security.model import DataJob, Settings, managed_namespaces
from mnops.security.model import Peer as PeerSettings

ISTIOD_PORT = 15012  # xDS and certificate signing for sidecars
HBONE_PORT = 15008  # ambient mode: ztunnel carries pod-to-pod traffic in an mTLS tunnel on this port
DNS_PORT = 53
HTTPS_PORT = 443


def _peer(settings: PeerSettings) -> Peer:
    """Empty pod labels select every pod of the peer's namespace (for operators without stable labels)."""
    return Peer(namespace=settings.namespace, pod_labels=settings.pod_labels, all_pods=not settings.pod_labels)


def _service_pods(names: list[str] | tuple[str, ...], namespace: str | None = None) -> Peer:
    """Pods of the named services: one label expression, so the list stays readable."""
    expression = {"key": "app.kubernetes.io/name", "operator": "In", "values": sorted(names)}
    return Peer(namespace=namespace, pod_expressions=[expression])


def credential_endpoints(target: Target) -> list[dict[str, Any]]:
    """Where a cloud-bound pod fetches its credentials (cloud.workload_identity.credential_endpoints)."""
    return list(target.cloud["workload_identity"].get("credential_endpoints") or [])


def _baseline(target: Target, namespace: str, settings: Settings) -> list[dict[str, Any]]:
    ident = identity(target, "default-deny", "network-policy")
    dns = Rule([_peer(settings.network.dns)], tcp_ports=[DNS_PORT], udp_ports=[DNS_PORT])
    return [
        network_policy("default-deny", namespace, ident, pod_selector={}, ingress=[], egress=[]),
        network_policy("allow-dns", namespace, identity(target, "allow-dns", "network-policy"), pod_selector={}, egress=[dns]),
    ]


def service_policies(target: Target, settings: Settings) -> list[dict[str, Any]]:
    net = settings.network
    data_ns = target.namespaces.get("data")
    by_name = {s.name: s for s in target.services}
    managed = data_services(target.parameters)
    ambient = settings.mesh.enabled and settings.mesh.mode == "ambient"

    def mesh_ports(port: int) -> list[int]:
        """In ambient mode meshed traffic arrives through the HBONE tunnel port as well."""
        return [port, HBONE_PORT] if ambient else [port]

    policies = []
    for svc in target.services:
        ingress: list[Rule] = []
        if svc.public_path:
            ingress.append(Rule([_peer(net.gateway_proxy)], tcp_ports=mesh_ports(svc.port)))
        callers = [s.name for s in target.services if svc.name in s.dependencies.services]
        if callers:
            ingress.append(Rule([_service_pods(callers)], tcp_ports=mesh_ports(svc.port)))
        # The metrics port only, mesh or not: with the mesh Prometheus scrapes it over Istio mTLS
        # (observability/mesh_scrape.py), not Istio's merged-metrics port 15020, which nothing scrapes.
        ingress.append(Rule([_peer(net.prometheus)], tcp_ports=[svc.metrics_port]))

        egress: list[Rule] = []
        for dep in sorted(svc.dependencies.services):
            egress.append(Rule([_service_pods([dep])], tcp_ports=mesh_ports(by_name[dep].port)))
        for store in ("redis", "postgres"):
            if getattr(svc.dependencies, store) and managed.managed(store):
                egress.append(Rule([Peer(cidr=c) for c in data_subnets(target.parameters)], tcp_ports=[PORTS[store]]))
        if svc.dependencies.redis and data_ns and managed.in_cluster("redis"):
            egress.append(Rule([Peer(namespace=data_ns, pod_labels=net.redis_labels)], tcp_ports=[net.redis_port]))
        if svc.dependencies.postgres and data_ns and managed.in_cluster("postgres"):
            # The database instances, or the PgBouncer pooler in front of them.
            pg = Peer(namespace=data_ns, pod_expressions=[{"key": net.postgres_cluster_label, "operator": "Exists"}])
            pooler = Peer(namespace=data_ns, pod_expressions=[{"key": net.postgres_pooler_label, "operator": "Exists"}])
            egress.append(Rule([pg, pooler], tcp_ports=[net.postgres_port]))
        for receiver in net.telemetry.values():
            egress.append(Rule([_peer(receiver)], tcp_ports=list(receiver.ports)))
        if settings.mesh.enabled and settings.mesh.mode == "sidecar":
            istiod = Peer(namespace=settings.mesh.namespace, pod_labels={"app": "istiod"})
            egress.append(Rule([istiod], tcp_ports=[ISTIOD_PORT]))
        policies.append(
            network_policy(
                svc.name,
                svc.namespace,
                identity(target, svc.name, "network-policy"),
                pod_selector={"matchLabels": {"app.kubernetes.io/name": svc.name}},
                ingress=ingress,
                egress=egress,
            )
        )
    return policies


def data_policies(target: Target, settings: Settings) -> list[dict[str, Any]]:
    """The data namespace's paths, for the stores this cluster runs itself: a store on RDS or
    ElastiCache has no pods here, and a data job that only serves it does not run."""
    managed = data_services(target.parameters)
    policies = []
    if managed.in_cluster("redis"):
        policies.append(_redis_policy(target, settings))
    if managed.in_cluster("postgres"):
        policies += _postgres_policies(target, settings)
    for name, job in settings.network.data_jobs.items():
        if any(getattr(job, store) and not managed.in_cluster(store) for store in ("redis", "postgres")):
            continue
        policies.append(_job_policy(target, settings, name, job))
    return policies


def _credentials(target: Target) -> list[Rule]:
    """Pods reaching object storage do so with their cloud identity: its node-local credential endpoints too."""
    return [Rule([Peer(cidr=e["cidr"])], tcp_ports=[e["port"]]) for e in credential_endpoints(target)]


def _job_pods(settings: Settings, store: str) -> list[Peer]:
    return [Peer(pod_labels=job.pod_labels) for job in settings.network.data_jobs.values() if getattr(job, store)]


def _clients(target: Target, settings: Settings, store: str) -> list[Peer]:
    users = [s.name for s in target.services if getattr(s.dependencies, store)]
    return ([_service_pods(users, target.namespaces["apps"])] if users else []) + _job_pods(settings, store)


def _redis_policy(target: Target, settings: Settings) -> dict[str, Any]:
    net = settings.network
    redis_pods = Peer(pod_labels=net.redis_labels)
    clients = _clients(target, settings, "redis")
    ingress = [
        Rule([redis_pods], tcp_ports=list(net.redis_replication_ports)),
        Rule([_peer(net.redis_operator), _peer(net.rate_limiter)], tcp_ports=[net.redis_port]),
        Rule([_peer(net.prometheus)], tcp_ports=[net.redis_metrics_port]),
    ]
    if clients:
        ingress.insert(0, Rule(clients, tcp_ports=[net.redis_port]))
    return network_policy(
        "redis",
        target.namespaces["data"],
        identity(target, "redis", "network-policy"),
        pod_selector={"matchLabels": dict(net.redis_labels)},
        ingress=ingress,
        egress=[Rule([redis_pods], tcp_ports=list(net.redis_replication_ports))],
    )


def _postgres_selectors(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    net = settings.network
    return [{"key": net.postgres_cluster_label, "operator": "Exists"}], [{"key": net.postgres_pooler_label, "operator": "Exists"}]


def _postgres_policies(target: Target, settings: Settings) -> list[dict[str, Any]]:
    net = settings.network
    namespace = target.namespaces["data"]
    kube_api = Rule([Peer(cidr=c) for c in net.kube_api_cidrs], tcp_ports=[HTTPS_PORT])
    clients = _clients(target, settings, "postgres")
    instances, poolers = _postgres_selectors(settings)
    pg_pods, pooler_pods = Peer(pod_expressions=instances), Peer(pod_expressions=poolers)
    pg_ingress = [
        Rule([pg_pods], tcp_ports=[net.postgres_port, net.postgres_status_port]),
        Rule([pooler_pods], tcp_ports=[net.postgres_port]),
        Rule([_peer(net.postgres_operator)], tcp_ports=[net.postgres_status_port]),
        Rule([_peer(net.prometheus)], tcp_ports=[net.postgres_metrics_port]),
    ]
    if clients:
        pg_ingress.insert(0, Rule(clients, tcp_ports=[net.postgres_port]))
    # The CNPG instance manager watches its Cluster object through the Kubernetes API.
    pg_egress = [Rule([pg_pods], tcp_ports=[net.postgres_port, net.postgres_status_port]), kube_api]
    if net.object_storage_egress:
        # Backups and WAL archives go to the cloud object store, whose addresses are not fixed.
        pg_egress += [Rule([Peer(cidr="0.0.0.0/0")], tcp_ports=[HTTPS_PORT]), *_credentials(target)]
    pooler_ingress = [Rule([_peer(net.prometheus)], tcp_ports=[net.postgres_pooler_metrics_port])]
    if clients:
        pooler_ingress.insert(0, Rule(clients, tcp_ports=[net.postgres_port]))
    return [
        network_policy(
            "postgres",
            namespace,
            identity(target, "postgres", "network-policy"),
            pod_selector={"matchExpressions": instances},
            ingress=pg_ingress,
            egress=pg_egress,
        ),
        network_policy(
            "postgres-pooler",
            namespace,
            identity(target, "postgres-pooler", "network-policy"),
            pod_selector={"matchExpressions": poolers},
            ingress=pooler_ingress,
            egress=[Rule([pg_pods], tcp_ports=[net.postgres_port]), kube_api],
        ),
    ]


def _job_policy(target: Target, settings: Settings, name: str, job: DataJob) -> dict[str, Any]:
    net = settings.network
    instances, poolers = _postgres_selectors(settings)
    egress = []
    if job.redis:
        egress.append(Rule([Peer(pod_labels=net.redis_labels)], tcp_ports=[net.redis_port]))
    if job.postgres:
        egress.append(Rule([Peer(pod_expressions=instances), Peer(pod_expressions=poolers)], tcp_ports=[net.postgres_port]))
    if job.https_egress:
        egress += [Rule([Peer(cidr="0.0.0.0/0")], tcp_ports=[HTTPS_PORT]), *_credentials(target)]
    return network_policy(
        name,
        target.namespaces["data"],
        identity(target, name, "network-policy"),
        pod_selector={"matchLabels": dict(job.pod_labels)},
        ingress=[],
        egress=egress,
    )


def network_policies(target: Target, settings: Settings) -> list[dict[str, Any]]:
    """Default deny and DNS in every managed project namespace; the graph's paths in apps and data."""
    managed = managed_namespaces(target, settings)
    policies = []
    for namespace in managed:
        policies += _baseline(target, namespace, settings)
    if target.namespaces["apps"] in managed:
        policies += service_policies(target, settings)
    if target.namespaces.get("data") in managed:
        policies += data_policies(target, settings)
    return policies
