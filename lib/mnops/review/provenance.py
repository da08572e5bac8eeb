"""Review section: where each change came from, as inventory file:line and the clusters it reaches.

    chain = class_chain(inventory, "staging")             # class files in merge order, target last
    origin = where_set(chain, ("service_defaults", "replicas"))   # Origin(file, line) or None

Reclass merges a target's classes depth first (a class's own `classes:` before its body, each
class once) and then the target file; later files win (the order lib/mnops/inventory/layers.py
describes). The file that set a key is therefore the last file in that chain that writes the
key (or `~key`, which replaces). Lines come from ruamel.yaml's positions.

The section lists every inventory value that differs between base and head (from the rendered
parameters of both sides), with the file:line that set it on the side that has it and the
clusters that get it, and then, for each changed compiled field whose old and new values are
exactly an inventory value's old and new values (an image tag, a replica count, a resource
size, a threshold, a config value), the inventory key and file:line behind it.

`where_set` is the lookup an error message needs too ("which file set this key"); the inventory
validation can call it with the same arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from mnops.gitops.diffing import FieldChange, Key, changed_fields, helm_values_changes
from mnops.review import ReviewInput, Section

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
MAX_FIELD_ROWS = 60  # compiled fields traced back in one section; the rest are counted
RENDER_KEYS = ("_reclass_", "_kapitan_")  # added by the renderer, not written in any file


@dataclass(frozen=True)
class ClassFile:
    """One file of a target's class chain, parsed with line numbers."""

    path: Path
    document: Any


@dataclass(frozen=True, order=True)
class Origin:
    file: Path
    line: int  # 1-based

    def relative_to(self, root: Path) -> str:
        try:
            return f"{self.file.relative_to(root)}:{self.line}"
        except ValueError:
            return f"{self.file}:{self.line}"


def _load(path: Path) -> Any:
    """A class file as ruamel nodes (with line numbers), parsed once per content version."""
    stat = path.stat()
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@cache
def _parse(path: Path, mtime_ns: int, size: int) -> Any:  # the stat fields are the cache key
    return YAML(typ="rt").load(path.read_text()) or {}


def class_file(inventory: Path, name: str) -> Path | None:
    """classes/a/b.yml for class `a.b`, or classes/a/b/init.yml when `a.b` is a folder."""
    relative = Path(*name.split("."))
    for candidate in (inventory / "classes" / f"{relative}.yml", inventory / "classes" / relative / "init.yml"):
        if candidate.is_file():
            return candidate
    return None


def class_chain(inventory: Path, target: str) -> list[ClassFile]:
    """Every file that contributes to a target, in reclass merge order (later wins), target last."""
    chain: list[ClassFile] = []
    seen: set[Path] = set()

    def visit(names: Sequence[str]) -> None:
        for name in names:
            path = class_file(inventory, str(name))
            if path is None or path in seen:
                continue
            seen.add(path)
            document = _load(path)
            visit(document.get("classes") or [])
            chain.append(ClassFile(path, document))

    target_file = inventory / "targets" / f"{target}.yml"
    document = _load(target_file) if target_file.is_file() else {}
    visit(document.get("classes") or [])
    return [*chain, ClassFile(target_file, document)]


def _key_line(mapping: Any, key: str) -> tuple[Any, str | None]:
    """The value and the actual key written (`key` or `~key`) in a ruamel mapping."""
    if not isinstance(mapping, CommentedMap):
        return None, None
    for written in (key, f"~{key}"):
        if written in mapping:
            return mapping[written], written
    return None, None


def _locate(document: Any, path: Sequence[str]) -> int | None:
    """The 1-based line of the deepest mapping key on `path` under `parameters`, if the whole
    mapping part of the path is written in this file (a path into a list stops at the list)."""
    node: Any = document.get("parameters") if isinstance(document, CommentedMap) else None
    line = None
    for part in path:
        if part.startswith("["):  # a list item: the file that writes the list set it
            break
        value, written = _key_line(node, part)
        if written is None:
            return None
        line = int(node.lc.key(written)[0]) + 1
        node = value
    return line


def where_set(chain: Sequence[ClassFile], path: Sequence[str]) -> Origin | None:
    """The last file in the chain that writes `path` (the layer that won), with its line."""
    for file in reversed(chain):
        line = _locate(file.document, path)
        if line is not None:
            return Origin(file.path, line)
    return None


def _chain(repo: Path, target: str) -> list[ClassFile]:
    return class_chain(repo / "inventory", target)


# --- inventory changes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryChange:
    """One inventory value that differs between base and head, where it was set, and its clusters."""

    path: str  # dotted, as in error messages (without `parameters.`)
    before: Any
    after: Any
    origin: str  # file:line relative to the repository, or "(not found)"
    clusters: tuple[str, ...]


def inventory_changes(review: ReviewInput) -> tuple[list[InventoryChange], dict[str, list[FieldChange]]]:
    """Changed inventory values grouped across clusters, and the raw per-target field changes."""
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
            origin = where_set(_chain(repo, target), change.path)
            where = origin.relative_to(repo) if origin else "(not found)"
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
) -> Iterator[tuple[Key, FieldChange, list[FieldChange]]]:
    """(object, compiled field, inventory fields) for each compiled change an inventory change explains.

    Several inventory keys can carry the same old and new value (three replica counts 2 -> 3): the
    ones whose names are closest to the object and field are given; a tie lists all of them.
    """
    for target, changes in review.changes.items():
        candidates = [c for c in per_target.get(target, []) if c.before is not None and c.after is not None]
        compared = [(key, old, new) for key, (old, new) in changes.changed.items()]
        for key, old, new in compared + helm_values_changes(target, changes):
            for field_change in changed_fields(old, new):
                found = [c for c in candidates if _matches(c, field_change)]
                if not found:
                    continue
                best = max(_closeness(key, field_change, c) for c in found)
                yield key, field_change, [c for c in found if _closeness(key, field_change, c) == best]


def _value(value: Any) -> str:
    text = "(unset)" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def build(review: ReviewInput) -> Section | None:
    rows, per_target = inventory_changes(review)
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
        for key, compiled, sources in traced[:MAX_FIELD_ROWS]:
            chain = _chain(review.head_repo, key.target)
            origins = [where_set(chain, source.path) for source in sources]
            names = " or ".join(source.dotted for source in sources)
            where = ", ".join(o.relative_to(review.head_repo) if o else "(not found)" for o in origins)
            text.append(f"  {key.target}: {key} {compiled.dotted} <- {names} [{where}]")
            markdown.append(f"| {key.target} | `{key}` | `{compiled.dotted}` | `{names}` | `{where}` |")
        if len(traced) > MAX_FIELD_ROWS:
            more = f"{len(traced) - MAX_FIELD_ROWS} more compiled fields traced (not shown)"
            text.append(f"  … {more}")
            markdown.append(f"\n… {more}")
    return Section("provenance", "Where each change came from", "\n".join(text), "\n".join(markdown))
