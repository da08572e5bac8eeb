"""Frozen, typed view of the security sections of a validated target's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnops import units
from mnops.infra.edge import fronted_by_cloudfront
from mnops.inventory import Target
from mnops.inventory.layers import deep_merge, effective_service


@dataclass(frozen=True)
class Rate:
    requests: int
    unit: str  # Second, Minute or Hour


@dataclass(frozen=True)
class Route:
    """One public service's route, after applying gateway.route_defaults."""

    service: str
    namespace: str
    path: str
    port: int
    auth_required: bool
    rate_limit_per_client: Rate
    rate_limit_total: Rate
    timeout_seconds: int
    retries: int
    per_try_timeout_seconds: int
    canary_service: str | None = None  # second backend whose weight Argo Rollouts shifts during a canary


@dataclass(frozen=True)
class Peer:
    namespace: str
    pod_labels: Mapping[str, str]
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class Gateway:
    class_name: str
    controller_name: str
    name: str
    namespace: str
    hostnames: tuple[str, ...]
    connection_limit: int
    client_idle_timeout_seconds: int
    circuit_breaker: Mapping[str, int]
    jwt_issuer: str
    jwks_uri: str
    audiences: tuple[str, ...]
    cors: Mapping[str, Any]
    routes: tuple[Route, ...]
    response_headers: Mapping[str, str] = field(default_factory=dict)
    load_balancer_annotations: Mapping[str, str] = field(default_factory=dict)
    cloudfront_origin: bool = False  # CloudFront connects to it (mnops.infra.edge): its own origin listener


@dataclass(frozen=True)
class Tls:
    issuer: str  # acme or private-ca
    acme_server: str
    acme_email: str
    private_ca_common_name: str
    private_ca_duration_seconds: int
    duration_seconds: int
    renew_before_seconds: int
    key_algorithm: str
    key_size: int
    warning_before_seconds: int
    critical_before_seconds: int
    alert_namespace: str
    dns01: Mapping[str, str]


@dataclass(frozen=True)
class DataJob:
    pod_labels: Mapping[str, str]
    redis: bool = False
    postgres: bool = False
    https_egress: bool = False


@dataclass(frozen=True)
class Network:
    dns: Peer
    gateway_proxy: Peer
    rate_limiter: Peer
    prometheus: Peer
    telemetry: Mapping[str, Peer]
    redis_labels: Mapping[str, str]
    redis_port: int
    redis_replication_ports: tuple[int, ...]
    redis_metrics_port: int
    redis_operator: Peer
    postgres_cluster_label: str
    postgres_pooler_label: str
    postgres_pooler_metrics_port: int
    postgres_port: int
    postgres_status_port: int
    postgres_metrics_port: int
    postgres_operator: Peer
    kube_api_cidrs: tuple[str, ...]
    object_storage_egress: bool
    data_jobs: Mapping[str, DataJob]
    unmanaged_roles: Mapping[str, str]  # namespace role -> why its policies are not written here


@dataclass(frozen=True)
class ConnectionString:
    scheme: str
    host: str
    port: int
    database_property: str | None = None
    path: str = ""
    query: str = ""
    with_username: bool = True
    store: str | None = None  # postgres or redis: the data store the URL points at


@dataclass(frozen=True)
class PlatformSecret:
    name: str
    namespace: str
    remote_key: str
    keys: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    static: Mapping[str, str] = field(default_factory=dict)
    store: str | None = None  # the data store whose password it carries


@dataclass(frozen=True)
class Secrets:
    store_name: str
    refresh_interval: str
    rotation_days: int
    key_prefix: str
    connection_strings: Mapping[str, ConnectionString] = field(default_factory=dict)
    platform: tuple[PlatformSecret, ...] = ()


@dataclass(frozen=True)
class Mesh:
    enabled: bool
    mode: str
    namespace: str


