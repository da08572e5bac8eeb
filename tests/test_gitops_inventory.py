"""The `argocd` inventory section: schema and cross-field rules reject unsafe delivery settings."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import real_parameters
from gitops_checks import ROOT

from mnops.gitops.guide import render_guide
from mnops.gitops.plan import delivery_plan
from mnops.inventory import problems_in


@pytest.fixture(scope="module")
def inventory() -> dict[str, Any]:
    return real_parameters()


def mutated(inventory: dict[str, Any], target: str) -> dict[str, Any]:
    return copy.deepcopy(inventory[target])


def paths(target: str, params: dict[str, Any]) -> list[str]:
    # An empty `expected` means `found` says it all (unknown key, missing key, bad format).
    return [f"{p.path}: {p.expected or p.found}" for p in problems_in(target, params)]


def test_every_target_is_valid(inventory):
    assert {name: paths(name, params) for name, params in inventory.items()} == {name: [] for name in inventory}


def test_prod_must_track_main(inventory):
    params = mutated(inventory, "prod")
    params["argocd"]["revision"] = "develop"
    assert paths("prod", params) == ["parameters.argocd.revision: 'main' for prod"]


def test_staging_must_track_develop(inventory):
    params = mutated(inventory, "staging")
    params["argocd"]["revision"] = "main"
    assert paths("staging", params) == ["parameters.argocd.revision: 'develop' for staging"]


def test_dev_may_track_a_feature_branch_but_not_main(inventory):
    params = mutated(inventory, "dev")
    params["argocd"]["revision"] = "feature/new-cache"
    assert paths("dev", params) == []
    params["argocd"]["revision"] = "main"
    assert paths("dev", params) == ["parameters.argocd.revision: develop or a feature/*, release/* or hotfix/* branch"]


def test_prod_rejects_automation_without_a_window(inventory):
    params = mutated(inventory, "prod-dr")
    params["argocd"]["windows"] = []
    assert paths("prod-dr", params) == [
        "parameters.argocd.windows: an allow window with applications ['*'] when prod syncs automatically"
    ]
    params["argocd"]["sync"]["automated"] = False
    assert paths("prod-dr", params) == []


def test_window_schedule_and_duration_are_validated(inventory):
    params = mutated(inventory, "prod")
    params["argocd"]["windows"][0]["schedule"] = "0 25 * * *"
    params["argocd"]["windows"][0]["duration"] = "8 hours"
    found = sorted(paths("prod", params))
    assert len(found) == 2
    assert found[0].startswith("parameters.argocd.windows[0].duration: '8 hours' is not a duration")
    assert found[1].startswith("parameters.argocd.windows[0].schedule: '0 25 * * *': a value is out of range (")
    assert "hour 0-23" in found[1]


def test_window_needs_the_explicit_manual_override_flag(inventory):
    params = mutated(inventory, "prod")
    del params["argocd"]["windows"][0]["manual_sync"]
    assert paths("prod", params) == ["parameters.argocd.windows[0].manual_sync: missing (this key is required)"]


def test_webhook_is_a_secret_key_never_a_url(inventory):
    params = mutated(inventory, "dev")
    params["argocd"]["notifications"]["webhook_secret_key"] = "https://hooks.example.invalid/placeholder"  # noqa: S105 - a fake URL, rejected
    assert paths("dev", params) == ["parameters.argocd.notifications.webhook_secret_key: text matching ^[a-z0-9][a-z0-9-]*$"]


def test_unknown_argocd_key_is_rejected_with_a_suggestion(inventory):
    params = mutated(inventory, "dev")
    params["argocd"]["revison"] = "develop"
    found = problems_in("dev", params)
    assert [(p.path, p.hint) for p in found] == [("parameters.argocd.revison", "did you mean 'revision'?")]


def test_application_names_must_be_unique(inventory):
    params = mutated(inventory, "staging")
    params["apps"]["memory-service"] = {"wave": 0, "description": "clashes with the service"}
    assert paths("staging", params) == ["parameters.apps.memory-service: one name per folder, service and chart"]


def test_no_chart_but_argo_cd_installs_into_argocd_namespace(inventory):
    params = mutated(inventory, "dev")
    params["charts"]["argo-rollouts"]["namespace"] = "argocd"
    assert paths("dev", params) == ["parameters.charts.argo-rollouts.namespace: a namespace of its own"]


def test_a_shared_chart_namespace_is_created_once_by_the_earliest_chart(inventory):
    params = mutated(inventory, "dev")
    params["charts"]["istio-base"] = {**params["charts"]["argo-rollouts"], "namespace": "istio-system", "wave": -6}
    params["charts"]["istiod"] = {**params["charts"]["argo-rollouts"], "namespace": "istio-system", "wave": -4}
    plan = delivery_plan(params)
    creators = {a.name for a in plan.applications if a.creates_namespace}
    assert plan.namespace_creators["istio-system"] == "istio-base"
    assert "istiod" not in creators and "istio-base" in creators


def test_disabled_charts_get_no_application(inventory):
    params = mutated(inventory, "dev")
    params["charts"]["argo-rollouts"]["enabled"] = False
    assert "argo-rollouts" not in {a.name for a in delivery_plan(params).applications}


def test_committed_deployment_guide_is_current(inventory):
    committed = (ROOT / "docs" / "deployment-guide.md").read_text()
    assert committed == render_guide(inventory), "run `make compile` and commit docs/deployment-guide.md"
    assert committed.startswith("<!-- Generated by `make compile`")


def test_an_oci_chart_becomes_a_native_oci_source_allowed_by_the_platform_project(inventory):
    from mnops.gitops.objects import application_object, project_objects

    params = mutated(inventory, "dev")
    params["charts"]["envoy-gateway"] = {"repo_url": "oci://docker.io/envoyproxy", "chart": "gateway-helm",
                                         "version": "1.6.0", "namespace": "envoy-gateway-system", "wave": -5,
                                         "enabled": True}  # fmt: skip
    plan = delivery_plan(params)
    app = application_object(plan, next(a for a in plan.applications if a.name == "envoy-gateway"))
    upstream = app["spec"]["sources"][0]
    assert upstream == {
        "repoURL": "oci://docker.io/envoyproxy/gateway-helm",
        "targetRevision": "1.6.0",
        "path": ".",
        "helm": {"releaseName": "envoy-gateway", "valueFiles": ["$values/compiled/dev/helm-values/envoy-gateway.yaml"]},
    }
    platform = next(p for p in project_objects(plan) if p["metadata"]["name"] == "dev-platform")
    assert "oci://docker.io/envoyproxy/gateway-helm" in platform["spec"]["sourceRepos"]
    assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
