"""Review section: which remote secret feeds which Kubernetes secret key, before and after (never values).

An ExternalSecret maps `spec.data[].remoteRef.{key,property}` to `spec.data[].secretKey` of the
Secret `spec.target.name` (default: the ExternalSecret's own name), and `spec.dataFrom[]` pulls
whole remote keys. The compiled objects hold only these references, so the section can show
every added, removed or re-pointed mapping without ever touching a secret value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.review import ReviewInput, RiskItem, Section

TITLE = "Secret mappings (references only, no values)"  # the section's heading; also named when the section finds no change

# (ExternalSecret namespace/name, target Secret, Secret key) -> "store: remote key#property"
Mappings = dict[tuple[str, str, str], str]


def _remote(ref: Mapping[str, Any], store: str) -> str:
    prop = ref.get("property")
    return f"{store}: {ref.get('key')}" + (f"#{prop}" if prop else "")


def mappings_of(doc: Mapping[str, Any]) -> Mappings:
    """Every Secret key one ExternalSecret fills, with the remote reference that fills it."""
    meta, spec = doc.get("metadata", {}), doc.get("spec", {})
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    secret = (spec.get("target") or {}).get("name") or meta.get("name", "")
    store_ref = spec.get("secretStoreRef") or {}
    store = f"{store_ref.get('kind', 'SecretStore')}/{store_ref.get('name', '?')}"
    found: Mappings = {}
    for item in spec.get("data") or []:
        found[(name, secret, str(item.get("secretKey")))] = _remote(item.get("remoteRef") or {}, store)
    for index, item in enumerate(spec.get("dataFrom") or []):
        source = item.get("extract") or item.get("find") or {}
        what = _remote(source, store) if "extract" in item else f"{store}: find {dict(source)}"
        found[(name, secret, f"*dataFrom[{index}]")] = what
    return found


def target_mappings(changes_objects: Mapping[Any, Any]) -> Mappings:
    found: Mappings = {}
    for key, doc in changes_objects.items():
        if key.kind == "ExternalSecret":
            found.update(mappings_of(doc))
    return found


def mapping_changes(before: Mappings, after: Mappings) -> list[tuple[str, tuple[str, str, str], str | None, str | None]]:
    """(verb, mapping, old remote, new remote) for each added, removed or re-pointed mapping."""
    rows = []
    for mapping in sorted(set(before) | set(after)):
        old, new = before.get(mapping), after.get(mapping)
        if old == new:
            continue
        verb = "added" if old is None else "removed" if new is None else "changed"
        rows.append((verb, mapping, old, new))
    return rows


def build(review: ReviewInput) -> Section | None:
    text: list[str] = []
    markdown: list[str] = []
    risks: list[RiskItem] = []
    for target, changes in review.changes.items():
        old_objects = {**changes.removed, **{k: pair[0] for k, pair in changes.changed.items()}}
        new_objects = {**changes.added, **{k: pair[1] for k, pair in changes.changed.items()}}
        rows = mapping_changes(target_mappings(old_objects), target_mappings(new_objects))
        if not rows:
            continue
        text.append(f"{target}:")
        markdown += [
            f"**{target}**",
            "",
            "| change | ExternalSecret | Secret key | remote before | remote after |",
            "| --- | --- | --- | --- | --- |",
        ]
        for verb, (external, secret, secret_key), old, new in rows:
            text.append(f"  {verb:8} {secret}.{secret_key} (ExternalSecret {external}): {old or '-'} -> {new or '-'}")
            markdown.append(f"| {verb} | `{external}` | `{secret}.{secret_key}` | {old or '-'} | {new or '-'} |")
            risks.append(RiskItem("secrets", target, f"secret mapping {verb}: {secret}.{secret_key} <- {new or old}"))
        markdown.append("")
    if not text:
        return None
    return Section(
        key="secret-mappings",
        title=TITLE,
        text="\n".join(text),
        markdown="\n".join(markdown),
        risks=tuple(risks),
    )
