"""Helm values of the security charts (compiled/<target>/helm-values/<chart key>.yaml).

Every chart gets the hardened container security context, requests and limits, at least two
replicas with a disruption budget where the environment asks for it, and its metrics scraped.
Keys follow each chart's own values.yaml at the version pinned in classes/platform/charts.yml.
"""

from __future__ import annotations

from typing import Any

from mnops.data.managed import data_services
from mnops.inventory import Target
from mnops.k8s.workloads import CONTAINER_SECURITY_CONTEXT
from mnops.security.model import Settings
from mnops.workload_identity import workload_identity_annotations

# The Secret the rate limit service reads Redis' password (and with ElastiCache its `url`) from:
# secrets.platform_secrets.ratelimit-redis in platform/security.yml.
RATELIMIT_REDIS = "ratelimit-redis"

# Restricted pod security for chart containers: the same context as the project's own workloads.
CONTAINER_SECURITY: dict[str, Any] = CONTAINER_SECURITY_CONTEXT
POD_SECURITY: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _resources(settings: Settings) -> dict[str, Any]:
    return {k: dict(v) for k, v in sorted(settings.controller_resources.items())}


def _workload_identity(target: Target, namespace: str, workload: str) -> dict[str, str]:
    return workload_identity_annotations(target.cloud, target.cluster.name, namespace, workload)


def _pdb(settings: Settings) -> dict[str, Any]:
    return {"enabled": settings.controller_replicas > 1, "minAvailable": 1}


def _spread(settings: Settings, labels: dict[str, str]) -> list[dict[str, Any]]:
    if settings.controller_replicas < 2:
        return []
    return [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": labels},
        }
    ]


def cert_manager(target: Target, settings: Settings) -> dict[str, Any]:
    namespace = target.parameters["charts"]["cert-manager"]["namespace"]
    replicas = settings.controller_replicas

    def component(name: str) -> dict[str, Any]:
        return {
            "replicaCount": replicas,
            "podDisruptionBudget": _pdb(settings),
            "resources": _resources(settings),
            "securityContext": POD_SECURITY,
            "containerSecurityContext": CONTAINER_SECURITY,
            "topologySpreadConstraints": _spread(
                settings, {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "cert-manager"}
            ),
        }

    return {
        "crds": {"enabled": True, "keep": True},
        "global": {"leaderElection": {"namespace": namespace}},
        **component("cert-manager"),
        # Route 53 / Cloud DNS / Azure DNS credentials come from the pod's workload identity.
        "serviceAccount": {"annotations": _workload_identity(target, namespace, "cert-manager")},
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": True}},
        "enableCertificateOwnerRef": True,
        "webhook": component("webhook"),
        "cainjector": component("cainjector"),
        "startupapicheck": {
            "securityContext": POD_SECURITY,
            "containerSecurityContext": CONTAINER_SECURITY,
            "resources": _resources(settings),
        },
    }


def external_secrets(target: Target, settings: Settings) -> dict[str, Any]:
    namespace = target.parameters["charts"]["external-secrets"]["namespace"]
    security = {"enabled": True, **CONTAINER_SECURITY}

    def component() -> dict[str, Any]:
        return {
            "replicaCount": settings.controller_replicas,
            "podDisruptionBudget": _pdb(settings),
            "resources": _resources(settings),
            "securityContext": security,
            "podSecurityContext": {"enabled": True, **POD_SECURITY},
        }

    return {
        "installCRDs": True,
        "leaderElect": True,
        **component(),
        # The ClusterSecretStore authenticates as this service account (IRSA / GKE / Azure workload identity).
        "serviceAccount": {
            "create": True,
            "name": "external-secrets",
            "annotations": _workload_identity(target, namespace, "external-secrets"),
        },
        "serviceMonitor": {"enabled": True},
        "metrics": {"service": {"enabled": True}},
        "webhook": component(),
        "certController": component(),
    }


def rate_limit_backend(target: Target) -> dict[str, Any]:
    """Where the rate limit service keeps its counters: the data layer's Redis. ElastiCache's endpoint is
    known only once it exists, so it comes from the `url` External Secrets puts in `ratelimit-redis`
    (Envoy Gateway's urlRef), over TLS like every ElastiCache connection."""
    if data_services(target.parameters).managed("redis"):
        return {"urlRef": {"secretKeyRef": {"name": RATELIMIT_REDIS, "key": "url"}}, "tls": {}}
    redis_host = f"redis-master.{target.namespaces.get('data', target.namespaces['apps'])}.svc.cluster.local"
    return {"url": f"{redis_host}:6379"}


