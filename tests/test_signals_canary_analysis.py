"""Release analysis measures the new pods, on a real Prometheus, as Argo Rollouts reads it.

One Prometheus (Debian package) starts on 127.0.0.1 over a TSDB backfilled with
`promtool tsdb create-blocks-from openmetrics`. The series carry the labels the compiled service
PodMonitor gives them (its `podTargetLabels` and static relabelings), for a stable ReplicaSet and
several new ones, one per scenario. Each compiled AnalysisTemplate query, with its argument
substituted as Argo Rollouts does, runs as an instant query; the compiled success and failure
conditions then decide the measurement (mnops.delivery.conditions, Argo Rollouts' semantics).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.delivery.conditions import ConditionError, Phase, condition_holds, measurement_phase, metric_phase
from mnops.inventory.layers import effective_service
from mnops.k8s.monitoring import prometheus_label_name
from mnops.observability.contract import LATENCY_BUCKETS_SECONDS
from mnops.observability.preview import free_port, http_json, wait_until_ready

COMPILED = ROOT / "compiled"
STEP_SECONDS = 15
HISTORY_SECONDS = 30 * 60
STABLE = "stable0001"
# One new ReplicaSet per scenario; "missing" has no series at all: its pods were never scraped.
SCENARIOS = {"errors": "errs00001", "healthy": "good00001", "slow": "slow00001", "missing": "gone00001"}


# --- Argo Rollouts' side ----------------------------------------------------------------------


def substitute(query: str, args: Mapping[str, str]) -> str:
    """`{{args.NAME}}` replaced by the argument's value, as Argo Rollouts resolves templates;
    an argument the Rollout does not pass is an error there, and here."""
    resolved = re.sub(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}", lambda m: args[m.group(1)], query)
    assert "{{" not in resolved, resolved
    return resolved


def vector_values(data: Mapping[str, Any]) -> list[float]:
    """The provider's `result`: one float per sample of the instant vector ("NaN" included)."""
    assert data["resultType"] == "vector", data
    return [float(sample["value"][1]) for sample in data["result"]]


# --- the consumer of the PodMonitor: the labels Prometheus gives each scraped series --------------


def scraped_labels(pod_monitor: Mapping[str, Any], namespace: str, pod: str, pod_labels: Mapping[str, str]) -> dict[str, str]:
    """Target labels prometheus-operator's generated scrape config gives a pod: namespace and pod,
    every podTargetLabel present on the pod (sanitised name), then the endpoint's static relabelings."""
    labels = {"namespace": namespace, "pod": pod}
    for name in pod_monitor["spec"].get("podTargetLabels", []):
        if name in pod_labels:
            labels[prometheus_label_name(name)] = pod_labels[name]
    for endpoint in pod_monitor["spec"]["podMetricsEndpoints"]:
        for rule in endpoint.get("relabelings", []):
            assert rule.get("action", "replace") == "replace" and not rule.get("sourceLabels"), rule
            labels[rule["targetLabel"]] = rule["replacement"]
    return labels


