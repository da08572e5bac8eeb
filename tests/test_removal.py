"""Removing a service, a component or a cluster is safe and visible (issue 10, item 4).

What Argo CD does with our output when something leaves the inventory: service and folder
Applications cascade (resources finalizer), so nothing keeps running unmanaged; objects that hold
data carry Prune=false,Delete=false (Argo CD's per-resource sync options), unless the inventory
says data.allow_delete; a standby without its primary is a compile error.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import gitops_checks as checks
import pytest
from conftest import ROOT, compile_in_process, real_parameters, run_compile

from mnops.gitops.plan import delivery_plan
from mnops.gitops.retention import holds_data, is_retained, protect_data, retain, sync_options
from mnops.gitops.rules import fleet_problems
from mnops.kapitan_inventory import compiles_manifests

FINALIZER = "resources-finalizer.argocd.argoproj.io"
TARGETS = checks.targets()


@pytest.fixture(scope="module", params=TARGETS)
def cluster(request: pytest.FixtureRequest) -> checks.Cluster:
    return checks.load_cluster(checks.ROOT, request.param)


def cascading(app: dict[str, Any]) -> bool:
    return FINALIZER in app["metadata"].get("finalizers", [])


def service_apps(cluster: checks.Cluster) -> list[dict[str, Any]]:
    services = set(real_parameters()[cluster.name]["services"])
    return [a for a in cluster.applications if a["metadata"]["name"] in services]


def test_every_service_application_deletes_its_objects_when_it_is_removed(cluster: checks.Cluster) -> None:
    apps = service_apps(cluster)
    assert {a["metadata"]["name"] for a in apps} == set(real_parameters()[cluster.name]["services"])
    assert [a["metadata"]["name"] for a in apps if not cascading(a)] == []


def test_folder_applications_cascade_and_the_root_never_does(cluster: checks.Cluster) -> None:
    plan = delivery_plan(real_parameters()[cluster.name])
    by_name = {a["metadata"]["name"]: a for a in cluster.applications}
    for app in plan.applications:
        expected = {"root": False, "folder": True, "service": True, "chart": plan.gitops.sync.cascade_delete}[app.kind]
        assert cascading(by_name[app.name]) is expected, f"{cluster.name}: {app.kind} Application {app.name}"


def test_service_folders_hold_no_data_so_their_cascade_deletes_none(cluster: checks.Cluster) -> None:
    for app in service_apps(cluster):
        folder = cluster.folders[app["metadata"]["name"]]
        assert folder, f"{cluster.name}: the service folder of {app['metadata']['name']} is empty"
        assert [d["kind"] for d in folder if holds_data(d)] == []


def test_every_object_that_holds_data_survives_pruning_and_application_deletion(cluster: checks.Cluster) -> None:
    stateful = [d for docs in cluster.folders.values() for d in docs if holds_data(d)]
    assert stateful, f"{cluster.name}: expected namespaces and data stores"
    allowed = real_parameters()[cluster.name].get("data", {}).get("allow_delete", False)
    assert [f"{d['kind']}/{d['metadata']['name']}" for d in stateful if is_retained(d) == allowed] == []


def test_data_kinds_include_the_database_cache_and_namespaces() -> None:
    assert holds_data({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster"})
    assert holds_data({"apiVersion": "redis.redis.opstreelabs.in/v1beta2", "kind": "RedisReplication"})
    assert holds_data({"apiVersion": "v1", "kind": "Namespace"})
    assert holds_data({"apiVersion": "v1", "kind": "PersistentVolumeClaim"})
    assert not holds_data({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout"})
    assert not holds_data({"apiVersion": "v1", "kind": "ConfigMap"})


def test_retain_keeps_other_sync_options_and_replaces_prune_and_delete() -> None:
    obj = {"kind": "Namespace", "apiVersion": "v1",
           "metadata": {"annotations": {"argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=true"}}}  # fmt: skip
    assert sync_options(retain(obj)) == ["Delete=false", "Prune=false", "ServerSideApply=true"]
    assert is_retained(obj)


def test_allow_delete_is_the_only_way_to_let_data_go() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data"}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    kept = protect_data([copy.deepcopy(namespace), copy.deepcopy(config)], allow_delete=False)
    assert [is_retained(o) for o in kept] == [True, False]
    released = protect_data([copy.deepcopy(namespace)], allow_delete=True)
    assert not is_retained(released[0])


def standby_and_primary() -> tuple[str, str]:
    params = real_parameters()
    standby = next(n for n, p in sorted(params.items()) if compiles_manifests(p) and p["cluster"]["role"] == "standby")
    return standby, params[standby]["data"]["primary_cluster"]


def test_the_fleet_as_it_is_has_no_missing_primary() -> None:
    assert fleet_problems(real_parameters()) == []


def test_removing_a_standbys_primary_is_an_error_naming_its_target_file() -> None:
    standby, primary = standby_and_primary()
    fleet = real_parameters()
    del fleet[primary]
    [problem] = fleet_problems(fleet)
    assert problem.target == standby and problem.path == "parameters.data.primary_cluster"
    assert f"inventory/targets/{primary}.yml" in problem.render()


def test_compile_refuses_to_delete_a_primary_file_and_writes_nothing(tmp_path: Path) -> None:
    standby, primary = standby_and_primary()
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", inventory)
    (inventory / "targets" / f"{primary}.yml").unlink()
    run = compile_in_process(inventory, tmp_path / "compiled")
    assert run.returncode == 1
    assert f"no target file inventory/targets/{primary}.yml" in run.stderr and standby in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "compiled").exists()


@pytest.mark.slow
def test_data_allow_delete_lifts_the_protection_on_that_cluster_only(tmp_path: Path, inventory_copy: Any) -> None:
    targets = checks.targets()
    released, kept = targets[0], targets[-1]
    inventory = inventory_copy([{"file": f"targets/{released}.yml", "set": {"parameters.data.allow_delete": True}}])
    run = run_compile(inventory, tmp_path / "out" / "compiled")
    assert run.returncode == 0, run.stderr
    for target, retained in ((released, False), (kept, True)):
        stateful = [d for docs in checks.load_cluster(tmp_path / "out", target).folders.values() for d in docs if holds_data(d)]
        assert stateful and all(is_retained(d) is retained for d in stateful), target
