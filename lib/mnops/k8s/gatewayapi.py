"""Builders for Gateway API (gateway.networking.k8s.io/v1) and Envoy Gateway policy kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1"


def gateway_class(name: str, identity: Identity, controller_name: str) -> dict[str, Any]:
    return k8s_object(GATEWAY_API, "GatewayClass", metadata(name, identity), spec={"controllerName": controller_name})


# The oldest TLS the gateway accepts, on every listener but CloudFront's origin listener.
TLS_MIN_VERSION = "1.3"
# CloudFront connects to custom origins with TLS 1.2 at most (its origin SSL protocols end at TLSv1.2, and the
# ciphers it offers origins are TLS 1.2 suites only). Where CloudFront fronts the gateway, it connects to a
# listener of its own, on a port of its own that the load balancer's security group opens to CloudFront's
# origin-facing addresses only: the only listener that accepts 1.2, with the AEAD ECDHE suites CloudFront offers.
ORIGIN_LISTENER = "origin"
ORIGIN_PORT = 8443
ORIGIN_TLS_MIN_VERSION = "1.2"
ORIGIN_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
)


def gateway(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    class_name: str,
    hostnames: Sequence[str],
    certificate_secret: str,
    origin_listener: bool = False,
) -> dict[str, Any]:
    """One HTTPS listener per hostname (TLS terminated with the cert-manager secret) and one HTTP
    listener that only redirects; routes may attach from the Gateway's own namespace only. With
    `origin_listener`, CloudFront's listener on ORIGIN_PORT: no hostname, since CloudFront forwards the
    viewer's Host and sends it as SNI, and the same certificate (it checks it against that Host)."""
    if not hostnames:
        raise BuildError(f"gateway {name} needs at least one hostname")
    same_ns = {"namespaces": {"from": "Same"}}
    tls = {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "group": "", "name": certificate_secret}]}
    listeners: list[dict[str, Any]] = [
        {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": same_ns},
    ]
    for index, host in enumerate(sorted(hostnames)):
        listeners.append(
            {"name": f"https-{index}", "protocol": "HTTPS", "port": 443, "hostname": host, "tls": tls, "allowedRoutes": same_ns}
        )
    if origin_listener:
        listeners.append(
            {"name": ORIGIN_LISTENER, "protocol": "HTTPS", "port": ORIGIN_PORT, "tls": tls, "allowedRoutes": same_ns}
        )
    return k8s_object(
        GATEWAY_API, "Gateway", metadata(name, identity, namespace), spec={"gatewayClassName": class_name, "listeners": listeners}
    )


def _parent(gateway_name: str, section: str | None = None) -> dict[str, Any]:
    ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway_name}
    if section:
        ref["sectionName"] = section
    return ref


def redirect_route(name: str, namespace: str, identity: Identity, *, gateway_name: str) -> dict[str, Any]:
    """Attached to the plain-HTTP listener only: every request gets a 301 to https."""
    redirect = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    return k8s_object(
        GATEWAY_API,
        "HTTPRoute",
        metadata(name, identity, namespace),
        spec={"parentRefs": [_parent(gateway_name, "http")], "rules": [{"filters": [redirect]}]},
    )


