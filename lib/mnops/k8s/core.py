"""Builders for core/v1 kinds: Namespace, Service, ServiceAccount, ConfigMap."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


def namespace(name: str, identity: Identity, pod_security: str = "restricted") -> dict[str, Any]:
    """A namespace with Pod Security Admission enforcing, auditing and warning at one level."""
    if pod_security not in POD_SECURITY_LEVELS:
        raise BuildError(f"namespace {name}: pod security level must be one of {POD_SECURITY_LEVELS}")
    psa = {f"pod-security.kubernetes.io/{mode}": pod_security for mode in ("enforce", "audit", "warn")}
    psa["pod-security.kubernetes.io/enforce-version"] = "latest"
    return k8s_object("v1", "Namespace", metadata(name, identity, labels=psa))


def service(
    name: str, namespace: str, identity: Identity, ports: Mapping[str, int], service_type: str = "ClusterIP"
) -> dict[str, Any]:
    """A Service selecting the identity's pods; ports maps port name -> container port."""
    if not ports:
        raise BuildError(f"service {name} needs at least one port")
    spec_ports = [
        {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"} for port_name, port in sorted(ports.items())
    ]
    return k8s_object(
        "v1",
        "Service",
        metadata(name, identity, namespace),
        spec={"type": service_type, "selector": identity.selector(), "ports": spec_ports},
    )


def service_account(
    name: str, namespace: str, identity: Identity, automount_token: bool = False, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Token automount is off unless the workload really calls the Kubernetes API."""
    return k8s_object(
        "v1",
        "ServiceAccount",
        metadata(name, identity, namespace, annotations=annotations),
        automountServiceAccountToken=automount_token,
    )


def content_hash(data: Mapping[str, str]) -> str:
    """First 10 hex chars of sha256 over the sorted data: changes exactly when the content does."""
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest()[:10]


def config_map(base_name: str, namespace: str, identity: Identity, data: Mapping[str, str]) -> dict[str, Any]:
    """An immutable ConfigMap named <base>-<hash>: a config change creates a new name and rolls the pods."""
    for key, value in data.items():
        if not isinstance(value, str):
            raise BuildError(f"config map {base_name}: value of {key} must be a string, got {type(value).__name__}")
    return k8s_object(
        "v1",
        "ConfigMap",
        metadata(f"{base_name}-{content_hash(data)}", identity, namespace),
        immutable=True,
        data=dict(sorted(data.items())),
    )
