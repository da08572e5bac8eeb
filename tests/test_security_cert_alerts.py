"""The certificate expiry alerts, tested with promtool on both sides of every threshold."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from security_support import ROOT, parameters, with_monitoring

from mnops import units
from mnops.inventory.model import build_target
from mnops.security.model import security_settings
from mnops.security.objects import certificate_objects

pytestmark = pytest.mark.servers  # real promtool

DAY = 86400


@pytest.fixture(scope="session")
def promtool() -> str:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "promtool=prometheus"], check=True)
    return "promtool"


def expiry_rule() -> dict[str, Any]:
    """prod's certificate expiry PrometheusRule, as compiled once Prometheus runs on the cluster."""
    target = build_target(with_monitoring(parameters()["prod"]))
    (rule,) = [o for o in certificate_objects(target, security_settings(target)) if o["kind"] == "PrometheusRule"]
    return rule


def without_monitoring(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of a target's parameters where nothing creates the `monitoring` namespace."""
    result = copy.deepcopy(dict(params))
    result["namespaces"] = {role: ns for role, ns in result["namespaces"].items() if ns != "monitoring"}
    result["charts"] = {k: {**c, "enabled": c["enabled"] and c["namespace"] != "monitoring"} for k, c in result["charts"].items()}
    return result


def test_the_rule_follows_prometheus() -> None:
    """Emitted where the monitoring stack (its namespace) exists, left out where it does not."""
    assert expiry_rule()["metadata"]["namespace"] == "monitoring"
    without = build_target(without_monitoring(parameters()["prod"]))
    assert [o["kind"] for o in certificate_objects(without, security_settings(without))].count("PrometheusRule") == 0


@pytest.fixture(scope="session")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rule = expiry_rule()
    path = tmp_path_factory.mktemp("rules") / "certificates.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path


def expiring(name: str, seconds_left: int) -> dict[str, str]:
    # The expiry timestamp is constant; promtool's clock starts at 0, so at 20m the time left is seconds_left - 1200.
    return {"series": f'certmanager_certificate_expiration_timestamp_seconds{{namespace="apps",name="{name}"}}',
            "values": f"{seconds_left}x30"}  # fmt: skip


PRIORITY = {"warning": "P2", "critical": "P1"}


def expected(alertname: str, name: str, severity: str) -> dict[str, object]:
    """The labels and the rendered annotations promtool must see for one firing alert."""
    (rule,) = [r for g in expiry_rule()["spec"]["groups"] for r in g["rules"] if r["alert"] == alertname]
    annotations = {
        key: value.replace("{{ $labels.namespace }}", "apps").replace("{{ $labels.name }}", name)
        for key, value in rule["annotations"].items()
    }
    labels = {"namespace": "apps", "name": name, "severity": severity, "priority": PRIORITY[severity]}
    return {"exp_labels": labels, "exp_annotations": annotations}


def test_certificate_rules_are_valid(promtool: str, rules_file: Path) -> None:
    result = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_expiry_alerts_fire_on_the_right_side_of_each_threshold(promtool: str, rules_file: Path, tmp_path: Path) -> None:
    alert = parameters()["prod"]["tls"]["expiry_alert"]
    warning, critical = units.duration_seconds(alert["warning_before"]), units.duration_seconds(alert["critical_before"])
    hour = 3600
    tests = {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    expiring("healthy", warning + hour),
                    expiring("soon", warning - hour),
                    expiring("critical", critical - hour),
                    {"series": 'certmanager_certificate_ready_status{namespace="apps",name="broken",condition="False"}',
                     "values": "1x40"},
                    {"series": 'certmanager_certificate_ready_status{namespace="apps",name="fine",condition="True"}',
                     "values": "1x40"},
                ],
                "alert_rule_test": [
                    {"eval_time": "20m", "alertname": "CertificateExpiringSoon",
                     "exp_alerts": [expected("CertificateExpiringSoon", n, "warning") for n in ("critical", "soon")]},
                    {"eval_time": "20m", "alertname": "CertificateExpiryCritical",
                     "exp_alerts": [expected("CertificateExpiryCritical", "critical", "critical")]},
                    {"eval_time": "10m", "alertname": "CertificateExpiringSoon", "exp_alerts": []},
                    {"eval_time": "35m", "alertname": "CertificateNotReady",
                     "exp_alerts": [expected("CertificateNotReady", "broken", "warning")]},
                    {"eval_time": "20m", "alertname": "CertificateNotReady", "exp_alerts": []},
                ],
            }
        ],
    }  # fmt: skip
    test_file = tmp_path / "tests.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
