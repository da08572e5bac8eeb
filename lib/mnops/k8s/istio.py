"""Builders for Istio security.istio.io/v1 PeerAuthentication, AuthorizationPolicy and
networking.istio.io/v1 DestinationRule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata


def peer_authentication_strict(name: str, namespace: str, identity: Identity) -> dict[str, Any]:
    """Every workload of the namespace accepts mutual TLS only."""
    return k8s_object(
        "security.istio.io/v1", "PeerAuthentication", metadata(name, identity, namespace), spec={"mtls": {"mode": "STRICT"}}
    )


def allow_nothing(name: str, namespace: str, identity: Identity) -> dict[str, Any]:
    """An ALLOW policy without rules: denies every request that no other ALLOW policy permits."""
    meta = metadata(name, identity, namespace)
    return k8s_object("security.istio.io/v1", "AuthorizationPolicy", meta, spec={"action": "ALLOW"})


@dataclass(frozen=True)
class Scraper:
    """A principal allowed to GET one metrics path on one port (Prometheus)."""

    principal: str
    port: int
    path: str


def authorization_policy(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    workload_labels: Mapping[str, str],
    principals: Sequence[str] = (),
    namespaces: Sequence[str] = (),
    ports: Sequence[int] = (),
    scrapers: Sequence[Scraper] = (),
) -> dict[str, Any]:
    """ALLOW requests to the selected workload from these service-account principals or namespaces,
    and each scraper's GET of its metrics path on its port (an HTTP rule: Istio applies path and
    method to HTTP ports only, and a rule it cannot apply matches nothing)."""
    if not principals and not namespaces and not scrapers:
        raise BuildError(f"authorization policy {name} allows nobody; omit it instead")
    rules = []
    operation = {"to": [{"operation": {"ports": [str(p) for p in sorted(ports)]}}]} if ports else {}
    if principals:
        rules.append({"from": [{"source": {"principals": sorted(principals)}}], **operation})
    if namespaces:
        rules.append({"from": [{"source": {"namespaces": sorted(namespaces)}}], **operation})
    for scraper in scrapers:
        metrics = {"ports": [str(scraper.port)], "methods": ["GET"], "paths": [scraper.path]}
        rules.append({"from": [{"source": {"principals": [scraper.principal]}}], "to": [{"operation": metrics}]})
    return k8s_object(
        "security.istio.io/v1",
        "AuthorizationPolicy",
        metadata(name, identity, namespace),
        spec={"selector": {"matchLabels": dict(workload_labels)}, "action": "ALLOW", "rules": rules},
    )


def destination_rule(
    name: str, namespace: str, identity: Identity, *, host: str, circuit_breaker: Mapping[str, int]
) -> dict[str, Any]:
    """Mutual TLS to the host, bounded connection pools and outlier ejection of failing pods."""
    return k8s_object(
        "networking.istio.io/v1",
        "DestinationRule",
        metadata(name, identity, namespace),
        spec={
            "host": host,
            "trafficPolicy": {
                "tls": {"mode": "ISTIO_MUTUAL"},
                "connectionPool": {
                    "tcp": {"maxConnections": circuit_breaker["max_connections"], "connectTimeout": "2s"},
                    "http": {
                        "http1MaxPendingRequests": circuit_breaker["max_pending_requests"],
                        "http2MaxRequests": circuit_breaker["max_parallel_requests"],
                    },
                },
                "outlierDetection": {
                    "consecutive5xxErrors": 5,
                    "interval": "10s",
                    "baseEjectionTime": "30s",
                    "maxEjectionPercent": 50,
                },
            },
        },
    )


def canary_virtual_service(name: str, namespace: str, identity: Identity, *, host: str, canary_host: str) -> dict[str, Any]:
    """One HTTP route to the stable (100) and canary (0) Services; Argo Rollouts shifts the weights."""
    route = [{"destination": {"host": host}, "weight": 100}, {"destination": {"host": canary_host}, "weight": 0}]
    return k8s_object(
        "networking.istio.io/v1",
        "VirtualService",
        metadata(name, identity, namespace),
        spec={"hosts": [host], "http": [{"name": "primary", "route": route}]},
    )
