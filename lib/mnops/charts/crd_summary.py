"""CRD schemas summarised for review, each CRD's summary kept under the render cache by its text.

A chart bump can rewrite thousands of lines of CRD schema; a reviewer needs to see that a CRD
changed, which versions it serves and whether its schema moved, not the schema itself. Each
CRD version's openAPIV3Schema is replaced by its sha256 and its number of properties.

CRDs are nine tenths of the bytes Helm renders for our charts, so parsing them was most of what
`make diff` spent laying renders out for review. A fresh render parses each new CRD text once to
learn what it serves (mnops.charts.render.served_crd_apis) and keeps its summary then; the review
reads the summary instead of parsing the schema again. A summary is named after the CRD's text and
SUMMARY_FORMAT, so it is never read for other bytes or for another way of summarising.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from mnops.cache_files import write_atomically

CRD_KIND = "CustomResourceDefinition"
SUMMARY_FORMAT = "crd-summaries-1"  # bump when summarised() changes what it writes


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


def summary_path(cache_dir: Path, document: str) -> Path:
    """Where the summary of one CRD document's text is kept in the render cache folder."""
    digest = hashlib.sha256(f"{SUMMARY_FORMAT}\0{document}".encode()).hexdigest()
    return cache_dir / SUMMARY_FORMAT / f"{digest}.yaml"


def keep_summary(cache_dir: Path, document: str, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summarise the objects parsed from one CRD document and keep them (whole or not at all; libyaml
    both ways, so what is read back is what was parsed: strings stay strings, dates dates)."""
    summary = [summarised(obj) for obj in objects]
    write_atomically(summary_path(cache_dir, document), yaml.dump(summary, Dumper=yaml.CSafeDumper, sort_keys=True))
    return summary


def kept_summary(cache_dir: Path, document: str) -> list[dict[str, Any]] | None:
    """The kept summary of one CRD document, or None when there is none to trust."""
    try:
        loaded = yaml.load(summary_path(cache_dir, document).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    if not (isinstance(loaded, list) and all(isinstance(obj, dict) for obj in loaded)):
        return None
    return loaded
