"""The compiled tree: deterministic, committed, clean YAML, and strictly schema-valid."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CRD_SCHEMAS, ROOT, cluster_targets, real_parameters, run_compile, tree_snapshot

from mnops.inventory.layers import effective_service


@pytest.mark.slow
def test_compile_is_byte_identical_across_runs_and_between_serial_and_parallel(tmp_path: Path, compiled_tree: Path) -> None:
    serial = tmp_path / "serial" / "compiled"
    # --scratch (make diff's compile): the same writers for compiled/, without the docs this test does not compare.
    run = run_compile(ROOT / "inventory", serial, "--parallelism", "1", "--scratch")
    assert run.returncode == 0, run.stderr
    assert tree_snapshot(serial) == tree_snapshot(compiled_tree)


def test_committed_compiled_tree_is_what_the_inventory_produces(compiled_tree: Path) -> None:
    """The drift gate as a test: edit the inventory, run `make compile`, commit both."""
    committed = tree_snapshot(ROOT / "compiled")
    fresh = tree_snapshot(compiled_tree)
    assert sorted(committed) == sorted(fresh), "files differ: run `make compile` and commit"
    stale = [path for path in fresh if committed[path] != fresh[path]]
    assert not stale, f"stale files (run `make compile` and commit): {stale[:10]}"


def test_every_target_has_a_readme_with_counts_and_a_dependency_diagram(compiled_tree: Path) -> None:
    for target in cluster_targets():
        params = real_parameters()[target]
        services = {name: effective_service(params, name) for name in params["services"]}
        readme = (compiled_tree / target / "README.md").read_text()
        assert readme.startswith(f"# Cluster `{target}`")
        assert "```mermaid" in readme
        for name, service in services.items():
            if service.get("dependencies", {}).get("redis"):
                assert f"{name} --> redis" in readme, (target, name)
        # One workload per service: a Deployment, or a Rollout for canary/blue-green services.
        workloads = re.findall(r"^\| machine-native-ops \| (?:Deployment|Rollout) \| ([0-9]+) \|$", readme, flags=re.MULTILINE)
        assert sum(int(n) for n in workloads) == len(services)


# `make test` runs `make lint` (yamllint over the checkout's compiled/, the very bytes compiled_tree
# copies after make check found them current) just before pytest and says so with this variable: the
# same linter on the same bytes a second time would cost ~9 s of CPU and could not fail differently.
LINTED_BY_MAKE_TEST = "MNOPS_LINTED_BY_MAKE_TEST"


@pytest.mark.skipif(
    Path(os.environ.get(LINTED_BY_MAKE_TEST) or "/nonexistent").resolve() == ROOT,
    reason="make test ran yamllint on these bytes (make lint) before pytest",
)
def test_compiled_yaml_is_yamllint_clean(compiled_tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "-s", "-c", str(ROOT / ".yamllint"), str(compiled_tree)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


# Empty on purpose: Kubernetes and cert-manager read {} here as "every pod" / "self-signed".
MEANINGFUL_EMPTY = ("podSelector", "namespaceSelector", "selfSigned", "emptyDir")


def empty_fields(value: Any, path: str = "") -> list[str]:
    if value == {} and path.rsplit(".", 1)[-1].split("[", 1)[0] in MEANINGFUL_EMPTY:
        return []
    if value is None or value in ({}, []):
        return [path or "$"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empty_fields(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empty_fields(v, f"{path}[{i}]")]
    return []


def test_no_null_or_empty_fields_in_manifests(compiled_tree: Path) -> None:
    found = [
        f"{path.relative_to(compiled_tree)}{where}"
        for path in sorted(compiled_tree.glob("*/manifests/**/*.yaml"))
        for doc in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader)  # libyaml: the whole tree, parsed fast
        for where in empty_fields(doc)
    ]
    assert not found, found[:20]


def validate(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    env["CRD_SCHEMA_LOCATION"] = CRD_SCHEMAS
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "validate.py"), str(tree)], capture_output=True, text=True, env=env, check=False
    )


def test_compiled_tree_is_strictly_valid_for_every_supported_kubernetes_version(compiled_tree: Path) -> None:
    result = validate(compiled_tree)
    assert result.returncode == 0, result.stderr
    assert "1.33, 1.37" in result.stdout and "all valid" in result.stdout


def test_validation_rejects_unknown_fields_unknown_kinds_and_non_objects(compiled_tree: Path, tmp_path: Path) -> None:
    broken = tmp_path / "compiled"
    for target in ("dev", "prod"):  # the two targets broken below: the rest would only be validated again
        shutil.copytree(compiled_tree / target, broken / target)
    deployment = broken / "dev/manifests/memory-service/deployment.yaml"  # a rolling service in dev
    deployment.write_text(deployment.read_text().replace("revisionHistoryLimit:", "revisionHistoryLimt:"))
    (broken / "prod/manifests/extra").mkdir()
    (broken / "prod/manifests/extra/widget.yaml").write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    (broken / "dev/manifests/extra").mkdir()
    (broken / "dev/manifests/extra/notes.yaml").write_text("just: a mapping\n")
    result = validate(broken)
    assert result.returncode == 1
    assert "'revisionHistoryLimt' was unexpected) (Kubernetes 1.33)" in result.stderr
    assert "'revisionHistoryLimt' was unexpected) (Kubernetes 1.37)" in result.stderr
    assert "no schema for example.com/v1 Widget" in result.stderr
    assert "not a Kubernetes object" in result.stderr


def test_readme_object_counts_agree_with_a_full_parse(compiled_tree: Path) -> None:
    """The README's fast line reader counts exactly what a YAML parser finds."""
    from collections import Counter

    from mnops.readme import manifest_documents, object_counts

    for target in ("dev", "prod"):
        parsed = Counter(
            (doc.get("metadata", {}).get("namespace") or "(cluster)", doc["kind"])
            for doc in manifest_documents(compiled_tree / target)
        )
        assert object_counts(compiled_tree / target) == parsed


def anchored_files(tree: Path) -> list[str]:
    """Files that use YAML anchors or aliases (`&id001` / `*id001`), which reviewers and kubectl users trip over."""
    import re

    anchor = re.compile(r"(:|-) [&*]id\d+\b")
    return [str(p.relative_to(tree)) for p in sorted(tree.rglob("*.yaml")) if anchor.search(p.read_text())]


def test_compiled_yaml_has_no_anchors_or_aliases(compiled_tree: Path, tmp_path: Path) -> None:
    assert anchored_files(compiled_tree) == []
    (tmp_path / "shared.yaml").write_text("a: &id001\n  x: 1\nb: *id001\n")
    assert anchored_files(tmp_path) == ["shared.yaml"]
