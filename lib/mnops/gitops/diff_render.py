"""Render a compiled-tree diff (mnops.gitops.diffing) and the review sections for a terminal and a PR comment.

Both renderings show one change once: a label-only change is one line per object, a raw file that
mirrors an object is named under the object, an added or removed file is one line with its size,
and an object diff longer than MAX_DIFF_LINES is summarised with counts (`--full` on the terminal
shows it whole). The Markdown fits one GitHub comment (COMMENT_LIMIT characters): when it would
not, object diffs are cut first, then list lines, then section bodies, and the comment ends with
exactly what was cut.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mnops.gitops.diffing import (
    FieldChange,
    Key,
    TargetChanges,
    all_risks,
    changed_fields,
    comparable,
    count_lines,
    label_only,
)
from mnops.review import Section

COMMENT_LIMIT = 65_536  # GitHub's limit on one issue or pull-request comment, in characters
MAX_DIFF_LINES = 80  # longer object diffs are summarised with counts
SHOWN_FIELDS = 12  # field changes listed in a summary


class _ReviewDumper(yaml.CSafeDumper):
    """libyaml's emitter (PyYAML's pure-Python one was most of the rendering time of a large diff),
    every object written out in full, and multi-line strings (queries, scripts, config files) as
    literal blocks, so a changed line in one shows as that line."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _literal(dumper: yaml.CSafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_ReviewDumper.add_representer(str, _literal)


