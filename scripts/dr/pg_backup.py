#!/usr/bin/env python3
"""Take a PostgreSQL base backup: on a cluster (CloudNativePG, Barman Cloud plugin) or locally.

Usage:
    scripts/dr/pg_backup.py --target prod --context prod-use1 [--dry-run]
        On-demand base backup of the target's CloudNativePG cluster into its object store
        (WAL is archived continuously; this only shortens the replay of a later restore).
    scripts/dr/pg_backup.py --local --port 5433 --dest /tmp/base [--dry-run]
        pg_basebackup of a local server on 127.0.0.1 (what the restore drill does).

Exit 1 with a one-line reason on failure; --dry-run prints the commands without running them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from _common import MANAGED_HINT, ScriptError, backup_main

from mnops.dr.local import HOST, give_to_postgres, run_pg


def cluster_steps(target: str, context: str, compiled: Path) -> list[tuple[str, list[str]]]:
    import yaml

    path = compiled / target / "manifests" / "postgres" / "cluster.yaml"
    if not path.exists():
        raise ScriptError(f"{path} not found: does target {target!r} run PostgreSQL? (make compile; {MANAGED_HINT})")
    cluster = yaml.safe_load(path.read_text())
    name, ns = cluster["metadata"]["name"], cluster["metadata"]["namespace"]
    if cluster["spec"].get("replica", {}).get("enabled"):
        raise ScriptError(f"{target} runs a replica cluster; back up the primary, or promote first (failover.py)")
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return [
        ("request an on-demand base backup through the Barman Cloud plugin",
         ["kubectl", "--context", context, "-n", ns, "cnpg", "backup", name, "--method", "plugin",
          "--plugin-name", "barman-cloud.cloudnative-pg.io", "--backup-name", f"{name}-manual-{stamp}"]),
        ("watch it complete (phase: completed)",
         ["kubectl", "--context", context, "-n", ns, "get", "backup", f"{name}-manual-{stamp}", "-o", "wide"]),
    ]  # fmt: skip


def local_backup(port: int, dest: Path, dry_run: bool) -> None:
    argv = ["pg_basebackup", "-h", HOST, "-p", str(port), "-U", "postgres", "-D", str(dest), "-X", "stream", "-c", "fast"]
    print(f"# base backup of 127.0.0.1:{port} into {dest} (WAL streamed into the backup)")
    print(" ".join(argv))
    if dry_run:
        return
    if dest.exists() and any(dest.iterdir()):
        raise ScriptError(f"{dest} is not empty; pg_basebackup needs an empty or missing folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.mkdir(exist_ok=True)
    give_to_postgres(dest)
    run_pg(argv, f"pg_basebackup from port {port}")
    print(f"base backup written to {dest}")


def main(argv: list[str] | None = None) -> int:
    return backup_main(argv, __doc__.splitlines()[0], cluster_steps, local_backup)


if __name__ == "__main__":
    sys.exit(main())
