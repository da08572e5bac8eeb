"""Builders for the objects the observability sidecars pick up by label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.errors import BuildError
from mnops.k8s.meta import Identity, k8s_object, metadata

# Grafana's and Loki's k8s-sidecar reject ConfigMaps over 1 MiB (the etcd object limit).
MAX_CONFIG_MAP_BYTES = 1024 * 1024


def sidecar_config_map(
    name: str,
    namespace: str,
    identity: Identity,
    *,
    data: Mapping[str, str],
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ConfigMap with a stable name, found by a sidecar through `labels` (e.g. grafana_dashboard: "1")."""
    if not labels:
        raise BuildError(f"config map {name}: a sidecar finds it only by label; give at least one")
    if not data:
        raise BuildError(f"config map {name} has no data")
    size = sum(len(key) + len(value.encode()) for key, value in data.items())
    if size > MAX_CONFIG_MAP_BYTES:
        raise BuildError(f"config map {name} is {size} bytes, over the 1 MiB limit; split it")
    return k8s_object(
        "v1",
        "ConfigMap",
        metadata(name, identity, namespace, labels=labels, annotations=annotations),
        data=dict(sorted(data.items())),
    )
