"""Reviewers by risk: each risk class a change touches requests the inventory's reviewers and adds a label."""

from __future__ import annotations

from pathlib import Path

from conftest import real_parameters

from mnops.inventory.schema_check import check_schema
from mnops.review import RISK_CLASSES, ReviewInput, RiskItem
from mnops.review.reviewers import build, reviewers_by_risk

OWNERS = {"rbac": ["@org/security"], "cost": ["@org/platform", "@alice"]}


def params(owners):
    return {"prod": {"review": {"reviewers_by_risk": owners}}}


def test_each_risk_class_requests_its_reviewers_and_label():
    review = ReviewInput(Path(), Path(), Path(), Path(), params(OWNERS), params({}))
    risks = [RiskItem("rbac", "prod", "Role x"), RiskItem("cost", "prod", "replicas"), RiskItem("cost", "dev", "replicas")]
    paths = {risks[0]: "/compiled/prod/manifests/rbac/role.yaml"}
    section, routing = build(review, risks, paths)
    assert routing.labels == ("risk/cost", "risk/rbac")
    assert routing.reviewers == ("@alice", "@org/platform", "@org/security")
    assert routing.codeowners == (
        "/compiled/dev/ @alice @org/platform",
        "/compiled/prod/ @alice @org/platform",
        "/compiled/prod/manifests/rbac/role.yaml @org/security",
    )
    assert section is not None and "| `cost` | 2 | @org/platform @alice |" in section.markdown


def test_the_base_sides_reviewers_apply_so_a_change_cannot_drop_its_own_review():
    review = ReviewInput(Path(), Path(), Path(), Path(), params(OWNERS), params({"rbac": ["@mallory"]}))
    _, routing = build(review, [RiskItem("rbac", "prod", "Role x")], {})
    assert routing.reviewers == ("@org/security",)


def test_a_risk_class_without_reviewers_is_named():
    review = ReviewInput(Path(), Path(), Path(), Path(), params(OWNERS), {})
    section, routing = build(review, [RiskItem("network", "prod", "NetworkPolicy")], {})
    assert routing.reviewers == () and routing.labels == ("risk/network",)
    assert section is not None and "no reviewers set for network (inventory: review.reviewers_by_risk)" in section.text


def test_no_risk_no_section_no_label():
    section, routing = build(ReviewInput(Path(), Path(), Path(), Path(), params(OWNERS), {}), [], {})
    assert section is None and routing.labels == () and routing.reviewers == ()


def test_the_inventory_routes_every_risk_class_to_someone():
    for target, parameters in real_parameters().items():
        owners = reviewers_by_risk({target: parameters})
        assert sorted(owners) == sorted(RISK_CLASSES), target


def test_the_schema_rejects_an_unknown_risk_class_and_a_reviewer_without_at():
    target, parameters = next(iter(real_parameters().items()))
    parameters["review"] = {"reviewers_by_risk": {"rbac": ["org/security"], "colour": ["@a"]}}
    problems = [str(p) for p in check_schema(target, parameters)]
    assert any("review.reviewers_by_risk.rbac" in p for p in problems), problems
    assert any("colour" in p for p in problems), problems