@dataclass(frozen=True)
class Settings:
    gateway: Gateway
    tls: Tls
    network: Network
    secrets: Secrets
    mesh: Mesh
    failure_action: str
    allowed_registries: tuple[str, ...]
    extra_registries: tuple[str, ...]
    ci_deployer: str
    ci_group: str
    controller_replicas: int
    controller_resources: Mapping[str, Mapping[str, str]]


def _peer(raw: Mapping[str, Any]) -> Peer:
    return Peer(raw["namespace"], dict(sorted(raw["pod_labels"].items())), tuple(raw.get("ports", ())))


def _seconds(value: str) -> int:
    return units.duration_seconds(value)


def delivery_strategy(target: Target, service: str) -> str:
    """rolling, canary or bluegreen: from the service's `delivery` settings when present (progressive delivery)."""
    strategy: str = effective_service(target.parameters, service).get("delivery", {}).get("strategy", "rolling")
    return strategy


def gateway_canary(target: Target, service: str) -> str | None:
    """The canary Service the gateway route must also reference, when Argo Rollouts shifts weights
    on the HTTPRoute (canary without the mesh; with the mesh, an Istio VirtualService does it)."""
    mesh_on = bool(target.parameters["mesh"]["enabled"])
    return f"{service}-canary" if delivery_strategy(target, service) == "canary" and not mesh_on else None


def routes(target: Target) -> tuple[Route, ...]:
    """The route of every service with a public_path, sorted by service name."""
    params = target.parameters
    defaults = params["gateway"]["route_defaults"]
    result = []
    for svc in target.services:
        if not svc.public_path:
            continue
        r = deep_merge(defaults, params["services"][svc.name].get("route", {}))
        result.append(
            Route(
                service=svc.name,
                namespace=svc.namespace,
                path=svc.public_path,
                port=svc.port,
                auth_required=r["auth_required"],
                rate_limit_per_client=Rate(**r["rate_limit_per_client"]),
                rate_limit_total=Rate(**r["rate_limit_total"]),
                timeout_seconds=_seconds(r["timeout"]),
                retries=r["retries"],
                per_try_timeout_seconds=_seconds(r["per_try_timeout"]),
                canary_service=gateway_canary(target, svc.name),
            )
        )
    return tuple(result)


def managed_namespaces(target: Target, settings: Settings) -> list[str]:
    """Project namespaces whose NetworkPolicies this repository writes (default deny at least)."""
    unmanaged = {target.namespaces[role] for role in settings.network.unmanaged_roles if role in target.namespaces}
    return sorted(set(target.namespaces.values()) - unmanaged)


def restricted_namespaces(target: Target, settings: Settings) -> list[str]:
    """Managed namespaces that run Pod Security "restricted" (no `pod_security` exception for their role)."""
    exceptions = target.parameters.get("pod_security", {})
    relaxed = {target.namespaces[role] for role in exceptions if role in target.namespaces}
    return [ns for ns in managed_namespaces(target, settings) if ns not in relaxed]


