"""Alert behaviour: which alerts would start or stop firing, and how fast they detect, after a change.

For every cluster whose compiled rule files changed, the generated promtool cases of both sides
(observability.rule_tests: healthy, just under and just over every threshold, burn rates) are
pooled, so each side meets the same synthetic series. Each case's alert is checked at every
evaluation up to the case's own check time by real `promtool test rules` (one run per side per
cluster, expecting silence, so every firing evaluation is reported); the first firing evaluation
is the detection time. A moved threshold thus shows up as the cases that change verdict.
Only cases that probe an alert rule which differs between the sides run (all of them when a
recording rule changed, since any alert may read it): that keeps a one-threshold change to seconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mnops.inventory.model import build_target
from mnops.observability.rule_tests import SUITES, Case, SuiteBuilder, _suite_of
from mnops.review import ReviewInput, Section
from mnops.review.compiled import changed_clusters

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# promtool's report of an evaluation that did not match: the case's name, then alert and time.
_FAILURE = re.compile(r"name: (?P<case>.*?),\s*\n\s*alertname: (?P<alert>[^,]+), time: (?P<time>[0-9a-z]+),")


class PromtoolFailed(RuntimeError):
    """promtool could not run the suite (rule files that do not load, for example)."""


def seconds(duration: str) -> int:
    """A Prometheus duration ('6h40m', '13m') in whole seconds."""
    return int(sum(int(n) * _SECONDS[unit] for n, unit in _DURATION.findall(duration)))


def _show(total: int) -> str:
    hours, rest = divmod(total, 3600)
    return (f"{hours}h" if hours else "") + (f"{rest // 60}m" if rest or not hours else "")


def rules_changed(review: ReviewInput, cluster: str) -> bool:
    def files(root: Path) -> dict[str, bytes]:
        folder = root / "compiled" / cluster / "rules"
        return {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}

    return files(review.base_root) != files(review.head_root)


def _rules(folder: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            found.extend(group.get("rules") or [])
    return found


def changed_alerts(base_rules: Path, head_rules: Path) -> set[tuple[str, str]] | None:
    """(alert, service) of every alert rule that differs; None when a recording rule changed (any alert may move)."""

    def index(rules: list[dict[str, Any]], key: str) -> dict[tuple[str, str, str], str]:
        return {
            (
                str(r[key]),
                str((r.get("labels") or {}).get("service", "")),
                str((r.get("labels") or {}).get("slo", "")),
            ): yaml.safe_dump(r)
            for r in rules
            if key in r
        }

    base, head = _rules(base_rules), _rules(head_rules)
    if index(base, "record") != index(head, "record"):
        return None
    before, after = index(base, "alert"), index(head, "alert")
    return {(key[0], key[1]) for key in set(before) | set(after) if before.get(key) != after.get(key)}


def relevant(case: Case, changed: set[tuple[str, str]] | None) -> bool:
    """Whether a case probes a changed alert (case names start with the service they probe)."""
    if changed is None:
        return True
    alert = case["alert_rule_test"][0]["alertname"]
    return any(alert == name and (not service or case["name"].startswith(f"{service} ")) for name, service in changed)


def pooled_cases(*sides: Mapping[str, Any]) -> list[Case]:
    """The cases both sides' thresholds generate, each once (names carry the numbers they probe)."""
    pooled: dict[str, Case] = {}
    for parameters in sides:
        if parameters:
            for case in SuiteBuilder(build_target(parameters)).cases():
                pooled.setdefault(case["name"], case)
    return [pooled[name] for name in sorted(pooled)]


def _sweep(case: Case, interval: str) -> Case:
    """The case with its check replaced by 'expect silence' at every evaluation up to its check time."""
    check = case["alert_rule_test"][0]
    step, end = seconds(interval), seconds(check["eval_time"])
    times = range(step, end + step, step)
    tests = [{"eval_time": f"{t}s", "alertname": check["alertname"], "exp_alerts": []} for t in times]
    return {**case, "alert_rule_test": tests}


@dataclass(frozen=True)
class Outcome:
    """What one alert did in one case: the first evaluation it fired at, and whether it fires at the check."""

    alert: str
    check_seconds: int
    first_firing: int | None
    firing_at_check: bool

    def describe(self) -> str:
        if self.first_firing is None:
            return "silent"
        return f"fires after {_show(self.first_firing)}" + (
            "" if self.firing_at_check else f", resolved by {_show(self.check_seconds)}"
        )


