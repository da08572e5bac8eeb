"""Labels and metadata shared by every object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mnops.errors import BuildError

MANAGED_BY = "kapitan"


@dataclass(frozen=True)
class Identity:
    """Who an object belongs to: drives the standard labels and the selector."""

    name: str  # app.kubernetes.io/name, e.g. memory-service
    component: str  # app.kubernetes.io/component, e.g. api, database, namespace
    part_of: str  # app.kubernetes.io/part-of, the project
    cluster: str
    environment: str
    version: str | None = None

    def labels(self) -> dict[str, str]:
        labels = {
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/instance": f"{self.name}-{self.cluster}",
            "app.kubernetes.io/component": self.component,
            "app.kubernetes.io/part-of": self.part_of,
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "cluster": self.cluster,
            "environment": self.environment,
        }
        if self.version:
            labels["app.kubernetes.io/version"] = self.version
        return labels

    def selector(self) -> dict[str, str]:
        """Stable across releases: never includes the version."""
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": f"{self.name}-{self.cluster}"}


def drop_empty(value: Any) -> Any:
    """Remove None, empty dicts and empty lists recursively; keep False and 0 (they mean something)."""
    if isinstance(value, Mapping):
        cleaned = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v not in ({}, [])}
    if isinstance(value, list):
        cleaned_list = [drop_empty(v) for v in value]
        return [v for v in cleaned_list if v is not None and v not in ({}, [])]
    return value


def drop_empty_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """drop_empty for a mapping, typed as one."""
    cleaned: dict[str, Any] = drop_empty(obj)
    return cleaned


def metadata(
    name: str,
    identity: Identity,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    if not name:
        raise BuildError("every object needs a name")
    if len(name) > 253:
        raise BuildError(f"object name {name!r} is longer than 253 characters")
    return drop_empty_fields(
        {
            "name": name,
            "namespace": namespace,
            "labels": {**identity.labels(), **(labels or {})},
            "annotations": dict(annotations or {}),
        }
    )


def k8s_object(api_version: str, kind: str, meta: dict[str, Any], **body: Any) -> dict[str, Any]:
    """apiVersion, kind, metadata, then the body in the order given; empty fields dropped."""
    return drop_empty_fields({"apiVersion": api_version, "kind": kind, "metadata": meta, **body})
