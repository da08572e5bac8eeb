"""kube-prometheus-stack values: sized per environment, labelled per cluster, and carrying the
same Alertmanager config that amtool checked."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml
from observability_support import COMPILED, TARGETS, target

from mnops.observability.alertmanager import alertmanager_config
from mnops.observability.helm_values import kube_prometheus_stack_values
from mnops.observability.settings import monitoring_settings


def values(name: str) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((COMPILED / name / "helm-values" / "kube-prometheus-stack.yaml").read_text())
    return loaded


@pytest.mark.parametrize("name", TARGETS)
def test_values_embed_the_checked_alertmanager_config_and_mount_its_secret(name: str) -> None:
    v = values(name)
    am = v["alertmanager"]
    assert isinstance(am, dict)
    assert am["config"] == yaml.safe_load((COMPILED / name / "alertmanager" / "alertmanager.yaml").read_text())
    assert am["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]


@pytest.mark.parametrize(
    ("name", "replicas", "retention"), [("dev", 1, "3d"), ("staging", 1, "7d"), ("prod", 2, "30d"), ("prod-dr", 2, "30d")]
)
def test_prometheus_is_sized_and_labelled_per_environment(name: str, replicas: int, retention: str) -> None:
    spec = values(name)["prometheus"]["prometheusSpec"]  # type: ignore[index]
    assert spec["replicas"] == replicas
    assert spec["retention"] == retention
    assert spec["externalLabels"] == {"cluster": name, "environment": target(name).cluster.environment}
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"] == "gp3"
    for selector in ("serviceMonitor", "podMonitor", "rule"):
        assert spec[f"{selector}SelectorNilUsesHelmValues"] is False
    assert "remoteWrite" not in spec


def test_remote_write_uses_a_secret_reference() -> None:
    t = target("prod")
    params = copy.deepcopy(dict(t.parameters))
    remote = {"remote_write_url": "https://metrics.example.com/api/v1/push", "remote_write_secret": "rw"}
    params["monitoring"]["prometheus"].update(remote)
    monitoring = monitoring_settings(params)
    v = kube_prometheus_stack_values(
        dataclasses.replace(t, parameters=params), monitoring, alertmanager_config(monitoring.alertmanager)
    )
    (entry,) = v["prometheus"]["prometheusSpec"]["remoteWrite"]
    assert entry["url"] == "https://metrics.example.com/api/v1/push"
    assert entry["basicAuth"]["password"] == {"name": "rw", "key": "password"}
