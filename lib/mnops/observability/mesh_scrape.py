"""How Prometheus scrapes the services when the Istio mesh runs in sidecar mode.

The services' pods accept mutual TLS only (PeerAuthentication STRICT) and only the callers an
AuthorizationPolicy names. Prometheus scrapes each pod directly by its IP, which Istio's sidecar
cannot route, so Istio documents this instead (https://istio.io/latest/docs/ops/integrations/prometheus/,
"TLS settings"): Prometheus gets a sidecar that intercepts nothing and only writes its workload
certificate to a shared in-memory volume (OUTPUT_CERTS), Prometheus scrapes over https presenting
that certificate, and each service's AuthorizationPolicy admits Prometheus' identity on its metrics
port and path.

Why not Istio's metrics merging (the agent's plain-text port 15020, /stats/prometheus)? It is
driven by prometheus.io annotations (the agent learns the application's port from them), which
prometheus-operator's monitors do not read; it would move every service's target to the
istio-proxy container's port (the `container` and `endpoint` labels change) and mix Envoy's own
series into each service's scrape; and Istio's docs say it "exposes all the metrics in plain text",
to anyone the NetworkPolicy admits, with no identity. Scraping the `http` port over mTLS keeps each
target as it is: job, service, namespace, pod and the pod-template hash the canary analysis selects
by are unchanged, so recording rules, alerts and AnalysisTemplates stay as they are.

prometheus-operator's PodMonitor TLS settings accept Secrets only, not files; a scrape class on the
Prometheus object carries the file paths (the chart's own `scrapeClasses` example is this one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCRAPE_CLASS = "istio-mtls"
VOLUME = "istio-certs"
SIDECAR_CERTS = "/etc/istio-output-certs"  # where the sidecar writes (OUTPUT_CERTS)
PROMETHEUS_CERTS = "/etc/prom-certs"  # the same volume in the Prometheus container
# The ServiceAccount the chart's Prometheus runs as (its default name for our release), set in the
# values so that the AuthorizationPolicies' principal cannot drift from it.
SERVICE_ACCOUNT = "kube-prometheus-stack-prometheus"


def scrapes_through_mesh(parameters: Mapping[str, Any]) -> bool:
    """Sidecar mode only: in ambient mode ztunnel, not a sidecar, holds the identities."""
    mesh = parameters.get("mesh") or {}
    return bool(mesh.get("enabled")) and mesh.get("mode") == "sidecar"


def principal(namespace: str) -> str:
    """Prometheus' SPIFFE identity as AuthorizationPolicies name it."""
    return f"cluster.local/ns/{namespace}/sa/{SERVICE_ACCOUNT}"


def prometheus_values() -> dict[str, Any]:
    """The kube-prometheus-stack values (under `prometheus`) that give Prometheus its certificate."""
    annotations = {
        # Intercept nothing: Prometheus reaches pod IPs directly and does the TLS itself.
        "traffic.sidecar.istio.io/includeInboundPorts": "",
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
        "proxy.istio.io/config": f"proxyMetadata:\n  OUTPUT_CERTS: {SIDECAR_CERTS}\n",
        "sidecar.istio.io/userVolumeMount": f'[{{"name": "{VOLUME}", "mountPath": "{SIDECAR_CERTS}"}}]',
    }
    tls = {
        "caFile": f"{PROMETHEUS_CERTS}/root-cert.pem",
        "certFile": f"{PROMETHEUS_CERTS}/cert-chain.pem",
        "keyFile": f"{PROMETHEUS_CERTS}/key.pem",
        # Istio's workload certificates name a SPIFFE URI, no DNS name, and Prometheus cannot check
        # a URI SAN, so serverName cannot match: Istio's docs skip verification of the target's
        # certificate. The target still verifies Prometheus' certificate and identity (STRICT + ALLOW).
        "insecureSkipVerify": True,
    }
    return {
        "serviceAccount": {"name": SERVICE_ACCOUNT},
        "prometheusSpec": {
            # A label, not an annotation: the injector's webhook selects pods by this label where the
            # namespace has no istio-injection label (istiod chart, mutatingwebhook.yaml).
            "podMetadata": {"labels": {"sidecar.istio.io/inject": "true"}, "annotations": annotations},
            "volumes": [{"name": VOLUME, "emptyDir": {"medium": "Memory"}}],
            "volumeMounts": [{"name": VOLUME, "mountPath": PROMETHEUS_CERTS, "readOnly": True}],
            "scrapeClasses": [{"name": SCRAPE_CLASS, "tlsConfig": tls}],
        },
    }
