"""Builders for rbac.authorization.k8s.io/v1 Role and RoleBinding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

RBAC_API = "rbac.authorization.k8s.io/v1"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"}


def role(name: str, namespace: str, identity: Identity, rules: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A namespaced Role; wildcards are refused so every grant is spelled out."""
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            if "*" in rule.get(key, ()):
                raise BuildError(f"role {name}: wildcard in {key} is not allowed (least privilege)")
        if "secrets" in rule.get("resources", ()):
            raise BuildError(f"role {name}: access to secrets must not be granted through this builder")
    return k8s_object(RBAC_API, "Role", metadata(name, identity, namespace), rules=[dict(r) for r in rules])


def role_binding(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    role_name: str,
    service_accounts: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> dict[str, Any]:
    subjects = [{"kind": "ServiceAccount", "name": sa, "namespace": namespace} for sa in sorted(service_accounts)]
    subjects += [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g} for g in sorted(groups)]
    if not subjects:
        raise BuildError(f"role binding {name} has no subjects")
    return k8s_object(
        RBAC_API,
        "RoleBinding",
        metadata(name, identity, namespace),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        subjects=subjects,
    )
