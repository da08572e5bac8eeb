"""Our Helm values against the locked chart's own: a key the chart does not know stops the compile."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from charts_support import clusters as _clusters
from conftest import ROOT

from mnops.charts.compile_check import chart_mirror, chart_values_problems, helm_binary
from mnops.charts.fetch import fetch
from mnops.charts.lock import LOCK_FILE, read_lock
from mnops.charts.values_check import chart_values, unknown_keys
from mnops.gitops.plan import delivery_plan

pytestmark = pytest.mark.skipif(chart_mirror(ROOT) is None and not (ROOT / ".cache" / "charts").exists(),
                                reason="no CHART_MIRROR and no chart cache")  # fmt: skip


def _chart_tree(key: str) -> dict:
    package = fetch(read_lock(ROOT / LOCK_FILE)[key], ROOT / ".cache" / "charts", chart_mirror(ROOT), helm_binary(ROOT))
    return chart_values(package, ROOT / ".cache" / "chart-values")


def test_every_committed_values_file_fits_its_chart() -> None:
    assert chart_values_problems(ROOT / "compiled", _clusters(), ROOT) == []


def _first_enabled(key_wanted: str | None = None) -> tuple[str, str]:
    for target, parameters in sorted(_clusters().items()):
        for chart in delivery_plan(parameters).enabled_charts:
            if key_wanted in (None, chart.key):
                return target, chart.key
    pytest.skip(f"no cluster enables {key_wanted}")


def test_a_misspelt_top_level_key_is_reported_with_the_closest_known_key() -> None:
    target, key = _first_enabled()
    values = yaml.safe_load((ROOT / "compiled" / target / "helm-values" / f"{key}.yaml").read_text()) or {}
    known = sorted(k for k in values if isinstance(values[k], dict) and k != "global")
    assert known, f"{key} values have no nested key to misspell"
    misspelt = known[0][:-1] + known[0][-1] * 2  # e.g. 'server' -> 'serverr'
    values[misspelt] = values.pop(known[0])
    found = unknown_keys(values, _chart_tree(key))
    assert [u.path for u in found] == [(misspelt,)]
    assert found[0].suggestion == known[0]


def test_an_unknown_key_below_a_chart_section_is_reported_with_its_path() -> None:
    target, _ = _first_enabled("loki")
    values = yaml.safe_load((ROOT / "compiled" / target / "helm-values" / "loki.yaml").read_text())
    values["write"]["persistence"]["enabled"] = True  # the write target only knows volumeClaimsEnabled
    found = unknown_keys(values, _chart_tree("loki"))
    assert [".".join(u.path) for u in found] == ["write.persistence.enabled"]


def test_maps_the_chart_passes_through_whole_accept_any_key() -> None:
    _, key = _first_enabled("kube-prometheus-stack")
    chart = _chart_tree(key)
    values = {
        "prometheus": {"prometheusSpec": {"podMetadata": {"annotations": {"anything.example/at-all": "x"}}}},
        "alertmanager": {"podDisruptionBudget": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}},
        "grafana": {"podAnnotations": {"free-form": "yes"}},
    }
    assert unknown_keys(values, chart) == []
    values["grafana"]["replicass"] = 2  # a subchart's own keys are still checked
    assert [u.render() for u in unknown_keys(values, chart)] == [
        "grafana.replicass: unknown key for this chart (did you mean 'replicas'?)"
    ]


def test_compile_check_names_the_values_file_the_key_and_every_cluster(tmp_path: Path) -> None:
    clusters = _clusters()
    tree = tmp_path / "compiled"
    for target in clusters:
        shutil.copytree(ROOT / "compiled" / target / "helm-values", tree / target / "helm-values")
    _, key = _first_enabled()
    enabling = sorted(t for t, p in clusters.items() if key in {c.key for c in delivery_plan(p).enabled_charts})
    for target in enabling:
        path = tree / target / "helm-values" / f"{key}.yaml"
        values = yaml.safe_load(path.read_text()) or {}
        values["notAChartKey"] = 1
        path.write_text(yaml.safe_dump(values))
    problems = chart_values_problems(tree, clusters, ROOT)
    clusters_text = ", ".join(repr(t) for t in enabling)
    assert len(problems) == 1
    assert problems[0].startswith(f"compiled/<cluster>/helm-values/{key}.yaml: notAChartKey: unknown key for chart ")
    assert problems[0].endswith(f"(clusters {clusters_text})")
