"""Object-level diff of two compiled trees (compiled/ + argocd/), with a risky-change list.

    changes = diff_trees(base_root, head_root)      # roots holding compiled/ and argocd/
    print(render_text(changes)); print(render_markdown(changes))

Objects are matched by (target, apiVersion group, kind, namespace, name), so moving an object
between files is not a change; files that are not Kubernetes objects (helm values, READMEs) are
compared as files.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mnops import yamlio

TREES = ("compiled", "argocd", "rendered")  # rendered/: the charts' objects (scripts/charts.py render)
STATEFUL_KINDS = {
    "StatefulSet", "PersistentVolumeClaim", "PersistentVolume", "Namespace", "Cluster", "Redis", "RedisReplication",
    "RedisCluster", "RedisSentinel", "Backup", "ScheduledBackup", "Schedule", "BackupStorageLocation",
}  # fmt: skip
RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "AppProject"}
NETWORK_KINDS = {"NetworkPolicy", "AuthorizationPolicy", "PeerAuthentication", "SecurityPolicy"}
REPLICA_FIELDS = {"replicas", "minReplicas", "maxReplicas", "instances", "clusterSize"}
SECRET_MARKERS = ("secret", "Secret")


@dataclass(frozen=True, order=True)
class Key:
    target: str
    kind: str
    namespace: str
    name: str
    group: str = ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass
class TargetChanges:
    added: dict[Key, Any] = field(default_factory=dict)
    removed: dict[Key, Any] = field(default_factory=dict)
    changed: dict[Key, tuple[Any, Any]] = field(default_factory=dict)
    files: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # non-object files

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.files)


@dataclass(frozen=True)
class Risk:
    target: str
    key: Key
    reason: str

    def __str__(self) -> str:
        return f"{self.target}: {self.key}: {self.reason}"


def _is_object(doc: Any) -> bool:
    return isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc and "name" in (doc.get("metadata") or {})


def load_tree(root: Path) -> tuple[dict[str, dict[Key, Any]], dict[str, dict[str, str]]]:
    """Per target: objects by key, and the text of files that hold no Kubernetes object."""
    objects: dict[str, dict[Key, Any]] = {}
    files: dict[str, dict[str, str]] = {}
    for tree in TREES:
        base = root / tree
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(base)
            target = rel.parts[0]
            docs: list[Any] = []
            if path.suffix in (".yaml", ".yml") and "helm-values" not in rel.parts:
                docs = [d for d in yamlio.load_all(path.read_text()) if d is not None]
            if docs and all(_is_object(d) for d in docs):
                for d in docs:
                    meta = d["metadata"]
                    key = Key(target, d["kind"], meta.get("namespace", ""), meta["name"], d["apiVersion"].rpartition("/")[0])
                    # The bootstrap copies objects that compiled/ holds too: report each object once.
                    objects.setdefault(target, {}).setdefault(key, d)
            else:
                files.setdefault(target, {})[f"{tree}/{rel.as_posix()}"] = path.read_text()
    return objects, files


def diff_trees(base: Path, head: Path) -> dict[str, TargetChanges]:
    base_objects, base_files = load_tree(base)
    head_objects, head_files = load_tree(head)
    result: dict[str, TargetChanges] = {}
    for target in sorted(set(base_objects) | set(head_objects) | set(base_files) | set(head_files)):
        changes = TargetChanges()
        old, new = base_objects.get(target, {}), head_objects.get(target, {})
        for key in sorted(set(old) | set(new)):
            if key not in old:
                changes.added[key] = new[key]
            elif key not in new:
                changes.removed[key] = old[key]
            elif old[key] != new[key]:
                changes.changed[key] = (old[key], new[key])
        old_files, new_files = base_files.get(target, {}), head_files.get(target, {})
        for path in sorted(set(old_files) | set(new_files)):
            if old_files.get(path) != new_files.get(path):
                changes.files[path] = (old_files.get(path), new_files.get(path))
        if changes:
            result[target] = changes
    return result


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def changed_paths(old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    a, b = dict(_leaves(old)), dict(_leaves(new))
    return [(p, a.get(p), b.get(p)) for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def _kind_reason(kind: str) -> str | None:
    """What adding, removing or changing an object of this kind touches, if it is sensitive."""
    if kind == "PodDisruptionBudget":
        return "a PodDisruptionBudget"
    if kind in NETWORK_KINDS:
        return "a network policy"
    if kind in RBAC_KINDS:
        return "RBAC (roles, bindings or Argo CD project rights)"
    if kind in ("ExternalSecret", "SecretStore", "ClusterSecretStore"):
        return "a secret reference"
    return None


def _field_reasons(key: Key, old: Any, new: Any) -> list[str]:
    reasons: dict[str, None] = {}
    for path, before, after in changed_paths(old, new):
        leaf = _last(path)
        if leaf in REPLICA_FIELDS:
            reasons[f"replicas: {path} {before} -> {after}"] = None
        elif leaf == "image" or path.endswith((".image.tag", ".image.repository")):
            reasons[f"image: {before} -> {after}"] = None
        elif any(m in path for m in SECRET_MARKERS):
            reasons[f"secret reference: {path}"] = None
    return list(reasons)


def _changes_beyond_metadata(old: Any, new: Any) -> bool:
    return any(not path.startswith(("metadata.labels", "metadata.annotations")) for path, _, _ in changed_paths(old, new))


def risks_of(target: str, changes: TargetChanges) -> list[Risk]:
    risks = [
        Risk(target, key, "deletes a stateful object (data may be lost)") for key in changes.removed if key.kind in STATEFUL_KINDS
    ]
    # A relabelled object (a new version label) is not a policy change: only spec/data changes count.
    respecified = [k for k, (old, new) in changes.changed.items() if _changes_beyond_metadata(old, new)]
    for verb, keys in (("adds", list(changes.added)), ("removes", list(changes.removed)), ("changes", respecified)):
        for key in keys:
            about = _kind_reason(key.kind)
            if about:
                risks.append(Risk(target, key, f"{verb} {about}"))
    for key, (old, new) in changes.changed.items():
        risks += [Risk(target, key, reason) for reason in _field_reasons(key, old, new)]
    return risks


def all_risks(changes: Mapping[str, TargetChanges]) -> list[Risk]:
    return [risk for target, c in changes.items() for risk in risks_of(target, c)]


def _yaml(obj: Any) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(keepends=True)


def object_diff(key: Key, old: Any, new: Any) -> str:
    label = f"{key.target}/{key.kind}/{key.namespace or '-'}/{key.name}"
    return "".join(difflib.unified_diff(_yaml(old), _yaml(new), f"base/{label}", f"head/{label}", n=3))


def file_diff(path: str, old: str | None, new: str | None) -> str:
    return "".join(
        difflib.unified_diff((old or "").splitlines(True), (new or "").splitlines(True), f"base/{path}", f"head/{path}", n=3)
    )


def summary(changes: Mapping[str, TargetChanges], risks: list[Risk]) -> str:
    added = sum(len(c.added) for c in changes.values())
    removed = sum(len(c.removed) for c in changes.values())
    changed = sum(len(c.changed) for c in changes.values())
    files = sum(len(c.files) for c in changes.values())
    return (
        f"{added} added, {removed} removed, {changed} changed objects, {files} other files "
        f"in {len(changes)} target(s); {len(risks)} risky change(s)"
    )


def render_text(changes: Mapping[str, TargetChanges], color: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    risks = all_risks(changes)
    lines: list[str] = []
    if not changes:
        return "no changes in compiled/ or argocd/\n"
    for target, c in changes.items():
        lines.append(paint(f"== {target} ==", "1"))
        lines += [paint(f"  + {k}", "32") for k in c.added]
        lines += [paint(f"  - {k}", "31") for k in c.removed]
        for k, (old, new) in c.changed.items():
            lines.append(paint(f"  ~ {k}", "33"))
            lines += ["      " + line.rstrip("\n") for line in object_diff(k, old, new).splitlines()]
        for path, (old_text, new_text) in c.files.items():
            lines.append(paint(f"  ~ file {path}", "36"))
            lines += ["      " + line.rstrip("\n") for line in file_diff(path, old_text, new_text).splitlines()]
    lines.append("")
    lines.append(paint(f"Risky changes ({len(risks)}):", "1;31" if risks else "1"))
    lines += [paint(f"  ! {r}", "31") for r in risks] or ["  none"]
    lines.append(summary(changes, risks))
    return "\n".join(lines) + "\n"


def render_markdown(changes: Mapping[str, TargetChanges], base: str = "base") -> str:
    risks = all_risks(changes)
    lines = [f"## Rendered changes against `{base}`", "", summary(changes, risks), ""]
    if risks:
        lines += ["### :warning: Risky changes", ""] + [f"- **{r.target}** `{r.key}`: {r.reason}" for r in risks] + [""]
    for target, c in changes.items():
        lines += [f"### `{target}`", ""]
        lines += [f"- added `{k}`" for k in c.added]
        lines += [f"- removed `{k}`" for k in c.removed]
        lines += [f"- changed `{k}`" for k in c.changed]
        lines += [f"- changed file `{p}`" for p in c.files]
        lines.append("")
        diffs = [(str(k), object_diff(k, old, new)) for k, (old, new) in c.changed.items()]
        diffs += [(f"file {p}", file_diff(p, old_text, new_text)) for p, (old_text, new_text) in c.files.items()]
        for title, text in diffs:
            lines += ["<details>", f"<summary>{title}</summary>", "", "```diff", text.rstrip("\n"), "```", "", "</details>", ""]
    if not changes:
        lines.append("No changes in `compiled/` or `argocd/`.")
    return "\n".join(lines).rstrip("\n") + "\n"