def security_settings(target: Target) -> Settings:
    p = target.parameters
    g, t, n, s = p["gateway"], p["tls"], p["network"], p["secrets"]
    gateway = Gateway(
        class_name=g["class_name"],
        controller_name=g["controller_name"],
        name=g["name"],
        namespace=target.namespaces["apps"],
        hostnames=tuple(sorted(g["hostnames"])),
        connection_limit=g["connection_limit"],
        client_idle_timeout_seconds=_seconds(g["client_idle_timeout"]),
        circuit_breaker=dict(g["circuit_breaker"]),
        jwt_issuer=g["jwt"]["issuer"],
        jwks_uri=g["jwt"]["jwks_uri"],
        audiences=tuple(g["jwt"]["audiences"]),
        cors=dict(g["cors"]),
        routes=routes(target),
        response_headers=dict(sorted(g["response_headers"].items())),
        load_balancer_annotations=dict(
            sorted({**target.cloud["load_balancer_annotations"], **g["load_balancer_annotations"]}.items())
        ),
        cloudfront_origin=fronted_by_cloudfront(p),
    )
    tls = Tls(
        issuer=t["issuer"],
        acme_server=t["acme"]["server"],
        acme_email=t["acme"]["email"],
        private_ca_common_name=t["private_ca"]["common_name"],
        private_ca_duration_seconds=_seconds(t["private_ca"]["duration"]),
        duration_seconds=_seconds(t["certificate"]["duration"]),
        renew_before_seconds=_seconds(t["certificate"]["renew_before"]),
        key_algorithm=t["certificate"]["key_algorithm"],
        key_size=t["certificate"]["key_size"],
        warning_before_seconds=_seconds(t["expiry_alert"]["warning_before"]),
        critical_before_seconds=_seconds(t["expiry_alert"]["critical_before"]),
        alert_namespace=t["expiry_alert"]["namespace"],
        dns01=dict(t["dns01"]),
    )
    redis, pg = n["redis"], n["postgres"]
    network = Network(
        dns=_peer(n["dns"]),
        gateway_proxy=_peer(n["gateway_proxy"]),
        rate_limiter=_peer(n["rate_limiter"]),
        prometheus=_peer(n["prometheus"]),
        telemetry={name: _peer(peer) for name, peer in sorted(n["telemetry"].items())},
        redis_labels=dict(sorted(redis["pod_labels"].items())),
        redis_port=redis["port"],
        redis_replication_ports=tuple(sorted(set(redis["replication_ports"]))),
        redis_metrics_port=redis["metrics_port"],
        redis_operator=_peer(redis["operator"]),
        postgres_cluster_label=pg["cluster_label"],
        postgres_pooler_label=pg["pooler_label"],
        postgres_pooler_metrics_port=pg["pooler_metrics_port"],
        postgres_port=pg["port"],
        postgres_status_port=pg["status_port"],
        postgres_metrics_port=pg["metrics_port"],
        postgres_operator=_peer(pg["operator"]),
        kube_api_cidrs=tuple(n["kube_api_cidrs"]),
        object_storage_egress=n["object_storage_egress"],
        data_jobs={
            name: DataJob(
                dict(sorted(job["pod_labels"].items())),
                job.get("redis", False),
                job.get("postgres", False),
                job.get("https_egress", False),
            )
            for name, job in sorted(n["data_jobs"].items())
        },
        unmanaged_roles=dict(sorted(n["unmanaged_namespaces"].items())),
    )
    secrets = Secrets(
        store_name=s["store_name"],
        refresh_interval=s["refresh_interval"],
        rotation_days=s["rotation_days"],
        key_prefix=s["key_prefix"],
        connection_strings={k: ConnectionString(**v) for k, v in sorted(s["connection_strings"].items())},
        platform=tuple(
            PlatformSecret(
                name,
                raw["namespace"],
                raw["remote_key"],
                tuple(sorted(raw["keys"])),
                dict(sorted(raw.get("labels", {}).items())),
                dict(sorted(raw.get("static", {}).items())),
                raw.get("store"),
            )
            for name, raw in sorted(s["platform_secrets"].items())
        ),
    )
    mesh = Mesh(p["mesh"]["enabled"], p["mesh"]["mode"], p["mesh"]["namespace"])
    return Settings(
        gateway=gateway,
        tls=tls,
        network=network,
        secrets=secrets,
        mesh=mesh,
        failure_action=p["admission"]["failure_action"],
        allowed_registries=tuple(p["project"]["allowed_registries"]),
        extra_registries=tuple(p["admission"]["extra_registries"]),
        ci_deployer=p["access"]["ci_deployer"]["name"],
        ci_group=p["access"]["ci_deployer"]["group"],
        controller_replicas=p["security_controllers"]["replicas"],
        controller_resources={k: dict(v) for k, v in p["security_controllers"]["resources"].items()},
    )
