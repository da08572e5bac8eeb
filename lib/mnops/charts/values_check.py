"""Our values against the chart's: a key the chart does not know is an error, not silently ignored.

Helm ignores a values key no template reads, so a misspelt `replicaCount` or a key a chart
renamed in a new version changes nothing and nobody notices. A key is known when the chart's
values.yaml has it (subcharts under their name or alias, `global` everywhere) or its
values.schema.json declares or allows it. Below a key whose default is an empty map, null or a
scalar, or whose schema allows any property, the chart passes our map through whole
(podAnnotations, extraArgs, config blocks): nothing below it is checked.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mnops.cache_files import write_atomically

Json = dict[str, Any]
ISTIO_DEFAULTS = "_internal_defaults_do_not_set"


@dataclass(frozen=True)
class UnknownKey:
    path: tuple[str, ...]
    suggestion: str | None

    def render(self) -> str:
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        return f"{'.'.join(self.path)}: unknown key for this chart{hint}"


def chart_values(package: Path, cache_dir: Path) -> Json:
    """The chart's defaults, schema and subcharts as one JSON tree, cached by the package's digest (its name)."""
    cached = cache_dir / f"{package.stem}.values.json"
    if cached.exists():
        loaded: Json = json.loads(cached.read_text(encoding="utf-8"))
        return loaded
    with tarfile.open(package) as archive:
        files = {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile() and _wanted(m.name)
        }
    tree = _chart_tree(files, _root_of(files))
    write_atomically(cached, json.dumps(tree, sort_keys=True))
    return tree


def _wanted(name: str) -> bool:
    base = PurePosixPath(name).name
    return (base in ("Chart.yaml", "values.yaml", "values.schema.json") or "/templates/" in name
            or (base.endswith(".tgz") and "/charts/" in name))  # fmt: skip


# `.Values.a.b` in a template: the chart reads a.b even when values.yaml only has it commented out.
_VALUES_REFERENCE = re.compile(r"\$?\.Values\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
# The chart takes our map as a whole (`toYaml .Values.a.b`, `merge`, `range`, `$x := .Values.a.b`,
# `.Values.a.b | default dict`): whatever keys it holds reach the output or a config file as they are.
_PATH = r"\$?\.Values\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
_WHOLE_MAP = re.compile(
    r"(?:toYaml|toJson|toPrettyJson|tpl|deepCopy|omit|pick|:=)\s*\(?\s*"
    + _PATH
    + r"|(?:merge|mergeOverwrite)\s+[^}|]*?"
    + _PATH
    + r"|"
    + _PATH
    + r"\s*\|\s*(?:toYaml|toJson|toPrettyJson|default)"
)
# Kubernetes fields charts hand to the API server as they are: their keys are the API's, not the chart's.
PASSED_THROUGH = re.compile(
    r"(?i)^(.*securitycontext|resources|limits|requests|affinity|tolerations|nodeselector|.*annotations|.*labels|"
    r"topologyspreadconstraints|env|extraargs|extraenv|podDisruptionBudget|.*selector)$"
)


def _root_of(files: Mapping[str, bytes]) -> str:
    return min((n for n in files if n.endswith("/Chart.yaml")), key=len).removesuffix("Chart.yaml")


def _chart_tree(files: Mapping[str, bytes], root: str) -> Json:
    """{defaults, schema, subcharts: {values key: tree}} for the chart rooted at `root` (ends with '/')."""
    meta = yaml.safe_load(files.get(root + "Chart.yaml", b"{}")) or {}
    defaults = yaml.load(files.get(root + "values.yaml", b"{}"), Loader=yaml.CSafeLoader) or {}
    # Istio's charts keep their defaults under this key and merge it over the top level themselves.
    defaults = {**defaults, **(defaults.pop(ISTIO_DEFAULTS, None) or {})}
    schema_text = files.get(root + "values.schema.json")
    templates = [files[n].decode("utf-8", "replace") for n in files if n.startswith(root + "templates/")]
    references = sorted({ref for text in templates for ref in _VALUES_REFERENCE.findall(text)})
    whole = sorted({ref for text in templates for match in _WHOLE_MAP.findall(text) for ref in match if ref})
    subcharts: Json = {}
    aliases = {d["name"]: d.get("alias") or d["name"] for d in meta.get("dependencies") or []}
    for name in sorted(files):
        rest = name[len(root) :] if name.startswith(root) else None
        if rest is None or not rest.startswith("charts/"):
            continue
        parts = PurePosixPath(rest).parts
        if len(parts) == 3 and parts[2] == "Chart.yaml":  # an unpacked subchart
            sub = _chart_tree(files, f"{root}charts/{parts[1]}/")
        elif len(parts) == 2 and parts[1].endswith(".tgz"):  # a packaged subchart
            with tarfile.open(fileobj=io.BytesIO(files[name])) as archive:
                inner = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile() and _wanted(m.name)}  # type: ignore[union-attr]
            sub = _chart_tree(inner, _root_of(inner))
        else:
            continue
        sub_name = str((yaml.safe_load(files.get(f"{root}charts/{parts[1]}/Chart.yaml", b"{}")) or {}).get("name") or sub["name"])
        subcharts[aliases.get(sub_name, sub_name)] = sub
    return {"name": meta.get("name", ""), "defaults": json.loads(json.dumps(defaults, default=str)),
            "schema": json.loads(schema_text) if schema_text else None, "subcharts": subcharts,
            "references": references, "whole": whole}  # fmt: skip


def unknown_keys(values: Mapping[str, Any], chart: Json) -> list[UnknownKey]:
    return sorted(_walk(values, chart["defaults"], chart["schema"], chart, path=(), prefix=()), key=lambda u: u.path)


def _walk(ours: Mapping[str, Any], defaults: Any, schema: Json | None, chart: Json, *, path: tuple[str, ...],
          prefix: tuple[str, ...]) -> Iterator[UnknownKey]:  # fmt: skip
    """`path` is the key path in our values file; `prefix` the part of it above `chart`'s own values."""
    defaults = defaults if isinstance(defaults, dict) else {}
    references = {tuple(r.split(".")) for r in chart["references"]}
    whole = {tuple(r.split(".")) for r in chart["whole"]}
    for key, value in ours.items():
        here, relative = (*path, str(key)), (*path[len(prefix) :], str(key))
        if key == "global" and len(path) == len(prefix):
            continue  # shared with every subchart; each reads what it knows
        if key in chart["subcharts"] and len(path) == len(prefix):
            sub = chart["subcharts"][key]
            if isinstance(value, dict):
                merged = {**sub["defaults"], **(defaults.get(key) or {})}
                yield from _walk(value, merged, sub["schema"], sub, path=here, prefix=here)
            continue
        child_schema = _property_schema(schema, str(key))
        if key not in defaults and child_schema is None and relative not in references:
            names = [str(k) for k in defaults] + _schema_names(schema) + [r[-1] for r in references if r[:-1] == relative[:-1]]
            close = difflib.get_close_matches(str(key), sorted(set(names)), n=1, cutoff=0.6)
            yield UnknownKey(here, close[0] if close else None)
            continue
        passed_whole = relative in whole or PASSED_THROUGH.match(str(key)) is not None
        if isinstance(value, dict) and not passed_whole and _is_checked_map(defaults.get(key), child_schema):
            yield from _walk(value, defaults.get(key), child_schema, chart, path=here, prefix=prefix)


def _is_checked_map(default: Any, schema: Json | None) -> bool:
    """Whether the chart spells out this map's keys (else it passes our map through whole)."""
    if schema is not None and (schema.get("additionalProperties") not in (None, False) or schema.get("patternProperties")):
        return False
    if schema is not None and schema.get("additionalProperties") is False:
        return True
    return isinstance(default, dict) and bool(default)


def _property_schema(schema: Json | None, key: str) -> Json | None:
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties") or {}
    if key in props and isinstance(props[key], dict):
        found: Json = props[key]
        return found
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) or extra is True or schema.get("patternProperties"):
        return extra if isinstance(extra, dict) else {}
    return None


def _schema_names(schema: Json | None) -> list[str]:
    return sorted((schema or {}).get("properties") or {}) if isinstance(schema, dict) else []
