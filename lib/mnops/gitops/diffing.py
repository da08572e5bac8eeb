"""Object-level diff of two compiled trees (compiled/ + argocd/), with a risky-change list.

    changes = diff_trees(base_root, head_root)      # roots holding compiled/ and argocd/
    risks = all_risks(changes)                       # what a reviewer must look at first

Objects are matched by (target, apiVersion group, kind, namespace, name), so moving an object
between files is not a change; files that are not Kubernetes objects (helm values, READMEs) are
compared as files. Inside an object, list items that carry a name (containers, env, ports,
volumes, rule groups, rules by alert or record name, ...) are matched by that name, so inserting
one item does not show every later item as changed. A raw file that holds the same content as an
object (compiled/<t>/rules/*.yaml and the PrometheusRule, dashboards/*.json and their ConfigMap)
is reported once, under the object. Rendering lives in mnops.gitops.diff_render.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnops import units, yamlio
from mnops.infra.protection import change_risk, removal_risk

TREES = ("compiled", "argocd", "rendered")  # rendered/: the charts' objects (scripts/charts.py render)
STATEFUL_KINDS = {
    "StatefulSet", "PersistentVolumeClaim", "PersistentVolume", "Namespace", "Cluster", "Redis", "RedisReplication",
    "RedisCluster", "RedisSentinel", "Backup", "ScheduledBackup", "Schedule", "BackupStorageLocation",
}  # fmt: skip
RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "AppProject"}
NETWORK_KINDS = {"NetworkPolicy", "AuthorizationPolicy", "PeerAuthentication", "SecurityPolicy"}
SECRET_KINDS = {"ExternalSecret", "SecretStore", "ClusterSecretStore"}
REPLICA_FIELDS = {"replicas", "minReplicas", "maxReplicas", "instances", "clusterSize", "replicaCount"}
SECRET_MARKERS = ("secret", "Secret")
# Argo CD deletes an Application's objects with it only when the Application carries this finalizer.
CASCADE_FINALIZER = "resources-finalizer.argocd.argoproj.io"
# Fields that name a list item, in the order tried (rules have `alert` or `record`, not `name`).
IDENTITY_FIELDS = ("name", "alert", "record", "secretKey", "mountPath", "containerPort", "port", "title")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")

FieldPath = tuple[str, ...]


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
    # Raw files whose change is the same content as an object's change: shown once, under the object.
    mirrored: dict[str, Key] = field(default_factory=dict)
    # Where each base object was written (tree-relative file), to say what a removed Application held.
    base_files: dict[Key, str] = field(default_factory=dict)
    head_files: dict[Key, str] = field(default_factory=dict)
    # Every base Application of the target: the parent of a removed one decides whether it is pruned.
    base_applications: dict[Key, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.files or self.mirrored)


@dataclass(frozen=True)
class Risk:
    target: str
    key: Key
    reason: str
    risk_class: str = "delivery"  # one of mnops.review.RISK_CLASSES

    def __str__(self) -> str:
        return f"{self.target}: {self.key}: {self.reason}"


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs; list items appear as [name] segments when they have a name."""

    path: FieldPath
    before: Any
    after: Any

    @property
    def dotted(self) -> str:
        return "".join(part if part.startswith("[") else f".{part}" for part in self.path).lstrip(".")

    @property
    def leaf(self) -> str:
        named = [part for part in self.path if not part.startswith("[")]
        return named[-1] if named else ""


