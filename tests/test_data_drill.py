"""The real restore drill: PostgreSQL 15 and Redis 7 from Debian, the compiled durability settings,
a destroyed primary, restores through scripts/dr/, and measured RPO/RTO within the goals."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from mnops.dr.drill import PG_RPO_GOAL, REDIS_RPO_GOAL, Measurement, Write, lost_writes, pitr_problems, render_table, run_drill
from mnops.dr.local import LocalError, compiled_pg_parameters, compiled_redis_config

DEBS = ["/usr/lib/postgresql/15/bin/initdb=postgresql", "redis-server=redis-server"]


@pytest.fixture(scope="module")
def drill(compiled_tree: Path) -> tuple[list[Measurement], list[str]]:
    """One full drill per module (about a minute); the drill stops its servers itself, even on failure."""
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), *DEBS], check=True, timeout=900)
    lines: list[str] = []
    results = run_drill(compiled_tree, "prod", log=lines.append)
    print(render_table(results, "prod"))
    return results, lines


def by_scenario(results: list[Measurement], store: str, words: str) -> Measurement:
    return next(m for m in results if m.store.startswith(store) and words in m.scenario)


def test_postgres_pitr_restores_every_row_before_the_target_and_none_after(drill: tuple[list[Measurement], list[str]]) -> None:
    pitr = by_scenario(drill[0], "PostgreSQL", "PITR")
    assert pitr.checks == []
    assert pitr.acknowledged > 100, "the writer must have produced a real workload before the target"


def test_postgres_restore_after_the_primary_is_destroyed_loses_at_most_60_seconds(
    drill: tuple[list[Measurement], list[str]],
) -> None:
    latest = by_scenario(drill[0], "PostgreSQL", "latest")
    assert latest.checks == []
    assert latest.rpo_seconds <= PG_RPO_GOAL
    assert latest.lost < latest.acknowledged, "the archive must have kept most acknowledged writes"


def test_redis_aof_restore_loses_at_most_one_second(drill: tuple[list[Measurement], list[str]]) -> None:
    aof = by_scenario(drill[0], "Redis", "AOF")
    assert aof.checks == []
    assert aof.rpo_seconds <= REDIS_RPO_GOAL


def test_redis_backup_copy_restores_everything_written_before_the_copy(drill: tuple[list[Measurement], list[str]]) -> None:
    copy = by_scenario(drill[0], "Redis", "backup copy")
    assert copy.checks == []
    assert copy.ok, copy


def test_every_restore_accepts_queries_well_within_the_rto(drill: tuple[list[Measurement], list[str]]) -> None:
    for measurement in drill[0]:
        assert 0 < measurement.rto_seconds < 60, measurement


def test_drill_servers_run_with_the_compiled_durability_settings(
    drill: tuple[list[Measurement], list[str]], compiled_tree: Path
) -> None:
    archive_timeout = compiled_pg_parameters(compiled_tree, "prod")["archive_timeout"]
    assert any(f"'archive_timeout': '{archive_timeout}'" in line for line in drill[1]), drill[1]
    assert "appendfsync everysec" in compiled_redis_config(compiled_tree, "prod")
    assert any("appendfsync everysec" in line for line in drill[1])


def test_no_drill_server_outlives_the_drill(drill: tuple[list[Measurement], list[str]]) -> None:
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert f"mnops-dr-drill-{os.getpid()}-" not in processes, "a server of this process's drill is still running"


def test_pitr_check_rejects_a_missing_row_and_a_row_after_the_target() -> None:
    assert pitr_problems({1, 2, 3}, 3) == []
    assert pitr_problems({1, 3}, 3) == ["1 row(s) committed before the target are missing (first: 2)"]
    assert pitr_problems({1, 2, 3, 4}, 3) == ["1 row(s) committed after the target are present (first: 4)"]


def test_lost_writes_measures_the_seconds_of_acknowledged_writes_missing() -> None:
    writes = [Write(n, float(n), n + 0.5) for n in range(1, 11)]
    assert lost_writes(writes, set(range(1, 11))) == (0, 0.0)
    assert lost_writes(writes, set(range(1, 8))) == (3, 3.0)


def test_a_measurement_above_its_rpo_goal_fails() -> None:
    assert not Measurement("PostgreSQL 15", "latest", "", 10, 5, 61.0, 2.0, PG_RPO_GOAL).ok
    assert not Measurement("Redis 7", "AOF", "", 10, 0, 0.0, 1.0, REDIS_RPO_GOAL, ["gap"]).ok
    assert Measurement("Redis 7", "AOF", "", 10, 0, 0.5, 1.0, REDIS_RPO_GOAL).ok


def test_drill_refuses_a_tree_without_the_compiled_settings(tmp_path: Path) -> None:
    with pytest.raises(LocalError, match="make compile"):
        compiled_pg_parameters(tmp_path, "prod")
    with pytest.raises(LocalError, match="make compile"):
        compiled_redis_config(tmp_path, "prod")
