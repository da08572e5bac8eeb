"""Strict schema validation of compiled manifests: Kubernetes built-ins and custom resources.

Built-in kinds use the strict schemas bundled with kubernetes-validate (unknown fields are
errors), one validator per (Kubernetes version, apiVersion, kind) built once and reused for
every document. Custom resources use JSON schemas in kubeconform's catalog layout
({group}/{kind}_{version}.json) from a local folder or URL. A kind with no schema is an error.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from mnops.crd_cel import evaluate_rules

K8S_SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


@dataclass(frozen=True)
class Finding:
    file: str
    document: str  # kind/namespace/name
    where: str  # JSON path inside the document
    message: str
    # A CRD CEL rule that could not be evaluated offline (a transition rule): reported, not a problem.
    not_evaluated: bool = False

    def render(self) -> str:
        return f"{self.file}: {self.document}: {self.where}: {self.message}"


def _builtin_schema_dir(version: str) -> Path:
    path = K8S_SCHEMAS / f"v{version}.0-local-strict"
    if not path.is_dir():
        available = sorted(p.name.split("-")[0] for p in K8S_SCHEMAS.glob("v*-local-strict"))
        raise ValueError(f"no strict schemas for Kubernetes {version}; kubernetes-validate has {', '.join(available)}")
    return path


@cache
def _builtin_registry(version: str) -> Registry:
    definitions = json.loads((_builtin_schema_dir(version) / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


def _builtin_schema_file(version: str, api_version: str, kind: str) -> Path:
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return _builtin_schema_dir(version) / f"{kind.lower()}-{short}.json"


@cache
def builtin_validator(version: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    path = _builtin_schema_file(version, api_version, kind)
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ _builtin_registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


_UNREACHABLE: set[str] = set()


def _crd_schema_relative(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}/{kind.lower()}_{version}.json"


@cache
def crd_validator(location: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    relative = _crd_schema_relative(api_version, kind)
    if re.match(r"^https?://", location):
        if location in _UNREACHABLE:
            return None
        url = f"{location.rstrip('/')}/{relative}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http(s) checked above  # nosec B310
                schema = json.load(response)
        except urllib.error.HTTPError:
            return None  # the catalog answered: it has no schema for this kind
        except OSError as error:
            # No network: say so once instead of waiting for every kind in turn.
            _UNREACHABLE.add(location)
            warnings.warn(f"CRD schema location {location} is unreachable ({error}); set CRD_SCHEMA_LOCATION", stacklevel=2)
            return None
    else:
        path = Path(location) / relative
        if not path.exists():
            return None
        schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema)


def schema_files(doc: Any, versions: tuple[str, ...], crd_location: str) -> list[Path] | None:
    """The files validate_document reads for doc besides the bundled Kubernetes schemas (which change
    only with kubernetes-validate's version): its CRD schema at a local crd_location, whether it exists
    or not. None when that schema is read from a URL, whose content can change unseen."""
    if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
        return []
    api_version, kind = str(doc["apiVersion"]), str(doc["kind"])
    if any(_builtin_schema_file(v, api_version, kind).exists() for v in versions):
        return []  # validate_document's test for a built-in kind, without building its validator
    if re.match(r"^https?://", crd_location):
        return None
    return [Path(crd_location) / _crd_schema_relative(api_version, kind)]


def _describe(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind', '?')}/{ns}{meta.get('name', '?')}"


def validate_document(doc: Any, file: str, versions: tuple[str, ...], crd_location: str,
                      with_not_evaluated: bool = False) -> Iterator[Finding]:  # fmt: skip
    """Every problem of the document; with_not_evaluated also yields the CRD CEL rules that could not be
    evaluated offline (Finding.not_evaluated), for a caller that reports them (make validate does)."""
    if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
        yield Finding(file, "?", "$", "not a Kubernetes object (needs apiVersion and kind)")
        return
    api_version, kind = str(doc["apiVersion"]), str(doc["kind"])
    # A kind Kubernetes ships has a schema in kubernetes-validate for some supported version;
    # anything else (gateway.networking.k8s.io included) is a custom resource.
    builtin = [(f"Kubernetes {v}", builtin_validator(v, api_version, kind)) for v in versions]
    if any(validator for _, validator in builtin):
        checks = builtin
    else:
        checks = [("CRD schema", crd_validator(crd_location, api_version, kind))]
    for label, validator in checks:
        if validator is None:
            yield Finding(file, _describe(doc), "$", f"no schema for {api_version} {kind} ({label}): cannot be validated")
            continue
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
            where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            yield Finding(file, _describe(doc), where, f"{error.message} ({label})")
        if label == "CRD schema":
            # The CRD's own CEL rules, which the API server enforces and JSON Schema cannot express.
            cel = evaluate_rules(validator.schema, doc)
            for failure in cel.failures:
                yield Finding(file, _describe(doc), failure.where, f"{failure.message} (CRD CEL rule)")
            for skipped in cel.not_evaluated if with_not_evaluated else []:
                yield Finding(file, _describe(doc), skipped.where, f"{skipped.message}: {skipped.rule}", not_evaluated=True)
