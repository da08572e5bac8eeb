"""Our custom resources against the CRDs the locked charts install (strict schema and CEL rules)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT, real_parameters

from mnops.charts.cluster import RenderedChart, Setup, render_clusters
from mnops.charts.compile_check import chart_mirror, helm_binary
from mnops.charts.crd_schemas import cel_violations, chart_crd_catalog, load_schema, object_schema
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.kapitan_inventory import compiles_manifests
from mnops.manifest_validation import builtin_validator, crd_validator
from mnops.security.policy import load_documents

pytestmark = pytest.mark.skipif(not Path(helm_binary(ROOT)).exists(), reason="helm is not installed (make helm)")


@cache
def _clusters() -> dict[str, dict]:
    return {name: p for name, p in real_parameters().items() if compiles_manifests(p)}


@cache
def _catalog() -> Path:
    cache_root = ROOT / ".cache"
    setup = Setup(ROOT / "compiled", cache_root / "charts", cache_root / "renders", helm_binary(ROOT), chart_mirror(ROOT))
    rendered: list[RenderedChart] = render_clusters(_clusters(), read_lock(ROOT / LOCK_FILE), setup)
    return chart_crd_catalog(rendered, cache_root / "crd-catalog")


def test_our_custom_resources_fit_the_crds_of_the_locked_charts() -> None:
    checked, problems, not_evaluable = 0, [], 0
    for target, parameters in sorted(_clusters().items()):
        versions = parameters["kubernetes"]["supported_versions"]
        for doc in load_documents(ROOT / "compiled" / target):
            api_version, kind = doc["apiVersion"], doc["kind"]
            if any(builtin_validator(v, api_version, kind) for v in versions):
                continue
            schema = load_schema(_catalog(), api_version, kind)
            if schema is None:
                continue  # no locked chart installs it: the shared catalog (make validate) covers it
            checked += 1
            where = f"{target}: {kind}/{doc['metadata']['name']}"
            problems += [f"{where}: {e.message}" for e in crd_validator(str(_catalog()), api_version, kind).iter_errors(doc)]
            broken, skipped = cel_violations(schema, doc)
            problems += [f"{where}: CEL {b}" for b in broken]
            not_evaluable += skipped
    assert checked > 0, "no custom resource of ours has a CRD from a locked chart"
    assert problems == []


SCALER = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {"minReplicas": {"type": "integer"}, "maxReplicas": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.minReplicas <= self.maxReplicas", "message": "min must not exceed max"}],
        }
    },
}


def test_a_resource_breaking_a_cel_rule_is_reported_with_the_rule_message() -> None:
    good = {
        "apiVersion": "example.org/v1",
        "kind": "Scaler",
        "metadata": {"name": "s"},
        "spec": {"minReplicas": 1, "maxReplicas": 3},
    }
    bad = {**good, "spec": {"minReplicas": 4, "maxReplicas": 3}}
    assert cel_violations(SCALER, good) == ([], 0)
    assert cel_violations(SCALER, bad) == (["$.spec: min must not exceed max"], 0)


def test_strict_crd_schemas_reject_a_field_the_crd_does_not_declare() -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(object_schema(SCALER))
    obj = {"apiVersion": "example.org/v1", "kind": "Scaler", "metadata": {"name": "s"}, "spec": {"minReplica": 1}}
    assert [e.message for e in validator.iter_errors(obj)] == [
        "Additional properties are not allowed ('minReplica' was unexpected)"
    ]
