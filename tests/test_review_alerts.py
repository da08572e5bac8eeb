"""Alert behaviour section (lib/mnops/review/alert_behaviour.py): real promtool runs of both sides'
rules against the same synthetic series; a moved threshold shows up as alerts that stop firing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, real_parameters
from review_support import env_class, kept_clusters

from mnops.inventory.model import build_target
from mnops.observability.rule_tests import SUITES, rules_reaching
from mnops.review import alert_behaviour
from mnops.review.registry import SECTIONS

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing: run make test-tools")


def cluster_and_service() -> tuple[str, str, float]:
    cluster = kept_clusters()[0]
    service = sorted(real_parameters()[cluster]["services"])[0]
    threshold = build_target(real_parameters()[cluster]).service(service).alerts.error_rate_percent
    return cluster, service, float(threshold)


def test_section_is_registered():
    assert alert_behaviour.build in SECTIONS


def test_promtool_loads_only_the_probed_alerts_and_the_recordings_they_read():
    recordings = [
        {"record": "a:rate5m", "expr": "rate(a_total[5m])"},
        {"record": "b:rate5m", "expr": "rate(b_total[5m])"},
        {"record": "a:ratio", "expr": "a:rate5m / 2"},  # read through another recording
    ]
    alerts = [{"alert": "A", "expr": "a:ratio > 1", "labels": {"service": "x"}},
              {"alert": "B", "expr": "b:rate5m > 1"},
              {"alert": "A", "expr": "absent(a_total)", "labels": {"service": "y"}}]  # fmt: skip
    files = {
        "recording": {"groups": [{"name": "rec", "rules": recordings}]},
        "alerts": {"groups": [{"name": "al", "rules": alerts}]},
    }
    assert rules_reaching(files, {"A"}) == {
        "recording": {"groups": [{"name": "rec", "rules": [recordings[0], recordings[2]]}]},
        "alerts": {"groups": [{"name": "al", "rules": [alerts[0], alerts[2]]}]},
    }
    assert rules_reaching(files, {"B"})["recording"]["groups"][0]["rules"] == [recordings[1]]
    assert rules_reaching(files, {"C"}) == {}
    # What an expression test reads counts like an alert: a:ratio needs a:rate5m.
    expression_test = rules_reaching(files, set(), {"a:ratio"})
    assert expression_test == {"recording": {"groups": [{"name": "rec", "rules": [recordings[0], recordings[2]]}]}}
    # A rule promtool may not even load, or one reading the ALERTS series, keeps every rule.
    for expr in ("sum(rate(b_total[5m])", 'ALERTS{alertname="B"}'):
        changed = {**files, "alerts": {"groups": [{"name": "al", "rules": [*alerts, {"alert": "D", "expr": expr}]}]}}
        assert rules_reaching(changed, {"A"}) == changed


@dataclass(frozen=True)
class Sweep:
    """One service's probes swept on the committed rules, as make diff sweeps them (trimmed rule files)."""

    probes: list[alert_behaviour.Probe]
    rules: Path
    evaluation: str
    outcomes: dict[str, alert_behaviour.Outcome]
    work: Path  # the suites and trimmed rule files run_side wrote


@pytest.fixture(scope="module")
def service_sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    """One promtool run for the two tests below (the paging and alerts suites of this run are the
    trimmed side of the trimmed-against-whole comparison: each suite file is built from its own probes only)."""
    cluster, service, _threshold = cluster_and_service()
    # One service's cases (every alert kind, both sides of each threshold) keep this to seconds.
    probes = [p for p in alert_behaviour.pooled_cases(real_parameters()[cluster]) if p.name.startswith(f"{service} ")]
    rules = ROOT / "compiled" / cluster / "rules"
    evaluation = real_parameters()[cluster]["monitoring"]["evaluation_interval"]
    work = tmp_path_factory.mktemp("sweep")
    return Sweep(probes, rules, evaluation, alert_behaviour.run_side(rules, probes, work, evaluation), work)