def run_side(rules_dir: Path, cases: list[Case], work: Path) -> dict[str, Outcome]:
    """One `promtool test rules` run over all cases against one side's rule files."""
    work.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    for suite, (stems, interval) in sorted(SUITES.items()):
        tests = [_sweep(case, interval) for case in cases if _suite_of(case) == suite]
        if not tests:
            continue
        rule_files = [(rules_dir / f"{stem}.yaml").resolve() for stem in stems if (rules_dir / f"{stem}.yaml").exists()]
        suite_file = {
            "rule_files": [str(f) for f in rule_files],
            "evaluation_interval": interval,
            # Recording groups before the alerts that read them, always: promtool's default order is
            # random, which moves a detection time by one evaluation from run to run.
            "group_eval_order": [
                g["name"] for f in rule_files for g in (yaml.safe_load(f.read_text()) or {}).get("groups") or []
            ],
            "tests": tests,
        }
        path = work / f"{suite}.yaml"
        path.write_text(yaml.safe_dump(suite_file, sort_keys=False))
        files.append(str(path))
    promtool = shutil.which("promtool")
    if promtool is None:
        raise PromtoolFailed("promtool is not installed (make test-tools installs it)")
    result = subprocess.run([promtool, "test", "rules", *files], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    firing: dict[tuple[str, str], set[int]] = {}
    for match in _FAILURE.finditer(output):
        firing.setdefault((match["case"], match["alert"]), set()).add(seconds(match["time"]))
    if result.returncode != 0 and not firing:
        raise PromtoolFailed(output.strip()[-2000:])
    outcomes = {}
    for case in cases:
        check = case["alert_rule_test"][0]
        alert = check["alertname"]
        times, at = firing.get((case["name"], alert), set()), seconds(check["eval_time"])
        outcomes[case["name"]] = Outcome(alert, at, min(times) if times else None, at in times)
    return outcomes


@dataclass(frozen=True)
class Change:
    case: str
    before: Outcome
    after: Outcome

    @property
    def kind(self) -> str:
        if self.before.firing_at_check != self.after.firing_at_check:
            return "starts firing" if self.after.firing_at_check else "stops firing"
        if self.before.first_firing is None or self.after.first_firing is None:
            return "fires briefly" if self.after.first_firing is not None else "no longer fires briefly"
        return "detects sooner" if self.after.first_firing < self.before.first_firing else "detects later"


def behaviour_changes(review: ReviewInput, cluster: str) -> list[Change]:
    base_params = review.base_parameters.get(cluster) or {}
    head_params = review.head_parameters.get(cluster) or {}
    base_rules, head_rules = review.base_root / "compiled" / cluster / "rules", review.head_root / "compiled" / cluster / "rules"
    changed = changed_alerts(base_rules, head_rules)
    cases = [case for case in pooled_cases(base_params, head_params) if relevant(case, changed)]
    if not cases:
        return []
    with tempfile.TemporaryDirectory(prefix="mnops-alerts-") as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        base_job = pool.submit(run_side, base_rules, cases, Path(tmp) / "base")
        head_job = pool.submit(run_side, head_rules, cases, Path(tmp) / "head")
        before, after = base_job.result(), head_job.result()
    return [
        Change(name, before[name], after[name])
        for name in sorted(before)
        if (before[name].first_firing, before[name].firing_at_check) != (after[name].first_firing, after[name].firing_at_check)
    ]


def build(review: ReviewInput) -> Section | None:
    text: list[str] = []
    rows = ["| cluster | case (synthetic series) | alert | before | after | change |", "| --- | --- | --- | --- | --- | --- |"]
    for cluster in changed_clusters(review.base_root, review.head_root):
        if not rules_changed(review, cluster):
            continue
        try:
            changes = behaviour_changes(review, cluster)
        except PromtoolFailed as error:
            text.append(f"{cluster}: promtool could not evaluate the rules: {str(error).splitlines()[-1]}")
            rows.append(f"| {cluster} | promtool could not evaluate the rules | | | | |")
            continue
        if not changes:
            text.append(f"{cluster}: rules changed, no alert fires differently on the generated series")
        for change in changes:
            text.append(f"{cluster}: {change.before.alert} {change.kind} on '{change.case}': "
                        f"{change.before.describe()} -> {change.after.describe()}")  # fmt: skip
            rows.append(f"| {cluster} | {change.case} | {change.before.alert} | {change.before.describe()} | "
                        f"{change.after.describe()} | **{change.kind}** |")  # fmt: skip
    if not text:
        return None
    note = (
        "Each case is checked at every rule evaluation up to its check time by `promtool test rules`; "
        "times are from the start of the series."
    )
    return Section("alerts", "Alert behaviour", "\n".join(text) + "\n", "\n".join([*rows, "", note]) + "\n")
