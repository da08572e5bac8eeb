"""Credentials that third-party charts need come from External Secrets, never from chart defaults."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import ROOT

CLUSTERS = ("dev", "staging", "prod", "prod-dr")


def external_secrets(target: str) -> dict[tuple[str, str], dict[str, object]]:
    docs = yaml.safe_load_all((ROOT / "compiled" / target / "manifests" / "secrets" / "externalsecret.yaml").read_text())
    return {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d}


def grafana_admin_problems(compiled: Path, target: str) -> list[str]:
    values = yaml.safe_load((compiled / target / "helm-values" / "kube-prometheus-stack.yaml").read_text())
    admin = values.get("grafana", {}).get("admin", {})
    if not admin.get("existingSecret"):
        return [f"{target}: Grafana would start with the chart's default admin password"]
    secret = external_secrets(target).get(("monitoring", admin["existingSecret"]))
    if secret is None:
        return [f"{target}: no ExternalSecret monitoring/{admin['existingSecret']} for Grafana's admin login"]
    keys = {item["secretKey"] for item in secret["spec"]["data"]}  # type: ignore[index]
    wanted = (admin["userKey"], admin["passwordKey"])
    return [f"{target}: {key} missing from the Grafana admin secret" for key in wanted if key not in keys]


def test_grafana_admin_login_comes_from_an_external_secret() -> None:
    for target in CLUSTERS:
        assert grafana_admin_problems(ROOT / "compiled", target) == []


def test_chart_default_grafana_password_is_caught(tmp_path: Path) -> None:
    values = tmp_path / "prod" / "helm-values" / "kube-prometheus-stack.yaml"
    values.parent.mkdir(parents=True)
    values.write_text("grafana:\n  sidecar: {}\n")
    assert grafana_admin_problems(tmp_path, "prod") == ["prod: Grafana would start with the chart's default admin password"]
