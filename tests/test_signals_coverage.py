"""`make coverage`: reads a compiled tree, reports each check per target and service, fails below 100%."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, script_module

from mnops.observability.coverage import CHECKS, RED_RULES, SLO_ALERTS, STANDARD_ALERTS, Expected, coverage, replace_section
from mnops.observability.logs import LogTarget, alloy_values

APPS = "apps"
RUNBOOKS = "https://example.invalid/repo/blob/main/docs/runbooks"


def write(path: Path, docs: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(docs))
    else:
        path.write_text(yaml.safe_dump_all(docs) if isinstance(docs, list) else yaml.safe_dump(docs))


def alert(name: str, service: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": "vector(1)",
        "labels": {"service": service},
        "annotations": {"runbook_url": f"{RUNBOOKS}/{name}.md"},
    }


def complete_tree(root: Path, expected: Mapping[str, tuple[Expected, ...]]) -> Path:
    """A minimal compiled tree (plus docs/runbooks) in which every check passes."""
    compiled = root / "compiled"
    alert_names = {*STANDARD_ALERTS, *SLO_ALERTS, "LowCacheHitRate", "ServiceErrorLogRateHigh"}
    for name in alert_names:
        write(root / "docs/runbooks" / f"{name}.md", {"title": name})
    for target, services in expected.items():
        t = compiled / target
        monitors, alerts, loki_rules, dashboards = [], [], [], []
        for exp in services:
            s, labels = exp.service, {"app.kubernetes.io/name": exp.service}
            write(
                t / "manifests" / s / "service.yaml",
                {"kind": "Service", "metadata": {"name": s, "namespace": APPS, "labels": labels}},
            )
            pod = {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": s, "envFrom": [{"configMapRef": {"name": f"{s}-config"}}]}]},
            }
            write(
                t / "manifests" / s / "deployment.yaml",
                {"kind": "Deployment", "metadata": {"name": s, "namespace": APPS}, "spec": {"template": pod}},
            )
            otel = {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
                "OTEL_SERVICE_NAME": s,
                "OTEL_TRACES_SAMPLER": "x",
                "OTEL_TRACES_SAMPLER_ARG": "1",
            }
            write(
                t / "manifests" / s / "configmap.yaml", {"kind": "ConfigMap", "metadata": {"name": f"{s}-config"}, "data": otel}
            )
            spec = {"selector": {"matchLabels": labels}, "namespaceSelector": {"matchNames": [APPS]}}
            monitors.append({"kind": "ServiceMonitor", "metadata": {"name": s, "namespace": "monitoring"}, "spec": spec})
            alerts += [alert(name, s) for name in (*STANDARD_ALERTS, *SLO_ALERTS)]
            alerts += [alert("LowCacheHitRate", s)] if exp.uses_cache else []
            loki_rules.append(alert("ServiceErrorLogRateHigh", s))
            write(t / "dashboards" / f"mnops-svc-{s}.json", {"uid": f"mnops-svc-{s}"})
            dashboards.append(
                {
                    "kind": "ConfigMap",
                    "metadata": {"name": f"d-{s}", "labels": {"grafana_dashboard": "1"}},
                    "data": {f"mnops-svc-{s}.json": "{}"},
                }
            )
        write(t / "manifests/monitoring/servicemonitor.yaml", monitors)
        write(t / "manifests/dashboards/configmap.yaml", dashboards)
        write(
            t / "rules/recording.yaml",
            {"groups": [{"name": "red", "rules": [{"record": r, "expr": "sum by (service) (x)"} for r in RED_RULES]}]},
        )
        write(t / "rules/alerts.yaml", {"groups": [{"name": "alerts", "rules": alerts}]})
        ruler = yaml.safe_dump({"groups": [{"name": "logs", "rules": loki_rules}]})
        write(t / "helm-values/loki.yaml", {"ruler": {"directories": {"fake": {"rules.yaml": ruler}}}})
        where = LogTarget(target, target, "r", "logging", "gp3", {}, APPS, tuple(e.service for e in services), "")
        write(t / "helm-values/alloy.yaml", alloy_values(where))
        write(t / "helm-values/opentelemetry-collector.yaml", {"mode": "deployment"})
        write(t / "helm-values/jaeger.yaml", {"jaeger": {}})
    return compiled


EXPECTED = {"t1": (Expected("api", uses_cache=True), Expected("worker", uses_cache=False))}


def test_complete_tree_reports_one_hundred_percent(tmp_path: Path) -> None:
    compiled = complete_tree(tmp_path, EXPECTED)
    report = coverage(compiled, tmp_path, EXPECTED)
    assert report.percent == 100.0, report.markdown()
    assert len(report.rows) == 2 and all(len(cells) == len(CHECKS) for _, _, cells in report.rows)


BREAKS = {
    "scrape": lambda t: (t / "manifests/monitoring/servicemonitor.yaml").unlink(),
    "red": lambda t: (t / "rules/recording.yaml").unlink(),
    "alerts": lambda t: (t / "rules/alerts.yaml").write_text(
        (t / "rules/alerts.yaml").read_text().replace("alert: HighCPUUsage", "alert: Other")
    ),
    "slo": lambda t: (t / "rules/alerts.yaml").write_text(
        (t / "rules/alerts.yaml").read_text().replace("alert: SLOErrorBudgetBurnSlow", "alert: X")
    ),
    "dashboard": lambda t: (t / "manifests/dashboards/configmap.yaml").unlink(),
    "logs": lambda t: (t / "helm-values/alloy.yaml").unlink(),
    "traces": lambda t: (t / "manifests/api/configmap.yaml").write_text(
        (t / "manifests/api/configmap.yaml").read_text().replace("OTEL_TRACES_SAMPLER_ARG", "OTHER")
    ),
    "runbooks": lambda t: (t.parent.parent / "docs/runbooks/ServiceDown.md").unlink(),
}


@pytest.mark.parametrize("check", CHECKS)
def test_a_missing_piece_fails_exactly_its_check(tmp_path: Path, check: str) -> None:
    compiled = complete_tree(tmp_path, EXPECTED)
    BREAKS[check](compiled / "t1")
    report = coverage(compiled, tmp_path, EXPECTED)
    api_cells = dict(zip(CHECKS, report.rows[0][2], strict=True))
    assert not api_cells[check].ok and api_cells[check].why
    assert all(cell.ok for name, cell in api_cells.items() if name != check), report.markdown()
    assert report.percent < 100


def test_cache_alert_is_required_only_from_services_that_use_a_cache(tmp_path: Path) -> None:
    compiled = complete_tree(tmp_path, EXPECTED)
    rules = compiled / "t1/rules/alerts.yaml"
    rules.write_text(rules.read_text().replace("alert: LowCacheHitRate", "alert: Renamed"))
    cells = {service: dict(zip(CHECKS, c, strict=True)) for _, service, c in coverage(compiled, tmp_path, EXPECTED).rows}
    assert not cells["api"]["alerts"].ok and "LowCacheHitRate" in cells["api"]["alerts"].why
    assert cells["worker"]["alerts"].ok


def test_the_docs_section_is_replaced_not_duplicated() -> None:
    doc = "# Observability\n\n## Coverage\n\nold table\n\n## Alerts and routing\n\nkept\n"
    once = replace_section(doc, "new table\n")
    assert replace_section(once, "new table\n") == once
    assert "old table" not in once and "kept" in once and once.count("## Coverage") == 1
    assert "Generated by `make coverage`" in once


def run_cli(compiled: Path, repo_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/coverage.py"), "--compiled", str(compiled), "--repo-root", str(repo_root)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_make_coverage_exits_zero_at_100_and_one_below(tmp_path: Path) -> None:
    script = script_module("coverage")  # by path (as mnops_script_coverage): `coverage` is coverage.py on PyPI
    expected = script.expectations(ROOT / "inventory")
    compiled = complete_tree(tmp_path, expected)
    ok = run_cli(compiled, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Coverage: **100.0%**" in ok.stdout
    (compiled / "prod/helm-values/jaeger.yaml").unlink()
    failing = run_cli(compiled, tmp_path)
    assert failing.returncode == 1
    assert "below 100%" in failing.stderr and "memory-service / traces (prod)" in failing.stdout
