"""Glue between Kapitan's kadet inputs and our typed builders.

A component is `main()` returning `output(objects)`: a list of Kubernetes objects becomes
one file per application folder and kind, `<app>/<kind>.yaml`, objects sorted by namespace and
name, so file names and order never depend on the order the code built them in.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from mnops.inventory import Target, load_target
from mnops.k8s.meta import Identity

Obj = dict[str, Any]


@cache
def _target(name: str, frozen_parameters: str) -> Target:
    """Validated once per target and process, however many components ask."""
    return load_target(name, json.loads(frozen_parameters))


def current_target() -> Target:
    """The validated, typed inventory of the target Kapitan is compiling now."""
    # Imported lazily: lib/ stays usable (and unit-testable) without Kapitan.
    from kapitan.inputs.kadet import inventory
    from kapitan.topics import current_target as kapitan_target

    parameters = inventory().parameters.to_dict()
    return _target(kapitan_target.get(), json.dumps(parameters, sort_keys=True, default=str))


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


def output(objects_by_app: Mapping[str, Iterable[Obj]]) -> Any:
    """A kadet BaseObj whose children Kapitan writes as files."""
    from kapitan.inputs.kadet import BaseObj

    result = BaseObj()
    for path, docs in files_by_app(objects_by_app).items():
        result.root[path] = docs
    return result
