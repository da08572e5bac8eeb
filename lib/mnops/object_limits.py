"""Kubernetes' size limits, checked over a compiled tree before the API server refuses an object.

    ConfigMap / Secret data      1 MiB   (the API server's validation: data + binaryData together)
    metadata.annotations         256 KiB (total of keys and values)
    any object                   1.5 MiB (etcd's default request limit, --max-request-bytes)

Sizes are of the JSON the API server stores. A Grafana dashboard ConfigMap is the usual first
casualty: its JSON grows with every panel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CONFIGMAP_DATA_BYTES = 1024 * 1024
ANNOTATIONS_BYTES = 256 * 1024
OBJECT_BYTES = 1536 * 1024


@dataclass(frozen=True)
class Oversize:
    where: str  # file and object, e.g. compiled/prod/manifests/dashboards/configmap.yaml ConfigMap/x
    limit: str
    size: int
    allowed: int

    def __str__(self) -> str:
        return f"{self.where}: {self.limit} is {self.size} bytes, over Kubernetes' {self.allowed}"


def json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def data_bytes(obj: Mapping[str, Any]) -> int:
    total = 0
    for field in ("data", "binaryData", "stringData"):
        for key, value in (obj.get(field) or {}).items():
            total += len(str(key).encode()) + len(str(value).encode())
    return total


def annotation_bytes(obj: Mapping[str, Any]) -> int:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())


def object_sizes(obj: Mapping[str, Any]) -> dict[str, int]:
    return {"object": json_bytes(obj), "data": data_bytes(obj), "annotations": annotation_bytes(obj)}


def oversized(objects: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Oversize]:
    """Every limit any of the (location, object) pairs breaks."""
    for where, obj in objects:
        name = f"{where} {obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        sizes = object_sizes(obj)
        if sizes["object"] > OBJECT_BYTES:
            yield Oversize(name, "the object", sizes["object"], OBJECT_BYTES)
        if obj.get("kind") in ("ConfigMap", "Secret") and sizes["data"] > CONFIGMAP_DATA_BYTES:
            yield Oversize(name, "data", sizes["data"], CONFIGMAP_DATA_BYTES)
        if sizes["annotations"] > ANNOTATIONS_BYTES:
            yield Oversize(name, "metadata.annotations", sizes["annotations"], ANNOTATIONS_BYTES)