@pytest.mark.servers  # real promtool
def test_the_sweep_agrees_with_what_each_generated_case_expects(service_sweep: Sweep):
    """On unchanged rules, an alert fires at a case's check time exactly when the case expects it."""
    probes, outcomes = service_sweep.probes, service_sweep.outcomes
    assert len({p.alert for p in probes}) >= 5
    # Expected at the last check of each probe (a probe may check its alert at several times).
    expected = {
        p.name: bool(max(p.case["alert_rule_test"], key=lambda c: alert_behaviour.seconds(c["eval_time"]))["exp_alerts"])
        for p in probes
    }
    assert {name: o.firing_at_check for name, o in outcomes.items()} == expected
    assert all(o.first_firing is None or o.first_firing <= o.check_seconds for o in outcomes.values())


@pytest.mark.servers  # real promtool
def test_rules_that_do_not_load_are_reported_not_taken_for_silence(tmp_path: Path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "compiled" / kept_clusters()[0] / "rules", rules)
    broken = next(iter(sorted(rules.glob("*.yaml"))))
    broken.write_text(broken.read_text().replace("expr: ", "expr: sum(", 1))
    cases = alert_behaviour.pooled_cases(real_parameters()[kept_clusters()[0]])
    with pytest.raises(alert_behaviour.PromtoolFailed):
        alert_behaviour.run_side(rules, cases, tmp_path / "work")


@pytest.mark.servers  # real promtool
def test_a_raised_error_rate_threshold_lists_the_alerts_that_stop_firing(review_sides):
    cluster, service, threshold = cluster_and_service()
    edit = {
        "file": env_class(real_parameters(), cluster),
        "set": {f"parameters.services.{service}.alerts.error_rate_percent": threshold + 1},
    }
    review = review_sides([edit], keep=(cluster,))
    section = alert_behaviour.build(review)
    assert section is not None
    changes = alert_behaviour.behaviour_changes(review, cluster)
    assert changes, section.text
    assert {(c.before.alert, c.kind) for c in changes} == {("HighErrorRate", "stops firing")}
    assert all(c.case.startswith(f"{service} HighErrorRate ") for c in changes), "other services behave as before"
    # The head's own just-over case (above the new threshold) fires on both sides: not a change.
    assert f"| {cluster} | {changes[0].case} | HighErrorRate | fires after" in section.markdown
    assert "| silent | **stops firing** |" in section.markdown


def test_no_change_gives_no_section(review_sides):
    assert alert_behaviour.build(review_sides([])) is None


@pytest.mark.servers  # about 10 s of promtool: make test, not test-fast
def test_probing_only_the_probed_alerts_gives_what_the_whole_rule_files_give(service_sweep: Sweep, tmp_path: Path, monkeypatch):
    """probed_rules leaves out every alert no probe checks and the rules of every other service: the
    outcomes must not move."""
    probes = [p for p in service_sweep.probes if p.suite in ("paging", "alerts")]
    rules, evaluation = service_sweep.rules, service_sweep.evaluation
    trimmed = {p.name: service_sweep.outcomes[p.name] for p in probes}
    kept = alert_behaviour._rules(service_sweep.work / "paging")
    assert {r["alert"] for r in kept if "alert" in r} == {p.alert for p in probes if p.suite == "paging"}
    assert len(kept) < len(alert_behaviour._rules(rules))
    monkeypatch.setattr(alert_behaviour, "probed_rules", lambda files, *_rest: [(f, alert_behaviour._groups(f)) for f in files])
    whole = alert_behaviour.run_side(rules, probes, tmp_path / "whole", evaluation)
    assert trimmed == whole
    assert any(o.first_firing is not None for o in whole.values()) and any(o.first_firing is None for o in whole.values())


def removal_edits(service: str) -> list[dict[str, Any]]:
    """The README's removal recipe as edits: its line in services/init.yml and every other key naming it
    (image pins, per-service settings), or the mapping holding it when that is its only key."""
    edits: list[dict[str, Any]] = [{"file": "classes/services/init.yml", "replace_text": {f"  - services.{service}\n": ""}}]

    def walk(node: Any, path: list[str]) -> list[str]:
        if not isinstance(node, dict) or path[-2:] == ["parameters", "services"]:
            return []
        found = [".".join(path if len(node) == 1 else [*path, key]) for key in node if key == service]
        return found + [hit for key, value in node.items() if key != service for hit in walk(value, [*path, str(key)])]

    for path in sorted((ROOT / "inventory" / "classes").rglob("*.yml")):
        document = yaml.safe_load(path.read_text())
        deletes = walk(document, []) if path.stem != service else []
        if deletes:
            edits.append({"file": str(path.relative_to(ROOT / "inventory")), "delete": deletes})
    return edits


