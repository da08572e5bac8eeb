"""The committed Argo CD setup of every target is complete and consistent (issue 3, item 9).

Each check runs on the committed compiled/ and argocd/ trees (must find nothing) and on a
deliberately broken copy (must find exactly the breakage), so no check can pass vacuously.
"""

from __future__ import annotations

import copy
import re

import gitops_checks as checks
import pytest
import yaml
from conftest import cluster_targets, real_parameters

TARGETS = checks.targets()
ENVIRONMENTS = {name: real_parameters()[name]["cluster"]["environment"] for name in cluster_targets()}


@pytest.fixture(scope="module", params=TARGETS)
def cluster(request: pytest.FixtureRequest) -> checks.Cluster:
    return checks.load_cluster(checks.ROOT, request.param)


def broken(cluster: checks.Cluster) -> checks.Cluster:
    return copy.deepcopy(cluster)


def app(cluster: checks.Cluster, name: str) -> dict:
    return next(a for a in cluster.applications if a["metadata"]["name"] == name)


def test_every_cluster_target_of_the_inventory_is_compiled():
    assert cluster_targets() == TARGETS
    assert TARGETS, "the inventory has no cluster target"


def test_every_folder_has_exactly_one_application_and_every_path_exists(cluster):
    assert checks.folders_and_applications_match(cluster) == []
    bad = broken(cluster)
    bad.folders["orphan-folder"] = [{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x", "namespace": "y"}}]
    app(bad, "memory-service")["spec"]["source"]["path"] = f"compiled/{cluster.name}/manifests/missing"
    problems = checks.folders_and_applications_match(bad)
    assert any("orphan-folder" in p for p in problems)
    assert any("missing" in p for p in problems)


def test_every_chart_application_has_its_values_file(cluster):
    assert checks.chart_values_exist(cluster) == []
    assert {"argo-cd", "argo-rollouts"} <= cluster.values
    bad = broken(cluster)
    bad.values.discard("argo-rollouts")
    assert checks.chart_values_exist(bad) == [
        f"Application argo-rollouts: values file $values/compiled/{cluster.name}/helm-values/argo-rollouts.yaml does not exist"
    ]


def test_every_application_names_a_project_that_allows_it(cluster):
    assert checks.projects_allow_applications(cluster) == []
    bad = broken(cluster)
    app(bad, "memory-service")["spec"]["project"] = "nonexistent"
    services = bad.projects[f"{cluster.name}-services"]["spec"]
    services["sourceRepos"] = ["https://example.com/other.git"]
    platform = bad.projects[f"{cluster.name}-platform"]["spec"]
    platform["clusterResourceWhitelist"] = [w for w in platform["clusterResourceWhitelist"] if w["kind"] != "Namespace"]
    problems = checks.projects_allow_applications(bad)
    assert "Application memory-service: project nonexistent does not exist" in problems
    assert any("reporting-service: repo" in p for p in problems)
    assert any("cluster-scoped Namespace not allowed" in p for p in problems)


def test_services_project_has_no_cluster_scoped_rights(cluster):
    assert "clusterResourceWhitelist" not in cluster.projects[f"{cluster.name}-services"]["spec"]


def test_every_namespace_is_owned_by_exactly_one_application(cluster):
    assert checks.namespaces_have_one_owner(cluster) == []
    assert checks.namespaced_objects_name_their_namespace(cluster) == []
    bad = broken(cluster)
    rollouts = app(bad, "argo-rollouts")["spec"]["syncPolicy"]
    rollouts["syncOptions"] = [o for o in rollouts["syncOptions"] if o != "CreateNamespace=true"]
    argocd = app(bad, "argocd-config")["spec"]["syncPolicy"]
    argocd["syncOptions"] = [*argocd["syncOptions"], "CreateNamespace=true"]
    assert checks.namespaces_have_one_owner(bad) == [
        "namespace argo-rollouts is used but no Application creates it",
        "namespace argocd is created by 2 Applications ['argo-cd', 'argocd-config']",
    ]


def test_waves_put_crd_providers_before_crd_users(cluster):
    assert checks.crd_providers_sync_first(cluster) == []
    waves = {a["metadata"]["name"]: checks.wave(a) for a in cluster.applications}
    assert waves["namespaces"] < waves["argo-cd"] < waves["argocd-config"] < waves["memory-service"]
    bad = broken(cluster)
    bad.folders["memory-service"].append(
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "m", "namespace": "machine-native-ops"}}
    )
    app(bad, "argo-rollouts")["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "12"
    problems = checks.crd_providers_sync_first(bad)
    # The services' own Rollouts and AnalysisTemplates (progressive delivery) are caught too.
    assert "Rollout in memory-service (wave 10) syncs no later than its CRD provider argo-rollouts (wave 12)" in problems
    assert all(p.endswith("its CRD provider argo-rollouts (wave 12)") for p in problems)


def test_prod_has_windows_and_no_unguarded_automation(cluster):
    environment = ENVIRONMENTS[cluster.name]
    assert checks.prod_is_windowed(cluster, environment) == []
    if environment != "prod":
        assert all(not p["spec"].get("syncWindows") for p in cluster.projects.values())
        return
    bad = broken(cluster)
    for project in bad.projects.values():
        project["spec"].pop("syncWindows")
    problems = checks.prod_is_windowed(bad, environment)
    assert f"prod project {cluster.name}-platform has no allow window for all applications" in problems
    assert "prod Application memory-service syncs automatically outside any window" in problems


@pytest.mark.parametrize("name", [t for t in TARGETS if ENVIRONMENTS[t] != "prod"])
def test_dev_and_staging_sync_automatically_with_prune_and_self_heal(name):
    cluster = checks.load_cluster(checks.ROOT, name)  # prod is covered by the window test
    for application in cluster.applications:
        automated = application["spec"]["syncPolicy"].get("automated", {})
        assert automated.get("prune") is True and automated.get("selfHeal") is True, application["metadata"]["name"]


def test_revisions_follow_the_branch_strategy(cluster):
    # Git sources only: Helm charts (`chart`, or an OCI repository) pin their own version.
    revisions = {
        s["targetRevision"]
        for a in cluster.applications
        for s in checks.sources(a)
        if "chart" not in s and not s["repoURL"].startswith("oci://")
    }
    expected = {"dev": "develop", "staging": "develop", "prod": "main", "prod-dr": "main"}[cluster.name]
    assert revisions == {expected}


def test_hpa_owned_replicas_are_ignored_and_sync_options_set(cluster):
    assert checks.hpa_replicas_ignored(cluster) == []
    bad = broken(cluster)
    app(bad, "argocd-config")["spec"]["ignoreDifferences"] = [
        {"kind": "Deployment", "group": "apps", "jsonPointers": ["/spec/replicas"]}
    ]
    app(bad, "namespaces")["spec"]["syncPolicy"]["syncOptions"] = []
    problems = checks.hpa_replicas_ignored(bad)
    assert "Application argocd-config: ignores replicas without an HPA (drift would go unnoticed)" in problems
    assert "Application namespaces: missing sync option ServerSideApply=true" in problems
    if any(d["kind"] == "HorizontalPodAutoscaler" for d in cluster.folders["memory-service"]):
        del app(bad, "memory-service")["spec"]["ignoreDifferences"]
        # A Deployment, or the Rollout that replaces it for canary/blue-green services.
        assert any(
            re.search(r"memory-service: HPA owns (Deployment|Rollout) replicas", p) for p in checks.hpa_replicas_ignored(bad)
        )


def test_bootstrap_holds_the_projects_and_the_self_managed_root(cluster):
    assert checks.bootstrap_matches(cluster) == []
    root = next(d for d in cluster.bootstrap if d["kind"] == "Application")
    assert root["metadata"]["name"] == cluster.name
    assert "finalizers" not in root["metadata"], "deleting the root app must not delete the cluster's workloads"
    bad = broken(cluster)
    bad.bootstrap[0]["spec"]["sourceRepos"] = ["https://example.com/evil.git"]
    assert len(checks.bootstrap_matches(bad)) == 1


def test_cluster_entry_is_labelled_and_holds_no_credentials(cluster):
    docs = [d for folder in cluster.folders.values() for d in folder]
    assert not [d for d in docs if d["kind"] == "Secret"], "no Secret objects in git"
    entries = [d for d in cluster.folders["argocd-config"] if d["kind"] == "ExternalSecret"]
    assert len(entries) == 1
    template = entries[0]["spec"]["target"]["template"]
    labels = template["metadata"]["labels"]
    assert labels["argocd.argoproj.io/secret-type"] == "cluster"
    assert labels["environment"] == ENVIRONMENTS[cluster.name]
    assert labels["region"].count("-") == 2
    assert template["data"]["config"] == "{{ .config }}", "credentials come from the secret store only"
    assert template["data"]["name"] == cluster.name


def test_notifications_route_four_triggers_to_the_environment_channel(cluster):
    cm = next(d for d in cluster.folders["argocd-config"] if d["kind"] == "ConfigMap")
    assert cm["metadata"]["name"] == "argocd-notifications-cm"
    data = cm["data"]
    triggers = {k.removeprefix("trigger.") for k in data if k.startswith("trigger.")}
    assert triggers == {"on-sync-failed", "on-health-degraded", "on-deployed", "on-sync-running"}
    service = yaml.safe_load(data["service.webhook.team-chat"])
    assert service["url"].startswith("$") and "://" not in service["url"], "the webhook URL is a secret reference"
    channel = {"dev": "#mnops-dev-deploys", "staging": "#mnops-staging-deploys"}.get(cluster.name, "#mnops-prod-deploys")
    assert all(channel in v for k, v in data.items() if k.startswith("template."))
    subscribed = yaml.safe_load(data["subscriptions"])[0]["triggers"]
    assert sorted(subscribed) == sorted(triggers)


def notification_references(data: dict) -> list[str]:
    """What Argo CD's notifications engine would fail to resolve: recipients without a service,
    triggers sending templates that do not exist, subscriptions to undefined triggers."""
    services = {key.split(".")[-1] for key in data if key.startswith("service.")}
    templates = {key.removeprefix("template.") for key in data if key.startswith("template.")}
    triggers = {key.removeprefix("trigger."): yaml.safe_load(v) for key, v in data.items() if key.startswith("trigger.")}
    missing = [f"template {t}" for conditions in triggers.values() for c in conditions for t in c["send"] if t not in templates]
    for subscription in yaml.safe_load(data["subscriptions"]):
        missing += [f"service {r}" for r in subscription["recipients"] if r.split(":")[0] not in services]
        missing += [f"trigger {t}" for t in subscription["triggers"] if t not in triggers]
    return missing


def test_notification_triggers_templates_and_services_resolve(cluster):
    data = next(d for d in cluster.folders["argocd-config"] if d["kind"] == "ConfigMap")["data"]
    assert notification_references(data) == []
    bad = dict(data)
    del bad["template.app-deployed"]
    bad["service.webhook.other"] = bad.pop("service.webhook.team-chat")
    assert notification_references(bad) == ["template app-deployed", "service team-chat"]
