"""What differs per cloud for backups: credentials, Velero provider config, copy commands.

Every data workload authenticates with its cloud identity (EKS Pod Identity, GKE or Azure Workload Identity),
so no access key is ever written anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.data import Bucket
from mnops.infra.azure_groups import resource_groups
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


def velero_location_config(target: Target, bucket: Bucket) -> dict[str, str]:
    """Provider-specific BackupStorageLocation config for one bucket."""
    provider = target.cluster.cloud
    if provider == "aws":
        return {"region": bucket.region}
    if provider == "gcp":
        return {}
    # The account allows no shared key and Velero's identity holds only a data role on its containers
    # (velero pkg/util/azure/storage.go): without useAAD the plugin lists the account's keys, and without the
    # endpoint it reads the account over ARM (storageAccounts/read, not granted; it falls back to this same
    # default endpoint after the denial).
    config = {
        "storageAccount": bucket.account,
        "storageAccountURI": bucket.account_url,
        "useAAD": "true",
        "resourceGroup": resource_groups(target.project_name, bucket.cluster).cluster,
    }
    if bucket.cluster == target.cluster.name and azure_subscription(target):
        # Another cluster's subscription (a standby reading its primary's copies) is not in this target:
        # with the endpoint and useAAD given, the plugin reads neither the group nor the subscription.
        config["subscriptionId"] = azure_subscription(target)
    return config


def velero_snapshot_config(target: Target) -> dict[str, str]:
    provider, region = target.cluster.cloud, target.cluster.region
    if provider == "aws":
        return {"region": region}
    if provider == "gcp":
        return {"snapshotLocation": region}
    # Snapshots stay beside the disks, in the node resource group, where Velero's identity may write them.
    return {"resourceGroup": resource_groups(target.project_name, target.cluster.name).nodes, "incremental": "true"}


def azure_subscription(target: Target) -> str:
    """The cluster's Azure subscription ID (`cloud.account`)."""
    return str(target.cloud.get("account", ""))


def velero_credentials_file(target: Target) -> str | None:
    """On Azure, the credentials file (godotenv lines) Velero's volume snapshotter requires at Init: the
    subscription and resource group of the disks. Identifiers, not secrets: the token comes from the
    workload-identity webhook's environment (AZURE_FEDERATED_TOKEN_FILE). None on other clouds."""
    if target.cluster.cloud != "azure":
        return None
    groups = resource_groups(target.project_name, target.cluster.name)
    return f"AZURE_SUBSCRIPTION_ID={azure_subscription(target)}\nAZURE_RESOURCE_GROUP={groups.nodes}\n"


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
