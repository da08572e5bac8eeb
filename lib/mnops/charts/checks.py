"""What every rendered chart document must pass: strict Kubernetes and CRD schemas.

Validation dominates a cold check (CRD documents are large), so identical documents (the same
CRDs on every cluster) are validated once, in parallel processes, and each render's result is
cached under its render key, the Kubernetes versions, the schema location and this code's own
fingerprint: a warm check reads a few small files.
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
from mnops.charts import render
from mnops.charts.cluster import RenderedChart
from mnops.charts.render import split_documents, unwrap_list
from mnops.manifest_validation import validate_document


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


def _validate_chunk(chunk: str, versions: tuple[str, ...], crd_location: str) -> list[str]:
    """Findings for one document's text, as `kind/ns/name: $.path: message` (no file: the caller knows it)."""
    objects = unwrap_list(yaml.load(chunk, Loader=yaml.CSafeLoader))
    return [
        f"{f.document}: {f.where}: {f.message}" for obj in objects for f in validate_document(obj, "", versions, crd_location)
    ]


def _validate_batch(batch: list[tuple[str, tuple[str, ...], str]]) -> list[list[str]]:
    return [_validate_chunk(*item) for item in batch]


def _result_path(cache_dir: Path, chart: RenderedChart, versions: tuple[str, ...], crd_location: str) -> Path:
    key = hashlib.sha256("\0".join((chart.cache_key, *versions, crd_location, _fingerprint())).encode()).hexdigest()
    return cache_dir / f"{key}.json"


def check_rendered(parameters_by_target: Mapping[str, Mapping[str, Any]], rendered: Sequence[RenderedChart],
                   crd_location: str, cache_dir: Path, workers: int | None = None) -> Report:  # fmt: skip
    report = Report()
    pending: list[tuple[RenderedChart, tuple[str, ...], list[str], Path]] = []
    for chart in rendered:
        versions = tuple(parameters_by_target[chart.target]["kubernetes"]["supported_versions"])
        report.targets.add(chart.target)
        result = _result_path(cache_dir, chart, versions, crd_location)
        if result.exists():
            cached: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
            report.documents += int(cached["documents"])
            report.problems += [f"{_where(chart)}: {p}" for p in cached["problems"]]
        else:
            pending.append((chart, versions, split_documents(chart.text), result))
    unique = sorted({(chunk, versions, crd_location) for _, versions, chunks, _ in pending for chunk in chunks})
    findings = dict(zip(unique, _validate_in_parallel(unique, workers), strict=True))
    cache_dir.mkdir(parents=True, exist_ok=True)
    for chart, versions, chunks, result in pending:
        problems = [p for chunk in chunks for p in findings[(chunk, versions, crd_location)]]
        report.documents += len(chunks)
        report.problems += [f"{_where(chart)}: {p}" for p in problems]
        part = result.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps({"documents": len(chunks), "problems": problems}), encoding="utf-8")
        os.replace(part, result)
    return report


def _where(chart: RenderedChart) -> str:
    return f"{chart.target}: chart {chart.key} rendered with {chart.values_file.parent.name}/{chart.values_file.name}"


def _validate_in_parallel(items: list[tuple[str, tuple[str, ...], str]], workers: int | None) -> list[list[str]]:
    if not items:
        return []
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(items) < 20:
        return _validate_batch(items)
    # Interleaved batches spread the few very large CRDs over the workers.
    batches = [items[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_validate_batch, batches))
    merged: list[list[str]] = [[] for _ in items]
    for offset, batch_result in enumerate(results):
        for index, found in enumerate(batch_result):
            merged[offset + index * workers] = found
    return merged
