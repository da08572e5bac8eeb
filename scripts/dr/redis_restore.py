#!/usr/bin/env python3
"""Restore Redis from an AOF/RDB copy: on a cluster from object storage, or into a local server.

Usage:
    scripts/dr/redis_restore.py --target prod --context prod-use1 --snapshot s3://.../20261126T1030Z.rdb [--dry-run]
        Scales Redis to zero, loads the snapshot into the primary's volume with a one-off pod, and
        scales back; replicas resynchronise from the restored primary.
    scripts/dr/redis_restore.py --local --source DIR --data-dir NEW [--target prod] [--dry-run]
        Copies appendonlydir/ and dump.rdb from DIR (a backup folder or a surviving data volume)
        into NEW, starts redis-server there with the compiled durability settings, waits until
        the data set is loaded and prints JSON with the measured RTO and the server's pid.

Exit 1 with a one-line reason on failure; --dry-run prints what would be done.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import yaml
from _common import COMPILED, MANAGED_HINT, ScriptError, main_guard, run_steps

from mnops.dr.local import RedisServer, compiled_redis_config, free_port


def cluster_steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    folder = args.compiled / args.target / "manifests" / "redis"
    kinds = {p.stem: yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")} if folder.exists() else {}
    workload = next((kinds[k] for k in ("redisreplication", "redis", "rediscluster") if k in kinds), None)
    if workload is None:
        raise ScriptError(f"no Redis resource under {folder} (make compile; is redis.enabled? {MANAGED_HINT})")
    if workload["kind"] == "RedisCluster":
        raise ScriptError("sharded Redis Cluster: restore each shard's RDB; this script handles one primary")
    name, ns, ctx = workload["metadata"]["name"], workload["metadata"]["namespace"], args.context or f"<{args.target}-context>"
    size = str(workload["spec"].get("clusterSize", 1))
    pvc = f"{name}-{name}-0"
    return [
        ("stop Redis so nothing overwrites the restored file",
         ["kubectl", "--context", ctx, "-n", ns, "scale", "statefulset", name, "--replicas=0"]),
        ("load the snapshot into the primary's volume (AOF removed: Redis rebuilds it from the RDB)",
         ["kubectl", "--context", ctx, "-n", ns, "run", f"{name}-restore", "--rm", "-i", "--restart=Never",
          "--image=public.ecr.aws/aws-cli/aws-cli:2.27.0",
          "--overrides", json.dumps({"spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": pvc}}],
                                              "containers": [{"name": "restore", "image": "public.ecr.aws/aws-cli/aws-cli:2.27.0",
                                                              "command": ["/bin/sh", "-c",
                                                                          f"rm -rf /data/appendonlydir && aws s3 cp "
                                                                          f"{args.snapshot} /data/dump.rdb"],
                                                              "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                                    sort_keys=True)]),
        ("start Redis again; replicas resync from the restored primary",
         ["kubectl", "--context", ctx, "-n", ns, "scale", "statefulset", name, f"--replicas={size}"]),
        ("wait for the pods",
         ["kubectl", "--context", ctx, "-n", ns, "rollout", "status", f"statefulset/{name}", "--timeout=15m"]),
    ]  # fmt: skip


def local_restore(args: argparse.Namespace) -> dict[str, object]:
    source, data_dir = args.source.resolve(), args.data_dir.resolve()
    if not (source / "dump.rdb").exists() and not (source / "appendonlydir").is_dir():
        raise ScriptError(f"{source} holds neither dump.rdb nor appendonlydir/: nothing to restore")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ScriptError(f"{data_dir} is not empty; restore into a new folder")
    config = compiled_redis_config(args.compiled, args.target)
    port = args.port or free_port()
    if args.dry_run:
        print(f"# copy {source} -> {data_dir}, start redis-server on 127.0.0.1:{port} with:")
        print("\n".join(config))
        return {}
    started = time.monotonic()
    started_wall = time.time()
    data_dir.mkdir(parents=True, exist_ok=True)
    if (source / "appendonlydir").is_dir():
        shutil.copytree(source / "appendonlydir", data_dir / "appendonlydir")
    if (source / "dump.rdb").exists():
        shutil.copy2(source / "dump.rdb", data_dir / "dump.rdb")
    server = RedisServer(data_dir, port, config, log_file=data_dir.parent / f"{data_dir.name}.log")
    server.start(detach=True)
    rto = time.monotonic() - started
    pid = server.process.pid if server.process else None
    result: dict[str, object] = {"port": port, "pid": pid, "data_dir": str(data_dir), "started_at": started_wall,
                                 "rto_seconds": round(rto, 3)}  # fmt: skip
    print(json.dumps(result, sort_keys=True))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="prod", help="compiled target (its Redis and durability settings)")
    parser.add_argument("--context", help="kubectl context (cluster mode)")
    parser.add_argument("--compiled", type=Path, default=COMPILED, help="compiled tree (default: compiled/)")
    parser.add_argument("--snapshot", help="object-storage URL of the RDB to restore (cluster mode)")
    parser.add_argument("--local", action="store_true", help="restore into a local server")
    parser.add_argument("--source", type=Path, help="backup folder or surviving data folder (--local)")
    parser.add_argument("--data-dir", type=Path, help="new data folder (--local)")
    parser.add_argument("--port", type=int, help="port for the restored local server (default: a free one)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    args = parser.parse_args(argv)

    def run() -> None:
        if args.local:
            if not args.source or not args.data_dir:
                raise ScriptError("--local needs --source and --data-dir")
            local_restore(args)
        else:
            if not args.snapshot:
                raise ScriptError("cluster mode needs --snapshot (the RDB in object storage to restore)")
            if not args.context and not args.dry_run:
                raise ScriptError("cluster mode needs --context (or --dry-run to only print the commands)")
            run_steps(cluster_steps(args), args.dry_run)

    return main_guard(run)


if __name__ == "__main__":
    sys.exit(main())
