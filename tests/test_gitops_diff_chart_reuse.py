"""make diff renders only the clusters whose chart inputs changed and reuses the base's renders for
the rest (scripts/diff.py, render_head_charts): a one-value change must not re-render every chart."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from conftest import script_module


def side(root: Path, values: dict[str, str], lock: str = "lock v1\n") -> tuple[Path, Path]:
    """A checkout (charts.lock) and a compiled root with helm-values and renders per cluster."""
    source, compiled = root / "src", root / "out"
    source.mkdir(parents=True)
    (source / "charts.lock").write_text(lock)
    for cluster, text in values.items():
        (compiled / "compiled" / cluster / "helm-values").mkdir(parents=True)
        (compiled / "compiled" / cluster / "helm-values" / "loki.yaml").write_text(text)
        (compiled / "rendered" / cluster).mkdir(parents=True)
        (compiled / "rendered" / cluster / "loki.yaml").write_text(f"rendered from {text}")
    return source, compiled


@pytest.fixture
def rendered_clusters(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[list[str]]]:
    module = script_module("diff")
    calls: list[list[str]] = []

    def fake_render(source: Path, output_root: Path, clusters: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        calls.append(list(clusters))
        return subprocess.CompletedProcess([], 0, "", "")

    monkeypatch.setattr(module, "render_charts_into", fake_render)
    return module, calls


def test_unchanged_clusters_reuse_the_base_renders_and_only_the_changed_one_renders(tmp_path, rendered_clusters):
    module, calls = rendered_clusters
    base_src, base_root = side(tmp_path / "base", {"dev": "retention: 3d\n", "prod": "retention: 30d\n"})
    head_src, head_root = side(tmp_path / "head", {"dev": "retention: 4d\n", "prod": "retention: 30d\n"})
    for cluster in ("dev", "prod"):  # the head has no renders of its own before this step
        for path in (head_root / "rendered" / cluster).iterdir():
            path.unlink()
        (head_root / "rendered" / cluster).rmdir()
    params = {"dev": {"charts": {}, "kubernetes": {}}, "prod": {"charts": {}, "kubernetes": {}}}
    result = module.render_head_charts(head_src, head_root, base_src, base_root, params, params)
    assert result.returncode == 0
    assert calls == [["dev"]]
    assert (head_root / "rendered" / "prod" / "loki.yaml").read_text() == "rendered from retention: 30d\n"
    assert not (head_root / "rendered" / "dev").exists()


def test_a_chart_bump_renders_every_cluster(tmp_path, rendered_clusters):
    module, calls = rendered_clusters
    base_src, base_root = side(tmp_path / "base", {"dev": "a\n", "prod": "b\n"})
    head_src, head_root = side(tmp_path / "head", {"dev": "a\n", "prod": "b\n"}, lock="lock v2\n")
    params = {"dev": {"charts": {}}, "prod": {"charts": {}}}
    module.render_head_charts(head_src, head_root, base_src, base_root, params, params)
    assert calls == [["dev", "prod"]]


def test_a_cluster_the_base_rendered_no_chart_for_is_not_rendered_again(tmp_path, rendered_clusters):
    """The base renders every cluster; one without renders (its charts are not Argo CD's to render,
    as on the management cluster) had nothing to render, and neither has the head while its inputs match."""
    module, calls = rendered_clusters
    base_src, base_root = side(tmp_path / "base", {"dev": "a\n", "mgmt": "b\n"})
    head_src, head_root = side(tmp_path / "head", {"dev": "a\n", "mgmt": "b\n"})
    for root, cluster in ((base_root, "mgmt"), (head_root, "mgmt"), (head_root, "dev")):
        for path in (root / "rendered" / cluster).iterdir():
            path.unlink()
        (root / "rendered" / cluster).rmdir()
    params = {"dev": {"charts": {}}, "mgmt": {"charts": {}}}
    module.render_head_charts(head_src, head_root, base_src, base_root, params, params)
    assert calls == []
    assert not (head_root / "rendered" / "mgmt").exists()
    assert (head_root / "rendered" / "dev" / "loki.yaml").read_text() == "rendered from a\n"
