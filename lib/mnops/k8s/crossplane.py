"""Builders for Crossplane v2 kinds: provider packages, provider configs and namespaced managed resources.

A managed resource (any kind of a `*.m.upbound.io` group) always has the same envelope, so one
builder serves every kind: what differs is `forProvider`, which the infrastructure layer
(mnops.infra) writes field by field. Every managed resource names its management policies
explicitly: the default (`*`) includes Delete, which a removal from git must never trigger for
data (mnops.infra.protection decides which objects keep Delete).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

PKG_API = "pkg.crossplane.io/v1"
RUNTIME_API = "pkg.crossplane.io/v1beta1"
# Everything but Delete: Crossplane creates, updates and observes; removing the object from git
# orphans the cloud resource instead of destroying it.
KEEP_ON_REMOVAL: tuple[str, ...] = ("Create", "Observe", "Update", "LateInitialize")
FULL_CONTROL: tuple[str, ...] = ("*",)
OBSERVE_ONLY: tuple[str, ...] = ("Observe",)
_POLICIES = {"Observe", "Create", "Update", "Delete", "LateInitialize", "*"}


def provider(name: str, identity: Identity, package: str, runtime_config: str) -> dict[str, Any]:
    """A provider package pinned by version tag (never a moving tag)."""
    if ":" not in package.rsplit("/", 1)[-1] or package.endswith((":latest", ":main")):
        raise BuildError(f"provider {name}: package {package!r} must be pinned to a version")
    spec = {
        "package": package,
        "packagePullPolicy": "IfNotPresent",
        "revisionActivationPolicy": "Automatic",
        "revisionHistoryLimit": 2,
        # Dependencies (the family provider) are the same pinned list: never resolved on the fly.
        "skipDependencyResolution": True,
        "runtimeConfigRef": {"apiVersion": RUNTIME_API, "kind": "DeploymentRuntimeConfig", "name": runtime_config},
    }
    return k8s_object(PKG_API, "Provider", metadata(name, identity), spec=spec)


def deployment_runtime_config(
    name: str, identity: Identity, service_account: str, pod_spec: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Runs every provider pod under one named ServiceAccount, which the cloud's workload identity
    binds to Crossplane's identity; `pod_spec` adds what that binding needs in the pod (a projected
    token, an environment variable) to Crossplane's `package-runtime` container and its pod."""
    spec: dict[str, Any] = {"serviceAccountTemplate": {"metadata": {"name": service_account}}}
    obj = k8s_object(RUNTIME_API, "DeploymentRuntimeConfig", metadata(name, identity), spec=spec)
    if pod_spec:
        # Set after k8s_object, which drops empty values: the schema requires a selector, and Crossplane
        # sets the pods' labels and selector itself, so it stays empty (as in Crossplane's examples).
        obj["spec"]["deploymentTemplate"] = {"spec": {"selector": {}, "template": {"spec": dict(pod_spec)}}}
    return obj


def provider_config(
    api_version: str, kind: str, name: str, identity: Identity, *, spec: Mapping[str, Any], namespace: str | None = None
) -> dict[str, Any]:
    """A (Cluster)ProviderConfig: how the provider authenticates; never a static key, only references."""
    if "secretRef" in str(spec.get("credentials", {})) and spec["credentials"].get("source") == "Secret":
        raise BuildError(f"{kind} {name}: static credentials in a Secret are not allowed; use an identity")
    return k8s_object(api_version, kind, metadata(name, identity, namespace), spec=dict(spec))


def managed_resource(
    api_version: str,
    kind: str,
    name: str,
    namespace: str,
    identity: Identity,
    *,
    for_provider: Mapping[str, Any],
    management_policies: Sequence[str],
    provider_config_name: str,
    connection_secret: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Crossplane v2 namespaced managed resource; its cloud name comes from `crossplane.io/external-name`
    when given in annotations, otherwise the provider derives it from metadata.name."""
    if not api_version.split("/", maxsplit=1)[0].endswith(".m.upbound.io"):
        raise BuildError(f"{kind} {name}: {api_version} is not a Crossplane v2 namespaced managed resource group")
    unknown = set(management_policies) - _POLICIES
    if not management_policies or unknown:
        raise BuildError(f"{kind} {name}: management policies {sorted(unknown) or 'empty'} are not Crossplane actions")
    spec: dict[str, Any] = {
        "forProvider": dict(for_provider),
        "managementPolicies": list(management_policies),
        "providerConfigRef": {"kind": "ProviderConfig", "name": provider_config_name},
    }
    if connection_secret:
        spec["writeConnectionSecretToRef"] = {"name": connection_secret}
    obj = k8s_object(api_version, kind, metadata(name, identity, namespace, annotations=annotations))
    # Set after k8s_object, which drops empty values: an empty block such as WAF's `allow: {}` is meaningful.
    obj["spec"] = spec
    return obj
