#!/usr/bin/env python3
"""Back up Redis: trigger the RDB copy job on a cluster, or snapshot a local server into a folder.

Usage:
    scripts/dr/redis_backup.py --target prod --context prod-use1 [--dry-run]
        Runs the compiled CronJob redis-rdb-copy once (RDB of the primary -> object storage).
    scripts/dr/redis_backup.py --local --port 6380 --dest /tmp/redis-backup [--dry-run]
        BGSAVE on a local server, wait for it, then copy dump.rdb and the AOF folder to --dest.

Exit 1 with a one-line reason on failure; --dry-run prints the commands without running them.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import yaml
from _common import MANAGED_HINT, ScriptError, backup_main

from mnops.dr.clients import redis_connect
from mnops.dr.local import HOST


def cluster_steps(target: str, context: str, compiled: Path) -> list[tuple[str, list[str]]]:
    path = compiled / target / "manifests" / "redis" / "cronjob.yaml"
    if not path.exists():
        raise ScriptError(f"{path} not found: target {target!r} has no RDB copy job (snapshot_copy.enabled; {MANAGED_HINT})")
    job = yaml.safe_load(path.read_text())
    name, ns = job["metadata"]["name"], job["metadata"]["namespace"]
    run = f"{name}-manual-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
    return [
        ("run the RDB copy job now", ["kubectl", "--context", context, "-n", ns, "create", "job", run, f"--from=cronjob/{name}"]),
        ("wait for it to finish", ["kubectl", "--context", context, "-n", ns, "wait", f"job/{run}", "--for=condition=Complete",
                                   "--timeout=20m"]),
    ]  # fmt: skip


def local_backup(port: int, dest: Path, dry_run: bool, timeout: float = 60) -> None:
    print(f"# BGSAVE on 127.0.0.1:{port}, then copy dump.rdb and appendonlydir to {dest}")
    if dry_run:
        return
    with redis_connect(HOST, port) as conn:
        data_dir = Path(conn.config_get("dir")["dir"])
        before = conn.lastsave()
        conn.bgsave()
        deadline = time.monotonic() + timeout
        while conn.lastsave() == before or conn.info("persistence")["rdb_bgsave_in_progress"] == 1:
            if time.monotonic() > deadline:
                raise ScriptError(f"BGSAVE did not finish within {timeout}s")
            time.sleep(0.05)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(data_dir / "dump.rdb", dest / "dump.rdb")
    if (data_dir / "appendonlydir").is_dir():
        shutil.copytree(data_dir / "appendonlydir", dest / "appendonlydir", dirs_exist_ok=True)
    print(f"redis backup written to {dest}")


def main(argv: list[str] | None = None) -> int:
    return backup_main(argv, __doc__.splitlines()[0], cluster_steps, local_backup)


if __name__ == "__main__":
    sys.exit(main())