@dataclass
class Tree:
    """One compiled side: objects and non-object files per target, and where each object came from."""

    objects: dict[str, dict[Key, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    paths: dict[str, dict[Key, str]] = field(default_factory=dict)


def _is_object(doc: Any) -> bool:
    return isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc and "name" in (doc.get("metadata") or {})


def object_key(target: str, doc: Mapping[str, Any]) -> Key:
    meta = doc["metadata"]
    return Key(target, doc["kind"], meta.get("namespace", ""), meta["name"], str(doc["apiVersion"]).rpartition("/")[0])


def load_tree(root: Path) -> Tree:
    """Per target: objects by key, and the text of files that hold no Kubernetes object."""
    tree = Tree()
    for name in TREES:
        base = root / name
        if not base.is_dir():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(base)
            target = rel.parts[0]
            data = path.read_bytes()
            text = data.decode()
            docs: list[Any] = []
            if path.suffix in (".yaml", ".yml") and "helm-values" not in rel.parts:
                # Parsed once per content: the two sides share most files byte for byte.
                docs = [d for d in yamlio.load_all_bytes(data) if d is not None]
            if docs and all(_is_object(d) for d in docs):
                for doc in docs:
                    key = object_key(target, doc)
                    # The bootstrap copies objects that compiled/ holds too: report each object once.
                    tree.objects.setdefault(target, {}).setdefault(key, doc)
                    tree.paths.setdefault(target, {}).setdefault(key, f"{name}/{rel.as_posix()}")
            else:
                tree.files.setdefault(target, {})[f"{name}/{rel.as_posix()}"] = text
    return tree


def diff_trees(base: Path, head: Path) -> dict[str, TargetChanges]:
    return diff_loaded(load_tree(base), load_tree(head))


def diff_loaded(old_tree: Tree, new_tree: Tree) -> dict[str, TargetChanges]:
    result: dict[str, TargetChanges] = {}
    targets = set(old_tree.objects) | set(new_tree.objects) | set(old_tree.files) | set(new_tree.files)
    for target in sorted(targets):
        changes = TargetChanges(base_files=dict(old_tree.paths.get(target, {})), head_files=dict(new_tree.paths.get(target, {})))
        old, new = old_tree.objects.get(target, {}), new_tree.objects.get(target, {})
        changes.base_applications = {k: v for k, v in old.items() if k.kind == "Application"}
        for key in sorted(set(old) | set(new)):
            if key not in old:
                changes.added[key] = new[key]
            elif key not in new:
                changes.removed[key] = old[key]
            elif old[key] != new[key]:
                changes.changed[key] = (old[key], new[key])
        old_files, new_files = old_tree.files.get(target, {}), new_tree.files.get(target, {})
        sides = {k: (old.get(k), new.get(k)) for k in [*changes.changed, *changes.added, *changes.removed]}
        for path in sorted(set(old_files) | set(new_files)):
            before, after = old_files.get(path), new_files.get(path)
            if before == after:
                continue
            twin = _object_holding(path, before, after, sides)
            if twin is None:
                changes.files[path] = (before, after)
            else:
                changes.mirrored[path] = twin
        if changes:
            result[target] = changes
    return result


# --- one change shown once: raw copies of an object's content -------------------------------------


def _file_payload(path: str, text: str | None) -> Any:
    """A raw file's content as data (rule files as their groups, dashboards as JSON)."""
    if text is None:
        return None
    try:
        if path.endswith(".json"):
            return json.loads(text)
        if path.endswith((".yaml", ".yml")):
            return yamlio.load(text)
    except ValueError:  # yaml.YAMLError and json.JSONDecodeError are both ValueErrors
        return text
    return text


def _embedded_payloads(doc: Any) -> list[Any]:
    """The raw content an object carries that the compile also writes as a file of its own."""
    if not isinstance(doc, Mapping):
        return []
    if doc.get("kind") == "PrometheusRule":
        return [{"groups": doc.get("spec", {}).get("groups")}]
    if doc.get("kind") == "ConfigMap":
        payloads: list[Any] = []
        for name, value in (doc.get("data") or {}).items():
            payloads += [value, _file_payload(str(name), value)]
        return payloads
    return []


def _object_holding(path: str, before: str | None, after: str | None, sides: Mapping[Key, tuple[Any, Any]]) -> Key | None:
    """The changed object whose old and new content equal this file's old and new content.

    `sides` holds (old object or None, new object or None) for every added, removed or changed key.
    """
    old_payload, new_payload = _file_payload(path, before), _file_payload(path, after)
    for key, (old, new) in sides.items():
        old_ok = old_payload is None if old is None else old_payload in _embedded_payloads(old)
        new_ok = new_payload is None if new is None else new_payload in _embedded_payloads(new)
        if old_ok and new_ok:
            return key
    return None


# --- field-level comparison with named list items ---------------------------------------------------


def _identity(item: Mapping[str, Any]) -> str | None:
    for name in IDENTITY_FIELDS:
        if name in item and isinstance(item[name], str | int):
            return str(item[name])
    return None


def item_ids(items: list[Any]) -> list[str] | None:
    """A stable name per list item, or None when the items must be compared by position.

    Rules repeat alert names per service, so a repeated name is qualified with the item's labels,
    and only then with its occurrence number.
    """
    if not items or not all(isinstance(item, Mapping) for item in items):
        return None
    names = [_identity(item) for item in items]
    if any(name is None for name in names):
        return None
    ids = [str(name) for name in names]
    repeated = {name for name, count in Counter(ids).items() if count > 1}
    for index, item in enumerate(items):
        labels = item.get("labels")
        if ids[index] in repeated and isinstance(labels, Mapping) and labels:
            ids[index] += "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
    seen: Counter[str] = Counter()
    for index, name in enumerate(ids):
        seen[name] += 1
        if seen[name] > 1:
            ids[index] = f"{name}#{seen[name]}"
    return ids


def leaves(value: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every scalar in a document with its path; named list items are keyed by name."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    elif isinstance(value, list) and value:
        ids = item_ids(value)
        if ids is None and not any(isinstance(item, Mapping | list) for item in value):
            yield path, value  # a list of scalars (args, finalizers) is one value
            return
        for index, item in enumerate(value):
            yield from leaves(item, (*path, f"[{ids[index] if ids else index}]"))
    else:
        yield path, value


def comparable(doc: Any) -> Any:
    """The document as data to compare: a ConfigMap value that is a JSON or YAML file (a dashboard,
    a datasource list) is parsed, so a changed threshold inside it is one field, not one long string."""
    if not isinstance(doc, Mapping) or doc.get("kind") != "ConfigMap" or not isinstance(doc.get("data"), Mapping):
        return doc
    data = {}
    for name, value in doc["data"].items():
        parsed = _file_payload(str(name), value) if isinstance(value, str) else value
        data[name] = parsed if isinstance(parsed, Mapping | list) else value
    return {**doc, "data": data}


def changed_fields(old: Any, new: Any) -> list[FieldChange]:
    before, after = dict(leaves(comparable(old))), dict(leaves(comparable(new)))
    missing = object()
    changes = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path, missing), after.get(path, missing)
        if a != b:
            changes.append(FieldChange(path, None if a is missing else a, None if b is missing else b))
    return changes


def label_only(old: Any, new: Any) -> bool:
    """True when only the object's own labels or annotations differ (e.g. a version label on promotion)."""
    fields = changed_fields(old, new)
    return bool(fields) and all(f.path[:2] in (("metadata", "labels"), ("metadata", "annotations")) for f in fields)


# --- risks ----------------------------------------------------------------------------------------


def _kind_reason(kind: str) -> tuple[str, str] | None:
    """What adding, removing or changing an object of this kind touches, and its risk class."""
    if kind == "PodDisruptionBudget":
        return "a PodDisruptionBudget", "delivery"
    if kind in NETWORK_KINDS:
        return "a network policy", "network"
    if kind in RBAC_KINDS:
        return "RBAC (roles, bindings or Argo CD project rights)", "rbac"
    if kind in SECRET_KINDS:
        return "a secret reference", "secrets"
    return None


def _ratio(before: Any, after: Any) -> str:
    """' (x2.00)' for two comparable quantities ('512Mi' -> '1Gi'), else ''."""
    for parse in (units.memory_bytes, units.cpu_millicores):
        try:
            old, new = parse(str(before)), parse(str(after))
        except ValueError:
            continue
        return f" (x{new / old:.2f})"
    return ""


def _numbers(expression: Any) -> list[str]:
    return _NUMBER.findall(str(expression))


def _rule_name(change: FieldChange) -> str:
    """The [alert-or-record] segment of a rule path, without brackets."""
    rule = [part for part in change.path if part.startswith("[")]
    return rule[-1][1:-1] if rule else change.dotted


def _threshold_reason(kind: str, change: FieldChange) -> tuple[str, str] | None:
    """A moved threshold: an alert's expr or `for`, an SLO objective, a rollout analysis condition."""
    if kind == "PrometheusRule" and change.leaf in ("expr", "for") and change.before is not None and change.after is not None:
        rule = _rule_name(change)
        old_n, new_n = _numbers(change.before), _numbers(change.after)
        moved = f"{' '.join(old_n)} -> {' '.join(new_n)}" if old_n != new_n else f"{change.before!r} -> {change.after!r}"
        # Recording rules are named level:metric:operation (colons); alert names have none.
        if ":" not in rule.split("{", 1)[0]:
            return f"alert threshold: {rule} {change.leaf} {moved}", "observability"
        if "slo_objective" in rule:
            return f"SLO target: {rule} {moved}", "observability"
        return None
    if kind == "AnalysisTemplate" and change.leaf in ("successCondition", "failureCondition"):
        return f"rollout analysis threshold: {change.dotted} {change.before} -> {change.after}", "delivery"
    return None


def _image_reason(change: FieldChange) -> tuple[str, str]:
    if "@sha256:" in str(change.before) and "@sha256:" not in str(change.after) and change.after is not None:
        return f"digest pin lost: {change.before} -> {change.after}", "delivery"
    return f"image: {change.before} -> {change.after}", "delivery"


def _field_risk(kind: str, change: FieldChange) -> tuple[str, str] | None:
    leaf, path = change.leaf, change.dotted
    if leaf in REPLICA_FIELDS:
        what = "HPA bounds" if kind == "HorizontalPodAutoscaler" else "replicas"
        return f"{what}: {path} {change.before} -> {change.after}", "cost"
    if "resources" in change.path and any(p in change.path for p in ("requests", "limits")):
        return f"resources: {path} {change.before} -> {change.after}{_ratio(change.before, change.after)}", "cost"
    if leaf == "image" or path.endswith((".image.tag", ".image.repository")):
        return _image_reason(change)
    threshold = _threshold_reason(kind, change)
    if threshold:
        return threshold
    if any(marker in path for marker in SECRET_MARKERS):
        return f"secret reference: {path}", "secrets"
    return None


def _field_risks(key: Key, old: Any, new: Any) -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for change in changed_fields(old, new):
        risk = _field_risk(key.kind, change)
        if risk:
            found[risk] = None
    return list(found)


def _folder(app: Mapping[str, Any]) -> str | None:
    path = ((app.get("spec") or {}).get("source") or {}).get("path")
    return f"{str(path).rstrip('/')}/" if path else None


def _parent_of(key: Key, changes: TargetChanges) -> Mapping[str, Any] | None:
    """The Application that syncs the folder a removed Application was written in (app of apps)."""
    where = changes.base_files.get(key, "")
    for parent_key, parent in changes.base_applications.items():
        folder = _folder(parent)
        if parent_key != key and folder and where.startswith(folder):
            return dict(parent)
    return None


def _application_fate(key: Key, app: Mapping[str, Any], changes: TargetChanges) -> tuple[str, str]:
    """What Argo CD does with a removed Application's objects, and the risk class of that."""
    source = app.get("spec", {}).get("source") or {}
    folder = _folder(app)
    held = Counter(k.kind for k, where in changes.base_files.items() if folder and where.startswith(folder))
    what = ", ".join(f"{n} {kind}" for kind, n in sorted(held.items())) or (
        f"the objects of chart {source['chart']}" if source.get("chart") else "its objects"
    )
    parent = _parent_of(key, changes)
    automated = ((parent or {}).get("spec", {}).get("syncPolicy") or {}).get("automated") or {}
    if parent is not None and not automated.get("prune"):
        name = parent.get("metadata", {}).get("name")
        return (
            f"removes Argo CD Application: its parent {name} does not prune, so it and {what} stay until deleted by hand",
            "delivery",
        )
    if CASCADE_FINALIZER in (app.get("metadata", {}).get("finalizers") or []):
        return f"removes Argo CD Application: pruned with the cascade finalizer, Argo CD deletes {what}", "data-deletion"
    return (
        f"removes Argo CD Application: no cascade finalizer, so {what} are orphaned and left running unmanaged",
        "delivery",
    )


def _namespace_moves(changes: TargetChanges) -> list[Risk]:
    """An object removed from one namespace and added to another: deleted and recreated, not moved. Several
    objects of one kind and name moving at once (each environment's `edge` to its own folder) are paired by the
    most alike namespaces, each added object with one removed object, so each move names its own source."""
    added: dict[tuple[str, str, str], list[Key]] = {}
    for key in sorted(changes.added, key=str):
        if key.namespace:
            added.setdefault((key.group, key.kind, key.name), []).append(key)
    moves = []
    for old in changes.removed:
        candidates = [k for k in added.get((old.group, old.kind, old.name), []) if k.namespace != old.namespace]
        if not old.namespace or not candidates:
            continue
        new = max(candidates, key=lambda k: difflib.SequenceMatcher(None, old.namespace, k.namespace).ratio())
        added[(old.group, old.kind, old.name)].remove(new)
        reason = f"namespace move {old.namespace} -> {new.namespace} (deleted and recreated, not moved)"
        moves.append(Risk(old.target, new, reason, "infrastructure-replacement"))
    return moves


def _destination_moves(target: str, key: Key, old: Any, new: Any) -> list[Risk]:
    """An Application whose destination namespace changes recreates everything it manages."""
    if key.kind != "Application":
        return []
    before = (old.get("spec", {}).get("destination") or {}).get("namespace")
    after = (new.get("spec", {}).get("destination") or {}).get("namespace")
    if before == after:
        return []
    return [Risk(target, key, f"namespace move {before} -> {after} (its objects are recreated)", "infrastructure-replacement")]


def _cloud_risks(target: str, changes: TargetChanges) -> list[Risk]:
    """Crossplane managed resources: what their removal or change does to the cloud resource."""
    risks = []
    for key, obj in changes.removed.items():
        removal = removal_risk(obj)
        if removal:
            risks.append(Risk(target, key, *removal))
    for key, (old, new) in changes.changed.items():
        found = {change_risk(new, c.path, c.before, c.after) for c in changed_fields(old, new)}
        risks += [Risk(target, key, *reason) for reason in sorted(r for r in found if r)]
    return risks


def risks_of(target: str, changes: TargetChanges) -> list[Risk]:
    risks = [
        Risk(target, key, "deletes a stateful object (data may be lost)", "data-deletion")
        for key, obj in changes.removed.items()
        if key.kind in STATEFUL_KINDS and removal_risk(obj) is None  # managed resources: _cloud_risks
    ]
    risks += _cloud_risks(target, changes)
    apps = [(key, app) for key, app in changes.removed.items() if key.kind == "Application"]
    risks += [Risk(target, key, *_application_fate(key, app, changes)) for key, app in apps]
    risks += _namespace_moves(changes)
    # A relabelled object (a new version label) is not a policy change: only spec/data changes count.
    respecified = [k for k, (old, new) in changes.changed.items() if not label_only(old, new)]
    for verb, keys in (("adds", list(changes.added)), ("removes", list(changes.removed)), ("changes", respecified)):
        for key in keys:
            about = _kind_reason(key.kind)
            if about:
                risks.append(Risk(target, key, f"{verb} {about[0]}", about[1]))
    for key, (old, new) in changes.changed.items():
        risks += [Risk(target, key, reason, risk_class) for reason, risk_class in _field_risks(key, old, new)]
        risks += _destination_moves(target, key, old, new)
    return risks + _helm_values_risks(target, changes)


def helm_values_changes(target: str, changes: TargetChanges) -> list[tuple[Key, Any, Any]]:
    """Changed chart values files as (HelmValues <chart>, old values, new values): data, like objects."""
    found = []
    for path, (before, after) in changes.files.items():
        if "/helm-values/" in path and before is not None and after is not None:
            found.append((Key(target, "HelmValues", "", Path(path).stem), yamlio.load(before), yamlio.load(after)))
    return found


def _helm_values_risks(target: str, changes: TargetChanges) -> list[Risk]:
    """Chart values are files, not objects, but a replica count or resource size there is the same risk."""
    return [
        Risk(target, key, reason, risk_class)
        for key, old, new in helm_values_changes(target, changes)
        for reason, risk_class in _field_risks(key, old, new)
    ]


def all_risks(changes: Mapping[str, TargetChanges]) -> list[Risk]:
    return [risk for target, c in changes.items() for risk in risks_of(target, c)]


def count_lines(texts: Iterable[str | None]) -> int:
    return sum(len(text.splitlines()) for text in texts if text)
