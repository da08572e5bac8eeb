"""Builder for Kyverno (kyverno.io/v1) ClusterPolicy with pod validation rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

POD_KINDS = ["Pod"]  # Kyverno auto-generates the rules for Deployments, StatefulSets, Jobs...


def pod_rule(name: str, namespaces: Sequence[str], validate: Mapping[str, Any], failure_action: str) -> dict[str, Any]:
    if not namespaces:
        raise BuildError(f"policy rule {name} must be scoped to at least one namespace")
    return {
        "name": name,
        "match": {"any": [{"resources": {"kinds": POD_KINDS, "namespaces": sorted(namespaces)}}]},
        "validate": {"failureAction": failure_action, **validate},
    }


def cluster_policy(name: str, identity: Identity, *, description: str, rules: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if not rules:
        raise BuildError(f"cluster policy {name} has no rules")
    return k8s_object(
        "kyverno.io/v1",
        "ClusterPolicy",
        metadata(
            name,
            identity,
            annotations={"policies.kyverno.io/description": description, "policies.kyverno.io/category": "Pod Security"},
        ),
        spec={"background": True, "rules": [dict(r) for r in rules]},
    )
