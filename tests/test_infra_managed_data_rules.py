"""The rules behind infra.data_services, on the real inventory with one edit each (no compile):
one line per mistake, naming the key, and nothing for the documented switch."""

from __future__ import annotations

from typing import Any

from conftest import real_parameters

from mnops.data.managed import OPERATOR_CHARTS
from mnops.infra.aws_data import aws_cron
from mnops.inventory import problems_in
from mnops.kapitan_inventory import compiles_manifests


def a_cluster() -> str:
    """A production cluster of the inventory (the strictest rules apply there)."""
    params = real_parameters()
    return next(n for n, p in sorted(params.items()) if compiles_manifests(p) and p["cluster"]["environment"] == "prod")


def _problems(cluster: str, edit: dict[str, Any]) -> list[str]:
    params = real_parameters()[cluster]
    for dotted, value in edit.items():
        node = params
        *path, last = dotted.split(".")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return [p.render() for p in problems_in(cluster, params)]


def _switched(cluster: str, **extra: Any) -> dict[str, Any]:
    edit: dict[str, Any] = {"infra.data_services.postgres": "rds", "infra.data_services.redis": "elasticache"}
    edit |= {f"charts.{key}.enabled": False for keys in OPERATOR_CHARTS.values() for key in keys}
    return edit | extra


def test_the_switched_inventory_has_no_problem() -> None:
    assert _problems(a_cluster(), _switched(a_cluster())) == []


def test_backup_and_maintenance_windows_may_not_overlap() -> None:
    cluster = a_cluster()
    found = _problems(cluster, _switched(cluster, **{"infra.data_services.rds.maintenance_window": "sun:02:15-sun:03:00"}))
    assert len(found) == 1 and "rds.backup_window" in found[0] and "AWS refuses overlapping" in found[0]
    wrapped = {
        "infra.data_services.rds.backup_window": "23:30-00:30",
        "infra.data_services.rds.maintenance_window": "mon:00:00-mon:01:00",
    }
    assert len(_problems(cluster, _switched(cluster, **wrapped))) == 1
    short = {"infra.data_services.elasticache.snapshot_window": "03:00-03:30"}
    assert "at least 60 minutes" in _problems(cluster, _switched(cluster, **short))[0]
    apart = {"infra.data_services.rds.maintenance_window": "sat:22:00-sun:01:59"}
    assert _problems(cluster, _switched(cluster, **apart)) == []


def test_an_operator_chart_left_on_is_named() -> None:
    cluster = a_cluster()
    found = _problems(cluster, {"infra.data_services.postgres": "rds"})
    assert [line.split(": ")[0].strip() for line in found] == [
        "parameters.charts.cloudnative-pg.enabled",
        "parameters.charts.plugin-barman-cloud.enabled",
    ]


def test_rds_must_keep_at_least_the_postgres_recovery_window() -> None:
    cluster = a_cluster()
    found = _problems(cluster, _switched(cluster, **{"infra.data_services.rds.backup_retention_days": 7}))
    assert len(found) == 1 and "rds.backup_retention_days: expected at least the recovery window" in found[0]


def test_turning_off_encryption_or_protection_is_named_even_while_unused() -> None:
    cluster = a_cluster()
    off = {
        "infra.data_services.rds.deletion_protection": False,
        "infra.data_services.elasticache.transit_encryption": False,
        "infra.data_services.elasticache.at_rest_encryption": False,
    }
    found = _problems(cluster, off)
    assert sorted(line.split(": ")[0].strip() for line in found) == [f"parameters.{key}" for key in sorted(off)]


def test_every_backup_tier_fits_what_covers_it_on_rds() -> None:
    """Tiers taken more often than daily are RDS's point-in-time recovery, so they fit its retention; the
    others become AWS Backup rules, whose cron cannot name a day of the month and a weekday at once."""
    cluster = a_cluster()
    days = real_parameters()[cluster]["infra"]["data_services"]["rds"]["backup_retention_days"]
    hourly = {"backup.schedules.hourly.ttl": f"{days + 1}d"}
    [found] = _problems(cluster, _switched(cluster, **hourly))
    assert "parameters.backup.schedules.hourly.ttl" in found and "backup_retention_days" in found
    both = {"backup.schedules.monthly.schedule": "0 5 1 * 1"}
    [found] = _problems(cluster, _switched(cluster, **both))
    assert "parameters.backup.schedules.monthly.schedule" in found and "not both" in found
    assert _problems(cluster, both) == [], "without RDS the table is Velero's alone, which runs such a schedule"


def test_the_plan_tiers_become_aws_backup_crons() -> None:
    assert aws_cron("c", "daily", "0 3 * * *") == "cron(0 3 * * ? *)"
    assert aws_cron("c", "weekly", "0 4 * * 0") == "cron(0 4 ? * SUN *)"
    assert aws_cron("c", "weekly", "30 1 * * 1-5") == "cron(30 1 ? * MON-FRI *)"
    assert aws_cron("c", "monthly", "@monthly") == "cron(0 0 1 * ? *)"
