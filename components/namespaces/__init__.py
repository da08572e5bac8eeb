"""Namespaces the project owns, with Pod Security Admission labels.

Output: manifests/namespaces/namespace.yaml. Synced first (Argo CD wave -10).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.inventory import Target
from mnops.k8s.core import namespace


def mesh_labels(target: Target, name: str) -> dict[str, str]:
    """Istio enrolment of the apps namespace when the mesh is on (sidecar injection or ambient)."""
    mesh = target.parameters.get("mesh", {})
    if not mesh.get("enabled") or name != target.namespaces["apps"]:
        return {}
    if mesh.get("mode") == "ambient":
        return {"istio.io/dataplane-mode": "ambient"}
    return {"istio-injection": "enabled"}


def namespaces(target: Target) -> list[dict[str, Any]]:
    objects = []
    for name in sorted(set(target.namespaces.values())):
        ns = namespace(name, identity(target, name, "namespace"), pod_security="restricted")
        ns["metadata"]["labels"].update(mesh_labels(target, name))
        ns["metadata"]["labels"] = dict(sorted(ns["metadata"]["labels"].items()))
        objects.append(ns)
    return objects


def main(input_params: dict[str, Any]) -> Any:
    return output({"namespaces": namespaces(current_target())})
