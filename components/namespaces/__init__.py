"""Namespaces the project owns, with Pod Security Admission labels.

Output: manifests/namespaces/namespace.yaml. Synced first (Argo CD wave -10).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.inventory import Target
from mnops.k8s.core import namespace

PERMISSIVENESS = ("privileged", "baseline", "restricted")


def pod_security_levels(target: Target) -> dict[str, tuple[str, str]]:
    """Namespace name -> (Pod Security level, reason): `pod_security` by role, "restricted" for the rest."""
    exceptions = target.parameters.get("pod_security", {})
    levels: dict[str, tuple[str, str]] = {}
    for role, name in sorted(target.namespaces.items()):
        wanted = exceptions.get(role, {"level": "restricted", "reason": ""})
        current = levels.get(name, ("restricted", ""))
        # Two roles may share a namespace: it must admit the workloads of both.
        if PERMISSIVENESS.index(wanted["level"]) < PERMISSIVENESS.index(current[0]):
            current = (wanted["level"], wanted["reason"])
        levels[name] = current
    return levels


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
    for name, (level, reason) in sorted(pod_security_levels(target).items()):
        obj = namespace(name, identity(target, name, "namespace"), pod_security=level)
        obj["metadata"]["labels"] = dict(sorted({**obj["metadata"]["labels"], **mesh_labels(target, name)}.items()))
        if reason:
            obj["metadata"]["annotations"] = {"mnops/pod-security-reason": reason}
        objects.append(obj)
    return objects


def main(input_params: dict[str, Any]) -> Any:
    return output({"namespaces": namespaces(current_target())})
