"""Review section: where each change came from, as inventory file:line and the clusters it reaches.

The file that set a key is the last file in the target's merge order that writes it (or `~key`,
which replaces): the same lookup the compile's error messages use (mnops.inventory.sources,
locate_all), so a review and an error name the same file and line.

The section lists every inventory value that differs between base and head (from the rendered
parameters of both sides), with the file:line that set it on the side that has it and the
clusters that get it, and then, for each changed compiled field whose old and new values are
exactly an inventory value's old and new values (an image tag, a replica count, a resource
size, a threshold, a config value), the inventory key and file:line behind it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnops.gitops.diffing import FieldChange, Key, changed_fields, helm_values_changes
from mnops.inventory.sources import InventorySources, SourceErrors, locate_all, read_sources
from mnops.review import ReviewInput, Section
from mnops.review.compiled import owner

TITLE = "Where each change came from"  # the section's heading; also named when the section finds no change

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
MAX_FIELD_ROWS = 60  # compiled fields traced back in one section; the rest are counted
RENDER_KEYS = ("_reclass_", "_kapitan_")  # added by the renderer, not written in any file


class Origins:
    """Where each inventory key was set, per checkout: the inventory's own lookup
    (mnops.inventory.sources, the one compile errors use), each inventory parsed once per section."""

    def __init__(self) -> None:
        self._sources: dict[Path, InventorySources | None] = {}

    def _of(self, repo: Path) -> InventorySources | None:
        if repo not in self._sources:
            try:
                self._sources[repo] = read_sources(repo / "inventory")
            except SourceErrors:  # a base from before a file check existed: its origins are unknown
                self._sources[repo] = None
        return self._sources[repo]

    def where(self, repo: Path, target: str, path: Sequence[str]) -> str:
        """`inventory/<file>:<line>` of the layer that won for parameters.<path>, or "(not found)".

        A list item (a `[name]` segment) was set by the file that writes the list. Unlike an error,
        which points at the deepest parent that exists, a key no file writes is not found."""
        sources = self._of(repo)
        keys: list[str | int] = [*itertools.takewhile(lambda part: not part.startswith("["), path)]
        if sources is None or not keys or not sources.has(target, keys):
            return "(not found)"
        location = locate_all(sources, target, keys)
        return f"{location.file}:{location.line}" if location else "(not found)"


# --- inventory changes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryChange:
    """One inventory value that differs between base and head, where it was set, and its clusters."""

    path: str  # dotted, as in error messages (without `parameters.`)
    before: Any
    after: Any
    origin: str  # file:line relative to the repository, or "(not found)"
    clusters: tuple[str, ...]


def inventory_changes(
    review: ReviewInput, origins: Origins | None = None
) -> tuple[list[InventoryChange], dict[str, list[FieldChange]]]:
    """Changed inventory values grouped across clusters, and the raw per-target field changes."""
    origins = origins or Origins()
    per_target: dict[str, list[FieldChange]] = {}
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    values: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
    for target in sorted(set(review.base_parameters) | set(review.head_parameters)):
        old = {k: v for k, v in (review.base_parameters.get(target) or {}).items() if k not in RENDER_KEYS}
        new = {k: v for k, v in (review.head_parameters.get(target) or {}).items() if k not in RENDER_KEYS}
        fields = changed_fields(old, new)
        per_target[target] = fields
        for change in fields:
            repo = review.head_repo if change.after is not None else review.base_repo
            where = origins.where(repo, target, change.path)
            group = (change.dotted, repr(change.before), repr(change.after), where)
            grouped.setdefault(group, []).append(target)
            values[group] = (change.before, change.after)
    rows = []
    for group, targets in sorted(grouped.items()):
        before, after = values[group]
        rows.append(InventoryChange(group[0], before, after, group[3], tuple(targets)))
    return rows, per_target


def _matches(inventory: FieldChange, compiled: FieldChange) -> bool:
    """A compiled field that carries an inventory value: equal scalars, or a long enough string inside."""

    def carries(small: Any, big: Any) -> bool:
        if small is None or big is None or isinstance(small, Mapping | list):
            return False
        if small == big:
            return True
        if isinstance(small, int | float) and not isinstance(small, bool) and isinstance(big, str):
            return str(small) in _NUMBER.findall(big)  # a threshold inside an expression: `result[0] > 5`
        return isinstance(small, str) and len(small) >= 3 and small in str(big)

    return carries(inventory.before, compiled.before) and carries(inventory.after, compiled.after)


def _tokens(*parts: str) -> set[str]:
    return {word for part in parts for word in re.split(r"[^a-z0-9]+", part.lower()) if word}


def _closeness(key: Key, compiled: FieldChange, inventory: FieldChange) -> int:
    """How well an inventory key names a compiled field: shared words, and the same last key counts double."""
    context = _tokens(key.kind, key.name, *compiled.path)
    shared = len(context & _tokens(*inventory.path))
    return shared + (2 if inventory.leaf == compiled.leaf else 0)


def traced_fields(
    review: ReviewInput, per_target: Mapping[str, list[FieldChange]]
) -> Iterator[tuple[Key, FieldChange, list[FieldChange], str]]:
    """(object, compiled field, inventory fields, the target whose inventory sets them) for each compiled
    change an inventory change explains. A managed resource the management cluster creates for a
    cluster (namespace infra-<cluster>) is explained by that cluster's inventory, not the manager's.

    Several inventory keys can carry the same old and new value (three replica counts 2 -> 3): the
    ones whose names are closest to the object and field are given; a tie lists all of them.
    """
    for target, changes in review.changes.items():
        compared = [(key, old, new) for key, (old, new) in changes.changed.items()]
        for key, old, new in compared + helm_values_changes(target, changes):
            source = owner(target, key.namespace, review.manager_of)
            candidates = [c for c in per_target.get(source, []) if c.before is not None and c.after is not None]
            for field_change in changed_fields(old, new):
                found = [c for c in candidates if _matches(c, field_change)]
                if not found:
                    continue
                best = max(_closeness(key, field_change, c) for c in found)
                yield key, field_change, [c for c in found if _closeness(key, field_change, c) == best], source


def _value(value: Any) -> str:
    text = "(unset)" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def build(review: ReviewInput) -> Section | None:
    origins = Origins()
    rows, per_target = inventory_changes(review, origins)
    if not rows:
        return None
    text = ["Inventory values changed (file:line that sets them, clusters that get them):"]
    markdown = ["| inventory key | before | after | set in | clusters |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        clusters = ", ".join(row.clusters)
        text.append(f"  {row.path}: {_value(row.before)} -> {_value(row.after)}  [{row.origin}] ({clusters})")
        markdown.append(f"| `{row.path}` | `{_value(row.before)}` | `{_value(row.after)}` | `{row.origin}` | {clusters} |")
    traced = list(traced_fields(review, per_target))
    if traced:
        text.append("Compiled fields and the inventory key behind them:")
        markdown += ["", "| cluster | object | field | from | set in |", "| --- | --- | --- | --- | --- |"]
        for key, compiled, sources, cluster in traced[:MAX_FIELD_ROWS]:
            names = " or ".join(source.dotted for source in sources)
            where = ", ".join(origins.where(review.head_repo, cluster, source.path) for source in sources)
            shown = cluster if cluster == key.target else f"{cluster} (in {key.target})"
            text.append(f"  {shown}: {key} {compiled.dotted} <- {names} [{where}]")
            markdown.append(f"| {shown} | `{key}` | `{compiled.dotted}` | `{names}` | `{where}` |")
        if len(traced) > MAX_FIELD_ROWS:
            more = f"{len(traced) - MAX_FIELD_ROWS} more compiled fields traced (not shown)"
            text.append(f"  … {more}")
            markdown.append(f"\n… {more}")
    return Section("provenance", TITLE, "\n".join(text), "\n".join(markdown))