def openmetrics_lines(
    labels: Mapping[str, str], errors_per_step: int, slow_per_step: int, threshold: float, end: int
) -> list[str]:
    """100 requests per step from one pod: `errors_per_step` of them 500s, `slow_per_step` slower
    than `threshold` seconds (in the first bucket whose lower bound is at or above it)."""
    base = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    lower = next(b for b in LATENCY_BUCKETS_SECONDS if b >= threshold)
    slow_bucket = next(b for b in LATENCY_BUCKETS_SECONDS if b > lower)
    steps = range(HISTORY_SECONDS // STEP_SECONDS + 1)
    times = [end - HISTORY_SECONDS + i * STEP_SECONDS for i in steps]
    lines = []
    for code, per_step in (("200", 100 - errors_per_step), ("500", errors_per_step)):
        if per_step:
            lines += [
                f'http_requests_total{{{base},code="{code}"}} {i * per_step} {t}' for i, t in zip(steps, times, strict=True)
            ]
    for bound in [*LATENCY_BUCKETS_SECONDS, math.inf]:
        per_step = 100 - slow_per_step if bound < slow_bucket else 100
        le = "+Inf" if bound == math.inf else f"{bound:g}"
        lines += [
            f'http_request_duration_seconds_bucket{{{base},le="{le}"}} {i * per_step} {t}'
            for i, t in zip(steps, times, strict=True)
        ]
    return lines


@dataclass(frozen=True)
class Case:
    target: str
    service: str
    strategy: str


def progressive_cases() -> list[Case]:
    """The first canary and the first blue-green service of each cluster target, from the inventory."""
    params = real_parameters()
    cases = []
    for target in sorted(params):
        if not (COMPILED / target / "manifests").is_dir():
            continue
        found: dict[str, str] = {}
        for name in sorted(params[target]["services"]):
            strategy = effective_service(params[target], name)["delivery"]["strategy"]
            if strategy != "rolling":
                found.setdefault(strategy, name)
        cases += [Case(target, name, strategy) for strategy, name in sorted(found.items())]
    return cases


CASES = progressive_cases()


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def pod_monitor_for(target: str, service: str) -> dict[str, Any]:
    monitors = documents(COMPILED / target / "manifests" / "monitoring" / "podmonitor.yaml")
    (monitor,) = [m for m in monitors if m["metadata"]["name"] == service]
    return monitor


def template_for(case: Case) -> dict[str, Any]:
    (template,) = documents(COMPILED / case.target / "manifests" / case.service / "analysistemplate.yaml")
    return template


def pod_template_labels(case: Case) -> dict[str, str]:
    (rollout,) = documents(COMPILED / case.target / "manifests" / case.service / "rollout.yaml")
    labels: dict[str, str] = rollout["spec"]["template"]["metadata"]["labels"]
    return labels


def backfill(case: Case, end: int) -> list[str]:
    monitor = pod_monitor_for(case.target, case.service)
    namespace = monitor["spec"]["namespaceSelector"]["matchNames"][0]
    thresholds = thresholds_of(template_for(case))
    latency = thresholds["latency-p99-seconds"]

    def pod(hash_: str, errors: int, slow: int) -> list[str]:
        # Argo Rollouts adds rollouts-pod-template-hash to every pod of a ReplicaSet it creates.
        pod_labels = {**pod_template_labels(case), "rollouts-pod-template-hash": hash_}
        labels = scraped_labels(monitor, namespace, f"{case.service}-{hash_}-x1y2z", pod_labels)
        return openmetrics_lines(labels, errors, slow, latency, end)

    # Errors at 10%: above any error threshold the plan allows, and the stable pods are healthy.
    return pod(STABLE, 0, 0) + pod(SCENARIOS["errors"], 10, 0) + pod(SCENARIOS["healthy"], 0, 0) + pod(SCENARIOS["slow"], 0, 5)


def thresholds_of(template: Mapping[str, Any]) -> dict[str, float]:
    return {m["name"]: float(m["failureCondition"].rsplit(">", 1)[1]) for m in template["spec"]["metrics"]}


class Prometheuses:
    """One real Prometheus per cluster target (each cluster has its own), started on first use over
    a TSDB backfilled with that target's cases."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.end = (int(time.time()) // STEP_SECONDS) * STEP_SECONDS
        self.urls: dict[str, str] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    def url(self, target: str) -> str:
        if target not in self.urls:
            self.urls[target] = self.start(target)
        return self.urls[target]

    def start(self, target: str) -> str:
        folder = self.work / target
        folder.mkdir()
        requests, buckets = [], []
        for case in CASES:
            if case.target == target:
                for line in backfill(case, self.end):
                    (requests if line.startswith("http_requests_total") else buckets).append(line)
        # OpenMetrics groups samples by family: the counter's, then the histogram's.
        text = "\n".join(
            ["# TYPE http_requests counter", *requests, "# TYPE http_request_duration_seconds histogram", *buckets, "# EOF", ""]
        )
        (folder / "series.om").write_text(text)
        backfilled = subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(folder / "series.om"), str(folder / "data")],
            check=False,
            capture_output=True,
            text=True,
        )
        assert backfilled.returncode == 0, backfilled.stderr
        port = free_port()
        (folder / "prometheus.yml").write_text("global: {}\n")
        with (folder / "prometheus.log").open("wb") as log:
            process = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        wait_until_ready(f"http://127.0.0.1:{port}/-/ready", process)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def prometheus() -> Iterator[Prometheuses]:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "promtool=prometheus", "prometheus=prometheus"], check=True)
    with tempfile.TemporaryDirectory(prefix="mnops-analysis-") as work:
        servers = Prometheuses(Path(work))
        try:
            yield servers
        finally:
            servers.stop()


def measure(prometheus: Prometheuses, target: str, query: str, hash_: str) -> list[float]:
    url, at = prometheus.url(target), prometheus.end
    resolved = substitute(query, {"pod-template-hash": hash_})
    response = http_json(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": resolved, "time": at}))
    assert response["status"] == "success", json.dumps(response)
    return vector_values(response["data"])


def phases(prometheus: Prometheuses, case: Case, scenario: str) -> dict[str, Phase]:
    """Each compiled metric's measurement for one scenario's new ReplicaSet."""
    found = {}
    for metric in template_for(case)["spec"]["metrics"]:
        result = measure(prometheus, case.target, metric["provider"]["prometheus"]["query"], SCENARIOS[scenario])
        found[metric["name"]] = measurement_phase(result, metric.get("successCondition", ""), metric.get("failureCondition", ""))
    return found


def case_id(case: Case) -> str:
    return f"{case.target}-{case.strategy}-{case.service}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_new_pods_at_ten_percent_errors_fail_while_the_stable_pods_are_healthy(prometheus: Prometheuses, case: Case) -> None:
    assert phases(prometheus, case, "errors") == {"error-rate-percent": Phase.FAILED, "latency-p99-seconds": Phase.SUCCESSFUL}
    # The stable pods alone pass: the failure above is the new pods', not an average of both.
    assert measure(
        prometheus, case.target, template_for(case)["spec"]["metrics"][0]["provider"]["prometheus"]["query"], STABLE
    ) == [0.0]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_healthy_new_pods_pass(prometheus: Prometheuses, case: Case) -> None:
    assert set(phases(prometheus, case, "healthy").values()) == {Phase.SUCCESSFUL}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_slow_new_pods_fail_the_latency_check(prometheus: Prometheuses, case: Case) -> None:
    assert phases(prometheus, case, "slow") == {"error-rate-percent": Phase.SUCCESSFUL, "latency-p99-seconds": Phase.FAILED}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_new_pods_that_were_never_scraped_do_not_pass(prometheus: Prometheuses, case: Case) -> None:
    measured = phases(prometheus, case, "missing")
    assert set(measured.values()) == {Phase.INCONCLUSIVE}, measured
    # The analysis run: its first inconclusive measurement pauses the rollout for a person.
    for metric in template_for(case)["spec"]["metrics"]:
        runs = [measured[metric["name"]]]
        assert metric_phase(
            runs, failure_limit=metric["failureLimit"], inconclusive_limit=metric.get("inconclusiveLimit", 0)
        ) == (Phase.INCONCLUSIVE)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_failing_new_version_ends_its_analysis_failed(prometheus: Prometheuses, case: Case) -> None:
    """Repeated measurements of the failing ReplicaSet, as the controller counts them."""
    metric = template_for(case)["spec"]["metrics"][0]
    phase = phases(prometheus, case, "errors")[metric["name"]]
    limit = metric["failureLimit"]
    assert metric_phase([phase] * limit, failure_limit=limit) is None  # not yet: failureLimit tolerates this many
    assert metric_phase([phase] * (limit + 1), failure_limit=limit) is Phase.FAILED


def test_the_old_zero_filled_query_would_have_passed_a_missing_canary(prometheus: Prometheuses) -> None:
    """The bad fixture: the query shape this replaced (`or vector(0)`, a failure condition only)
    reads "no series" as 0% errors and passes; the same Prometheus, the same missing pods."""
    case = CASES[0]
    query = template_for(case)["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
    old = f"({query}) or vector(0)"
    result = measure(prometheus, case.target, old, SCENARIOS["missing"])
    assert result == [0.0]
    assert measurement_phase(result, "", "result[0] > 5") is Phase.SUCCESSFUL


def test_every_progressive_service_is_measured_in_some_case() -> None:
    assert {c.strategy for c in CASES} == {"canary", "bluegreen"}, "the inventory should exercise both strategies"


def test_service_pod_monitors_keep_the_hash_the_analysis_selects() -> None:
    for case in CASES:
        monitor = pod_monitor_for(case.target, case.service)
        labels = scraped_labels(monitor, "ns", "p", {"rollouts-pod-template-hash": "abc"})
        assert labels.get("rollouts_pod_template_hash") == "abc", case
        assert labels.get("service") == case.service, case
        for metric in template_for(case)["spec"]["metrics"]:
            assert 'rollouts_pod_template_hash="{{args.pod-template-hash}}"' in metric["provider"]["prometheus"]["query"]
    # The check can fail: a monitor without podTargetLabels loses the hash.
    bare = pod_monitor_for(CASES[0].target, CASES[0].service)
    bare["spec"].pop("podTargetLabels")
    assert "rollouts_pod_template_hash" not in scraped_labels(bare, "ns", "p", {"rollouts-pod-template-hash": "abc"})


# --- the condition evaluator itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "result", "expected"),
    [
        ("result[0] > 5", [6.0], True),
        ("result[0] > 5", [5.0], False),
        ("result[0] >= 5", [5.0], True),
        ("result[-1] < 1", [3.0, 0.5], True),
        ("len(result) == 1 && result[0] > 5", [], False),  # && stops before the index
        ("len(result) == 0 || result[0] > 5", [], True),
        ("len(result) == 1 && result[0] <= 5", [math.nan], False),  # NaN compares false, as in Go
        ("len(result) == 1 && result[0] > 5", [math.nan], False),
        ("isNaN(result[0])", [math.nan], True),
        ("!(result[0] > 5)", [1.0], True),
        ("not (result[0] > 5) and len(result) == 1", [1.0], True),
        ("result[0] > 1 || result[0] < 0 && false", [2.0], True),  # && binds tighter than ||
        ("result[0] > -1", [0.0], True),
        ("result[0] == 0.25", [0.25], True),
    ],
)
def test_conditions_evaluate_as_expr_lang_does(condition: str, result: list[float], expected: bool) -> None:
    assert condition_holds(condition, result) is expected


@pytest.mark.parametrize(
    ("condition", "result"),
    [("result[0] > 5", []), ("result[1] > 5", [1.0]), ("result > 5", [1.0]), ("result[0]", [1.0]), ("foo > 1", [1.0]),
     ("result[0] >", [1.0]), ("len(result) && true", [1.0]), ("result[0] > 5 $", [1.0])],
)  # fmt: skip
def test_conditions_argo_rollouts_cannot_evaluate_raise(condition: str, result: list[float]) -> None:
    with pytest.raises(ConditionError):
        condition_holds(condition, result)


def test_measurement_phase_follows_argo_rollouts_rules() -> None:
    success, failure = "len(result) == 1 && result[0] <= 5", "len(result) == 1 && result[0] > 5"
    assert measurement_phase([1.0], success, failure) is Phase.SUCCESSFUL
    assert measurement_phase([9.0], success, failure) is Phase.FAILED
    assert measurement_phase([], success, failure) is Phase.INCONCLUSIVE
    assert measurement_phase([], "", "result[0] > 5") is Phase.ERROR  # index out of range
    assert measurement_phase([1.0], "", "result[0] > 5") is Phase.SUCCESSFUL  # not failed = passed
    assert measurement_phase([9.0], "result[0] <= 5", "") is Phase.FAILED  # not passed = failed
    assert measurement_phase([1.0], "", "") is Phase.SUCCESSFUL


def test_metric_phase_counts_as_the_controller_does() -> None:
    assert metric_phase([Phase.FAILED], failure_limit=1) is None
    assert metric_phase([Phase.FAILED, Phase.SUCCESSFUL, Phase.FAILED], failure_limit=1) is Phase.FAILED
    assert metric_phase([Phase.INCONCLUSIVE]) is Phase.INCONCLUSIVE
    assert metric_phase([Phase.ERROR] * 4) is None
    assert metric_phase([Phase.ERROR] * 5) is Phase.ERROR
    assert metric_phase([Phase.ERROR] * 4 + [Phase.SUCCESSFUL] + [Phase.ERROR]) is None  # consecutive only
    assert metric_phase([Phase.SUCCESSFUL] * 5, count=5) is Phase.SUCCESSFUL
