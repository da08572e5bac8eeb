"""Renders laid out for review (`make diff`): one file per cluster and chart, CRD bodies summarised.

A reviewer sees that a CRD changed, which versions it serves and whether its schema moved
(mnops.charts.crd_summary), not thousands of lines of schema. Each CRD's summary is read from
the render cache, where the render kept it when it read the CRD, else made here and kept; the
file laid out for review is kept beside the render too (REVIEW_FORMAT names how it is made), so the next diff
that renders the same chart inputs (the other side, another base) copies it instead of parsing and
writing the render again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from mnops.cache_files import write_atomically
from mnops.charts.cluster import RenderedChart
from mnops.charts.crd_summary import CRD_KIND, SUMMARY_FORMAT, keep_summary, kept_summary, summarised
from mnops.charts.render import document_pieces, documents, kind_of

__all__ = ["review_objects", "summarised", "write_for_review"]

# How a kept review file was made: the CRD summaries' format and libyaml's emitter with these options.
REVIEW_FORMAT = f"review-{SUMMARY_FORMAT}-libyaml-sorted-w200"


def review_objects(chart: RenderedChart) -> list[dict[str, Any]]:
    """The render's objects in its order, CRDs summarised: what parsing the whole render and
    summarising each object gives, with the CRD documents taken from their kept summaries."""
    cache_dir = chart.rendered.parent
    objects: list[dict[str, Any]] = []
    for piece in document_pieces(chart.text):
        if kind_of(piece) == CRD_KIND:
            kept = kept_summary(cache_dir, piece)
            objects += kept if kept is not None else keep_summary(cache_dir, piece, documents(piece))
        else:  # a CRD wrapped in a v1 List is not a CRD document: it is parsed and summarised here
            objects += [summarised(obj) for obj in documents(piece)]
    return objects


def write_for_review(rendered: Sequence[RenderedChart], output: Path, summarise_crds: bool) -> None:
    """output/<cluster>/<chart key>.yaml holding the chart's objects (Helm's comments dropped)."""
    for chart in rendered:
        path = output / chart.target / f"{chart.key}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(review_text(chart) if summarise_crds else laid_out(chart.objects), encoding="utf-8")


def laid_out(objects: list[dict[str, Any]]) -> str:
    # libyaml's emitter: the pure-Python one took a quarter of a cold `make diff` (it wraps long strings
    # at other points, so scripts/diff.py's CACHE_FORMAT names the writer: both sides use the same one).
    return yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=True, width=200)


def review_path(rendered: Path) -> Path:
    """Beside the cached render `<key>.yaml`: `<key>.<REVIEW_FORMAT>.yaml`."""
    return rendered.with_name(f"{rendered.stem}.{REVIEW_FORMAT}.yaml")


def review_text(chart: RenderedChart) -> str:
    """The render laid out for review, CRDs summarised: kept beside the render, made once per render."""
    kept = review_path(chart.rendered)
    try:
        return kept.read_text(encoding="utf-8")
    except OSError:
        text = laid_out(review_objects(chart))
        write_atomically(kept, text)
        return text
