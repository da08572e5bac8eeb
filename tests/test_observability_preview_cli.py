"""`make monitoring-preview` refuses what it cannot run with one line, never a traceback: an
unknown or misspelt target, a target without alert rules, a `--fail` service the target does not
run, a duration Prometheus would not take, a server binary that is missing, and a server that
stops at start (its own last error line is the message, as its log folder goes with the preview).

Target and service names come from the inventory and compiled/, never from this file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from mnops.observability.preview import ServerFailed, wait_until_ready

SCRIPT = ROOT / "scripts" / "monitoring_preview.py"
TARGETS = sorted(p.stem for p in (ROOT / "inventory" / "targets").glob("*.yml"))
WITH_RULES = sorted(p.parent.name for p in (ROOT / "compiled").glob("*/rules") if p.parent.name in TARGETS)


def preview(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--duration", "1"], capture_output=True, text=True, env=env, check=False, timeout=120
    )


def one_line_refusal(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode != 0, run.stdout
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def a_service_of(target: str) -> str:
    from mnops.inventory import load_target
    from mnops.kapitan_inventory import render_inventory

    return sorted(s.name for s in load_target(target, render_inventory(ROOT / "inventory")[target]).services)[0]


def test_an_unknown_target_is_refused_listing_the_targets_with_rules() -> None:
    line = one_line_refusal(preview("--target", "no-such-cluster"))
    assert "unknown target 'no-such-cluster'" in line and ", ".join(WITH_RULES) in line


def test_a_misspelt_target_gets_a_did_you_mean() -> None:
    real = WITH_RULES[0]
    assert f"did you mean '{real}'?" in one_line_refusal(preview("--target", real[:-1] + "x"))


def test_a_target_without_alert_rules_is_refused_by_name() -> None:
    without = sorted(set(TARGETS) - set(WITH_RULES))
    if not without:
        pytest.skip("every target of this inventory has alert rules")
    assert f"target '{without[0]}' has no compiled/{without[0]}/rules" in one_line_refusal(preview("--target", without[0]))


def test_a_fail_service_the_target_does_not_run_is_refused() -> None:
    target = WITH_RULES[0]
    service = a_service_of(target)
    line = one_line_refusal(preview("--target", target, "--fail", service + "x"))
    assert f"--fail: unknown service '{service}x' (did you mean '{service}'?)" in line


@pytest.mark.parametrize(("option", "value"), [("--for-override", "soon"), ("--interval", "0s"), ("--interval", "5")])
def test_a_duration_prometheus_would_not_take_is_refused_before_anything_starts(option: str, value: str) -> None:
    line = one_line_refusal(preview("--target", WITH_RULES[0], option, value))
    assert line.startswith(f"monitoring-preview: {option}: ") and value in line


def test_a_missing_server_binary_names_the_packages_to_install(tmp_path: Path) -> None:
    line = one_line_refusal(preview("--target", WITH_RULES[0], path=str(tmp_path)))  # a PATH without the servers
    assert "not found: install Debian's prometheus and prometheus-alertmanager" in line


def test_a_server_that_stops_at_start_reports_its_own_last_error_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["sh", "-c", "echo 'level=info msg=starting'; echo 'level=error msg=\"bad config\"'; echo bye; exit 3"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        with pytest.raises(ServerFailed, match=r'^sh exited with 3 before it was ready: level=error msg="bad config"$'):
            wait_until_ready("http://127.0.0.1:9/-/ready", process, log=log)
