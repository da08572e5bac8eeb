"""Typed, validated view of one target's inventory, as the components use it.

Built only after the schema and the cross-field rules have passed, so every field here is
present and of the right type; components never reach into raw dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mnops import units
from mnops.inventory.layers import effective_service


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """repository:tag@digest, the form Kubernetes pulls and a human can still read."""
        ref = self.repository
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    min_replicas: int
    max_replicas: int
    target_cpu_utilization: int
    target_memory_utilization: int


@dataclass(frozen=True)
class Probes:
    liveness_path: str
    readiness_path: str
    startup_timeout_seconds: int
    period_seconds: int


@dataclass(frozen=True)
class SecretRef:
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Slo:
    availability_percent: float
    latency_p95_ms: int
    latency_p99_ms: int


@dataclass(frozen=True)
class AlertThresholds:
    error_rate_percent: float
    latency_p99_seconds: float
    cpu_percent: int
    memory_percent: int
    cache_hit_rate_percent: int
    for_duration: str


@dataclass(frozen=True)
class Dependencies:
    redis: bool = False
    postgres: bool = False
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    name: str
    description: str
    namespace: str
    image: Image
    port: int
    replicas: int
    resources: Resources
    autoscaling: Autoscaling
    probes: Probes
    metrics_port: int
    metrics_path: str
    max_unavailable: int | None
    min_available: int | None
    topology_spread: bool
    termination_grace_seconds: int
    cloud_identity: bool
    slo: Slo
    alerts: AlertThresholds
    dependencies: Dependencies
    config: Mapping[str, str] = field(default_factory=dict)
    secret_refs: tuple[SecretRef, ...] = ()
    public_path: str | None = None


@dataclass(frozen=True)
class Cluster:
    name: str
    environment: str
    region: str
    cloud: str
    api_server: str
    role: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """Everything a component needs about one cluster."""

    cluster: Cluster
    project_name: str
    repo_url: str
    kubernetes_versions: tuple[str, ...]
    namespaces: Mapping[str, str]
    cloud: Mapping[str, Any]
    services: tuple[Service, ...]
    parameters: Mapping[str, Any]  # the raw validated parameters, for components with own sections

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def build_target(parameters: Mapping[str, Any]) -> Target:
    """The typed view; call only on parameters that passed validation."""
    c = parameters["cluster"]
    cluster = Cluster(c["name"], c["environment"], c["region"], c["cloud"], c["api_server"], c["role"], tuple(c["zones"]))
    services = tuple(
        build_service(name, effective_service(parameters, name), parameters["namespaces"]["apps"])
        for name in sorted(parameters["services"])
    )
    return Target(
        cluster=cluster,
        project_name=parameters["project"]["name"],
        repo_url=parameters["project"]["repo_url"],
        kubernetes_versions=tuple(parameters["kubernetes"]["supported_versions"]),
        namespaces=dict(parameters["namespaces"]),
        cloud=dict(parameters["cloud"]),
        services=services,
        parameters=parameters,
    )


def build_service(name: str, s: Mapping[str, Any], namespace: str) -> Service:
    res, auto, probes, slo, deps = s["resources"], s["autoscaling"], s["probes"], s["slo"], s["dependencies"]
    budget = s["disruption_budget"]
    return Service(
        name=name,
        description=s["description"],
        namespace=namespace,
        image=Image(**s["image"]),
        port=s["port"],
        replicas=s["replicas"],
        resources=Resources(
            str(res["requests"]["cpu"]), res["requests"]["memory"], str(res["limits"]["cpu"]), res["limits"]["memory"]
        ),
        autoscaling=Autoscaling(**auto),
        probes=Probes(**probes),
        metrics_port=s["metrics"]["port"],
        metrics_path=s["metrics"]["path"],
        max_unavailable=budget.get("max_unavailable"),
        min_available=budget.get("min_available"),
        topology_spread=s["topology_spread"],
        termination_grace_seconds=units.duration_seconds(s["termination_grace_period"]),
        cloud_identity=s["cloud_identity"],
        slo=Slo(**slo),
        alerts=AlertThresholds(**{k: v for k, v in s["alerts"].items() if k != "for"}, for_duration=s["alerts"]["for"]),
        dependencies=Dependencies(
            redis=deps.get("redis", False), postgres=deps.get("postgres", False), services=tuple(deps.get("services", ()))
        ),
        config=dict(sorted(s.get("config", {}).items())),
        secret_refs=tuple(SecretRef(r["name"], tuple(r["keys"])) for r in s.get("secret_refs", ())),
        public_path=s.get("public_path"),
    )
