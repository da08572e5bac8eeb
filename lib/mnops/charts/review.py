"""Renders laid out for review (`make diff`): one file per cluster and chart, CRD bodies summarised.

A chart bump can rewrite thousands of lines of CRD schema; a reviewer needs to see that a CRD
changed, which versions it serves and whether its schema moved, not the schema itself. Each
CRD version's openAPIV3Schema is replaced by its sha256 and its number of properties.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mnops.charts.cluster import RenderedChart
from mnops.charts.render import CRD_KIND


def summarised(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") != CRD_KIND:
        return obj
    versions = []
    for version in (obj.get("spec") or {}).get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            versions.append(version)
            continue
        text = json.dumps(schema, sort_keys=True)
        summary = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "fields": text.count('"type":')}
        versions.append({**version, "schema": {"openAPIV3Schema": {"summary": summary}}})
    return {**obj, "spec": {**obj["spec"], "versions": versions}}


def write_for_review(rendered: Sequence[RenderedChart], output: Path, summarise_crds: bool) -> None:
    """output/<cluster>/<chart key>.yaml holding the chart's objects (Helm's comments dropped)."""
    for chart in rendered:
        path = output / chart.target / f"{chart.key}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        objects = [summarised(o) if summarise_crds else o for o in chart.objects]
        # libyaml's emitter: the pure-Python one took a quarter of a cold `make diff` (it wraps long strings
        # at other points, so scripts/diff.py's CACHE_FORMAT names the writer: both sides use the same one).
        path.write_text(yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=True, width=200), encoding="utf-8")
