"""Paging alerts meet the response target by construction: the promtool-evaluated firing time of
a value just over the threshold, plus what production adds afterwards (one scrape interval, one
evaluation interval, the route's group_wait), stays within `monitoring.response_target`.

The cases themselves live in the generated `paging` suite (tests/test_observability_rules.py
runs it for every distinct threshold set); this module shows the budget is really enforced."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from observability_support import ensure_tools, run, target
from test_observability_rules import write_suite

from mnops import units
from mnops.observability.rule_tests import detection_budget_seconds
from mnops.observability.settings import monitoring_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", autouse=True)
def tools() -> None:
    ensure_tools()


def test_detection_budget_is_the_response_target_minus_what_follows_the_rule() -> None:
    m = monitoring_settings(target("prod").parameters)
    after = sum(
        units.duration_seconds(d) for d in (m.scrape_interval, m.evaluation_interval, m.alertmanager.timings["P0"].group_wait)
    )
    assert detection_budget_seconds(m, "P0") == units.duration_seconds(m.response_target) - after
    assert detection_budget_seconds(m, "P1") < units.duration_seconds(m.response_target)


def test_paging_suite_fails_when_the_response_target_is_shorter_than_window_plus_for(tmp_path: Path) -> None:
    """With a 2-minute target the budget ends before the 1m window and 2m `for` have passed:
    the same "just over" cases that pass with 5 minutes must fail against the compiled rules."""
    t = target("prod")
    params = {**t.parameters, "monitoring": {**t.parameters["monitoring"], "response_target": "2m"}}
    hurried = dataclasses.replace(t, parameters=params)
    path = write_suite(tmp_path, hurried, "paging")
    suite = yaml.safe_load(path.read_text())
    suite["tests"] = [case for case in suite["tests"] if case["name"].endswith(("HighErrorRate just over", "ServiceDown down"))]
    assert len(suite["tests"]) == 2
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    result = run(["promtool", "test", "rules", str(path)])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "HighErrorRate just over" in output and "ServiceDown down" in output
