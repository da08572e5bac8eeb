"""kube-prometheus-stack values for one target (compiled/<target>/helm-values/kube-prometheus-stack.yaml).

Argo CD renders the upstream chart (version pinned in classes/platform/charts.yml) with these
values. Prometheus selects every ServiceMonitor, PodMonitor and PrometheusRule in the cluster
(not only the chart's own), stamps `cluster` and `environment` on everything it sends out, and
Alertmanager gets the generated route tree plus the receivers Secret mounted as files.
"""

from __future__ import annotations

from typing import Any

from mnops.inventory.model import Target
from mnops.k8s.meta import drop_empty_fields
from mnops.observability.mesh_scrape import prometheus_values, scrapes_through_mesh
from mnops.observability.settings import Monitoring


def _volume(storage_class: str, size: str) -> dict[str, Any]:
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": storage_class,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}},
            }
        }
    }


def kube_prometheus_stack_values(target: Target, monitoring: Monitoring, alertmanager_config: dict[str, Any]) -> dict[str, Any]:
    p, a = monitoring.prometheus, monitoring.alertmanager
    storage_class = str(target.cloud["storage_class"])
    external_labels = {"cluster": target.cluster.name, "environment": target.cluster.environment}
    remote_write = []
    if p.remote_write_url:
        entry: dict[str, Any] = {"url": p.remote_write_url}
        if p.remote_write_secret:
            entry["basicAuth"] = {
                "username": {"name": p.remote_write_secret, "key": "username"},
                "password": {"name": p.remote_write_secret, "key": "password"},
            }
        remote_write.append(entry)
    values: dict[str, Any] = {
        "crds": {"enabled": True},
        "defaultRules": {"create": True},
        "prometheus": {
            "prometheusSpec": {
                "replicas": p.replicas,
                "retention": p.retention,
                "retentionSize": p.retention_size,
                "scrapeInterval": monitoring.scrape_interval,
                "evaluationInterval": monitoring.evaluation_interval,
                "externalLabels": external_labels,
                "resources": p.resources,
                "storageSpec": _volume(storage_class, p.storage_size),
                "remoteWrite": remote_write,
                # Select our ServiceMonitors/PodMonitors/PrometheusRules, not only the chart's own.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
            }
        },
        "alertmanager": {
            "config": alertmanager_config,
            "alertmanagerSpec": {
                "replicas": a.replicas,
                "resources": a.resources,
                "storage": _volume(storage_class, a.storage_size),
                # Mounted at /etc/alertmanager/secrets/<name>/; created by External Secrets, never in git.
                "secrets": [a.secret],
            },
        },
        # Dashboards and datasources arrive as labelled ConfigMaps (dashboards component); the
        # folder annotation puts each dashboard into its Grafana folder.
        "grafana": {
            # The admin login comes from the grafana-admin Secret (External Secrets), so the chart's
            # well-known default password is never in use.
            "admin": {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "folderAnnotation": "grafana_folder",
                    "provider": {"foldersFromFilesStructure": True},
                },
                "datasources": {"enabled": True, "label": "grafana_datasource", "labelValue": "1"},
            },
        },
    }
    if scrapes_through_mesh(target.parameters):
        # Under STRICT mTLS Prometheus scrapes with an Istio workload certificate (mesh_scrape.py).
        mesh = prometheus_values()
        values["prometheus"] = {**mesh, "prometheusSpec": {**values["prometheus"]["prometheusSpec"], **mesh["prometheusSpec"]}}
    return drop_empty_fields(values)
