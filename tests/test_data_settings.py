"""Small parsers the data layer relies on: PostgreSQL times, cron periods, Velero TTLs, bucket names."""

from __future__ import annotations

import pytest
from conftest import real_parameters

from mnops.data import VeleroSchedule, data_settings, postgres_seconds
from mnops.data.alerts import cron_period_seconds
from mnops.inventory import load_target


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30), ("5min", 300), ("1h", 3600), ("45", 45), ("1500ms", 1)])
def test_postgres_time_settings_are_read_in_seconds(value: str, seconds: int) -> None:
    assert postgres_seconds(value) == seconds


def test_a_postgres_time_with_an_unknown_unit_is_rejected() -> None:
    with pytest.raises(ValueError, match="PostgreSQL time"):
        postgres_seconds("30 seconds")


@pytest.mark.parametrize(
    ("cron", "period"),
    [("*/15 * * * *", 900), ("0 * * * *", 3600), ("0 */6 * * *", 21600), ("0 3 * * *", 86400), ("0 4 * * 0", 604800),
     ("0 5 1 * *", 2678400)],
)  # fmt: skip
def test_cron_period_drives_the_backup_age_thresholds(cron: str, period: int) -> None:
    assert cron_period_seconds(cron) == period


def test_velero_ttl_is_written_as_a_go_duration_in_hours() -> None:
    assert VeleroSchedule("monthly", "0 5 1 * *", 365 * 86400).ttl == "8760h0m0s"
    assert VeleroSchedule("odd", "0 * * * *", 5400).ttl == "1h30m0s"


def test_standby_reads_the_dr_region_copy_of_the_primarys_archive() -> None:
    params = real_parameters()
    standby = data_settings(load_target("prod-dr", params["prod-dr"]))
    primary = data_settings(load_target("prod", params["prod"]))
    assert standby.primary_wal_copy.name == next(b.replicate_to for b in primary.buckets() if b.purpose == "postgres")
    assert standby.primary_wal_copy.region == "us-west-2"
    assert primary.other_region == "us-west-2" and standby.other_region == "us-east-1"
