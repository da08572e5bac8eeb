"""The data-protection alerts load in Prometheus (promtool check rules) and fire on the right side
of each threshold (promtool test rules), with the metric names the exporters really publish."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, cluster_targets

pytestmark = pytest.mark.servers  # real promtool


@pytest.fixture(scope="module")
def promtool() -> str:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), "promtool=prometheus"], check=True, timeout=900)
    return "promtool"


def rules_file(compiled: Path, target: str, dest: Path) -> Path:
    rule = yaml.safe_load((compiled / target / "manifests" / "backup" / "prometheusrule.yaml").read_text())
    path = dest / f"{target}-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path


def with_annotations(cases: list[dict[str, Any]], rules: Path) -> list[dict[str, Any]]:
    """promtool compares annotations too: expect each rule's own, with $labels filled in."""
    by_name = {r["alert"]: r for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]}
    for test in cases:
        for check in test["alert_rule_test"]:
            for expected in check["exp_alerts"]:
                labels = expected["exp_labels"]
                expected["exp_annotations"] = {
                    key: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m, labels=labels: labels.get(m.group(1), ""), value)
                    for key, value in by_name[check["alertname"]]["annotations"].items()
                }
    return cases


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False, timeout=120)


NS = 'namespace="machine-native-ops-data"'


def case(series: list[dict[str, str]], at: str, alert: str, fires: bool, labels: dict[str, str] | None = None) -> dict[str, Any]:
    expected = [{"exp_labels": labels}] if fires and labels is not None else []
    return {"interval": "1m", "input_series": series,
            "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}]}  # fmt: skip


def prod_cases() -> list[dict[str, Any]]:
    pod = f'{NS}, pod="postgres-1"'
    archive_labels = {"namespace": "machine-native-ops-data", "pod": "postgres-1", "severity": "critical", "priority": "P1",
                      "service": "postgres"}  # fmt: skip
    writes = [{"series": f"cnpg_pg_stat_database_tup_inserted{{{pod}, datname=\"app\"}}", "values": "0+60x40"},
              {"series": f"cnpg_pg_stat_database_tup_updated{{{pod}, datname=\"app\"}}", "values": "0x40"},
              {"series": f"cnpg_pg_stat_database_tup_deleted{{{pod}, datname=\"app\"}}", "values": "0x40"}]  # fmt: skip
    hourly = {"schedule": "hourly", "severity": "critical", "priority": "P1", "service": "velero"}
    return [
        # 16 min without an archived segment while rows are inserted: past the 15 min RPO.
        case([*writes, {"series": f"cnpg_pg_stat_archiver_seconds_since_last_archival{{{pod}}}", "values": "0+60x40"}],
             "16m", "PostgresWALArchiveOlderThanRPO", True, archive_labels),
        case([*writes, {"series": f"cnpg_pg_stat_archiver_seconds_since_last_archival{{{pod}}}", "values": "0+60x40"}],
             "14m", "PostgresWALArchiveOlderThanRPO", False),
        case([{"series": f"cnpg_pg_stat_archiver_failed_count{{{pod}}}", "values": "0+1x20"}], "12m",
             "PostgresWALArchivingFailing", True, archive_labels),
        case([{"series": f"cnpg_pg_stat_archiver_failed_count{{{pod}}}", "values": "3x20"}], "12m",
             "PostgresWALArchivingFailing", False),
        case([{"series": f"cnpg_pg_replication_lag{{{pod}}}", "values": "45x20"}], "10m", "PostgresReplicaLagHigh", True,
             {"namespace": "machine-native-ops-data", "pod": "postgres-1", "severity": "warning", "priority": "P2",
              "service": "postgres"}),
        case([{"series": f"cnpg_pg_replication_lag{{{pod}}}", "values": "20x20"}], "10m", "PostgresReplicaLagHigh", False),
        # The hourly backup may be one period + RPO (75 min) old, not more; the test clock starts at 0.
        case([{"series": 'velero_backup_last_successful_timestamp{schedule="hourly"}', "values": "0x100"}], "76m",
             "VeleroHourlyBackupTooOld", True, hourly),
        case([{"series": 'velero_backup_last_successful_timestamp{schedule="hourly"}', "values": "0x100"}], "74m",
             "VeleroHourlyBackupTooOld", False),
        case([{"series": f'redis_rdb_last_bgsave_status{{{NS}, pod="redis-0"}}', "values": "0x10"},
              {"series": f'redis_aof_last_write_status{{{NS}, pod="redis-0"}}', "values": "1x10"}], "6m",
             "RedisPersistenceFailing", True,
             {"namespace": "machine-native-ops-data", "pod": "redis-0", "severity": "critical", "priority": "P1",
              "service": "redis"}),
        case([{"series": f'redis_rdb_last_bgsave_status{{{NS}, pod="redis-0"}}', "values": "1x10"},
              {"series": f'redis_aof_last_write_status{{{NS}, pod="redis-0"}}', "values": "1x10"}], "6m",
             "RedisPersistenceFailing", False),
    ]  # fmt: skip


def dr_cases() -> list[dict[str, Any]]:
    pod = f'{NS}, pod="postgres-1"'
    labels = {"namespace": "machine-native-ops-data", "pod": "postgres-1", "severity": "critical", "priority": "P1",
              "service": "postgres"}  # fmt: skip
    return [
        case(
            [{"series": f"cnpg_pg_replication_lag{{{pod}}}", "values": "1000x20"}], "10m", "PostgresDRReplicaBehind", True, labels
        ),
        case([{"series": f"cnpg_pg_replication_lag{{{pod}}}", "values": "60x20"}], "10m", "PostgresDRReplicaBehind", False),
    ]


@pytest.mark.parametrize("target", cluster_targets())
def test_data_alert_rules_load_in_prometheus(promtool: str, compiled_tree: Path, tmp_path: Path, target: str) -> None:
    path = rules_file(compiled_tree, target, tmp_path)
    result = run([promtool, "check", "rules", str(path)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("target", "cases"), [("prod", prod_cases()), ("prod-dr", dr_cases())])
def test_data_alerts_fire_above_and_stay_silent_below_each_threshold(
    promtool: str, compiled_tree: Path, tmp_path: Path, target: str, cases: list[dict[str, Any]]
) -> None:
    rules = rules_file(compiled_tree, target, tmp_path)
    tests = tmp_path / "tests.yaml"
    body = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": with_annotations(cases, rules)}
    tests.write_text(yaml.safe_dump(body, sort_keys=False))
    result = run([promtool, "test", "rules", tests.name], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_test_catches_a_wrong_expectation(promtool: str, compiled_tree: Path, tmp_path: Path) -> None:
    """The harness itself can fail: claiming an alert fires below its threshold is reported."""
    rules = rules_file(compiled_tree, "prod", tmp_path)
    wrong = prod_cases()[1]  # 14 min: must not fire
    wrong["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"pod": "postgres-1"}}]
    tests = tmp_path / "tests.yaml"
    tests.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [wrong]}))
    assert run([promtool, "test", "rules", tests.name], tmp_path).returncode != 0
