"""Size limits the Kubernetes API server enforces, checked on the built objects before they are committed.

The inventory rules refuse oversized service config and annotations where the user wrote them
(lib/mnops/inventory/rules.py); this is the safety net for every other object (a dashboard
ConfigMap, a generated rule file): a file smaller than the smallest limit cannot break one, so
only large files are parsed and the check costs nothing on a normal tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mnops import yamlio

DATA_LIMIT = 1024 * 1024  # ConfigMap and Secret data (bytes)
ANNOTATIONS_LIMIT = 256 * 1024  # keys and values of one object's annotations (bytes)


def _size(mapping: Mapping[str, Any] | None) -> int:
    return sum(len(str(k).encode()) + len(str(v).encode()) for k, v in (mapping or {}).items())


def object_problems(document: Mapping[str, Any]) -> Iterator[str]:
    """Why the API server would refuse this object, if it would."""
    kind = document.get("kind", "")
    metadata = document.get("metadata") or {}
    name = f"{kind} {metadata.get('namespace', '')}/{metadata.get('name', '?')}".replace(" /", " ")
    service = (metadata.get("labels") or {}).get("app.kubernetes.io/name")
    about = f"{name}{f' (service {service})' if service else ''}"
    if kind in ("ConfigMap", "Secret"):
        data = _size(document.get("data")) + _size(document.get("binaryData")) + _size(document.get("stringData"))
        if data > DATA_LIMIT:
            yield f"{about}: {data} bytes of data, the API server refuses more than {DATA_LIMIT} (1 MiB)"
    annotations = _size(metadata.get("annotations"))
    if annotations > ANNOTATIONS_LIMIT:
        yield f"{about}: {annotations} bytes of annotations, the API server refuses more than {ANNOTATIONS_LIMIT} (256 KiB)"


def oversized_objects(tree: Path) -> list[str]:
    """One line per refused object under tree: the file (relative to tree's parent) and why."""
    problems: list[str] = []
    for path in sorted(tree.rglob("*.yaml")):
        if path.stat().st_size <= ANNOTATIONS_LIMIT:
            continue
        shown = path.relative_to(tree.parent)
        # The shared parse by content: the coverage table parsed these same bytes moments before, and
        # parsing the large rule and dashboard files again was a fifth of a 100-service compile.
        for document in yamlio.load_all_bytes(path.read_bytes()):
            if isinstance(document, Mapping):
                problems += [f"{shown}: {problem}" for problem in object_problems(document)]
    return problems
