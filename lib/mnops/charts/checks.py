"""What every rendered chart document must pass: strict Kubernetes and CRD schemas.

Validation dominates a cold check (CRD documents are large), so identical documents (the same
CRDs on every cluster) are validated once, in parallel processes, and each render's result is
cached under its render key, the Kubernetes versions, the schema location and this code's own
fingerprint, with the digest of every CRD schema file it read (checked on reuse: a schema edited
in place, added or removed at the same location makes the result stale; results that read schemas
from a URL are not kept): a warm check reads a few small files.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mnops import crd_cel, manifest_validation
from mnops.cache_files import write_atomically
from mnops.charts import render
from mnops.charts.cluster import RenderedChart
from mnops.charts.render import split_documents, unwrap_list
from mnops.manifest_validation import schema_files, validate_document
from mnops.validation_cache import SchemaDigests


@dataclass
class Report:
    documents: int = 0
    targets: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


@cache
def _fingerprint() -> str:
    """Changes whenever the validation code or the bundled schemas' package changes."""
    import kubernetes_validate

    digest = hashlib.sha256(Path(manifest_validation.__file__).read_bytes())
    digest.update(Path(crd_cel.__file__).read_bytes())  # the CEL rules' evaluator
    digest.update(Path(__file__).read_bytes())
    digest.update(Path(render.__file__).read_bytes())
    digest.update(str(getattr(kubernetes_validate, "__version__", "")).encode())
    return digest.hexdigest()


# One document's findings (`kind/ns/name: $.path: message`, no file: the caller knows it) and the CRD
# schema files they were read from (None: from a URL).
Checked = tuple[list[str], list[str] | None]


def _validate_chunk(chunk: str, versions: tuple[str, ...], crd_location: str) -> Checked:
    objects = unwrap_list(yaml.load(chunk, Loader=yaml.CSafeLoader))
    findings = [
        f"{f.document}: {f.where}: {f.message}" for obj in objects for f in validate_document(obj, "", versions, crd_location)
    ]
    files: list[str] | None = []
    for obj in objects:
        read = schema_files(obj, versions, crd_location)
        files = None if files is None or read is None else files + [str(path) for path in read]
    return findings, files


def _validate_batch(batch: list[tuple[str, tuple[str, ...], str]]) -> list[Checked]:
    return [_validate_chunk(*item) for item in batch]


def _result_path(cache_dir: Path, chart: RenderedChart, versions: tuple[str, ...], crd_location: str) -> Path:
    key = hashlib.sha256("\0".join((chart.cache_key, *versions, crd_location, _fingerprint())).encode()).hexdigest()
    return cache_dir / f"{key}.json"


def check_rendered(parameters_by_target: Mapping[str, Mapping[str, Any]], rendered: Sequence[RenderedChart],
                   crd_location: str, cache_dir: Path, workers: int | None = None) -> Report:  # fmt: skip
    report = Report()
    digests = SchemaDigests()
    pending: list[tuple[RenderedChart, tuple[str, ...], list[str], Path]] = []
    for chart in rendered:
        versions = tuple(parameters_by_target[chart.target]["kubernetes"]["supported_versions"])
        report.targets.add(chart.target)
        result = _result_path(cache_dir, chart, versions, crd_location)
        cached = _read_result(result, digests)
        if cached is not None:
            report.documents += int(cached["documents"])
            report.problems += [f"{_where(chart)}: {p}" for p in cached["problems"]]
        else:
            pending.append((chart, versions, split_documents(chart.text), result))
    unique = sorted({(chunk, versions, crd_location) for _, versions, chunks, _ in pending for chunk in chunks})
    checked = dict(zip(unique, _validate_in_parallel(unique, workers), strict=True))
    cache_dir.mkdir(parents=True, exist_ok=True)
    for chart, versions, chunks, result in pending:
        problems = [p for chunk in chunks for p in checked[(chunk, versions, crd_location)][0]]
        report.documents += len(chunks)
        report.problems += [f"{_where(chart)}: {p}" for p in problems]
        read = [checked[(chunk, versions, crd_location)][1] for chunk in chunks]
        if any(files is None for files in read):
            continue  # read from a URL, whose schemas can change unseen: validated again next time
        schemas = {path: digests[path] for files in read for path in files or []}
        write_atomically(result, json.dumps({"documents": len(chunks), "problems": problems, "schemas": schemas}))
    return report


def _read_result(path: Path, digests: SchemaDigests) -> dict[str, Any] | None:
    """A kept result if it is whole and every schema file it read is unchanged, else None."""
    try:
        cached: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cached if digests.still_current(cached) else None


def _where(chart: RenderedChart) -> str:
    return f"{chart.target}: chart {chart.key} rendered with {chart.values_file.parent.name}/{chart.values_file.name}"


def _validate_in_parallel(items: list[tuple[str, tuple[str, ...], str]], workers: int | None) -> list[Checked]:
    if not items:
        return []
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(items) < 20:
        return _validate_batch(items)
    # Interleaved batches spread the few very large CRDs over the workers.
    batches = [items[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_validate_batch, batches))
    merged: list[Checked] = [([], []) for _ in items]
    for offset, batch_result in enumerate(results):
        for index, found in enumerate(batch_result):
            merged[offset + index * workers] = found
    return merged
