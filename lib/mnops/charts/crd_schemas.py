"""CRD schemas at the locked chart versions, and their CEL rules, applied to our custom resources.

The shared CRD catalog (CRD_SCHEMA_LOCATION) holds some version of each CRD; the charts we lock
install a specific one. `write_catalog` converts every CRD the rendered charts install into a
strict JSON schema in kubeconform's catalog layout ({group}/{kind}_{version}.json: objects that
list their properties reject others, unless the CRD preserves unknown fields), and
`cel_violations` evaluates each CRD's `x-kubernetes-validations` rules (CEL, with cel-python) on
an object, the way the API server does at admission.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import celpy
from celpy.adapter import json_to_cel

from mnops.charts.cluster import RenderedChart
from mnops.charts.render import CRD_KIND

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
        for crd in chart.objects_of_kind({CRD_KIND}):
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


def _rules_at(schema: Json, value: Any, path: str) -> Iterator[tuple[str, Json, Any]]:
    """(JSON path, rule, value) for every x-kubernetes-validations rule whose node the object has."""
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, rule, value
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                yield from _rules_at(sub, value[key], f"{path}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, item in value.items():
                if key not in (schema.get("properties") or {}):
                    yield from _rules_at(extra, item, f"{path}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _rules_at(schema["items"], item, f"{path}[{index}]")


def cel_violations(schema: Json, obj: Mapping[str, Any]) -> tuple[list[str], int]:
    """Messages of the rules the object breaks, and how many rules could not be evaluated here
    (transition rules need the old object; some Kubernetes CEL library functions are not in cel-python)."""
    env = celpy.Environment()
    broken: list[str] = []
    skipped = 0
    for path, rule, value in _rules_at(schema, dict(obj), "$"):
        expression = str(rule.get("rule", ""))
        if "oldSelf" in expression:
            skipped += 1
            continue
        try:
            result = env.program(env.compile(expression)).evaluate({"self": json_to_cel(value)})
        except Exception:
            skipped += 1
            continue
        if not isinstance(result, celpy.celtypes.BoolType):  # an evaluation error or a non-boolean rule
            skipped += 1
        elif not bool(result):
            broken.append(f"{path}: {rule.get('message') or expression}")
    return broken, skipped


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
