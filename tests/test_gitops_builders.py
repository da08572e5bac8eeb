"""Argo CD builders refuse arguments that cannot make a valid object, with a plain sentence."""

from __future__ import annotations

import pytest

from mnops.errors import BuildError
from mnops.k8s.argocd import (
    IgnoreDifference,
    ProjectSpec,
    Source,
    Sync,
    SyncWindow,
    app_project,
    application,
    cluster_entry,
    notifications_config_map,
)
from mnops.k8s.meta import Identity

IDENT = Identity("x", "argocd-application", "machine-native-ops", "dev", "dev")
SYNC = Sync(True, True, True, False, ("ServerSideApply=true",), 5, "10s", 2, "5m")
REPO = "https://example.com/repo.git"


def make_app(**overrides):
    arguments = {"project": "dev-platform", "sources": [Source(REPO, "main", path="compiled/dev/manifests/x")],
                 "destination_namespace": "ns", "wave": 0, "sync": SYNC, "cascade_delete": True}  # fmt: skip
    arguments.update(overrides)
    return application("x", "argocd", IDENT, **arguments)


def test_a_valid_application_has_one_source_wave_and_finalizer():
    app = make_app()
    assert app["spec"]["source"]["path"] == "compiled/dev/manifests/x"
    assert app["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "0"}
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert "finalizers" not in make_app(cascade_delete=False)["metadata"]


def test_manual_sync_policy_has_no_automated_block():
    manual = Sync(False, True, True, False, (), 5, "10s", 2, "5m")
    assert "automated" not in make_app(sync=manual)["spec"]["syncPolicy"]


def test_application_needs_a_source_and_a_project():
    with pytest.raises(BuildError, match="application x needs at least one source"):
        make_app(sources=[])
    with pytest.raises(BuildError, match="application x needs a project"):
        make_app(project="")


def test_source_needs_exactly_one_of_path_chart_or_ref():
    with pytest.raises(BuildError, match="exactly one of a path, a chart or a ref"):
        make_app(sources=[Source(REPO, "main", path="a", ref="values")])
    with pytest.raises(BuildError, match="exactly one of a path, a chart or a ref"):
        make_app(sources=[Source(REPO, "main")])


def test_ignore_differences_need_json_pointers():
    with pytest.raises(BuildError, match="JSON pointers starting with '/'"):
        make_app(ignore_differences=[IgnoreDifference("apps", "Deployment", ("spec.replicas",))])


def test_sync_window_kind_is_allow_or_deny():
    window = SyncWindow("maybe", "0 8 * * 1-4", "8h", "UTC", True, ("*",), "x")
    with pytest.raises(BuildError, match="allow or deny"):
        app_project("p", "argocd", IDENT, ProjectSpec("d", (REPO,), ("ns",), windows=(window,)))


def test_project_needs_repositories_and_destinations():
    with pytest.raises(BuildError, match="at least one source repository"):
        app_project("p", "argocd", IDENT, ProjectSpec("d", (), ("ns",)))
    with pytest.raises(BuildError, match="at least one destination namespace"):
        app_project("p", "argocd", IDENT, ProjectSpec("d", (REPO,), ()))


def test_cluster_entry_needs_an_https_server():
    with pytest.raises(BuildError, match="server must be an https:// URL"):
        cluster_entry("dev", "argocd", IDENT, server="http://x", labels={}, store_kind="ClusterSecretStore",
                      store_name="s", remote_key="k", refresh_interval="1h")  # fmt: skip


def test_notifications_config_map_needs_content():
    with pytest.raises(BuildError, match="needs at least one service"):
        notifications_config_map("argocd", IDENT, {})
