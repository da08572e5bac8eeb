"""`make diff` (scripts/diff.py): exactly the changed objects per target, and the risky ones."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml
from conftest import real_parameters
from gitops_checks import ROOT, git_commit, init_repo

from mnops.gitops.diffing import Key, TargetChanges, risks_of

pytestmark = pytest.mark.slow  # compiles the inventory


def dev_workloads() -> list[str]:
    """Each dev service's Deployment, or Rollout for canary/blue-green, as committed in compiled/dev."""
    manifests = ROOT / "compiled" / "dev" / "manifests"
    found = []
    for service in real_parameters()["dev"]["services"]:
        for path in (manifests / service).glob("*.yaml"):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc and doc["kind"] in ("Deployment", "Rollout"):
                    found.append(f"{doc['kind']} {doc['metadata']['namespace']}/{doc['metadata']['name']}")
    assert found
    return sorted(found)


WORKLOADS = dev_workloads()


@pytest.fixture(scope="module")
def two_commit_repo(tmp_path_factory):
    repo = init_repo(tmp_path_factory.mktemp("diff-fixture") / "repo")
    dev = repo / "inventory" / "classes" / "env" / "dev.yml"
    text = dev.read_text()
    assert "  service_defaults:\n    replicas: 1\n" in text
    dev.write_text(text.replace("  service_defaults:\n    replicas: 1\n", "  service_defaults:\n    replicas: 2\n"))
    git_commit(repo, "dev: two replicas per service")
    return repo


@pytest.fixture(scope="module")
def diff_run(two_commit_repo, tmp_path_factory):
    markdown = tmp_path_factory.mktemp("diff-out") / "diff.md"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "diff.py"),
            "--repo",
            str(two_commit_repo),
            "--base",
            "HEAD~1",
            "--markdown",
            str(markdown),
            "--color",
            "never",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result, markdown.read_text() if markdown.exists() else "", time.monotonic() - started


def test_diff_reports_exactly_the_changed_objects(diff_run):
    result, _, seconds = diff_run
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    headers = [line for line in lines if line.startswith("== ")]
    objects = sorted(line.strip() for line in lines if line.startswith(("  + ", "  - ", "  ~ ")) and " file " not in line)
    # The local target runs the dev settings: only its README (replica column) changes.
    assert headers == ["== dev ==", "== local =="]
    assert objects == sorted(f"~ {w}" for w in WORKLOADS)
    assert f"0 added, 0 removed, {len(WORKLOADS)} changed objects" in result.stdout
    assert "-  replicas: 1" in result.stdout and "+  replicas: 2" in result.stdout
    assert seconds < 60, f"make diff took {seconds:.0f}s: too slow to run on every PR"


def test_diff_flags_a_replica_change_as_risky(diff_run):
    result, markdown, _ = diff_run
    risky = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ! ")]
    assert sorted(risky) == [f"! dev: {w}: replicas: spec.replicas 1 -> 2" for w in WORKLOADS]
    assert "### :warning: Risky changes" in markdown
    assert markdown.count("replicas: spec.replicas 1 -> 2") == len(WORKLOADS)
    assert markdown.count("```diff") == len(WORKLOADS) + 2  # every workload and the READMEs of dev and local


def test_diff_without_changes_says_so(two_commit_repo):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "diff.py"), "--repo", str(two_commit_repo), "--base", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no changes in compiled/ or argocd/")


def test_diff_rejects_an_unknown_base(two_commit_repo):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "diff.py"), "--repo", str(two_commit_repo), "--base", "no-such-branch"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown base revision 'no-such-branch'" in result.stderr


def obj(kind, name, spec=None, *, namespace="ns", labels=None, api="v1"):
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec or {},
    }


def key(kind, name, namespace="ns"):
    return Key("prod", kind, namespace, name)


def test_risky_changes_cover_pdbs_network_rbac_secrets_images_and_stateful_deletions():
    changes = TargetChanges()
    changes.added[key("PodDisruptionBudget", "a")] = obj("PodDisruptionBudget", "a")
    changes.removed[key("StatefulSet", "redis")] = obj("StatefulSet", "redis")
    changes.changed[key("NetworkPolicy", "deny")] = (
        obj("NetworkPolicy", "deny", {"x": 1}),
        obj("NetworkPolicy", "deny", {"x": 2}),
    )
    changes.changed[key("ClusterRole", "r", "")] = (obj("ClusterRole", "r", {"v": 1}), obj("ClusterRole", "r", {"v": 2}))
    env = {"template": {"spec": {"containers": [{"image": "app:1", "envFrom": [{"secretRef": {"name": "old"}}]}]}}}
    env2 = {"template": {"spec": {"containers": [{"image": "app:2", "envFrom": [{"secretRef": {"name": "new"}}]}]}}}
    changes.changed[key("Deployment", "api")] = (obj("Deployment", "api", env), obj("Deployment", "api", env2))
    reasons = sorted(f"{r.key.kind}: {r.reason}" for r in risks_of("prod", changes))
    assert reasons == [
        "ClusterRole: changes RBAC (roles, bindings or Argo CD project rights)",
        "Deployment: image: app:1 -> app:2",
        "Deployment: secret reference: spec.template.spec.containers[0].envFrom[0].secretRef.name",
        "NetworkPolicy: changes a network policy",
        "PodDisruptionBudget: adds a PodDisruptionBudget",
        "StatefulSet: deletes a stateful object (data may be lost)",
    ]


def test_a_new_version_label_alone_is_not_risky():
    changes = TargetChanges()
    old = obj("PodDisruptionBudget", "a", {"maxUnavailable": 1}, labels={"app.kubernetes.io/version": "1"})
    new = obj("PodDisruptionBudget", "a", {"maxUnavailable": 1}, labels={"app.kubernetes.io/version": "2"})
    changes.changed[key("PodDisruptionBudget", "a")] = (old, new)
    assert risks_of("prod", changes) == []
    new["spec"]["maxUnavailable"] = 0
    assert [r.reason for r in risks_of("prod", changes)] == ["changes a PodDisruptionBudget"]
