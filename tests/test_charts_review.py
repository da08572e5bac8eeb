"""Renders laid out for `make diff`: CRD schemas summarised, everything else as rendered."""

from __future__ import annotations

import copy

from mnops.charts.review import summarised

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.org"},
    "spec": {
        "group": "example.org",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "string"}}}}}],
    },
}  # fmt: skip


def test_a_crd_schema_becomes_its_digest_and_field_count() -> None:
    summary = summarised(copy.deepcopy(CRD))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["summary"]
    assert set(summary) == {"sha256", "fields"} and summary["fields"] == 2 and len(summary["sha256"]) == 64


def test_a_schema_change_changes_the_summary_and_served_versions_stay_visible() -> None:
    changed = copy.deepcopy(CRD)
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] = "integer"
    before, after = summarised(copy.deepcopy(CRD)), summarised(changed)
    assert before["spec"]["versions"][0]["schema"] != after["spec"]["versions"][0]["schema"]
    assert after["spec"]["versions"][0]["served"] is True and after["spec"]["names"] == CRD["spec"]["names"]


def test_objects_other_than_crds_are_left_as_rendered() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    assert summarised(config_map) is config_map
