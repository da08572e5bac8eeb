"""The everyday journey, end to end on a copy of the repository (issue 10, items 1 and 4).

A fifth service added exactly as the README says, and a service removed as the deployment guide
says, each followed by `make compile` and the gate's pieces (strict validation, observability
coverage, generated docs, the security policy): green with no other edit. One copy and one
compile per scenario, shared by the module's tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import journey_support as journey
import pytest
import yaml
from conftest import CRD_SCHEMAS, ROOT, real_parameters

pytestmark = pytest.mark.slow  # compiles a copy of the repository

NEW_SERVICE = "audit-service"


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = journey.copy_repository(tmp_path_factory.mktemp("add") / "repo")
    assert NEW_SERVICE not in journey.services_in(repo)
    journey.add_service(repo, NEW_SERVICE)
    compiled = journey.regenerate(repo)
    assert compiled.returncode == 0, compiled.stderr
    return repo


def leaf_service() -> str:
    """A service no other service calls: removing it needs no other service changed."""
    services: dict[str, Any] = {n: s for p in real_parameters().values() for n, s in p.get("services", {}).items()}
    called = {d for s in services.values() for d in s.get("dependencies", {}).get("services", [])}
    return sorted(set(services) - called)[0]


@pytest.fixture(scope="module")
def removed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = journey.copy_repository(tmp_path_factory.mktemp("remove") / "repo")
    name = leaf_service()
    journey.remove_service(repo, name)
    compiled = journey.regenerate(repo)
    assert compiled.returncode == 0, compiled.stderr
    return repo, name


def applications(repo: Path, cluster: str) -> dict[str, dict[str, Any]]:
    path = repo / "compiled" / cluster / "manifests" / "argocd" / "application.yaml"
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(path.read_text()) if d}


def local_ports(repo: Path) -> dict[str, str]:
    compose = yaml.safe_load((repo / "compiled" / "local" / "compose" / "compose.yaml").read_text())
    return {name: svc["ports"][0] for name, svc in compose["services"].items() if "ports" in svc}


def test_an_added_service_is_deployed_to_every_cluster_by_its_own_application(added: Path) -> None:
    clusters = journey.cluster_targets(added)
    assert clusters == journey.cluster_targets(ROOT)
    for cluster in clusters:
        kinds = {p.stem for p in (added / "compiled" / cluster / "manifests" / NEW_SERVICE).glob("*.yaml")}
        assert {"service", "serviceaccount", "configmap"} <= kinds, cluster
        assert NEW_SERVICE in applications(added, cluster), cluster


def test_an_added_service_passes_the_whole_gate_with_no_other_edit(added: Path) -> None:
    assert journey.gate(added, CRD_SCHEMAS) == {}


def test_an_added_service_gets_a_local_port_and_moves_no_other(added: Path) -> None:
    before, after = local_ports(ROOT), local_ports(added)
    assert NEW_SERVICE in after
    assert {k: v for k, v in after.items() if k != NEW_SERVICE} == before


def test_a_removed_service_leaves_no_application_and_no_folder(removed: tuple[Path, str]) -> None:
    repo, name = removed
    for cluster in journey.cluster_targets(repo):
        assert name not in applications(repo, cluster), cluster
        assert not (repo / "compiled" / cluster / "manifests" / name).exists(), cluster
    assert name not in local_ports(repo)


def test_a_removed_service_passes_the_whole_gate_with_no_other_edit(removed: tuple[Path, str]) -> None:
    repo, _ = removed
    assert journey.gate(repo, CRD_SCHEMAS) == {}


def test_the_gate_fails_on_a_stale_generated_doc(added: Path, tmp_path: Path) -> None:
    """The gate can fail: a runbook that misses the new service is caught by its check step (run alone:
    it is the step whose failure this asserts, and the other steps were green on this copy)."""
    runbooks = added / "docs" / "runbooks"
    page = next(p for p in sorted(runbooks.glob("*.md")) if NEW_SERVICE in p.read_text())
    original = page.read_text()
    page.write_text(original.replace(NEW_SERVICE, "some-other-service"))
    try:
        check = journey.generated_files_are_current(added)
        assert check.returncode == 1 and f"stale: docs/runbooks/{page.name}" in check.stderr, check.stderr
    finally:
        page.write_text(original)
