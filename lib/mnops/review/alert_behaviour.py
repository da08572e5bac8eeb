"""Alert behaviour: which alerts would start or stop firing, and how fast they detect, after a change.

For every cluster whose compiled rule files changed, the generated promtool cases of both sides
(observability.rule_tests: healthy, just under and just over every threshold, burn rates) are
pooled, so each side meets the same synthetic series. Each case's alert is checked at every
evaluation up to the case's own check time by real `promtool test rules` (one run per side per
cluster, expecting silence, so every firing evaluation is reported); the first firing evaluation
is the detection time. A moved threshold thus shows up as the cases that change verdict.
Only cases that probe an alert rule which differs between the sides, or reads (through recording
rules) a recording rule that differs, run (changed_alerts), against only the alerts they probe and
the recording rules, less the rules of services no probe is about (probed_rules): that keeps a
one-threshold change to seconds. Alerts that exist
on one side only (a removed or added service's) are listed, not swept: the other side has no rule
to fire. The sweeps of the whole section are capped at MAX_EVALUATIONS rule evaluations per side;
what the cap leaves out is said in a "cut:" line.

make diff keeps each side's verdicts (ReviewInput.sweep_cache) under a digest of everything promtool
reads (the suites, the content of every rule file they and the load check name) and promtool's
version: the base side of every diff against the same base, and a diff run again, sweep nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mnops import yamlio
from mnops.cache_files import write_atomically
from mnops.inventory.model import build_target
from mnops.observability.rule_tests import SUITE_EVALUATION, SUITES, Case, SuiteBuilder
from mnops.review import ReviewInput, Section

TITLE = "Alert behaviour"  # the section's heading; also named when the section finds no change

# Rule evaluations the whole section may sweep per side (a probe costs one per evaluation interval up
# to its check time: a slow-burn SLO probe is ~860, a threshold probe ~80). Beyond it the section says
# what it cut instead of spending minutes of promtool CPU.
MAX_EVALUATIONS = 6000
SWEEP_CACHE_FORMAT = "alert-sweeps-1"  # bump when what a sweep's verdicts depend on or look like changes
SWEEP_CACHE_ENTRIES = 256  # each a few hundred bytes
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
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


def _groups(path: Path) -> list[dict[str, Any]]:
    """A rule file's groups (parsed once per content: make diff has read every rule file already)."""
    docs = yamlio.load_all_bytes(path.read_bytes())
    return list((docs[0] or {}).get("groups") or []) if docs else []


