"""Prometheus rules: promtool accepts every file, the generated unit tests pass on both sides of
every threshold, and every alert carries the labels, annotations and runbook the on-call needs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from observability_support import ROOT, TARGETS, all_rules, ensure_tools, metric_names_in, rule_files, run, target

from mnops.inventory.model import Target
from mnops.observability import contract
from mnops.observability.alerts import CATALOGUE
from mnops.observability.platform_alerts import PLATFORM_CATALOGUE
from mnops.observability.queries import promql_metric_names
from mnops.observability.rule_tests import (
    SUITES,
    focused_rules,
    histogram_quantile,
    latency_cases,
    promtool_suites,
    rules_reaching,
    services_under_test,
    suite_fingerprint,
)

pytestmark = [pytest.mark.slow, pytest.mark.servers]  # real promtool


@pytest.fixture(scope="session", autouse=True)
def tools() -> None:
    ensure_tools()


def write_suite(tmp_path: Path, t: Target, suite: str) -> Path:
    """The suite and the compiled rule files it reads, cut down to the rules it can trigger: the
    services and SLOs it tests (focused_rules), then the alerts its cases check, the recordings
    its expressions read and what those read (rules_reaching). promtool evaluates every loaded
    rule at every step of days of history; the rules left out cannot change an outcome."""
    compiled = ROOT / "compiled" / t.cluster.name / "rules"
    body = promtool_suites(t, str(tmp_path))[suite]
    files = {stem: focused_rules(yaml.safe_load((compiled / f"{stem}.yaml").read_text()), t, suite) for stem in SUITES[suite]}
    alerts = {check["alertname"] for case in body["tests"] for check in case.get("alert_rule_test") or []}
    exprs = [check["expr"] for case in body["tests"] for check in case.get("promql_expr_test") or []]
    kept = rules_reaching(files, alerts, {name for expr in exprs for name in promql_metric_names(expr)})
    for stem, content in kept.items():
        (tmp_path / f"{suite}-{stem}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
    body["rule_files"] = [str(tmp_path / f"{suite}-{stem}.yaml") for stem in SUITES[suite] if stem in kept]
    groups = {g["name"] for content in kept.values() for g in content["groups"]}
    body["group_eval_order"] = [name for name in body["group_eval_order"] if name in groups]
    path = tmp_path / f"{t.cluster.name}-{suite}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def distinct_suites() -> list[tuple[str, str]]:
    """(target, suite) for the first target of each suite fingerprint: staging, prod and prod-dr
    share thresholds and timings, so their suites would run the same cases three times."""
    seen: dict[str, tuple[str, str]] = {}
    for suite in sorted(SUITES):
        for name in TARGETS:
            seen.setdefault(suite_fingerprint(target(name), suite), (name, suite))
    return list(seen.values())


@pytest.mark.parametrize("name", TARGETS)
def test_every_rule_file_passes_promtool_check(name: str) -> None:
    files = rule_files(name)
    assert {f.stem for f in files} == {"mnops-recording", "mnops-slo", "mnops-alerts", "mnops-availability"}
    result = run(["promtool", "check", "rules", *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rejects_a_broken_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "X", "expr": "sum(rate(x[5m])"}]}]}))
    assert run(["promtool", "check", "rules", str(bad)]).returncode != 0


@pytest.mark.parametrize(("name", "suite"), distinct_suites())
def test_generated_promtool_suites_pass(tmp_path: Path, name: str, suite: str) -> None:
    t = target(name)
    path = write_suite(tmp_path, t, suite)
    tests = yaml.safe_load(path.read_text())["tests"]
    assert tests, f"suite {suite} of {name} has no cases"
    result = run(["promtool", "test", "rules", str(path)])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_suite_built_for_another_threshold_fails_against_the_compiled_rules(tmp_path: Path) -> None:
    """The suites really probe the thresholds: expecting the alert at 1 point above dev's error
    threshold must fail against the compiled rules."""
    t = target("dev")
    svc = services_under_test(t, "paging")[0]
    moved = dataclasses.replace(svc, alerts=dataclasses.replace(svc.alerts, error_rate_percent=svc.alerts.error_rate_percent + 1))
    wrong = dataclasses.replace(t, services=tuple(moved if s.name == svc.name else s for s in t.services))
    path = write_suite(tmp_path, wrong, "paging")
    suite = yaml.safe_load(path.read_text())
    suite["tests"] = [case for case in suite["tests"] if case["name"].startswith(f"{svc.name} HighErrorRate just")]
    assert len(suite["tests"]) == 2
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    result = run(["promtool", "test", "rules", str(path)])
    assert result.returncode != 0
    assert f"{svc.name} HighErrorRate just under" in result.stdout + result.stderr


def test_every_alert_of_the_seed_table_exists_for_every_service_in_every_target() -> None:
    for name in TARGETS:
        t = target(name)
        alerts = {(r["alert"], r["labels"]["service"]) for r in all_rules(name) if "alert" in r}
        for svc in t.services:
            wanted = contract.alerts_for_service(svc.dependencies.redis)
            missing = [a for a in wanted if (a, svc.name) not in alerts]
            assert not missing, f"{name}/{svc.name} lacks {missing}"
        assert ("BackupCompleted", "postgresql") in alerts


def alert_problems(rule: dict[str, object]) -> list[str]:
    problems = []
    labels = rule.get("labels", {})
    annotations = rule.get("annotations", {})
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    if labels.get("severity") not in {"critical", "warning", "info"}:
        problems.append("severity")
    if labels.get("priority") not in {"P0", "P1", "P2", "P3"}:
        problems.append("priority")
    if not labels.get("service"):
        problems.append("service")
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            problems.append(key)
    url = str(annotations.get("runbook_url", ""))
    if (
        not url.endswith(f"/docs/runbooks/{rule.get('alert')}.md")
        or not (ROOT / "docs" / "runbooks" / f"{rule.get('alert')}.md").exists()
    ):
        problems.append("runbook")
    return problems


def test_every_alert_has_labels_annotations_and_a_runbook() -> None:
    assert alert_problems({"alert": "Nope", "labels": {"severity": "high"}, "annotations": {}}) == [
        "severity", "priority", "service", "summary", "description", "runbook_url", "runbook"]  # fmt: skip
    for name in TARGETS:
        for rule in all_rules(name):
            if "alert" in rule:
                assert alert_problems(rule) == [], f"{name}: {rule['alert']} ({rule['labels'].get('service')})"


def test_alert_labels_match_the_catalogue() -> None:
    catalogue = {e.name: (e.severity, e.priority) for e in CATALOGUE + PLATFORM_CATALOGUE}
    for rule in all_rules("prod"):
        if "alert" in rule:
            assert (rule["labels"]["severity"], rule["labels"]["priority"]) == catalogue[rule["alert"]]


def test_metric_name_extraction_sees_unknown_names() -> None:
    expr = 'sum by (service) (rate(made_up_total{code=~"5.."}[5m])) / on (pod) group_left up > 1e-05'
    assert metric_names_in(expr) == {"made_up_total", "up"}


def test_rules_read_only_contract_metrics() -> None:
    known = contract.metric_names()
    for name in TARGETS:
        for rule in all_rules(name):
            unknown = metric_names_in(rule["expr"]) - known
            assert not unknown, f"{name}: {rule.get('record') or rule.get('alert')} reads {sorted(unknown)}"
        recorded = {r["record"] for r in all_rules(name) if "record" in r}
        assert recorded <= set(contract.RECORDING_RULES), recorded - set(contract.RECORDING_RULES)
        assert set(contract.RECORDING_RULES) <= recorded, set(contract.RECORDING_RULES) - recorded


def test_prometheus_rule_objects_carry_the_same_groups_as_the_rule_files() -> None:
    for name in TARGETS:
        docs = list(
            yaml.safe_load_all((ROOT / "compiled" / name / "manifests" / "monitoring" / "prometheusrule.yaml").read_text())
        )
        by_name = {d["metadata"]["name"]: d["spec"]["groups"] for d in docs}
        for path in rule_files(name):
            assert by_name[path.stem] == yaml.safe_load(path.read_text())["groups"]


def test_latency_cases_bracket_the_threshold() -> None:
    for threshold in (0.3, 0.5, 1.0, 2.0):
        (below, layout_below), (above, layout_above) = latency_cases(threshold)
        assert below < threshold < above
        for q, layout in ((below, layout_below), (above, layout_above)):
            pairs = [(float("inf") if le == "+Inf" else float(le), float(c)) for le, c in layout]
            assert histogram_quantile(0.99, pairs) == pytest.approx(q)


def test_reliability_suite_fails_when_alerts_end_without_a_stale_marker(tmp_path: Path) -> None:
    """Without stale markers the 5-minute lookback stretches every incident: the expected MTTR
    no longer matches, so the synthetic figures really are checked."""
    path = write_suite(tmp_path, target("prod"), "availability")
    suite = yaml.safe_load(path.read_text())
    for series in suite["tests"][0]["input_series"]:
        series["values"] = series["values"].replace("stale", "_")
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    result = run(["promtool", "test", "rules", str(path)])
    assert result.returncode != 0
    assert "service:mttr_seconds:30d" in result.stdout + result.stderr
