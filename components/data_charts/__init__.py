"""Helm values of the data layer's charts: helm-values/<chart>.yaml.

cloudnative-pg (operator), plugin-barman-cloud (WAL archiving plugin), redis-operator and velero.
Argo CD renders each chart with these values (multi-source Application). Only enabled charts get
a file. Velero's storage locations and schedules are manifests (manifests/backup/), not values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.component import identity
from mnops.data import DataSettings, data_settings
from mnops.data.cloud import identity_annotations, identity_pod_labels, velero_credentials_file, velero_plugin_init_container
from mnops.inventory import Target
from mnops.k8s.core import config_map
from mnops.k8s.workloads import CONTAINER_SECURITY_CONTEXT

# Chart containers get the same hardened context as the project's own workloads.
RESTRICTED_CONTAINER: dict[str, Any] = CONTAINER_SECURITY_CONTEXT
# Where the Velero pod reads its credentials file on Azure (AZURE_CREDENTIALS_FILE).
VELERO_CREDENTIALS_DIR = "/etc/velero-azure"
VELERO_CREDENTIALS_KEY = "cloud"


def cnpg_values(target: Target) -> dict[str, Any]:
    return {
        "replicaCount": 2 if target.cluster.environment == "prod" else 1,
        "crds": {"create": True},
        "monitoring": {"podMonitorEnabled": True, "grafanaDashboard": {"create": True}},
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "400Mi"}},
        "containerSecurityContext": RESTRICTED_CONTAINER,
    }


def barman_plugin_values(target: Target) -> dict[str, Any]:
    # The plugin serves CloudNativePG over mTLS with a cert-manager certificate (cert-manager required).
    return {
        "crds": {"create": True},
        "resources": {"requests": {"cpu": "50m", "memory": "100Mi"}, "limits": {"memory": "256Mi"}},
        "containerSecurityContext": RESTRICTED_CONTAINER,
    }


def redis_operator_values(target: Target) -> dict[str, Any]:
    return {
        "redisOperator": {
            "imagePullPolicy": "IfNotPresent",
            "metrics": {"enabled": True},
            "watchNamespace": target.namespaces.get("data", ""),
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "replicas": 1,
    }


def velero_values(target: Target, data: DataSettings) -> dict[str, Any]:
    server = velero_server_values(target, data)
    return {**server, **velero_node_agent_values(server)}


def velero_node_agent_values(server: Mapping[str, Any]) -> dict[str, Any]:
    """The node agent (file-system backups, kopia) writes to the same storage as the server, under the
    server's ServiceAccount, so it needs the server's identity pod labels (Azure's webhook injects the token
    only into labelled pods) and its credentials volume: the chart hands both pods
    configuration.extraEnvVars (AZURE_CREDENTIALS_FILE) but mounts extraVolumes into the server only."""
    agent = {key: server[key] for key in ("podLabels", "extraVolumes", "extraVolumeMounts") if server.get(key)}
    return {"nodeAgent": agent} if agent else {}


def velero_server_values(target: Target, data: DataSettings) -> dict[str, Any]:
    ns = data.backup.namespace
    return {
        "initContainers": [velero_plugin_init_container(data.provider, data.backup.plugin_images)],
        # Locations and schedules are compiled as manifests (manifests/backup/): one source of truth.
        "backupsEnabled": False,
        "snapshotsEnabled": False,
        "deployNodeAgent": True,
        "credentials": {"useSecret": False},
        "serviceAccount": {
            "server": {"create": True, "name": "velero", "annotations": identity_annotations(target, ns, "velero")}
        },
        "podLabels": identity_pod_labels(target),
        "configuration": {
            "defaultBackupStorageLocation": "default",
            "features": "EnableCSI",
            "uploaderType": "kopia",
            **velero_credentials_env(target),
        },
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        **velero_credentials_values(target, data),
    }


def velero_credentials_env(target: Target) -> dict[str, Any]:
    """`configuration.extraEnvVars` pointing the Velero server at its credentials file (Azure only)."""
    if velero_credentials_file(target) is None:
        return {}
    path = f"{VELERO_CREDENTIALS_DIR}/{VELERO_CREDENTIALS_KEY}"
    return {"extraEnvVars": [{"name": "AZURE_CREDENTIALS_FILE", "value": path}]}


def velero_credentials_values(target: Target, data: DataSettings) -> dict[str, Any]:
    """Azure only: the credentials file the volume snapshotter requires, as a ConfigMap mounted into the pod
    and named by AZURE_CREDENTIALS_FILE (the chart sets that variable only with its Secret, which workload
    identity leaves off). The ConfigMap ships with the chart, so it exists before the pod that mounts it;
    its name follows its content, so a change rolls the pod."""
    content = velero_credentials_file(target)
    if content is None:
        return {}
    ns = data.backup.namespace
    name = "velero-azure-credentials"
    credentials = config_map(name, ns, identity(target, name, "backup"), {VELERO_CREDENTIALS_KEY: content})
    return {
        "extraObjects": [credentials],
        "extraVolumes": [{"name": name, "configMap": {"name": credentials["metadata"]["name"]}}],
        "extraVolumeMounts": [{"name": name, "mountPath": VELERO_CREDENTIALS_DIR, "readOnly": True}],
    }


def chart_values(target: Target) -> dict[str, dict[str, Any]]:
    data = data_settings(target)
    charts = target.parameters["charts"]
    values = {
        "cloudnative-pg": cnpg_values(target),
        "plugin-barman-cloud": barman_plugin_values(target),
        "redis-operator": redis_operator_values(target),
        "velero": velero_values(target, data),
    }
    return {key: v for key, v in values.items() if key in charts and charts[key]["enabled"]}


def main(input_params: dict[str, Any]) -> Any:
    from mnops.component import current_target

    result: dict[str, Any] = {}  # file path -> content; Kapitan writes each
    for key, values in sorted(chart_values(current_target()).items()):
        result[key] = values
    return result
