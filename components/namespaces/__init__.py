"""Namespaces the project owns, with Pod Security Admission labels.

Output: manifests/namespaces/namespace.yaml. Synced first (Argo CD wave -10).
"""

from __future__ import annotations

from typing import Any

from mnops.component import current_target, identity, output
from mnops.inventory import Target
from mnops.k8s.core import namespace

PERMISSIVENESS = ("privileged", "baseline", "restricted")


def pod_security_levels(target: Target) -> dict[str, str]:
    """Namespace name -> Pod Security level: `pod_security` by role, "restricted" for the rest."""
    by_role = target.parameters.get("pod_security", {})
    levels: dict[str, str] = {}
    for role, name in sorted(target.namespaces.items()):
        level = by_role.get(role, "restricted")
        # Two roles may share a namespace: the namespace must admit the workloads of both.
        levels[name] = min(levels.get(name, "restricted"), level, key=PERMISSIVENESS.index)
    return levels


def namespaces(target: Target) -> list[dict[str, Any]]:
    levels = pod_security_levels(target)
    return [namespace(name, identity(target, name, "namespace"), pod_security=levels[name]) for name in sorted(levels)]


def main(input_params: dict[str, Any]) -> Any:
    return output({"namespaces": namespaces(current_target())})
