"""Helm values of the charts this concern owns: argo-cd (self-managed) and argo-rollouts.

Keys follow the pinned charts' values.yaml (argo-helm argo-cd 10.1.1, argo-rollouts 2.41.0).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from mnops.gitops.plan import DeliveryPlan

# Argo CD dropped the health check of Application objects (1.8); without it, sync waves between
# child Applications of an app-of-apps only order their creation, not their readiness. This
# restores it, so wave 10 (services) waits until wave -5 (operators) is Healthy.
APPLICATION_HEALTH_LUA = """hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""


def _metrics() -> dict[str, Any]:
    # The chart renders the ServiceMonitor only once the Prometheus Operator CRD exists.
    return {"enabled": True, "serviceMonitor": {"enabled": True}}


def argo_cd_values(plan: DeliveryPlan) -> dict[str, Any]:
    g = plan.gitops
    replicas = 2 if g.high_availability else 1
    labels = {"cluster": plan.name, "environment": plan.target.cluster.environment}
    return {
        # Resources keep the names of a plain install (argocd-server, argocd-repo-server, ...)
        # whatever the release name, so the self-managed app adopts the bootstrap install.
        "fullnameOverride": "argocd",
        "global": {"domain": urlparse(g.url).hostname, "additionalLabels": labels},
        "crds": {"install": True, "keep": True},
        "configs": {
            "cm": {
                "url": g.url,
                "application.resourceTrackingMethod": "annotation",
                "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
                "timeout.reconciliation": "180s",
            },
            "rbac": {
                # No global rights: every right comes from an AppProject role (read-only developers,
                # release managers who sync and override).
                "policy.default": "",
                "scopes": "[groups]",
            },
        },
        "notifications": {
            "enabled": True,
            "argocdUrl": g.url,
            # manifests/argocd-config owns argocd-notifications-cm; the secret comes from the
            # cloud secret store through External Secrets, never from git or this chart.
            "cm": {"create": False},
            "secret": {"create": False},
            "metrics": _metrics(),
        },
        "controller": {"replicas": 1, "metrics": _metrics()},
        "server": {"replicas": replicas, "metrics": _metrics()},
        "repoServer": {"replicas": replicas, "metrics": _metrics()},
        "applicationSet": {"replicas": replicas, "metrics": _metrics()},
        "redis-ha": {"enabled": g.high_availability},
    }


def argo_rollouts_values(plan: DeliveryPlan) -> dict[str, Any]:
    ha = plan.gitops.high_availability
    return {
        "installCRDs": True,
        "keepCRDs": True,
        "controller": {
            "replicas": 2 if ha else 1,
            # The Rollouts chart does not check for the Prometheus Operator CRD: the monitoring
            # concern scrapes the metrics Service instead of a ServiceMonitor from this chart.
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": False}},
            # Canary traffic through the Gateway API (progressive_delivery, docs/ci-cd.md); the
            # chart's providerRBAC.providers.gatewayAPI (on by default) lets it edit HTTPRoutes.
            **_traffic_router_plugins(plan),
        },
        "dashboard": {"enabled": False},
    }


def _traffic_router_plugins(plan: DeliveryPlan) -> dict[str, Any]:
    settings = plan.target.parameters.get("progressive_delivery")
    if not settings:
        return {}
    plugin = {"name": settings["gateway_api_plugin"], "location": settings["gateway_api_plugin_location"]}
    return {"trafficRouterPlugins": [plugin]}


VALUES = {"argo-cd": argo_cd_values, "argo-rollouts": argo_rollouts_values}


def chart_values(plan: DeliveryPlan) -> dict[str, dict[str, Any]]:
    """helm-values/<key>.yaml contents for this concern's enabled charts."""
    enabled = {c.key for c in plan.enabled_charts}
    return {key: build(plan) for key, build in VALUES.items() if key in enabled}
