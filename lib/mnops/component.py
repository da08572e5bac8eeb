"""Glue between Kapitan's kadet inputs and our typed builders.

A component is `main()` returning `output(objects)`: a list of Kubernetes objects becomes
one file per application folder and kind, `<app>/<kind>.yaml`, objects sorted by namespace and
name, so file names and order never depend on the order the code built them in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from mnops.gitops.retention import holds_data, protect_data
from mnops.inventory import Target, load_target
from mnops.k8s.meta import Identity

Obj = dict[str, Any]


_LOADED: dict[str, tuple[Mapping[str, Any], Target]] = {}


def current_target() -> Target:
    """The validated, typed inventory of the target Kapitan is compiling now.

    Validated once per target and process, however many components ask. Read from Kapitan's
    rendered inventory as plain dicts: kadet's `inventory()` would first copy every target into
    Box objects.
    """
    # Imported lazily: lib/ stays usable (and unit-testable) without Kapitan.
    from kapitan import cached
    from kapitan.topics import current_target as kapitan_target

    name = kapitan_target.get()
    parameters = cached.inv.inventory[name]["parameters"]
    loaded = _LOADED.get(name)
    if loaded is None or loaded[0] is not parameters:
        loaded = _LOADED[name] = (parameters, load_target(name, parameters))
    return loaded[1]


def identity(target: Target, name: str, component: str, version: str | None = None) -> Identity:
    return Identity(name, component, target.project_name, target.cluster.name, target.cluster.environment, version)


def files_by_app(objects_by_app: Mapping[str, Iterable[Obj]]) -> dict[str, Obj | list[Obj]]:
    """{'memory-service': [deployment, service, ...]} -> {'memory-service/deployment': deployment, ...}."""
    files: dict[str, list[Obj]] = defaultdict(list)
    for app, objects in objects_by_app.items():
        for obj in objects:
            files[f"{app}/{obj['kind'].lower()}"].append(obj)
    ordered: dict[str, Obj | list[Obj]] = {}
    for path in sorted(files):
        docs = sorted(files[path], key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        ordered[path] = docs[0] if len(docs) == 1 else docs
    return ordered


def data_deletion_allowed(target: Target) -> bool:
    """`data.allow_delete`: the explicit inventory decision that this cluster may lose its data."""
    return bool(target.parameters.get("data", {}).get("allow_delete", False))


def output(objects_by_app: Mapping[str, Iterable[Obj]]) -> dict[str, Obj | list[Obj]]:
    """What a component's main() returns: file path -> object(s), written by Kapitan.

    Every object that holds data (mnops.gitops.retention) leaves here annotated so that Argo CD
    never prunes or cascades it away, whichever component built it.

    A plain dict, not a kadet BaseObj: kadet would convert every object to a Box and back, which
    made compiles several times slower on the dashboards and rule files.
    """
    listed = {app: list(objects) for app, objects in objects_by_app.items()}
    if any(holds_data(obj) for objects in listed.values() for obj in objects):
        allow_delete = data_deletion_allowed(current_target())
        listed = {app: protect_data(objects, allow_delete=allow_delete) for app, objects in listed.items()}
    return files_by_app(listed)