def envoy_gateway(target: Target, settings: Settings) -> dict[str, Any]:
    return {
        "deployment": {
            "replicas": settings.controller_replicas,
            "envoyGateway": {
                "resources": _resources(settings),
                "securityContext": {**CONTAINER_SECURITY, "privileged": False, "runAsUser": 65532, "runAsGroup": 65532},
            },
            "pod": {
                "topologySpreadConstraints": _spread(settings, {"control-plane": "envoy-gateway"}),
            },
        },
        "podDisruptionBudget": {"minAvailable": 1} if settings.controller_replicas > 1 else {},
        "config": {
            "envoyGateway": {
                "gateway": {"controllerName": settings.gateway.controller_name},
                "logging": {"level": {"default": "info"}},
                # Global rate limits (per client and per route) count in the shared Redis.
                "rateLimit": {"backend": {"type": "Redis", "redis": rate_limit_backend(target)}},
                "provider": {
                    "type": "Kubernetes",
                    "kubernetes": {
                        # The rate limit service: hardened, sized, and authenticated to Redis with the
                        # password External Secrets copies into `ratelimit-redis` (never in git).
                        "rateLimitDeployment": {
                            "replicas": settings.controller_replicas,
                            "container": {
                                "env": [
                                    {
                                        "name": "REDIS_AUTH",
                                        "valueFrom": {"secretKeyRef": {"name": RATELIMIT_REDIS, "key": "password"}},
                                    }
                                ],
                                "resources": _resources(settings),
                                "securityContext": CONTAINER_SECURITY,
                            },
                            "pod": {"securityContext": POD_SECURITY},
                        }
                    },
                },
            }
        },
    }


def kyverno(target: Target, settings: Settings) -> dict[str, Any]:
    # Kyverno's admission controller needs an odd replica count >= 3 for HA; 1 otherwise.
    admission_replicas = 3 if settings.controller_replicas >= 2 else 1

    def controller(replicas: int) -> dict[str, Any]:
        return {
            "replicas": replicas,
            "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
            "resources": _resources(settings),
            "securityContext": CONTAINER_SECURITY,
            "podSecurityContext": POD_SECURITY,
            "serviceMonitor": {"enabled": True},
        }

    admission = controller(admission_replicas)
    admission["container"] = {"resources": admission.pop("resources"), "securityContext": admission.pop("securityContext")}
    return {
        "admissionController": admission,
        "backgroundController": controller(settings.controller_replicas),
        "cleanupController": controller(settings.controller_replicas),
        "reportsController": controller(settings.controller_replicas),
        "features": {"policyExceptions": {"enabled": True, "namespace": target.parameters["charts"]["kyverno"]["namespace"]}},
    }


def istio_base(target: Target, settings: Settings) -> dict[str, Any]:
    return {"defaultRevision": "default"}


def istio_cni(target: Target, settings: Settings) -> dict[str, Any]:
    # Since Istio 1.2x the cni chart's values are top-level (no `cni:` wrapper: Helm ignored it).
    values: dict[str, Any] = {"resources": _resources(settings)}
    if settings.mesh.mode == "ambient":
        values["profile"] = "ambient"
    return values


def istiod(target: Target, settings: Settings) -> dict[str, Any]:
    # The istiod chart's values are top-level (the old `pilot:` wrapper is ignored by Helm).
    values: dict[str, Any] = {
        "autoscaleMin": settings.controller_replicas,
        "replicaCount": settings.controller_replicas,
        "resources": _resources(settings),
        # istio-cni sets up the pod network, so sidecars need no privileged init container
        # and the pods pass Pod Security "restricted".
        "cni": {"enabled": True},
        "global": {
            "logAsJson": True,
            "proxy": {
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                "holdApplicationUntilProxyStarts": True,
            },
        },
        "meshConfig": {
            "accessLogFile": "/dev/stdout",
            "enablePrometheusMerge": True,
            # Only destinations the mesh knows about: egress to the internet must be declared.
            "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        },
    }
    if settings.mesh.mode == "ambient":
        values["profile"] = "ambient"
    return values


CHART_VALUES = {
    "cert-manager": cert_manager,
    "external-secrets": external_secrets,
    "envoy-gateway": envoy_gateway,
    "kyverno": kyverno,
    "istio-base": istio_base,
    "istio-cni": istio_cni,
    "istiod": istiod,
}


def chart_values(target: Target, settings: Settings) -> dict[str, dict[str, Any]]:
    """Values of every enabled security chart, by chart key."""
    charts = target.parameters["charts"]
    return {key: build(target, settings) for key, build in CHART_VALUES.items() if charts.get(key, {}).get("enabled")}
