"""scripts/dr/: every script documents its usage, plans real cluster commands in --dry-run, and
fails with one readable line (never a traceback) on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

DR = ROOT / "scripts" / "dr"
SCRIPTS = sorted(p for p in DR.glob("*.py") if not p.name.startswith("_"))


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DR / script), *args], capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_dr_script_starts_with_a_usage_docstring_and_offers_dry_run(script: Path) -> None:
    text = script.read_text()
    assert text.startswith('#!/usr/bin/env python3\n"""'), script.name
    assert "Usage" in text.split('"""')[1]
    assert "--dry-run" in run(script.name, "--help").stdout


def test_pitr_restore_plans_a_new_cluster_recovering_to_the_requested_time() -> None:
    result = run("pg_restore.py", "--target", "prod", "--time", "2026-11-26T10:15:00Z", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "targetTime: '2026-11-26T10:15:00.000000+00:00'" in result.stdout
    assert "name: postgres-restore" in result.stdout
    assert "serverName: postgres-restore" in result.stdout, "the restored cluster must not archive over the origin's WAL"
    assert "kubectl --context '<prod-context>' apply -f -" in result.stdout


def test_pitr_restore_refuses_a_time_without_a_zone() -> None:
    result = run("pg_restore.py", "--time", "2026-11-26T10:15:00", "--dry-run")
    assert result.returncode == 1
    assert "needs a zone" in result.stderr and "Traceback" not in result.stderr


def test_cluster_mode_needs_an_explicit_context_unless_dry_run() -> None:
    result = run("pg_backup.py", "--target", "prod")
    assert result.returncode == 1
    assert "--context" in result.stderr and "Traceback" not in result.stderr


def test_failover_promotes_the_replica_cluster_and_fences_the_old_primary() -> None:
    result = run("failover.py", "--standby", "prod-dr", "--primary-context", "use1", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert 'patch cluster postgres --type merge -p \'{"spec": {"replica": {"enabled": false}}}\'' in result.stdout
    assert "cnpg.io/fencedInstances" in result.stdout
    assert result.stdout.index("fence") < result.stdout.index("promote")


def test_failover_refuses_a_cluster_that_is_not_a_replica() -> None:
    result = run("failover.py", "--standby", "prod", "--dry-run")
    assert result.returncode == 1
    assert "not a replica cluster" in result.stderr and "Traceback" not in result.stderr


def test_redis_backup_runs_the_compiled_copy_job() -> None:
    result = run("redis_backup.py", "--target", "staging", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "--from=cronjob/redis-rdb-copy" in result.stdout


def test_local_restores_refuse_a_folder_that_is_not_a_backup(tmp_path: Path) -> None:
    pg = run("pg_restore.py", "--local", "--latest", "--base-backup", str(tmp_path), "--wal-archive", str(tmp_path),
             "--data-dir", str(tmp_path / "new"))  # fmt: skip
    assert pg.returncode == 1 and "not a PostgreSQL base backup" in pg.stderr
    redis = run("redis_restore.py", "--local", "--source", str(tmp_path), "--data-dir", str(tmp_path / "new"))
    assert redis.returncode == 1 and "nothing to restore" in redis.stderr
