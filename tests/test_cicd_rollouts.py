"""Progressive delivery: canary/blue-green services compile to Argo Rollouts whose analysis
fails exactly where the service's alerts fire (same inventory values, contract metric names)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CRD_SCHEMAS, real_parameters

from mnops.delivery import delivery_plan
from mnops.delivery.analysis import HASH_ARG, release_checks
from mnops.errors import BuildError
from mnops.inventory import problems_in
from mnops.inventory.layers import effective_service
from mnops.inventory.model import build_target
from mnops.k8s.meta import Identity
from mnops.k8s.rollouts import AnalysisRef, PrometheusMetric, analysis_template, blue_green_strategy, canary_strategy
from mnops.manifest_validation import validate_document
from mnops.observability.contract import metric_names

ROOT = Path(__file__).resolve().parent.parent
COMPILED = ROOT / "compiled"
CRDS = CRD_SCHEMAS
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def inventory() -> dict[str, Mapping[str, Any]]:
    return real_parameters()


def cluster_targets(inventory: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Targets that compile Kubernetes manifests (the local target only has a Compose file)."""
    return [name for name in inventory if (COMPILED / name / "manifests").is_dir()]


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def strategies(inventory: Mapping[str, Mapping[str, Any]]) -> Iterator[tuple[str, str, str]]:
    for target in cluster_targets(inventory):
        params = inventory[target]
        for name in sorted(params["services"]):
            yield target, name, effective_service(params, name)["delivery"]["strategy"]


def test_progressive_services_compile_to_rollouts_instead_of_deployments(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    seen = set()
    for target, name, strategy in strategies(inventory):
        folder = COMPILED / target / "manifests" / name
        seen.add(strategy)
        if strategy == "rolling":
            assert (folder / "deployment.yaml").exists() and not (folder / "rollout.yaml").exists(), folder
            continue
        assert (folder / "rollout.yaml").exists() and not (folder / "deployment.yaml").exists(), folder
        (rollout,) = docs(folder / "rollout.yaml")
        key = "canary" if strategy == "canary" else "blueGreen"
        assert list(rollout["spec"]["strategy"]) == [key]
        components = {
            d["metadata"]["name"]: d["metadata"]["labels"]["app.kubernetes.io/component"] for d in docs(folder / "service.yaml")
        }
        role = "canary" if strategy == "canary" else "preview"
        # Only the main Service is `component: api`, so monitors selecting it scrape each pod once.
        assert components == {name: "api", f"{name}-{role}": role}
        for hpa in docs(folder / "horizontalpodautoscaler.yaml") if (folder / "horizontalpodautoscaler.yaml").exists() else []:
            assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name}
    # The committed inventory exercises all three strategies.
    assert seen == {"rolling", "canary", "bluegreen"}


