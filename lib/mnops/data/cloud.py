"""What differs per cloud for backups: credentials, Velero provider config, copy commands.

Every data workload authenticates with its cloud identity (EKS Pod Identity, GKE or Azure Workload Identity),
so no access key is ever written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.data import Bucket
from mnops.inventory.model import Target
from mnops.workload_identity import workload_identity_annotations

VELERO_PROVIDERS = {"aws": "aws", "gcp": "velero.io/gcp", "azure": "velero.io/azure"}


def identity_annotations(target: Target, namespace: str, workload: str) -> dict[str, str]:
    """The ServiceAccount annotation that binds `workload` to its cloud identity."""
    return workload_identity_annotations(target.cloud, target.cluster.name, namespace, workload)


def identity_pod_labels(target: Target) -> dict[str, str]:
    return dict(target.cloud["workload_identity"].get("pod_labels", {}))


def barman_credentials(provider: str) -> dict[str, Any]:
    """barman-cloud credentials inherited from the pod's cloud identity."""
    if provider == "aws":
        return {"s3Credentials": {"inheritFromIAMRole": True}}
    if provider == "gcp":
        return {"googleCredentials": {"gkeEnvironment": True}}
    return {"azureCredentials": {"inheritFromAzureAD": True}}


def velero_location_config(provider: str, bucket: Bucket) -> dict[str, str]:
    """Provider-specific BackupStorageLocation config for one bucket."""
    if provider == "aws":
        return {"region": bucket.region}
    if provider == "gcp":
        return {}
    return {"storageAccount": bucket.account, "resourceGroup": f"mnops-{bucket.cluster}-backup"}


def velero_snapshot_config(provider: str, region: str, cluster: str) -> dict[str, str]:
    if provider == "aws":
        return {"region": region}
    if provider == "gcp":
        return {"snapshotLocation": region}
    return {"resourceGroup": f"mnops-{cluster}-backup", "incremental": "true"}


def upload_command(provider: str, source: str, bucket: Bucket, key_prefix: str) -> list[str]:
    """Shell command uploading `source` to `<bucket>/<key_prefix>/<UTC timestamp>.rdb`."""
    stamp = "$(date -u +%Y%m%dT%H%M%SZ)"
    if provider == "aws":
        copy = f"aws s3 cp {source} {bucket.url(provider)}/{key_prefix}/{stamp}.rdb --only-show-errors"
    elif provider == "gcp":
        copy = f"gcloud storage cp {source} {bucket.url(provider)}/{key_prefix}/{stamp}.rdb"
    else:
        copy = (
            f'az login --federated-token "$(cat $AZURE_FEDERATED_TOKEN_FILE)" --service-principal '
            f"-u $AZURE_CLIENT_ID -t $AZURE_TENANT_ID >/dev/null && "
            f"az storage blob upload --auth-mode login --account-name {bucket.account} "
            f"--container-name {bucket.name} --name {key_prefix}/{stamp}.rdb --file {source}"
        )
    return ["/bin/sh", "-c", f"set -eu; test -s {source}; {copy}"]


def velero_plugin_init_container(provider: str, images: Mapping[str, str]) -> dict[str, Any]:
    """The chart's initContainers entry that installs the provider plugin."""
    return {
        "name": f"velero-plugin-for-{provider}",
        "image": images[provider],
        "imagePullPolicy": "IfNotPresent",
        "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
    }
