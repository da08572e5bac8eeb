"""Logging: Loki sized per environment, one collector with the contract labels, Loki ruler alerts."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from conftest import ROOT, real_parameters

from mnops.observability.logs import LOG_LABELS, LOKI_TENANT, LogTarget, alloy_config, alloy_values, promtail_values
from mnops.observability.queries import check_logql

COMPILED = ROOT / "compiled"
# A fixed set for the collector configuration tests that build their own LogTarget.
SERVICES = ("configuration-service", "memory-service", "reporting-service", "supply-chain-service")


def values(target: str, chart: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPILED / target / "helm-values" / f"{chart}.yaml").read_text())
    return loaded


def ruler_groups(target: str) -> list[dict[str, Any]]:
    files = values(target, "loki")["ruler"]["directories"][LOKI_TENANT]
    groups: list[dict[str, Any]] = yaml.safe_load(files["mnops-error-logs.yaml"])["groups"]
    return groups


LOG_TARGET = LogTarget(
    cluster="prod",
    environment="prod",
    region="us-east-1",
    namespace="logging",
    storage_class="gp3",
    service_account_annotations={},
    apps_namespace="machine-native-ops",
    services=SERVICES,
    runbook_base="https://example.invalid/docs/operations.md",
)


def test_dev_runs_single_binary_loki_on_local_disk() -> None:
    dev = values("dev", "loki")
    assert dev["deploymentMode"] == "Monolithic"
    assert dev["singleBinary"]["replicas"] == 1
    assert dev["loki"]["storage"] == {"type": "filesystem"}
    assert dev["loki"]["limits_config"]["retention_period"] == "3d"


@pytest.mark.parametrize(("target", "retention", "replicas"), [("staging", "14d", 2), ("prod", "30d", 3), ("prod-dr", "30d", 3)])
def test_prod_and_staging_run_simple_scalable_loki_on_their_bucket(target: str, retention: str, replicas: int) -> None:
    loki = values(target, "loki")
    assert loki["deploymentMode"] == "SimpleScalable"
    assert loki["singleBinary"]["replicas"] == 0
    assert {loki[c]["replicas"] for c in ("read", "write", "backend")} == {replicas}
    assert loki["loki"]["storage"]["type"] == "s3"
    assert set(loki["loki"]["storage"]["bucketNames"].values()) == {f"machine-native-ops-{target}-logs"}
    assert loki["loki"]["limits_config"]["retention_period"] == retention
    assert loki["loki"]["compactor"]["retention_enabled"] is True
    # The bucket is reached through the cloud's workload identity, never through keys in values.
    annotation = real_parameters()[target]["cloud"]["workload_identity"]["annotation"]
    assert loki["serviceAccount"]["annotations"][annotation].endswith(f":role/{target}-logging-loki")
    assert "accessKeyId" not in str(loki) and "secretAccessKey" not in str(loki)


@pytest.mark.parametrize("target", ["dev", "staging", "prod", "prod-dr"])
def test_alloy_is_the_default_collector_and_promtail_is_off(target: str) -> None:
    assert (COMPILED / target / "helm-values/alloy.yaml").exists()
    assert not (COMPILED / target / "helm-values/promtail.yaml").exists()
    alloy = values(target, "alloy")
    assert alloy["controller"]["type"] == "daemonset"
    assert f'cluster     = "{target}"' in alloy["alloy"]["configMap"]["content"]


def alloy_labels(config: str) -> set[str]:
    targets = set(re.findall(r'target_label\s*=\s*"([a-z_]+)"', config)) - {"__path__"}
    external = re.search(r"external_labels = \{(.*?)\}", config, re.S)
    assert external
    return targets | set(re.findall(r"(\w+)\s*=", external.group(1)))


def promtail_labels(vals: dict[str, Any]) -> set[str]:
    config = vals["config"]
    relabelled = {rule["target_label"] for rule in config["snippets"]["common"]} - {"__path__"}
    return relabelled | set(config["clients"][0]["external_labels"])


def test_alloy_and_promtail_attach_exactly_the_contract_labels() -> None:
    assert alloy_labels(alloy_config(LOG_TARGET)) == set(LOG_LABELS)
    assert promtail_labels(promtail_values(LOG_TARGET)) == set(LOG_LABELS)
    # Promtail's chart adds its own labels in its scrape job: they are dropped again.
    dropped = promtail_values(LOG_TARGET)["config"]["snippets"]["pipelineStages"][1]["labeldrop"]
    assert {"app", "instance", "component", "job"} <= set(dropped)


def test_label_check_notices_a_missing_label() -> None:
    broken = alloy_config(LOG_TARGET).replace('target_label  = "service"', 'target_label  = "app"')
    assert alloy_labels(broken) != set(LOG_LABELS)


def test_both_collectors_push_to_the_loki_gateway() -> None:
    url = "http://loki-gateway.logging.svc.cluster.local/loki/api/v1/push"
    assert url in alloy_values(LOG_TARGET)["alloy"]["configMap"]["content"]
    assert promtail_values(LOG_TARGET)["config"]["clients"][0]["url"] == url


@pytest.mark.parametrize(("target", "threshold"), [("dev", "1"), ("prod", "0.5")])
def test_loki_ruler_alerts_on_error_log_rate_per_service(target: str, threshold: str) -> None:
    rules = [rule for group in ruler_groups(target) for rule in group["rules"]]
    assert sorted(rule["labels"]["service"] for rule in rules) == sorted(real_parameters()[target]["services"])
    for rule in rules:
        assert rule["alert"] == "ServiceErrorLogRateHigh"
        assert {"severity", "priority", "service"} <= set(rule["labels"])
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        assert rule["expr"].endswith(f"> {threshold}")
        parsed = check_logql(rule["expr"], LOG_LABELS)
        assert parsed.is_metric and parsed.stream_labels == {"namespace", "service"}
    assert values(target, "loki")["loki"]["rulerConfig"]["storage"]["local"]["directory"] == "/etc/loki/rules"


def test_logging_namespace_states_why_it_is_privileged() -> None:
    namespaces = {
        d["metadata"]["name"]: d for d in yaml.safe_load_all((COMPILED / "prod/manifests/namespaces/namespace.yaml").read_text())
    }
    logging = namespaces["logging"]["metadata"]
    assert logging["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "hostPath" in logging["annotations"]["mnops/pod-security-reason"]
    assert namespaces["machine-native-ops"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
