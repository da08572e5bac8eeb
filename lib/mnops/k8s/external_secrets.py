"""Builders for External Secrets Operator (external-secrets.io/v1) ClusterSecretStore and ExternalSecret."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RemoteValue:
    """One property of another remote secret, read under its own name (e.g. a managed database's host)."""

    secret_key: str  # what the templates call it
    remote_key: str
    property: str


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
    other_values: Sequence[RemoteValue] = (),
) -> dict[str, Any]:
    """A Secret named `name` built from properties of one remote secret (and `other_values` of
    others); `templates` maps each target key to a Go template over those properties (connection
    strings), so only references and templates live in git."""
    if not properties and not other_values:
        raise BuildError(f"external secret {name} reads no property")
    clash = set(properties) & {v.secret_key for v in other_values}
    if clash:
        raise BuildError(f"external secret {name}: {sorted(clash)} would be read from two remote secrets")
    data = [{"secretKey": prop, "remoteRef": {"key": remote_key, "property": prop}} for prop in sorted(set(properties))]
    data += [{"secretKey": v.secret_key, "remoteRef": {"key": v.remote_key, "property": v.property}} for v in other_values]
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
            "data": sorted(data, key=lambda item: item["secretKey"]),
        },
    )


PUSH_API = "external-secrets.io/v1alpha1"


def aws_secret_store(name: str, namespace: str, identity: Identity, *, region: str, role_arn: str, prefix: str) -> dict[str, Any]:
    """A namespaced store for one account's Secrets Manager, reached by assuming `role_arn` from the
    controller's own workload identity (no `auth`: the SDK's default chain, i.e. Pod Identity); every
    remote key it reads or writes starts with `prefix`."""
    if not role_arn.startswith("arn:aws:iam::"):
        raise BuildError(f"secret store {name}: {role_arn!r} is not an IAM role ARN")
    aws = {"service": "SecretsManager", "region": region, "role": role_arn, "prefix": prefix}
    return k8s_object(ESO_API, "SecretStore", metadata(name, identity, namespace), spec={"provider": {"aws": aws}})


@dataclass(frozen=True)
class PushedValue:
    """One key of the source Secret, written as `property` of the remote secret `remote_key`."""

    secret_key: str
    remote_key: str
    property: str


def push_secret(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    stores: Sequence[str],
    source_secret: str,
    values: Sequence[PushedValue],
    refresh_interval: str,
) -> dict[str, Any]:
    """Copies keys of a Secret of this namespace into remote secrets of each store. The remote secrets
    outlive the PushSecret (deletionPolicy None): removing it from git never empties a consumer."""
    if not stores or not values:
        raise BuildError(f"push secret {name} needs at least one store and one value")
    spec = {
        "refreshInterval": refresh_interval,
        "updatePolicy": "Replace",
        "deletionPolicy": "None",
        "secretStoreRefs": [{"kind": "SecretStore", "name": store} for store in sorted(set(stores))],
        "selector": {"secret": {"name": source_secret}},
        "data": [
            {"match": {"secretKey": v.secret_key, "remoteRef": {"remoteKey": v.remote_key, "property": v.property}}}
            for v in sorted(values, key=lambda v: (v.remote_key, v.property))
        ],
    }
    return k8s_object(PUSH_API, "PushSecret", metadata(name, identity, namespace), spec=spec)