def http_route(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    gateway_name: str,
    https_sections: Sequence[str],
    hostnames: Sequence[str],
    path: str,
    service: str,
    port: int,
    canary_service: str | None = None,
    response_headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Routes a path prefix on the HTTPS listeners to one Service; with a canary Service, both are
    referenced (stable 100, canary 0) and Argo Rollouts shifts the weights during a release."""
    if not path.startswith("/"):
        raise BuildError(f"route {name}: path {path!r} must start with /")
    backends: list[dict[str, Any]] = [{"kind": "Service", "group": "", "name": service, "port": port}]
    if canary_service:
        backends[0]["weight"] = 100
        backends.append({"kind": "Service", "group": "", "name": canary_service, "port": port, "weight": 0})
    rule: dict[str, Any] = {"matches": [{"path": {"type": "PathPrefix", "value": path}}], "backendRefs": backends}
    if response_headers:
        headers = [{"name": k, "value": v} for k, v in sorted(response_headers.items())]
        rule["filters"] = [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": headers}}]
    return k8s_object(
        GATEWAY_API,
        "HTTPRoute",
        metadata(name, identity, namespace),
        spec={
            "parentRefs": [_parent(gateway_name, s) for s in https_sections],
            "hostnames": sorted(hostnames),
            "rules": [rule],
        },
    )


def _target(kind: str, name: str, section: str | None = None) -> list[dict[str, str]]:
    ref = {"group": "gateway.networking.k8s.io", "kind": kind, "name": name}
    return [{**ref, "sectionName": section} if section else ref]


def client_traffic_policy(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    gateway_name: str,
    connection_limit: int,
    idle_timeout: str,
    origin: bool = False,
) -> dict[str, Any]:
    """TLS 1.3 only (minimum and maximum), HTTP/2 via ALPN, a connection cap per Envoy replica.

    `origin`: the policy of CloudFront's origin listener only, which overrides the Gateway's there (all of
    it: the connection settings are repeated). TLS 1.2 with ORIGIN_CIPHERS, and the client address read from
    X-Forwarded-For with exactly one trusted hop: CloudFront appends the viewer's address, and the network
    load balancer in between keeps the source address without adding a hop, so per-client rate limits count
    viewers, not CloudFront's edges. Only CloudFront reaches that port, so nobody else can choose the address.
    """
    tls: dict[str, Any] = {"minVersion": TLS_MIN_VERSION, "maxVersion": "1.3", "alpnProtocols": ["h2", "http/1.1"]}
    spec: dict[str, Any] = {
        "targetRefs": _target("Gateway", gateway_name, ORIGIN_LISTENER if origin else None),
        "tls": tls,
        "connection": {"connectionLimit": {"value": connection_limit}},
        "timeout": {"http": {"idleTimeout": idle_timeout}},
    }
    if origin:
        tls.update(minVersion=ORIGIN_TLS_MIN_VERSION, ciphers=list(ORIGIN_CIPHERS))
        spec["clientIPDetection"] = {"xForwardedFor": {"numTrustedHops": 1}}
    return k8s_object(ENVOY_GATEWAY_API, "ClientTrafficPolicy", metadata(name, identity, namespace), spec=spec)


def _rate_rule(requests: int, unit: str, per_client: bool) -> dict[str, Any]:
    rule: dict[str, Any] = {"limit": {"requests": requests, "unit": unit}}
    if per_client:
        # One bucket per client address: a noisy client is throttled without hurting the others.
        rule["clientSelectors"] = [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}]
    return rule


def backend_traffic_policy(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    route_name: str,
    per_client: tuple[int, str],
    total: tuple[int, str],
    timeout: str,
    retries: int,
    per_try_timeout: str,
    circuit_breaker: Mapping[str, int],
) -> dict[str, Any]:
    """Global (Redis-backed) rate limits per client and per route, timeouts, retries, circuit breaking."""
    spec: dict[str, Any] = {
        "targetRefs": _target("HTTPRoute", route_name),
        "rateLimit": {
            "type": "Global",
            "global": {"rules": [_rate_rule(*per_client, per_client=True), _rate_rule(*total, per_client=False)]},
        },
        "timeout": {"http": {"requestTimeout": timeout}, "tcp": {"connectTimeout": "2s"}},
        "circuitBreaker": {
            "maxConnections": circuit_breaker["max_connections"],
            "maxPendingRequests": circuit_breaker["max_pending_requests"],
            "maxParallelRequests": circuit_breaker["max_parallel_requests"],
        },
    }
    if retries:
        spec["retry"] = {
            "numRetries": retries,
            "perRetry": {"timeout": per_try_timeout, "backOff": {"baseInterval": "100ms", "maxInterval": "1s"}},
            # Only failures where the request never reached the application: safe for non-idempotent calls.
            "retryOn": {"triggers": ["connect-failure", "refused-stream", "reset"], "httpStatusCodes": [503]},
        }
    return k8s_object(ENVOY_GATEWAY_API, "BackendTrafficPolicy", metadata(name, identity, namespace), spec=spec)


def security_policy(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    route_name: str,
    jwt: Mapping[str, Any] | None,
    cors: Mapping[str, Any],
) -> dict[str, Any]:
    """JWT validation (when the route requires it) and CORS for one route."""
    spec: dict[str, Any] = {
        "targetRefs": _target("HTTPRoute", route_name),
        "cors": {
            "allowOrigins": sorted(cors["allow_origins"]),
            "allowMethods": list(cors["allow_methods"]),
            "allowHeaders": list(cors["allow_headers"]),
            "maxAge": cors["max_age"],
            "allowCredentials": False,
        },
    }
    if jwt is not None:
        spec["jwt"] = {
            "providers": [
                {
                    "name": "primary",
                    "issuer": jwt["issuer"],
                    "audiences": list(jwt["audiences"]),
                    "remoteJWKS": {"uri": jwt["jwks_uri"]},
                }
            ]
        }
    return k8s_object(ENVOY_GATEWAY_API, "SecurityPolicy", metadata(name, identity, namespace), spec=spec)
