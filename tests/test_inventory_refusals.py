"""What a cluster would refuse or what is dangerous is refused at compile time: oversized
ConfigMaps and annotations, reserved namespaces, credentials in plain config (and the repository
scan judges a setting exactly as the compile does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import real_parameters

from mnops.api_limits import ANNOTATIONS_LIMIT as API_ANNOTATIONS_LIMIT
from mnops.api_limits import DATA_LIMIT, oversized_objects
from mnops.inventory import problems_in
from mnops.inventory.rules import ANNOTATIONS_LIMIT, CONFIGMAP_DATA_LIMIT, RESERVED_NAMESPACES
from mnops.kapitan_inventory import compiles_manifests
from mnops.security.secret_scan import credential_in_setting, scan_text


def a_cluster() -> tuple[str, dict[str, Any], str]:
    """Some cluster target and one of its services, whichever the inventory has."""
    name, params = next((n, p) for n, p in real_parameters().items() if compiles_manifests(p))
    return name, params, sorted(params["services"])[0]


def paths(target: str, params: dict[str, Any]) -> list[str]:
    return [p.path for p in problems_in(target, params)]


def test_a_service_config_over_one_mebibyte_is_refused_naming_the_service_and_key() -> None:
    target, params, service = a_cluster()
    used = sum(len(k) + len(v) for k, v in params["services"][service].get("config", {}).items())
    # service_defaults' config is merged in too; a key that alone reaches the limit is over it in any case.
    params["services"][service].setdefault("config", {})["BUNDLE"] = "x" * (CONFIGMAP_DATA_LIMIT - len("BUNDLE") - used + 1)
    problems = [p for p in problems_in(target, params) if p.path.endswith(".config.BUNDLE")]
    assert problems and "at most 1048576 bytes (1 MiB)" in problems[0].expected


def test_a_service_config_just_under_the_limit_is_accepted() -> None:
    target, params, service = a_cluster()
    params["services"][service].setdefault("config", {})["BUNDLE"] = "x" * (CONFIGMAP_DATA_LIMIT // 2)
    assert paths(target, params) == []


@pytest.mark.parametrize(("extra", "refused"), [(ANNOTATIONS_LIMIT, True), (ANNOTATIONS_LIMIT // 2, False)])
def test_annotations_over_256_kib_are_refused(extra: int, refused: bool) -> None:
    target, params, _ = a_cluster()
    params["cloud"]["load_balancer_annotations"]["example.com/big"] = "x" * extra
    assert ("parameters.cloud.load_balancer_annotations" in paths(target, params)) is refused


@pytest.mark.parametrize("reserved", RESERVED_NAMESPACES)
def test_a_reserved_namespace_for_our_workloads_is_refused(reserved: str) -> None:
    target, params, _ = a_cluster()
    chart = sorted(params["charts"])[0]
    params["charts"][chart]["namespace"] = reserved
    assert f"parameters.charts.{chart}.namespace" in paths(target, params)


CREDENTIALS = [
    ("DATABASE_PASSWORD", "hunter2"),
    ("STRIPE_API_KEY", "abc"),
    ("GITHUB_TOKEN", "something"),
    ("CLIENT_SECRET", "s"),
    ("REPORT_DB", "postgres://reports:pw" + "@db:5432/reports"),  # split: the repository scan reads this file too
    ("UPSTREAM_SIGNATURE", "q8Zr2LmX7vPt4Kd9Wb3Nf6Hj1Yc5Gs0A"),
]
NOT_CREDENTIALS = [
    ("SECRET_NAME", "memory-service-db"),
    ("TOKEN_TTL_SECONDS", "300"),
    ("LOG_LEVEL", "info"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.tracing:4317"),
    ("DATABASE_PASSWORD", "${DATABASE_PASSWORD}"),
    ("SERVICE_NAME", "supply-chain-service-reporting-api"),
]


@pytest.mark.parametrize(("key", "value"), CREDENTIALS)
def test_compile_and_repository_scan_both_refuse_a_credential_in_config(key: str, value: str) -> None:
    target, params, service = a_cluster()
    params["services"][service].setdefault("config", {})[key] = value
    assert f"parameters.services.{service}.config.{key}" in paths(target, params)
    assert credential_in_setting(key, value)
    findings = list(scan_text("inventory/classes/services/x.yml", f"config:\n  {key}: {value}\n"))
    assert any(f.rule.startswith(f"credential-in-config ({key}") for f in findings), findings


@pytest.mark.parametrize(("key", "value"), NOT_CREDENTIALS)
def test_settings_that_only_name_or_reference_a_secret_are_accepted(key: str, value: str) -> None:
    assert credential_in_setting(key, value) is None
    assert not [f for f in scan_text("x.yml", f"config:\n  {key}: '{value}'\n") if "credential-in-config" in f.rule]


def test_a_built_object_the_api_server_would_refuse_is_named_with_its_file(tmp_path: Path) -> None:
    """The safety net over every built object, not only those the inventory rules can see."""
    manifests = tmp_path / "compiled" / "prod" / "manifests" / "dashboards"
    manifests.mkdir(parents=True)
    labels = {"app.kubernetes.io/name": "grafana"}
    big = {
        "kind": "ConfigMap",
        "metadata": {"name": "big", "namespace": "monitoring", "labels": labels},
        "data": {"a": "x" * DATA_LIMIT},
    }
    (manifests / "big.yaml").write_text(yaml.safe_dump(big))
    under = {"kind": "ConfigMap", "metadata": {"name": "under"}, "data": {"a": "x" * (DATA_LIMIT - 10)}}
    (manifests / "under.yaml").write_text(yaml.safe_dump(under))
    noted = {"kind": "Service", "metadata": {"name": "noted", "annotations": {"a": "x" * API_ANNOTATIONS_LIMIT}}}
    (manifests / "noted.yaml").write_text(yaml.safe_dump(noted))
    assert oversized_objects(tmp_path / "compiled") == [
        "compiled/prod/manifests/dashboards/big.yaml: ConfigMap monitoring/big (service grafana): 1048577 bytes of data, "
        "the API server refuses more than 1048576 (1 MiB)",
        "compiled/prod/manifests/dashboards/noted.yaml: Service noted: 262145 bytes of annotations, "
        "the API server refuses more than 262144 (256 KiB)",
    ]


def test_validation_remembered_by_content_checks_an_edited_value_again() -> None:
    """problems_in keeps its answer by the parameters' content (one compile asks several times):
    the same dict edited in place is judged afresh, and edited back is valid again."""
    target, params, service = a_cluster()
    assert problems_in(target, params) == []
    settings = params["services"][service]
    original = dict(settings)
    settings["port"] = "eighty"
    assert f"parameters.services.{service}.port" in paths(target, params)
    settings.clear()
    settings.update(original)
    assert problems_in(target, params) == []
