"""Tracing: every service gets its OTLP endpoint and sampling from the inventory; gateway -> Jaeger."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from conftest import ROOT

from mnops.errors import BuildError
from mnops.observability.tracing import JaegerSettings, Tracing, jaeger_values, otel_env

COMPILED = ROOT / "compiled"
ENDPOINT = "http://opentelemetry-collector.tracing.svc.cluster.local:4317"


def service_config(target: str, service: str) -> dict[str, str]:
    doc = yaml.safe_load((COMPILED / target / "manifests" / service / "configmap.yaml").read_text())
    data: dict[str, str] = doc["data"]
    return data


def values(target: str, chart: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPILED / target / "helm-values" / f"{chart}.yaml").read_text())
    return loaded


@pytest.mark.parametrize(
    ("target", "service", "ratio"),
    [
        ("dev", "memory-service", "1"),
        ("staging", "memory-service", "0.5"),
        ("prod", "memory-service", "0.1"),
        ("prod", "reporting-service", "0.5"),  # per-service override in env/prod.yml
    ],
)
def test_each_service_gets_endpoint_and_sampling_from_the_inventory(target: str, service: str, ratio: str) -> None:
    config = service_config(target, service)
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"] == ENDPOINT
    assert config["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert config["OTEL_TRACES_SAMPLER_ARG"] == ratio
    assert config["OTEL_SERVICE_NAME"] == service
    attributes = dict(pair.split("=", 1) for pair in config["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert attributes["k8s.cluster.name"] == target
    assert attributes["deployment.environment.name"] == ("prod" if target.startswith("prod") else target)


def test_collector_is_a_gateway_that_exports_traces_to_jaeger() -> None:
    collector = values("prod", "opentelemetry-collector")
    assert collector["mode"] == "deployment"
    assert collector["replicaCount"] == 2
    pipelines = collector["config"]["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger"]
    assert pipelines["logs"] is None and pipelines["metrics"] is None  # the chart's debug pipelines are removed
    assert collector["config"]["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger.tracing.svc.cluster.local:4317"


def test_jaeger_keeps_traces_in_memory_in_dev_and_opensearch_in_prod() -> None:
    dev = values("dev", "jaeger")["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"]
    prod_values = values("prod", "jaeger")
    prod = prod_values["userconfig"]["extensions"]["jaeger_storage"]["backends"]["primary_store"]
    assert "memory" in dev
    assert prod["opensearch"]["server_urls"] == ["https://traces.prod.machinenativeops.internal"]
    # Credentials only by secret reference.
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in prod_values["jaeger"]["extraEnv"]}
    assert refs == {"jaeger-opensearch"}
    cleaner = prod_values["esIndexCleaner"]
    assert (cleaner["enabled"], cleaner["numberOfDays"]) == (True, 14)
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in cleaner["extraEnv"]} == {"jaeger-opensearch"}
    assert prod_values["storage"]["elasticsearch"]["url"] == "https://traces.prod.machinenativeops.internal"


def tracing(**jaeger: Any) -> Tracing:
    settings = {"storage": "memory", "max_traces": 1000, "opensearch_url": None, "credentials_secret": None, "retention_days": 7}
    return Tracing(0.25, {"memory-service": 1.0}, 1, JaegerSettings(**{**settings, **jaeger}))


def test_service_override_beats_the_environment_ratio() -> None:
    common = {"version": "1.0.0", "tracing_namespace": "tracing", "cluster": "c", "environment": "e", "apps_namespace": "a"}
    assert otel_env("memory-service", cfg=tracing(), **common)["OTEL_TRACES_SAMPLER_ARG"] == "1"
    assert otel_env("reporting-service", cfg=tracing(), **common)["OTEL_TRACES_SAMPLER_ARG"] == "0.25"


def test_opensearch_storage_without_its_url_is_refused() -> None:
    with pytest.raises(BuildError, match="opensearch_url"):
        jaeger_values(tracing(storage="opensearch"))
