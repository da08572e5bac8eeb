"""The ServiceAccount annotation that binds a workload to its cloud identity (`cloud.workload_identity`).

    workload_identity_annotations(target.cloud, "prod", "monitoring", "loki")   # {} or {annotation: value}

`value_template` names the identity ({cluster}, {namespace}, {workload}). On AWS and GCP that name is
the annotation's value (a role ARN, a service account e-mail). Azure's webhook wants the user-assigned
identity's client ID, a GUID Azure assigns when the first sync creates the identity: the operator records
it in `cloud.client_ids` under the identity's name (as principal IDs in `cloud.principal_ids`), and
until then the ServiceAccount carries no annotation rather than one no token exchange can use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Azure Workload Identity's webhook reads the client ID from this ServiceAccount annotation.
AZURE_CLIENT_ID = "azure.workload.identity/client-id"
# Where the infrastructure layer writes a user-assigned identity's recorded client ID on its managed resource,
# so that the compiled files alone show which identity an annotation's GUID belongs to.
RECORDED_CLIENT_ID = "machinenativeops.io/client-id"
# Clouds whose annotation carries an ID recorded after the first sync, and the `cloud` key recording it.
RECORDED_IDS = {"azure": "client_ids"}


def identity_name(cloud: Mapping[str, Any], cluster: str, namespace: str, workload: str) -> str:
    """The cloud identity's name from `cloud.workload_identity.value_template`."""
    template: str = cloud["workload_identity"]["value_template"]
    return template.format(cluster=cluster, namespace=namespace, workload=workload)


def workload_identity_annotations(cloud: Mapping[str, Any], cluster: str, namespace: str, workload: str) -> dict[str, str]:
    """The annotation, or nothing while the cloud has not yet assigned the ID it carries."""
    annotation: str = cloud["workload_identity"]["annotation"]
    name = identity_name(cloud, cluster, namespace, workload)
    recorded = RECORDED_IDS.get(str(cloud["provider"]))
    if recorded is None:
        return {annotation: name}
    value = cloud.get(recorded, {}).get(name)
    return {annotation: str(value)} if value else {}
