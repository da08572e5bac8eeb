"""Builders for External Secrets Operator (external-secrets.io/v1) ClusterSecretStore and ExternalSecret."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

ESO_API = "external-secrets.io/v1"


def cluster_secret_store(
    name: str,
    identity: Identity,
    *,
    provider: str,
    settings: Mapping[str, str],
    service_account: str,
    service_account_namespace: str,
    cluster_name: str,
    cluster_region: str,
) -> dict[str, Any]:
    """Reads the cloud secret manager with the controller's workload identity: no static key anywhere."""
    sa_ref = {"name": service_account, "namespace": service_account_namespace}
    if provider == "aws-secrets-manager":
        # No `auth`: the controller's own credentials (EKS Pod Identity, from the SDK's default chain).
        # `auth.jwt` would exchange a service-account token for the role (IRSA), which the role does not trust.
        spec_provider: dict[str, Any] = {"aws": {"service": "SecretsManager", "region": settings["region"]}}
    elif provider == "gcp-secret-manager":
        spec_provider = {
            "gcpsm": {
                "projectID": settings["project"],
                "auth": {
                    "workloadIdentity": {
                        "clusterLocation": cluster_region,
                        "clusterName": cluster_name,
                        "serviceAccountRef": sa_ref,
                    }
                },
            }
        }
    elif provider == "azure-key-vault":
        spec_provider = {
            "azurekv": {"vaultUrl": settings["vault_url"], "authType": "WorkloadIdentity", "serviceAccountRef": sa_ref}
        }
    else:
        raise BuildError(f"unknown secret store provider {provider!r}")
    return k8s_object(ESO_API, "ClusterSecretStore", metadata(name, identity), spec={"provider": spec_provider})


def external_secret(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    store: str,
    remote_key: str,
    properties: Sequence[str],
    templates: Mapping[str, str],
    refresh_interval: str,
    secret_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Secret named `name` built from properties of one remote secret; `templates` maps each
    target key to a Go template over those properties (connection strings), so only references
    and templates live in git."""
    if not properties:
        raise BuildError(f"external secret {name} reads no property")
    return k8s_object(
        ESO_API,
        "ExternalSecret",
        metadata(name, identity, namespace),
        spec={
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": {
                    "engineVersion": "v2",
                    "mergePolicy": "Replace",
                    "metadata": {"labels": dict(sorted((secret_labels or {}).items()))},
                    "data": dict(sorted(templates.items())),
                },
            },
            "data": [{"secretKey": prop, "remoteRef": {"key": remote_key, "property": prop}} for prop in sorted(set(properties))],
        },
    )
