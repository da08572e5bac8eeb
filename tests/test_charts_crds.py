"""Our custom resources against the CRDs the locked charts install (strict schema and CEL rules)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

from charts_support import NEEDS_HELM, ONE_WORKER
from charts_support import clusters as _clusters
from charts_support import rendered as _rendered
from conftest import ROOT

from mnops.charts.crd_schemas import chart_crd_catalog, load_schema, object_schema, write_catalog
from mnops.crd_cel import evaluate_rules
from mnops.manifest_validation import builtin_validator, validate_document
from mnops.security.policy import load_documents

pytestmark = [NEEDS_HELM, ONE_WORKER]


@cache
def _catalog() -> Path:
    return chart_crd_catalog(list(_rendered()), ROOT / ".cache" / "crd-catalog")


def _custom_resources() -> list[tuple[str, tuple[str, ...], dict[str, Any]]]:
    """(cluster, its Kubernetes versions, object) for each compiled custom resource a locked chart's CRD covers."""
    found = []
    for target, parameters in sorted(_clusters().items()):
        versions = tuple(parameters["kubernetes"]["supported_versions"])
        for doc in load_documents(ROOT / "compiled" / target):
            if any(builtin_validator(v, doc["apiVersion"], doc["kind"]) for v in versions):
                continue
            if load_schema(_catalog(), doc["apiVersion"], doc["kind"]) is not None:
                found.append((target, versions, doc))  # no locked chart installs the others: make validate covers them
    return found


def _problems(doc: dict[str, Any], target: str, versions: tuple[str, ...], catalog: Path) -> list[str]:
    return [f.render() for f in validate_document(doc, target, versions, str(catalog))]


def test_our_custom_resources_fit_the_crds_of_the_locked_charts() -> None:
    resources = _custom_resources()
    assert resources, "no custom resource of ours has a CRD from a locked chart"
    assert [p for target, versions, doc in resources for p in _problems(doc, target, versions, _catalog())] == []


def _node_class() -> tuple[str, tuple[str, ...], dict[str, Any]]:
    found = [r for r in _custom_resources() if r[2]["kind"] == "EC2NodeClass"]
    assert found, "no EC2NodeClass compiled: pick another chart-installed CRD with a CEL rule for this test"
    target, versions, doc = found[0]
    return target, versions, copy.deepcopy(doc)


def test_a_resource_breaking_a_chart_crd_cel_rule_is_reported() -> None:
    target, versions, node_class = _node_class()
    node_class["spec"]["amiFamily"] = "AL2"  # contradicts the al2023 alias: only the CRD's CEL rule says so
    assert _problems(node_class, target, versions, _catalog()) == [
        f"{target}: EC2NodeClass/default: $.spec: if set, amiFamily must be 'AL2023' or 'Custom' when using an AL2023 alias"
        " (CRD CEL rule)"
    ]


def test_a_chart_crd_rule_that_cannot_be_evaluated_is_reported_not_passed(tmp_path: Path) -> None:
    """A rule calling a Kubernetes CEL library function cel-python lacks (the quantity library) fails."""
    target, versions, node_class = _node_class()
    group, _, version = node_class["apiVersion"].rpartition("/")
    schema = load_schema(_catalog(), node_class["apiVersion"], node_class["kind"])
    assert schema is not None
    rules = [{"rule": "quantity('1Gi').isGreaterThan(quantity('1Mi'))"}, {"rule": "self.spec == oldSelf.spec"}]
    write_catalog({(group, node_class["kind"], version): {**schema, "x-kubernetes-validations": rules}}, tmp_path)
    findings = list(validate_document(node_class, target, versions, str(tmp_path), with_not_evaluated=True))
    assert [(f.where, f.message.split(":")[0], f.not_evaluated) for f in findings] == [
        ("$", "rule could not be evaluated", False),
        ("$", "transition rule, needs the stored object", True),
    ]


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
    assert evaluate_rules(SCALER, good).failures == []
    assert [(f.where, f.message) for f in evaluate_rules(SCALER, bad).failures] == [("$.spec", "min must not exceed max")]


def test_strict_crd_schemas_reject_a_field_the_crd_does_not_declare() -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(object_schema(SCALER))
    obj = {"apiVersion": "example.org/v1", "kind": "Scaler", "metadata": {"name": "s"}, "spec": {"minReplica": 1}}
    assert [e.message for e in validator.iter_errors(obj)] == [
        "Additional properties are not allowed ('minReplica' was unexpected)"
    ]
