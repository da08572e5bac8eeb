#!/usr/bin/env python3
"""Restore PostgreSQL to a point in time: a new CloudNativePG cluster from the object store, or locally.

Usage:
    scripts/dr/pg_restore.py --target prod --context prod-use1 --time 2026-11-26T10:15:00Z [--dry-run]
        Creates Cluster <name>-restore bootstrapped from the target's Barman Cloud object store
        (base backup + WAL replay up to --time, or to the end of the archive with --latest).
        Point the services at it (or rename) once verified; the original is never touched.
    scripts/dr/pg_restore.py --local --base-backup DIR --wal-archive DIR --data-dir NEW \
            (--time ISO | --latest) [--target prod] [--dry-run]
        Local restore (the drill): copies the base backup, replays archived WAL with
        restore_command up to the target, promotes, and prints JSON with the measured RTO
        (restore start -> accepting writes). The durability settings of the compiled target apply.

Exit 1 with a one-line reason on failure; --dry-run prints what would be done.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from _common import COMPILED, MANAGED_HINT, ScriptError, main_guard, run_steps

from mnops.dr.local import PgServer, base_settings, compiled_pg_parameters, durability_parameters, free_port, give_to_postgres


def parse_time(text: str) -> str:
    """Validate an ISO 8601 time with a zone; PostgreSQL and CloudNativePG both accept this form."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ScriptError(f"--time {text!r} is not an ISO 8601 time such as 2026-11-26T10:15:00Z") from None
    if moment.tzinfo is None:
        raise ScriptError(f"--time {text!r} needs a zone (append Z for UTC): recovery targets are absolute")
    return moment.isoformat(timespec="microseconds")


def restore_manifest(compiled: Path, target: str, when: str | None, new_name: str | None) -> dict[str, Any]:
    """A new Cluster recovering from the target's own object store, up to `when` (None: latest)."""
    path = compiled / target / "manifests" / "postgres" / "cluster.yaml"
    if not path.exists():
        raise ScriptError(f"{path} not found: does target {target!r} run PostgreSQL? (make compile; {MANAGED_HINT})")
    source = yaml.safe_load(path.read_text())
    spec = dict(source["spec"])
    archiver = next(p for p in spec["plugins"] if p.get("isWALArchiver"))
    name = new_name or f"{source['metadata']['name']}-restore"
    recovery: dict[str, Any] = {"source": "origin", "database": "app", "owner": "app"}
    initdb = spec.get("bootstrap", {}).get("initdb") or spec.get("bootstrap", {}).get("recovery", {})
    recovery.update({k: initdb[k] for k in ("database", "owner") if k in initdb})
    if when:
        recovery["recoveryTarget"] = {"targetTime": when}
    spec["bootstrap"] = {"recovery": recovery}
    spec["externalClusters"] = [
        {"name": "origin", "plugin": {"name": archiver["name"], "parameters": dict(archiver["parameters"])}}
    ]
    spec.pop("replica", None)
    # The restored cluster archives under its own server name: it must never overwrite the origin's WAL.
    spec["plugins"] = [{**archiver, "parameters": {**archiver["parameters"], "serverName": name}}]
    spec["topologySpreadConstraints"] = [
        {**c, "labelSelector": {"matchLabels": {"cnpg.io/cluster": name}}} for c in spec.get("topologySpreadConstraints", [])
    ]
    metadata = {"name": name, "namespace": source["metadata"]["namespace"], "labels": source["metadata"].get("labels", {})}
    return {"apiVersion": source["apiVersion"], "kind": "Cluster", "metadata": metadata, "spec": spec}


def cluster_restore(args: argparse.Namespace, when: str | None) -> None:
    manifest = restore_manifest(args.compiled, args.target, when, args.new_name)
    text = yaml.safe_dump(manifest, sort_keys=True)
    print("# the Cluster that will be created:")
    print(text)
    context, ns, name = (
        args.context or f"<{args.target}-context>",
        manifest["metadata"]["namespace"],
        manifest["metadata"]["name"],
    )
    steps = [
        ("create the restored cluster (base backup + WAL replay from the object store)",
         ["kubectl", "--context", context, "apply", "-f", "-"]),
        ("wait until it is ready (replay time depends on the WAL since the last base backup)",
         ["kubectl", "--context", context, "-n", ns, "wait", f"cluster/{name}", "--for=condition=Ready", "--timeout=60m"]),
        ("check it: instances, timeline, first recoverability point",
         ["kubectl", "--context", context, "-n", ns, "cnpg", "status", name]),
    ]  # fmt: skip
    run_steps(steps, args.dry_run, stdin=text)


