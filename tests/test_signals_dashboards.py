"""Dashboards as code: valid JSON, unique uids, real PromQL, structural LogQL, contract metrics only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

from mnops.errors import BuildError
from mnops.observability.exporters import allowed_metric_names
from mnops.observability.grafana import LOKI_UID, Dashboard, Panel, Query, dashboard, queries_of
from mnops.observability.logs import LOG_LABELS
from mnops.observability.queries import check_logql, promql_metric_names, unknown_metrics

COMPILED = ROOT / "compiled"
# Cluster targets only: `local` compiles a Docker Compose stack, no manifests or dashboards.
TARGETS = sorted(p.name for p in COMPILED.iterdir() if (p / "manifests").is_dir())


def raw_dashboards(target: str) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((COMPILED / target / "dashboards").glob("*.json"))}


def config_maps(target: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((COMPILED / target / "manifests/dashboards/configmap.yaml").read_text()))


def all_queries(language: str) -> list[str]:
    found = {
        expr for t in TARGETS for model in raw_dashboards(t).values() for _, lang, expr in queries_of(model) if lang == language
    }
    return sorted(found)


@pytest.fixture(scope="session")
def promtool() -> str:
    subprocess.run([str(ROOT / "scripts/ensure-debs"), "promtool=prometheus"], check=True)
    return "promtool"


def promtool_check(promtool: str, expressions: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """promtool has no 'check expression' in 2.42: each query becomes a throwaway recording rule."""
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [{"record": f"dashboard:query_{i}:check", "expr": e} for i, e in enumerate(expressions)],
            }
        ]
    }
    path = folder / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(rules))
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_ships_the_required_dashboards(target: str) -> None:
    uids = set(raw_dashboards(target))
    services = sorted(p.name for p in (COMPILED / target / "manifests").iterdir() if (p / "deployment.yaml").exists())
    required = {"mnops-overview", "mnops-slo", "mnops-business", "mnops-redis", "mnops-postgres"}
    required |= {f"mnops-svc-{s}" for s in services}
    assert required <= uids, f"missing: {sorted(required - uids)}"


@pytest.mark.parametrize("target", TARGETS)
def test_dashboards_are_json_with_unique_uids_and_panel_ids(target: str) -> None:
    models = raw_dashboards(target)
    uids = [m["uid"] for m in models.values()]
    assert len(uids) == len(set(uids)), uids
    for name, model in models.items():
        assert model["uid"] == name, "the file is named after the uid"
        assert len(model["uid"]) <= 40
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        assert model["panels"], f"{name} has no panels"


@pytest.mark.parametrize("target", TARGETS)
def test_config_maps_carry_the_same_json_and_the_sidecar_labels(target: str) -> None:
    models = raw_dashboards(target)
    dashboards = [cm for cm in config_maps(target) if cm["metadata"]["labels"].get("grafana_dashboard") == "1"]
    in_config_maps = {key.removesuffix(".json"): json.loads(v) for cm in dashboards for key, v in cm["data"].items()}
    assert in_config_maps == models
    sources = [cm for cm in config_maps(target) if cm["metadata"]["labels"].get("grafana_datasource") == "1"]
    assert len(sources) == 1
    provisioned = yaml.safe_load(next(iter(sources[0]["data"].values())))
    uids = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    assert uids == {"mnops-prometheus": "prometheus", "mnops-loki": "loki", "mnops-jaeger": "jaeger"}
    used = {t["datasource"]["uid"] for m in models.values() for p in m["panels"] for t in p.get("targets", [])}
    assert used <= set(uids), "every panel uses a provisioned datasource"


@pytest.mark.parametrize("target", TARGETS)
def test_each_service_dashboard_has_a_logs_panel_for_that_service(target: str) -> None:
    for uid, model in raw_dashboards(target).items():
        if not uid.startswith("mnops-svc-"):
            continue
        service = uid.removeprefix("mnops-svc-")
        logs = [p for p in model["panels"] if p["type"] == "logs"]
        assert logs, f"{uid} has no logs panel"
        assert f'service="{service}"' in logs[0]["targets"][0]["expr"]


def test_every_promql_query_parses_with_promtool(promtool: str, tmp_path: Path) -> None:
    expressions = all_queries("promql")
    assert len(expressions) > 50
    result = promtool_check(promtool, expressions, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rejects_a_broken_query(promtool: str, tmp_path: Path) -> None:
    result = promtool_check(promtool, ["sum(rate(http_requests_total[5m])"], tmp_path)
    assert result.returncode != 0


def test_every_metric_name_is_in_the_contract_or_exporters() -> None:
    assert unknown_metrics(all_queries("promql"), allowed_metric_names()) == {}


def test_a_panel_with_an_unknown_metric_is_rejected() -> None:
    spec = Dashboard(
        "fixture",
        "fixture",
        (),
        (Panel("bad", (Query("sum(rate(made_up_requests_total[5m])) / sum(service:http_requests:rate5m)"),)),),
    )
    expressions = [expr for _, _, expr in queries_of(dashboard(spec))]
    assert unknown_metrics(expressions, allowed_metric_names()) == {expressions[0]: {"made_up_requests_total"}}


def test_metric_names_come_from_the_parsed_expression_not_from_text() -> None:
    # Label values, function names and grouping labels are not metric names.
    names = promql_metric_names('histogram_quantile(0.99, sum by (le) (rate(x_bucket{job="rate"}[5m]))) > on() group_left y')
    assert names == {"x_bucket", "y"}
    with pytest.raises(ValueError, match="not valid PromQL"):
        promql_metric_names("sum(rate(x[5m])")


def test_every_logql_query_is_structurally_valid_with_collector_labels() -> None:
    expressions = all_queries("logql")
    assert expressions
    for expr in expressions:
        parsed = check_logql(expr, LOG_LABELS)
        assert "namespace" in parsed.stream_labels


@pytest.mark.parametrize(
    "expr",
    [
        '{namespace="a"',  # unclosed selector
        'sum(rate({namespace="a"}))',  # range aggregation without a range
        '{app="a"}',  # a label no collector sets
        'rat({namespace="a"}[5m])',  # unknown function
        '{namespace="a"} | json | level',  # label filter without value
        'rate({namespace="a"} |= error [5m])',  # line filter without a string
    ],
)
def test_malformed_logql_is_rejected(expr: str) -> None:
    with pytest.raises(ValueError):
        check_logql(expr, LOG_LABELS)


def test_builder_rejects_panels_that_cannot_render() -> None:
    mixed = Panel("mixed", (Query("up"), Query('{namespace="a"}', datasource=LOKI_UID)))
    with pytest.raises(BuildError, match="mixes datasources"):
        dashboard(Dashboard("x", "x", (), (mixed,)))
    with pytest.raises(BuildError, match="width"):
        dashboard(Dashboard("x", "x", (), (Panel("wide", (Query("up"),), width=30),)))
    with pytest.raises(BuildError, match="at least one query"):
        dashboard(Dashboard("x", "x", (), (Panel("empty", ()),)))
    with pytest.raises(BuildError, match="uid"):
        dashboard(Dashboard("u" * 41, "x", (), ()))


def test_thresholds_come_from_the_inventory() -> None:
    prod = raw_dashboards("prod")["mnops-svc-memory-service"]
    error_panel = next(p for p in prod["panels"] if p["title"] == "Error ratio (5xx)")
    steps = error_panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == 0.05  # service_defaults.alerts.error_rate_percent: 5