def test_analysis_thresholds_equal_the_alert_thresholds(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    checked = 0
    for target, name, strategy in strategies(inventory):
        if strategy == "rolling":
            continue
        alerts = effective_service(inventory[target], name)["alerts"]
        (template,) = docs(COMPILED / target / "manifests" / name / "analysistemplate.yaml")
        conditions = {m["name"]: (m["successCondition"], m["failureCondition"]) for m in template["spec"]["metrics"]}
        found = {}
        for metric, (success, failure) in conditions.items():
            passed = re.fullmatch(r"len\(result\) == 1 && result\[0\] <= ([0-9.]+)", success)
            failed = re.fullmatch(r"len\(result\) == 1 && result\[0\] > ([0-9.]+)", failure)
            assert passed and failed and passed.group(1) == failed.group(1), (success, failure)
            found[metric] = float(failed.group(1))
        assert found == {
            "error-rate-percent": float(alerts["error_rate_percent"]),
            "latency-p99-seconds": float(alerts["latency_p99_seconds"]),
        }, f"{target}/{name}"
        checked += 1
    assert checked >= 8


def test_analysis_follows_a_changed_alert_threshold(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    """Change the alert in the inventory and the analysis moves with it: one value, two uses."""
    params = copy.deepcopy(dict(inventory["prod"]))
    params["services"]["memory-service"]["alerts"] = {"error_rate_percent": 2.5, "latency_p99_seconds": 0.75}
    svc = build_target(params).service("memory-service")
    checks = {c.name: c.failure_condition for c in release_checks(svc, 120)}
    assert checks == {
        "error-rate-percent": "len(result) == 1 && result[0] > 2.5",
        "latency-p99-seconds": "len(result) == 1 && result[0] > 0.75",
    }


def test_analysis_queries_use_only_contract_metrics() -> None:
    template = docs(COMPILED / "prod" / "manifests" / "memory-service" / "analysistemplate.yaml")[0]
    names: set[str] = set()
    for metric in template["spec"]["metrics"]:
        query = metric["provider"]["prometheus"]["query"]
        assert f"{{{{args.{HASH_ARG}}}}}" in query, "analysis must look at the new pods only"
        names |= set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", query))
    assert names and names <= metric_names(), names - metric_names()
    assert "not_a_contract_metric" not in metric_names()  # the check above can fail


def test_rollouts_and_analysis_templates_are_schema_valid(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    count = 0
    for target in cluster_targets(inventory):
        for path in sorted((COMPILED / target / "manifests").glob("*/rollout.yaml")) + sorted(
            (COMPILED / target / "manifests").glob("*/analysistemplate.yaml")
        ):
            for doc in docs(path):
                assert list(validate_document(doc, str(path), ("1.33",), CRDS)) == [], path
                count += 1
    assert count >= 16
    broken = docs(COMPILED / "prod" / "manifests" / "memory-service" / "rollout.yaml")[0]
    broken["spec"]["strategy"]["canary"]["steps"][0]["setWieght"] = 10
    assert list(validate_document(broken, "broken", ("1.33",), CRDS)), "an unknown field must be rejected"


def test_canary_routes_through_the_gateway_or_istio_when_the_mesh_is_on(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    params = copy.deepcopy(dict(inventory["prod"]))
    svc = build_target(params).service("memory-service")
    assert delivery_plan(build_target(params), svc).traffic_router == "argoproj-labs/gatewayAPI"
    params["mesh"] = {"enabled": True}
    assert delivery_plan(build_target(params), svc).traffic_router == "istio"
    (rollout,) = docs(COMPILED / "prod" / "manifests" / "memory-service" / "rollout.yaml")
    routing = rollout["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"]["argoproj-labs/gatewayAPI"]
    assert routing == {"httpRoute": "memory-service", "namespace": "machine-native-ops"}


def test_blue_green_analyses_before_and_after_promotion() -> None:
    (rollout,) = docs(COMPILED / "prod" / "manifests" / "reporting-service" / "rollout.yaml")
    blue_green = rollout["spec"]["strategy"]["blueGreen"]
    assert blue_green["previewService"] == "reporting-service-preview"
    for phase in ("prePromotionAnalysis", "postPromotionAnalysis"):
        assert blue_green[phase]["templates"] == [{"templateName": "reporting-service-release"}]
    # The old version outlives the post-promotion analysis (5 measurements, 1 minute apart).
    assert blue_green["scaleDownDelaySeconds"] >= 5 * 60


def invalid(inventory: Mapping[str, Mapping[str, Any]], target: str, service: str, delivery: dict[str, Any]) -> list[str]:
    params = copy.deepcopy(dict(inventory[target]))
    params["services"][service]["delivery"] = delivery
    return [p.path for p in problems_in(target, params)]


def test_prod_rejects_rolling_strategy(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    assert invalid(inventory, "prod", "memory-service", {"strategy": "rolling"}) == [
        "parameters.services.memory-service.delivery.strategy"
    ]
    assert invalid(inventory, "dev", "memory-service", {"strategy": "rolling"}) == []


def test_decreasing_canary_steps_are_rejected(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    assert invalid(inventory, "staging", "memory-service", {"canary_steps": [50, 25]}) == [
        "parameters.services.memory-service.delivery.canary_steps"
    ]


def test_canary_pause_shorter_than_analysis_interval_is_rejected(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    assert invalid(inventory, "prod", "memory-service", {"pause": "30s"}) == ["parameters.services.memory-service.delivery.pause"]


def test_blue_green_that_can_never_fail_is_rejected(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    delivery = {"strategy": "bluegreen", "analysis": {"failure_limit": 5}}
    assert invalid(inventory, "prod", "memory-service", delivery) == [
        "parameters.services.memory-service.delivery.analysis.failure_limit"
    ]


def test_unknown_delivery_key_is_rejected(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    assert invalid(inventory, "prod", "memory-service", {"stratgey": "canary"}) != []


def test_progressive_delivery_needs_prometheus(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    params = copy.deepcopy(dict(inventory["prod"]))
    del params["progressive_delivery"]
    assert [p.path for p in problems_in("prod", params)] == ["parameters.progressive_delivery"]


IDENTITY = Identity("demo", "api", "mnops", "dev", "dev")
REF = AnalysisRef("demo-release", HASH_ARG)


@pytest.mark.parametrize("weights", [[], [50, 25], [0, 50], [10, 100], [10, 10]])
def test_canary_builder_rejects_bad_weights(weights: list[int]) -> None:
    with pytest.raises(BuildError):
        canary_strategy(stable_service="a", canary_service="b", weights=weights, pause_seconds=60, analysis=REF)


def test_blue_green_builder_rejects_one_service_for_both_roles() -> None:
    with pytest.raises(BuildError, match="different"):
        blue_green_strategy(active_service="a", preview_service="a", analysis=REF, scale_down_delay_seconds=30)


def test_analysis_template_rejects_a_query_that_ignores_the_new_pods() -> None:
    metric = PrometheusMetric("errors", "sum(rate(http_requests_total[1m]))", "result[0] <= 5", "result[0] > 5", 60, 1)
    with pytest.raises(BuildError, match="ignores argument"):
        analysis_template("demo", "ns", IDENTITY, prometheus_address="http://prom:9090", args=[HASH_ARG], metrics=[metric])


# --- the queries themselves, evaluated by promtool on synthetic series -------------------------


@pytest.fixture(scope="session")
def promtool() -> str:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "promtool=prometheus"], check=True)
    return "promtool"


def promtool_case(tmp_path: Path, promtool: str, series: list[dict[str, str]], expect_failure: dict[str, bool]) -> None:
    """Turn each analysis check into an alert `query > threshold` (the failureCondition) and ask
    promtool whether it fires on the given series."""
    svc = build_target(real_parameters()["prod"]).service("memory-service")
    rules = []
    for check in release_checks(svc, 120):
        query = check.query.replace(f"{{{{args.{HASH_ARG}}}}}", "newhash")
        rules.append({"alert": check.name, "expr": f"({query}) > {check.threshold:g}"})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "analysis", "rules": rules}]}))
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": name, "exp_alerts": [{"exp_labels": {}}] if fails else []}
                    for name, fails in expect_failure.items()
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(tests))
    result = subprocess.run([promtool, "test", "rules", "test.yaml"], check=False, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def requests(pod: str, per_minute: dict[str, int]) -> list[dict[str, str]]:
    labels = (
        'service="memory-service",namespace="machine-native-ops",pod="{pod}",rollouts_pod_template_hash="{hash}",code="{code}"'
    )
    return [
        {
            "series": "http_requests_total{" + labels.format(pod=pod, hash=pod.split("-")[-2], code=code) + "}",
            "values": f"0+{n}x20",
        }
        for code, n in per_minute.items()
    ]


def latency(pod: str, per_minute: dict[str, int]) -> list[dict[str, str]]:
    """Cumulative bucket counts per minute, keyed by the bucket's upper bound."""
    labels = 'service="memory-service",namespace="machine-native-ops",pod="{pod}",rollouts_pod_template_hash="{hash}",le="{le}"'
    return [
        {
            "series": "http_request_duration_seconds_bucket{" + labels.format(pod=pod, hash=pod.split("-")[-2], le=le) + "}",
            "values": f"0+{n}x20",
        }
        for le, n in per_minute.items()
    ]


@pytest.mark.slow
def test_analysis_fails_above_the_error_threshold_and_passes_below(tmp_path: Path, promtool: str) -> None:
    new = "memory-service-newhash-abcde"
    # 6% errors on the new pods: above 5%, the release is aborted.
    promtool_case(tmp_path, promtool, requests(new, {"500": 6, "200": 94}),
                  {"error-rate-percent": True, "latency-p99-seconds": False})  # fmt: skip
    # 4% on the new pods, while the old pods fail badly: only the new version is judged.
    old = "memory-service-oldhash-vwxyz"
    promtool_case(tmp_path, promtool, requests(new, {"500": 4, "200": 96}) + requests(old, {"500": 50, "200": 50}),
                  {"error-rate-percent": False})  # fmt: skip
    # No traffic at all yet: not a failure.
    promtool_case(tmp_path, promtool, requests(old, {"500": 50}), {"error-rate-percent": False, "latency-p99-seconds": False})


@pytest.mark.slow
def test_analysis_fails_above_the_p99_threshold_and_passes_below(tmp_path: Path, promtool: str) -> None:
    new = "memory-service-newhash-abcde"
    fast = {"0.5": 100, "1": 100, "2.5": 100, "+Inf": 100}  # every request under 0.5 s
    slow = {"0.5": 90, "1": 95, "2.5": 100, "+Inf": 100}  # 5% between 1 s and 2.5 s: P99 above 1 s
    promtool_case(tmp_path, promtool, latency(new, fast), {"latency-p99-seconds": False})
    promtool_case(tmp_path, promtool, latency(new, slow), {"latency-p99-seconds": True})


def test_components_build_the_committed_objects_in_process(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    """The services component, called directly, yields exactly the committed files (deterministic)."""
    from components.services import service_objects
    from mnops.component import files_by_app

    for target in ("dev", "prod"):
        typed = build_target(inventory[target])
        files = files_by_app({svc.name: service_objects(typed, svc) for svc in typed.services})
        for path, content in files.items():
            committed = docs(COMPILED / target / "manifests" / f"{path}.yaml")
            assert committed == (content if isinstance(content, list) else [content]), f"{target}/{path}"
        kinds = {path.rsplit("/", 1)[1] for path in files}
        assert {"rollout", "analysistemplate"} <= kinds
        assert ("deployment" in kinds) == (target == "dev"), "only dev has rolling services"


def alert_thresholds(target: str) -> dict[tuple[str, str], float]:
    """(service, alert) -> threshold, read from the compiled alert rules (`<expr> > <number>`)."""
    found = {}
    for path in sorted((COMPILED / target / "rules").glob("*.yaml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if rule.get("alert") in ("HighErrorRate", "HighLatencyP99"):
                    number = float(re.search(r">\s*([0-9.]+)\s*$", " ".join(rule["expr"].split())).group(1))  # type: ignore[union-attr]
                    found[(rule["labels"]["service"], rule["alert"])] = number
    return found


@pytest.mark.slow
def test_analysis_aborts_exactly_where_the_compiled_alerts_fire(inventory: Mapping[str, Mapping[str, Any]]) -> None:
    """Not only the same inventory values: the compiled alert rules and the analysis agree."""
    checked = 0
    for target, name, strategy in strategies(inventory):
        alerts = alert_thresholds(target)
        if strategy == "rolling" or not alerts:
            continue
        (template,) = docs(COMPILED / target / "manifests" / name / "analysistemplate.yaml")
        analysis = {m["name"]: float(m["failureCondition"].rsplit(" ", 1)[1]) for m in template["spec"]["metrics"]}
        assert all("or vector(0)" not in m["provider"]["prometheus"]["query"] for m in template["spec"]["metrics"])
        # The error alert compares a 0-1 ratio, the analysis a percentage.
        assert analysis["error-rate-percent"] == pytest.approx(alerts[(name, "HighErrorRate")] * 100), f"{target}/{name}"
        assert analysis["latency-p99-seconds"] == pytest.approx(alerts[(name, "HighLatencyP99")]), f"{target}/{name}"
        checked += 1
    assert checked >= 12
