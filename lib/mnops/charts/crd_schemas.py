"""CRD schemas at the locked chart versions, and their CEL rules, applied to our custom resources.

The shared CRD catalog (CRD_SCHEMA_LOCATION) holds some version of each CRD; the charts we lock
install a specific one. `write_catalog` converts every CRD the rendered charts install into a
strict JSON schema in kubeconform's catalog layout ({group}/{kind}_{version}.json: objects that
list their properties reject others, unless the CRD preserves unknown fields). That folder is a
CRD_SCHEMA_LOCATION like any other: `manifest_validation.validate_document` checks an object
against it, its `x-kubernetes-validations` CEL rules included (`mnops.crd_cel`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mnops.charts.cluster import RenderedChart

Json = dict[str, Any]


def strict(schema: Json) -> Json:
    """The schema with `additionalProperties: false` wherever the CRD lists properties and keeps no unknown fields."""
    out = dict(schema)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: strict(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("items"), dict):
        out["items"] = strict(out["items"])
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(out["additionalProperties"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [strict(s) for s in out[key]]
    return out


def object_schema(crd_version_schema: Json) -> Json:
    """A whole object's schema: the CRD's plus apiVersion, kind and metadata every object carries."""
    schema = strict(crd_version_schema)
    properties = dict(schema.get("properties") or {})
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties["metadata"] = {"type": "object"}
    return {**schema, "properties": properties}


def crds_of(rendered: Sequence[RenderedChart]) -> dict[tuple[str, str, str], Json]:
    """(group, kind, version) -> the openAPIV3Schema of that version, over every render (the first wins)."""
    found: dict[tuple[str, str, str], Json] = {}
    for chart in rendered:
        for crd in chart.crds():
            spec = crd.get("spec") or {}
            for version in spec.get("versions") or []:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema is not None:
                    found.setdefault((spec["group"], spec["names"]["kind"], version["name"]), schema)
    return found


def write_catalog(crds: Mapping[tuple[str, str, str], Json], folder: Path) -> int:
    for (group, kind, version), schema in sorted(crds.items()):
        path = folder / group / f"{kind.lower()}_{version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(object_schema(schema), sort_keys=True), encoding="utf-8")
    return len(crds)


def chart_crd_catalog(rendered: Sequence[RenderedChart], cache_dir: Path) -> Path:
    """The catalog folder for these renders, converted once per set of renders (one render per chart:
    a chart installs the same CRDs on every cluster)."""
    first: dict[str, RenderedChart] = {}
    for chart in sorted(rendered, key=lambda c: (c.key, c.target)):
        first.setdefault(chart.key, chart)
    key = hashlib.sha256("\0".join(sorted(c.cache_key for c in first.values())).encode()).hexdigest()[:24]
    folder = cache_dir / key
    if not (folder / ".complete").exists():
        write_catalog(crds_of(list(first.values())), folder)
        (folder / ".complete").touch()
    return folder


def load_schema(catalog: Path, api_version: str, kind: str) -> Json | None:
    group, _, version = api_version.rpartition("/")
    path = catalog / group / f"{kind.lower()}_{version}.json"
    loaded: Json | None = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    return loaded