def test_removing_a_service_reports_its_alerts_as_removed_without_sweeping_them(review_sides, monkeypatch):
    """A removal changes only the removed service's rules (and recordings no other alert reads):
    its alerts exist on one side only, so they are listed, and promtool sweeps nothing."""
    cluster = kept_clusters()[0]
    services = real_parameters()[cluster]["services"]
    needed = {d for s in services.values() for d in (s.get("dependencies") or {}).get("services") or []}
    service = sorted(set(services) - needed)[-1]
    review = review_sides(removal_edits(service), keep=(cluster,))
    swept: list[int] = []
    real_run_side = alert_behaviour.run_side
    monkeypatch.setattr(
        alert_behaviour, "run_side", lambda rules, probes, *rest: swept.append(len(probes)) or real_run_side(rules, probes, *rest)
    )
    comparison = alert_behaviour.compare(review, cluster)
    assert comparison.removed and {s for _alert, s in comparison.removed} == {service}
    assert not comparison.added
    assert (comparison.probed, comparison.evaluations, swept) == (0, 0, [])
    section = alert_behaviour.build(review)
    assert section is not None
    assert f"{cluster}: {len(comparison.removed)} alert rule(s) removed (one side only, not probed): {service}: " in section.text
    assert swept == []


def test_probes_beyond_the_evaluation_budget_are_cut_and_said(review_sides, monkeypatch):
    cluster, service, threshold = cluster_and_service()
    edit = {
        "file": env_class(real_parameters(), cluster),
        "set": {f"parameters.services.{service}.alerts.error_rate_percent": threshold + 1},
    }
    review = review_sides([edit], keep=(cluster,))
    whole = alert_behaviour.compare(review, cluster)
    assert whole.probed >= 2 and whole.cut == 0
    monkeypatch.setattr(alert_behaviour, "MAX_EVALUATIONS", whole.evaluations - 1)
    section = alert_behaviour.build(review)
    assert section is not None
    assert f"{cluster}: cut: " in section.text
    cut = int(section.text.split(f"{cluster}: cut: ", 1)[1].split()[0])
    assert 1 <= cut < whole.probed


@pytest.mark.servers  # real promtool
def test_kept_verdicts_are_read_only_for_the_same_rules_and_suites(tmp_path: Path, monkeypatch):
    """make diff keeps each side's verdicts by content: the same sweep again runs no promtool, a
    changed rule file does."""
    cluster, service, _threshold = cluster_and_service()
    evaluation = real_parameters()[cluster]["monitoring"]["evaluation_interval"]
    ours = [p for p in alert_behaviour.pooled_cases(real_parameters()[cluster]) if p.name.startswith(f"{service} ")]
    probes = [min(ours, key=lambda p: alert_behaviour.evaluations(p, evaluation))]  # the shortest sweep will do
    rules, cache = tmp_path / "rules", tmp_path / "cache"
    shutil.copytree(ROOT / "compiled" / cluster / "rules", rules)
    first = alert_behaviour.run_side(rules, probes, tmp_path / "first", evaluation, cache)
    assert len(list(cache.glob("*.json"))) == 1
    real_run = alert_behaviour.subprocess.run

    def no_sweep(command: list[str], *args: Any, **kwargs: Any) -> Any:
        assert command[1:2] not in (["test"], ["check"]), "promtool ran though the verdicts were kept"
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(alert_behaviour.subprocess, "run", no_sweep)
    assert alert_behaviour.run_side(rules, probes, tmp_path / "again", evaluation, cache) == first
    read = rules / f"{SUITES[probes[0].suite][0]}.yaml"  # a rule file the probe's suite loads
    read.write_text(read.read_text() + "\n")  # other bytes, the same rules: no longer the kept key
    with pytest.raises(AssertionError, match="promtool ran"):
        alert_behaviour.run_side(rules, probes, tmp_path / "edited", evaluation, cache)