def local_restore(args: argparse.Namespace, when: str | None) -> dict[str, Any]:
    base, archive, data_dir = args.base_backup.resolve(), args.wal_archive.resolve(), args.data_dir.resolve()
    if not (base / "PG_VERSION").exists():
        raise ScriptError(f"{base} is not a PostgreSQL base backup (no PG_VERSION)")
    if not archive.is_dir():
        raise ScriptError(f"WAL archive {archive} does not exist")
    if data_dir.exists():
        raise ScriptError(f"{data_dir} already exists; restore into a new folder")
    settings = durability_parameters(compiled_pg_parameters(args.compiled, args.target))
    port = args.port or free_port()
    recovery = {
        # The restored server must not write into the archive it is reading from.
        "archive_mode": "off",
        "restore_command": f"cp {archive}/%f %p",
        "recovery_target_action": "promote",
        **({"recovery_target_time": when} if when else {}),
    }
    if args.dry_run:
        print(f"# copy {base} -> {data_dir}; replay WAL from {archive}; settings:")
        print(json.dumps({**settings, **recovery, "port": port}, indent=2, sort_keys=True))
        return {}
    started = time.monotonic()
    started_wall = time.time()
    shutil.copytree(base, data_dir)
    for leftover in ("postmaster.pid", "standby.signal"):
        (data_dir / leftover).unlink(missing_ok=True)
    os.chmod(data_dir, 0o700)
    socket_dir = data_dir.parent / f"{data_dir.name}-sock"
    socket_dir.mkdir(exist_ok=True)
    server = PgServer(data_dir, port, socket_dir, data_dir.parent / f"{data_dir.name}.log")
    server.write_settings({**settings, **base_settings(server), **recovery})
    (data_dir / "recovery.signal").touch()
    server.log_file.touch()
    give_to_postgres(data_dir)
    give_to_postgres(socket_dir)
    if os.geteuid() == 0:
        shutil.chown(server.log_file, "postgres", "postgres")
    server.start()
    server.wait_writable()
    rto = time.monotonic() - started
    result = {"port": port, "data_dir": str(data_dir), "log": str(server.log_file), "target_time": when,
              "started_at": started_wall, "rto_seconds": round(rto, 3)}  # fmt: skip
    print(json.dumps(result, sort_keys=True))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="prod", help="compiled target (its cluster and durability settings)")
    parser.add_argument("--context", help="kubectl context (cluster mode)")
    parser.add_argument("--compiled", type=Path, default=COMPILED, help="compiled tree (default: compiled/)")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--time", help="recovery target, ISO 8601 with zone (e.g. 2026-11-26T10:15:00Z)")
    when.add_argument("--latest", action="store_true", help="replay everything that was archived")
    parser.add_argument("--new-name", help="name of the restored Cluster (cluster mode; default <name>-restore)")
    parser.add_argument("--local", action="store_true", help="restore into a local server")
    parser.add_argument("--base-backup", type=Path, help="local base backup folder (--local)")
    parser.add_argument("--wal-archive", type=Path, help="local WAL archive folder (--local)")
    parser.add_argument("--data-dir", type=Path, help="new data folder to restore into (--local)")
    parser.add_argument("--port", type=int, help="port for the restored local server (default: a free one)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    args = parser.parse_args(argv)

    def run() -> None:
        target_time = parse_time(args.time) if args.time else None
        if args.local:
            if not (args.base_backup and args.wal_archive and args.data_dir):
                raise ScriptError("--local needs --base-backup, --wal-archive and --data-dir")
            local_restore(args, target_time)
        else:
            if not args.context and not args.dry_run:
                raise ScriptError("cluster mode needs --context (or --dry-run to only print the plan)")
            cluster_restore(args, target_time)

    return main_guard(run)


if __name__ == "__main__":
    sys.exit(main())
