"""The CRD CEL evaluator's policy for rules it cannot evaluate (mnops.crd_cel): listed or failed, never passed."""

from __future__ import annotations

from typing import Any

import pytest

from mnops.crd_cel import NOT_EVALUATED_TRANSITION, evaluate_rules


def _schema(*rules: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"size": {"type": "integer", "default": 1}},
                "x-kubernetes-validations": [{"rule": rule} for rule in rules],
            }
        },
    }


def test_a_transition_rule_is_listed_as_not_evaluated_and_is_not_a_failure() -> None:
    report = evaluate_rules(_schema("self.size >= oldSelf.size"), {"spec": {"size": 2}})
    assert report.failures == []
    assert [(n.where, n.rule, n.message) for n in report.not_evaluated] == [
        ("$.spec", "self.size >= oldSelf.size", NOT_EVALUATED_TRANSITION)
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "isURL(self.name)",  # a Kubernetes CEL library function cel-python lacks
        "self.size >",  # does not parse
        "self.name == 'x'",  # reads a field the object does not have, without has()
        "self.size + 1",  # not a boolean
    ],
)
def test_a_rule_that_cannot_be_evaluated_is_a_failure(rule: str) -> None:
    report = evaluate_rules(_schema(rule), {"spec": {"size": 2}})
    assert [(f.where, f.message.split(":")[0]) for f in report.failures] == [("$.spec", "rule could not be evaluated")]
    assert report.not_evaluated == []


def test_rules_see_the_schema_defaults_as_the_api_server_applies_them() -> None:
    assert evaluate_rules(_schema("self.size == 1"), {"spec": {}}).failures == []
    assert [f.message for f in evaluate_rules(_schema("self.size == 1"), {"spec": {"size": 3}}).failures] == [
        "failed rule: self.size == 1"
    ]
