"""Platform components alert: Argo CD, Envoy Gateway, Loki, the OpenTelemetry collector, External
Secrets, CloudNativePG and Redis. `promtool test rules` runs the compiled alert file of each
cluster target with each alert's two probes: just over its threshold for long enough (fires), and
just under it or too short (never fires at any evaluation). Every alert has a runbook.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.inventory.model import Target, build_target
from mnops.observability.contract import metric_names
from mnops.observability.platform_alerts import GROUP, PLATFORM_ALERTS, PlatformAlert, Probe, platform_alerts
from mnops.observability.runbooks import runbook_pages

COMPILED = ROOT / "compiled"
ALERTS_FILE = "mnops-alerts.yaml"


def cluster_targets() -> list[Target]:
    params = real_parameters()
    return [build_target(params[name]) for name in sorted(params) if (COMPILED / name / "rules" / ALERTS_FILE).exists()]


TARGETS = cluster_targets()


def distinct_rule_sets() -> list[Target]:
    """One target per distinct pair of compiled platform rules and probes (clusters of one shape
    compile the same). Annotations are left out of the comparison: they name the cluster, and
    neither whether an alert fires nor the ALERTS series the probes count depends on them."""
    seen: dict[str, Target] = {}
    for target in TARGETS:
        firing_parts = [
            {**group, "rules": [{k: v for k, v in rule.items() if k != "annotations"} for rule in group["rules"]]}
            for group in platform_groups_of(target)
        ]
        alerts = platform_alerts(target)
        probes = [case(target, a, a.fires, True) for a in alerts] + [case(target, a, a.quiet, False) for a in alerts]
        seen.setdefault(json.dumps([firing_parts, probes], sort_keys=True), target)
    return list(seen.values())


def firing(alert: str) -> str:
    return f'count(ALERTS{{alertname="{alert}",alertstate="firing"}}) or vector(0)'


def ever_fired(alert: str, minutes: int) -> str:
    return f'count(max_over_time(ALERTS{{alertname="{alert}",alertstate="firing"}}[{minutes}m])) or vector(0)'


def case(target: Target, alert: PlatformAlert, probe: Probe, fires: bool) -> dict[str, Any]:
    minutes = probe.minute
    query = firing(alert.name) if fires else ever_fired(alert.name, minutes)
    return {
        "interval": "1m",
        "input_series": probe.input_series(target),
        "promql_expr_test": [
            {"expr": query, "eval_time": f"{minutes}m", "exp_samples": [{"labels": "{}", "value": 1 if fires else 0}]}
        ],
    }


def platform_groups_of(target: Target) -> list[dict[str, Any]]:
    """The platform groups of the target's compiled alert file, unchanged (the other groups are
    left out only to keep promtool fast)."""
    content = yaml.safe_load((COMPILED / target.cluster.name / "rules" / ALERTS_FILE).read_text())
    return [g for g in content["groups"] if g["name"].startswith(GROUP)]


def promtool_suite(tmp_path: Path, target: Target, cases: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": platform_groups_of(target)}, sort_keys=False))
    (tmp_path / "tests.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": cases}, sort_keys=False)
    )
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "promtool=prometheus"], check=True)
    return subprocess.run(["promtool", "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False)


@pytest.mark.servers  # real promtool
@pytest.mark.parametrize("target", distinct_rule_sets(), ids=lambda t: t.cluster.name)
def test_each_platform_alert_fires_over_its_threshold_and_never_under_it(tmp_path: Path, target: Target) -> None:
    alerts = platform_alerts(target)
    assert alerts, "every cluster runs some platform component"
    cases = [case(target, a, a.fires, True) for a in alerts] + [case(target, a, a.quiet, False) for a in alerts]
    result = promtool_suite(tmp_path, target, cases)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.servers  # real promtool
def test_the_probes_can_fail(tmp_path: Path) -> None:
    """Swap the probes: the firing series must now fail the "never fires" check and vice versa."""
    target = TARGETS[0]
    alerts = platform_alerts(target)
    cases = [case(target, a, a.fires, False) for a in alerts] + [case(target, a, a.quiet, True) for a in alerts]
    result = promtool_suite(tmp_path, target, cases)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert output.count("FAILED") >= 1 and all(a.name in output for a in alerts), output[-3000:]


def compiled_platform_rules(target: Target) -> dict[str, dict[str, Any]]:
    content = yaml.safe_load((COMPILED / target.cluster.name / "rules" / ALERTS_FILE).read_text())
    names = {a.name for a in PLATFORM_ALERTS}
    return {r["alert"]: r for g in content["groups"] for r in g["rules"] if r.get("alert") in names}


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.cluster.name)
def test_a_target_alerts_on_the_components_it_runs(target: Target) -> None:
    compiled = compiled_platform_rules(target)
    assert set(compiled) == {a.name for a in platform_alerts(target)}
    for alert in platform_alerts(target):
        rule = compiled[alert.name]
        assert rule["labels"] == {"severity": alert.spec.severity, "priority": alert.spec.priority, "service": alert.component}
        assert rule["annotations"]["runbook_url"].endswith(f"/docs/runbooks/{alert.name}.md")


def test_a_target_without_redis_gets_no_redis_alerts() -> None:
    params = real_parameters()[TARGETS[0].cluster.name]
    params["redis"]["enabled"] = False
    assert "redis" not in {a.component for a in platform_alerts(build_target(params))}
    params["redis"]["enabled"] = True
    assert "redis" in {a.component for a in platform_alerts(build_target(params))}


def test_every_platform_alert_has_a_committed_runbook() -> None:
    pages = runbook_pages(TARGETS)
    for alert in PLATFORM_ALERTS:
        page = pages[f"{alert.name}.md"]
        assert alert.condition in page and alert.spec.meaning in page
        assert (ROOT / "docs" / "runbooks" / f"{alert.name}.md").read_text() == page, "run `make runbooks`"


def test_platform_alerts_read_only_listed_component_metrics() -> None:
    known = metric_names()
    for target in TARGETS:
        for rule in compiled_platform_rules(target).values():
            names = set(re.findall(r"\b([a-z_:][a-z0-9_:]*)\s*(?=\{|\[)", rule["expr"])) - {
                "by",
                "rate",
                "increase",
                "sum",
                "max",
                "min",
            }
            assert names and names <= known, (rule["alert"], names - known)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.cluster.name)
def test_gateway_proxies_are_scraped_where_the_gateway_alerts_look(target: Target) -> None:
    """The gateway alerts read Envoy's stats: a PodMonitor must select the proxies the Envoy Gateway
    controller creates (inventory network.gateway_proxy) on their `metrics` port."""
    if not any(a.component == "envoy-gateway" for a in platform_alerts(target)):
        return
    proxy = target.parameters["network"]["gateway_proxy"]
    monitors = yaml.safe_load_all((COMPILED / target.cluster.name / "manifests" / "monitoring" / "podmonitor.yaml").read_text())
    found = [
        m
        for m in monitors
        if m["spec"]["namespaceSelector"]["matchNames"] == [proxy["namespace"]]
        and m["spec"]["selector"]["matchLabels"] == proxy["pod_labels"]
    ]
    assert len(found) == 1, "exactly one monitor on the gateway proxies"
    assert found[0]["spec"]["podMetricsEndpoints"] == [{"path": "/stats/prometheus", "port": "metrics"}]