def _yaml(obj: Any) -> list[str]:
    return yaml.dump(obj, Dumper=_ReviewDumper, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def object_diff(key: Key, old: Any, new: Any) -> str:
    label = f"{key.target}/{key.kind}/{key.namespace or '-'}/{key.name}"
    before, after = _yaml(comparable(old)), _yaml(comparable(new))
    return "".join(difflib.unified_diff(before, after, f"base/{label}", f"head/{label}", n=3))


def file_diff(path: str, old: str | None, new: str | None) -> str:
    return "".join(
        difflib.unified_diff((old or "").splitlines(True), (new or "").splitlines(True), f"base/{path}", f"head/{path}", n=3)
    )


def _short(value: Any, width: int = 80) -> str:
    text = "(none)" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def field_line(change: FieldChange) -> str:
    return f"{change.dotted}: {_short(change.before)} -> {_short(change.after)}"


def _diff_counts(diff: str) -> tuple[int, int]:
    lines = diff.splitlines()[2:]  # skip the ---/+++ header
    return sum(line.startswith("+") for line in lines), sum(line.startswith("-") for line in lines)


@dataclass(frozen=True)
class ObjectChange:
    """What to show for one changed object: a one-line summary and, when short enough, its diff."""

    key: Key
    headline: str
    fields: tuple[str, ...]
    diff: str | None  # None when summarised


def describe_change(key: Key, old: Any, new: Any, mirrors: Sequence[str] = (), full: bool = False) -> ObjectChange:
    fields = changed_fields(old, new)
    also = f" (same change in {', '.join(mirrors)})" if mirrors else ""
    if label_only(old, new):
        labels = "; ".join(field_line(f).removeprefix("metadata.") for f in fields)
        return ObjectChange(key, f"{key}: only labels/annotations: {labels}{also}", (), None)
    diff = object_diff(key, old, new)
    added, removed = _diff_counts(diff)
    if full or len(diff.splitlines()) <= MAX_DIFF_LINES:
        return ObjectChange(key, f"{key}{also}", tuple(field_line(f) for f in fields[:SHOWN_FIELDS]), diff)
    shown = tuple(field_line(f) for f in fields[:SHOWN_FIELDS])
    more = f", first {SHOWN_FIELDS} below" if len(fields) > SHOWN_FIELDS else ""
    headline = f"{key}: {len(fields)} fields changed (+{added} -{removed} YAML lines, summarised{more}){also}"
    return ObjectChange(key, headline, shown, None)


def _mirrors_by_object(changes: TargetChanges) -> dict[Key, list[str]]:
    found: dict[Key, list[str]] = {}
    for path, key in changes.mirrored.items():
        found.setdefault(key, []).append(path)
    return found


def _file_headline(path: str, old: str | None, new: str | None) -> tuple[str, bool]:
    """One line for a non-object file, and whether a diff is worth showing under it."""
    if old is None:
        return f"added file {path} ({count_lines([new])} lines)", False
    if new is None:
        return f"removed file {path} ({count_lines([old])} lines)", False
    diff = file_diff(path, old, new)
    added, removed = _diff_counts(diff)
    if len(diff.splitlines()) > MAX_DIFF_LINES:
        return f"changed file {path} (+{added} -{removed} lines, summarised)", False
    return f"changed file {path}", True


def summary(changes: Mapping[str, TargetChanges], risky: int) -> str:
    """One line of counts; `risky` counts the object risks and the sections' (secret mappings, ...) alike,
    as the "Risky changes (N)" heading does."""
    added = sum(len(c.added) for c in changes.values())
    removed = sum(len(c.removed) for c in changes.values())
    changed = sum(len(c.changed) for c in changes.values())
    files = sum(len(c.files) for c in changes.values())
    return (
        f"{added} added, {removed} removed, {changed} changed objects, {files} other files "
        f"in {len(changes)} target(s); {risky} risky change(s)"
    )


def _section_risks(sections: Sequence[Section]) -> list[str]:
    return [f"{r.target}: {r.message}" for s in sections for r in s.risks]


# --- terminal -------------------------------------------------------------------------------------


def render_text(
    changes: Mapping[str, TargetChanges], sections: Sequence[Section] = (), color: bool = False, full: bool = False
) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    risks = all_risks(changes)
    if not changes:
        return "no changes in compiled/ or argocd/\n"
    lines: list[str] = []
    for target, c in changes.items():
        lines.append(paint(f"== {target} ==", "1"))
        lines += [paint(f"  + {k}", "32") for k in c.added]
        lines += [paint(f"  - {k}", "31") for k in c.removed]
        mirrors = _mirrors_by_object(c)
        for k, (old, new) in c.changed.items():
            shown = describe_change(k, old, new, mirrors.get(k, ()), full)
            lines.append(paint(f"  ~ {shown.headline}", "33"))
            # The named fields first (list items matched by name), then the YAML around them.
            lines += [f"      {f}" for f in shown.fields]
            if shown.diff is not None:
                lines += ["        " + line.rstrip("\n") for line in shown.diff.splitlines()]
        for k in [*c.added, *c.removed]:
            if k in mirrors:
                lines.append(f"    ({', '.join(mirrors[k])} goes with {k})")
        for path, (old_text, new_text) in c.files.items():
            headline, show = _file_headline(path, old_text, new_text)
            lines.append(paint(f"  ~ {headline}", "36"))
            if show or full:
                lines += ["      " + line.rstrip("\n") for line in file_diff(path, old_text, new_text).splitlines()]
    for section in sections:
        heading = [] if section.inline else [paint(f"-- {section.title} --", "1")]
        lines += ["", *heading, section.text.rstrip("\n")]
    everything = [str(r) for r in risks] + _section_risks(sections)
    lines.append("")
    lines.append(paint(f"Risky changes ({len(everything)}):", "1;31" if everything else "1"))
    lines += [paint(f"  ! {r}", "31") for r in everything] or ["  none"]
    lines.append(summary(changes, len(everything)))
    return "\n".join(lines) + "\n"


# --- Markdown (PR comment) ------------------------------------------------------------------------


@dataclass
class Block:
    """A piece of the comment; `kind` says what may be cut when the comment is too long."""

    text: str
    kind: str  # "core" is never cut; then "diff", "line", "section" are cut in that order
    unit: str = ""  # what one cut block is, for the closing note ("object diff", "list line", ...)


def _details(summary_html: str, body: str, fence: str | None = None) -> str:
    inner = f"```{fence}\n{body.rstrip()}\n```" if fence is not None else body.rstrip()
    return f"<details>\n<summary>{summary_html}</summary>\n\n{inner}\n\n</details>\n"


def _md_escape(text: str) -> str:
    """Text outside code spans: a `<` would start an HTML tag in GitHub's Markdown."""
    return text.replace("<", "&lt;")


def _code(text: str) -> str:
    """A code span (entities are not decoded inside one, so nothing is escaped but backticks)."""
    return "`" + text.replace("`", "'") + "`"


def _target_blocks(target: str, c: TargetChanges) -> list[Block]:
    counts = f"{len(c.added)} added, {len(c.removed)} removed, {len(c.changed)} changed, {len(c.files)} files"
    blocks = [Block(f"<details>\n<summary><b>{target}</b>: {counts}</summary>\n\n", "core")]
    mirrors = _mirrors_by_object(c)
    blocks += [Block(f"- added `{k}`\n", "line", "list line") for k in c.added]
    blocks += [Block(f"- removed `{k}`\n", "line", "list line") for k in c.removed]
    diffs: list[Block] = []
    for k, (old, new) in c.changed.items():
        shown = describe_change(k, old, new, mirrors.get(k, ()))
        body = "".join(f"  - {_code(f)}\n" for f in shown.fields)
        blocks.append(Block(f"- changed {_code(shown.headline)}\n{body}", "line", "list line"))
        if shown.diff is not None:
            diffs.append(Block(_details(f"diff of <code>{k}</code>", shown.diff, "diff"), "diff", "object diff"))
    for path, (old_text, new_text) in c.files.items():
        headline, show = _file_headline(path, old_text, new_text)
        blocks.append(Block(f"- {headline}\n", "line", "list line"))
        if show:
            diffs.append(
                Block(_details(f"diff of <code>{path}</code>", file_diff(path, old_text, new_text), "diff"), "diff", "file diff")
            )
    blocks.append(Block("\n", "core"))
    return [*blocks, *diffs, Block("</details>\n\n", "core")]


def markdown_blocks(changes: Mapping[str, TargetChanges], base: str, sections: Sequence[Section]) -> list[Block]:
    risks = all_risks(changes)
    everything = [f"- **{r.target}** `{r.key}`: {_md_escape(r.reason)}\n" for r in risks]
    everything += [f"- **{r.target}** ({s.title}): {_md_escape(r.message)}\n" for s in sections for r in s.risks]
    blocks = [Block(f"## Rendered changes against `{base}`\n\n{summary(changes, len(everything))}\n\n", "core")]
    if everything:
        blocks.append(Block(f"### :warning: Risky changes ({len(everything)})\n\n", "core"))
        blocks += [Block(line, "line", "risk line") for line in everything]
        blocks.append(Block("\n", "core"))
    for section in sections:
        shown = section.markdown + "\n" if section.inline else _details(f"<b>{section.title}</b>", section.markdown)
        blocks.append(Block(shown + "\n", "section", "section"))
    if changes:
        blocks.append(Block("### Objects per cluster\n\n", "core"))
    for target, c in changes.items():
        blocks += _target_blocks(target, c)
    if not changes:
        blocks.append(Block("No changes in `compiled/` or `argocd/`.\n", "core"))
    return blocks


def fit(blocks: list[Block], limit: int) -> str:
    """Join blocks, cutting diffs, then list lines, then sections (last first) until the text fits."""
    note_room = 400  # the closing note about what was cut
    kept = list(blocks)
    cut: dict[str, int] = {}
    for kind in ("diff", "line", "section"):
        for index in range(len(kept) - 1, -1, -1):
            if sum(len(b.text) for b in kept) + note_room <= limit:
                break
            block = kept[index]
            if block.kind == kind:
                cut[block.unit] = cut.get(block.unit, 0) + 1
                del kept[index]
    text = "".join(b.text for b in kept)
    if cut:
        what = ", ".join(f"{n} {unit}{'s' if n > 1 else ''}" for unit, n in sorted(cut.items()))
        text += (
            f"\n---\n:scissors: Cut to fit GitHub's {limit:,}-character comment limit: {what}. "
            "The full report is the `rendered-diff` artifact of this run, or `make diff` locally.\n"
        )
    return text[: limit - 1]  # only if the uncuttable part alone is too long; leaves room for the final newline


def render_markdown(
    changes: Mapping[str, TargetChanges], base: str = "base", sections: Sequence[Section] = (), limit: int = COMMENT_LIMIT
) -> str:
    return fit(markdown_blocks(changes, base, sections), limit).rstrip("\n") + "\n"
