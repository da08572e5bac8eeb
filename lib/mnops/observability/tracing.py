"""Tracing: every service sends OTLP to an OpenTelemetry Collector gateway, which forwards to Jaeger.

    service --OTLP/gRPC--> opentelemetry-collector (Deployment, gateway mode) --OTLP--> jaeger (v2)

The services' SDKs read the standard OTEL_* environment variables (`otel_env`), merged into each
service's ConfigMap by components/services. Head sampling happens in the service
(parentbased_traceidratio: a child follows its parent's decision, roots are sampled at the ratio).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError

COLLECTOR_RELEASE = "opentelemetry-collector"
JAEGER_RELEASE = "jaeger"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
JAEGER_QUERY_PORT = 16686
STORAGES = ("memory", "opensearch")


@dataclass(frozen=True)
class JaegerSettings:
    storage: str
    max_traces: int
    opensearch_url: str | None
    credentials_secret: str | None
    retention_days: int


@dataclass(frozen=True)
class Tracing:
    sampling_ratio: float
    service_sampling: Mapping[str, float]
    collector_replicas: int
    jaeger: JaegerSettings

    @staticmethod
    def from_parameters(section: Mapping[str, Any]) -> Tracing:
        jaeger = section["jaeger"]
        return Tracing(
            sampling_ratio=float(section["sampling_ratio"]),
            service_sampling={k: float(v) for k, v in sorted(section.get("service_sampling", {}).items())},
            collector_replicas=section["collector"]["replicas"],
            jaeger=JaegerSettings(
                storage=jaeger["storage"],
                max_traces=jaeger.get("max_traces", 50000),
                opensearch_url=jaeger.get("opensearch_url"),
                credentials_secret=jaeger.get("credentials_secret"),
                retention_days=jaeger["retention_days"],
            ),
        )

    def ratio_for(self, service: str) -> float:
        return self.service_sampling.get(service, self.sampling_ratio)


def collector_endpoint(namespace: str) -> str:
    return f"http://{COLLECTOR_RELEASE}.{namespace}.svc.cluster.local:{OTLP_GRPC_PORT}"


def jaeger_query_url(namespace: str) -> str:
    return f"http://{JAEGER_RELEASE}.{namespace}.svc.cluster.local:{JAEGER_QUERY_PORT}"


def otel_env(
    service: str,
    *,
    version: str | None,
    cfg: Tracing,
    tracing_namespace: str,
    cluster: str,
    environment: str,
    apps_namespace: str,
) -> dict[str, str]:
    """The OTEL_* variables a service's OpenTelemetry SDK reads (all strings, ConfigMap-ready)."""
    attributes = {
        "deployment.environment.name": environment,
        "k8s.cluster.name": cluster,
        "service.namespace": apps_namespace,
    }
    if version:
        attributes["service.version"] = version
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector_endpoint(tracing_namespace),
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_RESOURCE_ATTRIBUTES": ",".join(f"{k}={v}" for k, v in sorted(attributes.items())),
        "OTEL_SERVICE_NAME": service,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{cfg.ratio_for(service):g}",
    }


def collector_values(cfg: Tracing, cluster: str, environment: str, jaeger_namespace: str) -> dict[str, Any]:
    """Values for the open-telemetry `opentelemetry-collector` chart: a gateway Deployment."""
    return {
        "mode": "deployment",
        "image": {"repository": "otel/opentelemetry-collector-contrib"},
        "replicaCount": cfg.collector_replicas,
        "presets": {"kubernetesAttributes": {"enabled": True}},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "podDisruptionBudget": {"enabled": cfg.collector_replicas > 1, "maxUnavailable": 1},
        "serviceMonitor": {"enabled": True, "extraLabels": {"release": "kube-prometheus-stack"}},
        "ports": {"metrics": {"enabled": True}},
        "config": {
            "processors": {
                "resource": {
                    "attributes": [
                        {"key": "k8s.cluster.name", "value": cluster, "action": "upsert"},
                        {"key": "deployment.environment.name", "value": environment, "action": "upsert"},
                    ]
                },
            },
            "exporters": {
                "otlp/jaeger": {
                    "endpoint": f"{JAEGER_RELEASE}.{jaeger_namespace}.svc.cluster.local:{OTLP_GRPC_PORT}",
                    "tls": {"insecure": True},
                }
            },
            "service": {
                "pipelines": {
                    # Only traces go through this gateway; metrics are scraped and logs tailed.
                    "logs": None,
                    "metrics": None,
                    "traces": {
                        "receivers": ["otlp"],
                        "processors": ["memory_limiter", "k8sattributes", "resource", "batch"],
                        "exporters": ["otlp/jaeger"],
                    },
                }
            },
        },
    }


def _storage_backend(jaeger: JaegerSettings) -> dict[str, Any]:
    if jaeger.storage == "memory":
        return {"memory": {"max_traces": jaeger.max_traces}}
    if jaeger.storage == "opensearch":
        if not jaeger.opensearch_url or not jaeger.credentials_secret:
            raise BuildError("Jaeger on OpenSearch needs tracing.jaeger.opensearch_url and tracing.jaeger.credentials_secret")
        return {
            "opensearch": {
                "server_urls": [jaeger.opensearch_url],
                "auth": {"basic": {"username": "${env:OPENSEARCH_USERNAME}", "password": "${env:OPENSEARCH_PASSWORD}"}},
                "indices": {"index_prefix": "jaeger"},
            }
        }
    raise BuildError(f"unknown Jaeger storage {jaeger.storage!r}; choose one of {STORAGES}")


def jaeger_values(cfg: Tracing) -> dict[str, Any]:
    """Values for the jaegertracing `jaeger` chart (Jaeger v2, one binary configured like a collector)."""
    jaeger = cfg.jaeger
    env: list[dict[str, Any]] = []
    cleaner_env: list[dict[str, Any]] = []
    if jaeger.storage == "opensearch" and jaeger.credentials_secret:
        # Credentials stay in the cluster (External Secrets); git holds only the secret's name.
        def from_secret(prefix: str) -> list[dict[str, Any]]:
            ref = jaeger.credentials_secret
            return [
                {"name": f"{prefix}_{key.upper()}", "valueFrom": {"secretKeyRef": {"name": ref, "key": key}}}
                for key in ("password", "username")
            ]

        env, cleaner_env = from_secret("OPENSEARCH"), from_secret("ES")
    return {
        "jaeger": {
            "replicas": 1 if jaeger.storage == "memory" else 2,
            "extraEnv": env,
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        },
        "userconfig": {
            "service": {
                "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
                "pipelines": {
                    "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]}
                },
            },
            "extensions": {
                "healthcheckv2": {"use_v2": True, "http": {"endpoint": "0.0.0.0:13133"}},
                "jaeger_query": {"storage": {"traces": "primary_store"}},
                "jaeger_storage": {"backends": {"primary_store": _storage_backend(jaeger)}},
            },
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                        "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                    }
                }
            },
            "processors": {"batch": {}},
            "exporters": {"jaeger_storage_exporter": {"trace_storage": "primary_store"}},
        },
        # `storage` only feeds the chart's index-cleaner job; Jaeger v2 itself reads userconfig above.
        "storage": (
            {"type": "elasticsearch", "elasticsearch": {"url": jaeger.opensearch_url}}
            if jaeger.storage == "opensearch"
            else {"type": "memory"}
        ),
        "esIndexCleaner": {
            "enabled": jaeger.storage == "opensearch",
            "numberOfDays": jaeger.retention_days,
            "extraEnv": cleaner_env,
        },
    }