def _rules(folder: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        for group in _groups(path):
            found.extend(group.get("rules") or [])
    return found


def _service(rule: Mapping[str, Any]) -> str:
    return str((rule.get("labels") or {}).get("service", ""))


def _reads(rule: Mapping[str, Any]) -> set[str]:
    """Every name in the rule's expression (metric and recording-rule names among them): an over-approximation."""
    return set(_NAME.findall(str(rule.get("expr", ""))))


def _untouched_by(rule: Mapping[str, Any], service: str) -> bool:
    """Whether a change to one service's recorded series cannot reach this rule: the rule belongs to
    another service and selects its own series by label (as every generated per-service rule does)."""
    own = _service(rule)
    return bool(service) and bool(own) and own != service and f'service="{own}"' in str(rule.get("expr", ""))


def _index(rules: list[dict[str, Any]], key: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(str(r[key]), _service(r), str((r.get("labels") or {}).get("slo", ""))): r for r in rules if key in r}


def changed_alerts(base_rules: Path, head_rules: Path) -> set[tuple[str, str]]:
    """(alert, service) of every alert rule that differs or reads a recording rule that differs.

    A changed recording rule reaches the rules that name it (transitively), except those of another
    service that select their own series: removing one service's recordings then moves no other
    service's alert, where treating any recording change as "every alert may move" probed them all.
    """
    base, head = _rules(base_rules), _rules(head_rules)
    before, after = _index(base, "record"), _index(head, "record")
    moved = {(key[0], key[1]) for key in set(before) | set(after) if before.get(key) != after.get(key)}
    reads = {id(rule): _reads(rule) for rule in [*base, *head]}

    def reached(rule: dict[str, Any]) -> bool:
        return any(name in reads[id(rule)] and not _untouched_by(rule, svc) for name, svc in moved)

    grew = True
    while grew:
        grew = False
        for rule in [*before.values(), *after.values()]:
            key = (str(rule["record"]), _service(rule))
            if key not in moved and reached(rule):
                moved.add(key)
                grew = True
    alerts_before, alerts_after = _index(base, "alert"), _index(head, "alert")
    changed = {(k[0], k[1]) for k in set(alerts_before) | set(alerts_after) if alerts_before.get(k) != alerts_after.get(k)}
    changed |= {(str(r["alert"]), _service(r)) for r in [*alerts_before.values(), *alerts_after.values()] if reached(r)}
    return changed


def one_sided(base_rules: Path, head_rules: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(alert, service) pairs only the base has (removed) and only the head has (added)."""
    before = {(str(r["alert"]), _service(r)) for r in _rules(base_rules) if "alert" in r}
    after = {(str(r["alert"]), _service(r)) for r in _rules(head_rules) if "alert" in r}
    return before - after, after - before


@dataclass(frozen=True)
class Probe:
    """One generated case narrowed to one alert's checks, with the suite (rule files, evaluation) it runs in."""

    suite: str
    case: Case

    @property
    def name(self) -> str:
        return str(self.case["name"])

    @property
    def alert(self) -> str:
        return str(self.case["alert_rule_test"][0]["alertname"])


def relevant(probe: Probe, changed: set[tuple[str, str]]) -> bool:
    """Whether a probe checks a changed alert (case names start with the service they probe)."""
    return any(probe.alert == name and (not service or probe.name.startswith(f"{service} ")) for name, service in changed)


def _probes(suite: str, case: Case) -> list[Probe]:
    """A case that checks several alerts becomes one probe per alert, named after both."""
    alerts = sorted({check["alertname"] for check in case.get("alert_rule_test") or []})
    probes = []
    for alert in alerts:
        checks = [check for check in case["alert_rule_test"] if check["alertname"] == alert]
        name = case["name"] if len(alerts) == 1 else f"{case['name']} [{alert}]"
        probes.append(Probe(suite, {**case, "name": name, "alert_rule_test": checks}))
    return probes


def pooled_cases(*sides: Mapping[str, Any]) -> list[Probe]:
    """The threshold and burn-rate probes both sides' settings generate, each once (names carry the numbers)."""
    pooled: dict[str, Probe] = {}
    for parameters in sides:
        if parameters:
            for suite, cases in SuiteBuilder(build_target(parameters)).cases().items():
                for case in cases:
                    for probe in _probes(suite, case):
                        pooled.setdefault(probe.name, probe)
    return [pooled[name] for name in sorted(pooled)]


def _sweep(case: Case, interval: str) -> Case:
    """The case with its checks replaced by 'expect silence' at every evaluation up to its last check."""
    checks = case["alert_rule_test"]
    step, end = seconds(interval), max(seconds(check["eval_time"]) for check in checks)
    times = range(step, end + step, step)
    tests = [{"eval_time": f"{t}s", "alertname": checks[0]["alertname"], "exp_alerts": []} for t in times]
    return {**case, "alert_rule_test": tests}


def _check_seconds(case: Case) -> int:
    return max(seconds(check["eval_time"]) for check in case["alert_rule_test"])


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


def probe_services(probes: list[Probe], rule_files: list[Path]) -> set[str] | None:
    """The services whose cases the probes are (a case's name starts with its service), or None when
    a probe is no service's (a platform case): then every service's rules are kept."""
    known = {_service(rule) for path in rule_files for group in _groups(path) for rule in group.get("rules") or []}
    found: set[str] = set()
    for probe in probes:
        owner = next((service for service in known if service and probe.name.startswith(f"{service} ")), None)
        if owner is None:
            return None
        found.add(owner)
    return found


def _selects_own(rule: Mapping[str, Any]) -> bool:
    """Whether the rule belongs to a service and selects that service's series by label (as every
    generated per-service rule does): it reads no other service's series or recordings."""
    own = _service(rule)
    return bool(own) and f'service="{own}"' in str(rule.get("expr", ""))


def _unreached(rules: list[dict[str, Any]], services: set[str] | None) -> set[int]:
    """Ids of the rules of services no probe is about that nothing a probe feeds can reach: they
    select only their own service's series, and no kept rule reads what they record (a recording
    named by a kept rule that does not select its own service stays, and so on through its reads)."""
    if services is None:
        return set()
    dropped = {id(rule) for rule in rules if _selects_own(rule) and _service(rule) not in services}
    grew = True
    while grew:
        readers = [_reads(rule) for rule in rules if id(rule) not in dropped and not _selects_own(rule)]
        restored = {
            id(rule)
            for rule in rules
            if id(rule) in dropped and "record" in rule and any(str(rule["record"]) in names for names in readers)
        }
        dropped -= restored
        grew = bool(restored)
    return dropped


def probed_rules(
    rule_files: list[Path], alerts: set[str], work: Path, services: set[str] | None = None
) -> list[tuple[Path, list[dict[str, Any]]]]:
    """The rule files a suite runs against, kept to the probed alerts and the recording rules, less
    the rules of services no probe is about (`services`, None: every service's).

    An alert's firing depends on its own rule and the series recording rules make, not on other
    alerts, so the rest is left out: promtool then evaluates a few alerts per step instead of
    every alert of every service (most of its time). Another service's rules read only that
    service's series (their selectors name it): on a probe's series they stay silent or repeat
    what the case feeds them, and each SLO keeps ten recording rules promtool evaluates at every
    step, so they go too (_unreached). A file whose expressions read the ALERTS series (one alert's
    state feeding another) is kept whole.
    """
    loaded = [(path, _groups(path)) for path in rule_files]
    whole = {
        path
        for path, groups in loaded
        if any("ALERTS" in str(rule.get("expr", "")) for group in groups for rule in group.get("rules") or [])
    }
    wanted = [
        rule
        for path, groups in loaded
        for group in groups
        for rule in group.get("rules") or []
        if path in whole or "record" in rule or rule.get("alert") in alerts
    ]
    # Across the files: an alert in one file reads the recordings of another.
    chosen = {id(rule) for rule in wanted} - _unreached(wanted, None if whole else services)
    kept: list[tuple[Path, list[dict[str, Any]]]] = []
    for path, groups in loaded:
        if path in whole:
            kept.append((path, groups))
            continue
        trimmed = [{**group, "rules": [r for r in group.get("rules") or [] if id(r) in chosen]} for group in groups]
        trimmed = [group for group in trimmed if group["rules"]]
        copy = work / path.name
        copy.write_text(yaml.dump({"groups": trimmed}, Dumper=yaml.CSafeDumper, sort_keys=False))
        kept.append((copy.resolve(), trimmed))
    return kept


@cache
def promtool_version(promtool: str) -> str:
    return subprocess.run([promtool, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def _sweep_key(promtool: str, suites: list[dict[str, Any]], checked: set[Path], probes: list[Probe]) -> str:
    """Everything a sweep's verdicts depend on: promtool, each suite with its rule files' content in
    place of their (temporary) paths, the content of the files that must load, and the probes read back."""

    def content(path: str | Path) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    material = {
        "format": SWEEP_CACHE_FORMAT,
        "promtool": promtool_version(promtool),
        "suites": [{**suite, "rule_files": [content(f) for f in suite["rule_files"]]} for suite in suites],
        "checked": sorted(content(path) for path in checked),
        "probes": [[p.name, p.alert, p.suite, _check_seconds(p.case)] for p in probes],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _cached_outcomes(path: Path) -> dict[str, Outcome] | None:
    try:
        data = json.loads(path.read_text())
        return {name: Outcome(**fields) for name, fields in data.items()}
    except (OSError, ValueError, TypeError):
        return None


def _keep_outcomes(folder: Path, key: str, outcomes: dict[str, Outcome]) -> None:
    """Written whole or not at all; the oldest entries beyond SWEEP_CACHE_ENTRIES go."""
    write_atomically(folder / f"{key}.json", json.dumps({name: asdict(o) for name, o in outcomes.items()}, sort_keys=True))
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-SWEEP_CACHE_ENTRIES]:
        old.unlink(missing_ok=True)


def run_side(
    rules_dir: Path, probes: list[Probe], work: Path, evaluation: str = "30s", sweep_cache: Path | None = None
) -> dict[str, Outcome]:
    """One `promtool test rules` run over all probes against one side's rule files.

    `evaluation` is the cluster's rule evaluation interval, used by suites that do not set their own.
    With `sweep_cache`, verdicts of the same suites on the same rules are read from there, and new ones kept.
    """
    work.mkdir(parents=True, exist_ok=True)
    promtool = shutil.which("promtool")
    if promtool is None:
        raise PromtoolFailed("promtool is not installed (make test-tools installs it)")
    files: list[str] = []
    suites: list[dict[str, Any]] = []
    checked: set[Path] = set()
    for suite, stems in sorted(SUITES.items()):
        interval = SUITE_EVALUATION.get(suite, evaluation)
        tests = [_sweep(probe.case, interval) for probe in probes if probe.suite == suite]
        if not tests:
            continue
        sources = [(rules_dir / f"{stem}.yaml").resolve() for stem in stems if (rules_dir / f"{stem}.yaml").exists()]
        checked.update(sources)
        (work / suite).mkdir()
        in_suite = [probe for probe in probes if probe.suite == suite]
        rule_files = probed_rules(sources, {probe.alert for probe in in_suite}, work / suite, probe_services(in_suite, sources))
        suite_file = {
            "rule_files": [str(f) for f, _ in rule_files],
            "evaluation_interval": interval,
            # Recording groups before the alerts that read them, always: promtool's default order is
            # random, which moves a detection time by one evaluation from run to run.
            "group_eval_order": [g["name"] for _, groups in rule_files for g in groups],
            "tests": tests,
        }
        path = work / f"{suite}.yaml"
        path.write_text(yaml.dump(suite_file, Dumper=yaml.CSafeDumper, sort_keys=False))  # libyaml: suites are large
        files.append(str(path))
        suites.append(suite_file)
    key = _sweep_key(promtool, suites, checked, probes) if sweep_cache is not None else ""
    if sweep_cache is not None:
        kept = _cached_outcomes(sweep_cache / f"{key}.json")
        if kept is not None and set(kept) == {probe.name for probe in probes}:
            return kept
    # The whole files must load, though only the probed alerts are evaluated: a broken rule is reported, not left out.
    loads = subprocess.run([promtool, "check", "rules", *map(str, sorted(checked))], capture_output=True, text=True, check=False)
    if checked and loads.returncode != 0:
        raise PromtoolFailed((loads.stdout + loads.stderr).strip()[-2000:])
    result = subprocess.run([promtool, "test", "rules", *files], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    firing: dict[tuple[str, str], set[int]] = {}
    for match in _FAILURE.finditer(output):
        firing.setdefault((match["case"], match["alert"]), set()).add(seconds(match["time"]))
    if result.returncode != 0 and not firing:
        raise PromtoolFailed(output.strip()[-2000:])
    outcomes = {}
    for probe in probes:
        times, at = firing.get((probe.name, probe.alert), set()), _check_seconds(probe.case)
        outcomes[probe.name] = Outcome(probe.alert, at, min(times) if times else None, at in times)
    if sweep_cache is not None:
        _keep_outcomes(sweep_cache, key, outcomes)
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


@dataclass(frozen=True)
class Comparison:
    """One cluster's alert behaviour: the probed changes, the alerts only one side has (reported, not
    probed: on the other side there is no rule to fire), and the probes run and cut by the budget."""

    changes: list[Change]
    removed: set[tuple[str, str]]
    added: set[tuple[str, str]]
    probed: int
    cut: int
    evaluations: int


def evaluations(probe: Probe, evaluation: str) -> int:
    """How many rule evaluations the probe's sweep asks promtool for."""
    return _check_seconds(probe.case) // max(1, seconds(SUITE_EVALUATION.get(probe.suite, evaluation)))


def compare(review: ReviewInput, cluster: str, budget: int = MAX_EVALUATIONS) -> Comparison:
    """`budget` is the evaluations left to the section: probes beyond it are counted as cut, not run."""
    base_params = review.base_parameters.get(cluster) or {}
    head_params = review.head_parameters.get(cluster) or {}
    base_rules, head_rules = review.base_root / "compiled" / cluster / "rules", review.head_root / "compiled" / cluster / "rules"
    removed, added = one_sided(base_rules, head_rules)
    both = changed_alerts(base_rules, head_rules) - removed - added
    probes = [probe for probe in pooled_cases(base_params, head_params) if relevant(probe, both)]
    evaluation = str((head_params or base_params).get("monitoring", {}).get("evaluation_interval", "30s"))
    kept: list[Probe] = []
    spent = 0
    for probe in probes:
        if spent + evaluations(probe, evaluation) <= budget:
            kept.append(probe)
            spent += evaluations(probe, evaluation)
    cut = len(probes) - len(kept)
    if not kept:
        return Comparison([], removed, added, 0, cut, 0)
    with tempfile.TemporaryDirectory(prefix="mnops-alerts-") as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        base_job = pool.submit(run_side, base_rules, kept, Path(tmp) / "base", evaluation, review.sweep_cache)
        head_job = pool.submit(run_side, head_rules, kept, Path(tmp) / "head", evaluation, review.sweep_cache)
        before, after = base_job.result(), head_job.result()
    changes = [
        Change(name, before[name], after[name])
        for name in sorted(before)
        if (before[name].first_firing, before[name].firing_at_check) != (after[name].first_firing, after[name].firing_at_check)
    ]
    return Comparison(changes, removed, added, len(kept), cut, spent)


def behaviour_changes(review: ReviewInput, cluster: str) -> list[Change]:
    return compare(review, cluster).changes


def _one_sided(alerts: set[tuple[str, str]], what: str) -> str:
    by_service: dict[str, list[str]] = {}
    for alert, service in sorted(alerts):
        by_service.setdefault(service or "(no service)", []).append(alert)
    listed = "; ".join(f"{service}: {', '.join(names)}" for service, names in sorted(by_service.items()))
    return f"{len(alerts)} alert rule(s) {what} (one side only, not probed): {listed}"


def build(review: ReviewInput) -> Section | None:
    text: list[str] = []
    rows = ["| cluster | case (synthetic series) | alert | before | after | change |", "| --- | --- | --- | --- | --- | --- |"]
    budget = MAX_EVALUATIONS
    for cluster in review.changed_clusters:
        if not rules_changed(review, cluster):
            continue
        try:
            comparison = compare(review, cluster, budget)
        except PromtoolFailed as error:
            text.append(f"{cluster}: promtool could not evaluate the rules: {str(error).splitlines()[-1]}")
            rows.append(f"| {cluster} | promtool could not evaluate the rules | | | | |")
            continue
        changes, budget = comparison.changes, budget - comparison.evaluations
        for alerts, what in ((comparison.removed, "removed"), (comparison.added, "added")):
            if alerts:
                text.append(f"{cluster}: {_one_sided(alerts, what)}")
                rows.append(f"| {cluster} | {_one_sided(alerts, what)} | | | | **{what}** |")
        if comparison.cut:
            text.append(f"{cluster}: cut: {comparison.cut} probe(s) of changed alerts not evaluated (the section sweeps "
                        f"at most {MAX_EVALUATIONS} rule evaluations per side); {comparison.probed} evaluated")  # fmt: skip
            rows.append(
                f"| {cluster} | cut: {comparison.cut} probe(s) not evaluated (limit {MAX_EVALUATIONS} evaluations) | | | | |"
            )
        if not changes and comparison.probed:
            text.append(f"{cluster}: rules changed, no alert fires differently on the generated series")
        elif not changes and not (comparison.removed or comparison.added or comparison.cut):
            text.append(f"{cluster}: rules changed, no generated case probes an alert they reach (nothing swept)")
        for change in changes:
            text.append(f"{cluster}: {change.before.alert} {change.kind} on '{change.case}': "
                        f"{change.before.describe()} -> {change.after.describe()}")  # fmt: skip
            rows.append(f"| {cluster} | {change.case} | {change.before.alert} | {change.before.describe()} | "
                        f"{change.after.describe()} | **{change.kind}** |")  # fmt: skip
    if not text:
        return None
    note = (
        "Each case is checked at every rule evaluation up to its check time by `promtool test rules`; "
        "times are from the start of the series. Cases come from the generated suites: one service per distinct "
        "set of thresholds stands for every service that shares it."
    )
    return Section("alerts", TITLE, "\n".join(text) + "\n", "\n".join([*rows, "", note]) + "\n")
