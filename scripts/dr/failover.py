#!/usr/bin/env python3
"""Fail over to the DR region: promote the PostgreSQL replica (CloudNativePG or RDS) and switch traffic.

Usage:
    scripts/dr/failover.py --standby prod-dr --standby-context prod-usw2 \
        [--primary prod --primary-context prod-use1] \
        [--hosted-zone-id Z123 --record api.machinenativeops.com --dr-lb-hostname k8s-...elb.amazonaws.com] \
        [--dry-run]

Where the environment runs PostgreSQL on RDS (infra.data_services.postgres: rds) the standby's replica is
an RDS cross-region read replica (compiled/<management>/infra/infra-<standby>/instance.yaml): steps 1-3
become `aws rds describe-db-instances`, `promote-read-replica` and `wait db-instance-available`.

Steps (each printed before it runs; --dry-run only prints them):
  1. check the standby's replica cluster and how far behind it is;
  2. if the primary region still answers, fence its PostgreSQL so it cannot accept writes
     (split brain), and demote it to a replica cluster later when it is back;
  3. promote: spec.replica.enabled=false on the standby's Cluster; wait until Ready;
  4. switch traffic: point the public DNS record at the DR gateway (Route 53 UPSERT, TTL 60);
  5. make Git agree: set the standby's role to primary in the inventory, `make compile`, commit,
     so Argo CD does not turn the promoted cluster back into a replica.

Exit 1 with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from _common import COMPILED, MANAGED_HINT, ScriptError, main_guard, run_steps


def cluster_of(compiled: Path, target: str) -> dict[str, object]:
    path = compiled / target / "manifests" / "postgres" / "cluster.yaml"
    if not path.exists():
        raise ScriptError(f"{path} not found: does target {target!r} run PostgreSQL? (make compile; {MANAGED_HINT})")
    document: dict[str, object] = yaml.safe_load(path.read_text())
    return document


def rds_replica_of(compiled: Path, target: str) -> dict[str, Any] | None:
    """The standby's RDS instance from the management cluster's tree, if its PostgreSQL is on RDS."""
    for path in sorted(compiled.glob(f"*/infra/infra-{target}/instance.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and str(document.get("apiVersion", "")).startswith("rds.aws.m.upbound.io/"):
                found: dict[str, Any] = document
                return found
    return None


def rds_steps(instance: dict[str, Any], target: str) -> list[tuple[str, list[str]]]:
    spec = instance["spec"]["forProvider"]
    if not spec.get("replicateSourceDb"):
        raise ScriptError(f"{target}'s RDS instance is not a read replica: nothing to promote (already primary?)")
    where = ["--region", spec["region"], "--db-instance-identifier", spec["identifier"]]
    return [
        ("the read replica's state and lag (ReplicaLag in seconds must be within the RPO)",
         ["aws", "rds", "describe-db-instances", *where, "--query", "DBInstances[0].[DBInstanceStatus,StatusInfos]"]),
        ("promote the read replica to a standalone primary (it keeps its automated backups)",
         ["aws", "rds", "promote-read-replica", *where, "--backup-retention-period", str(spec["backupRetentionPeriod"])]),
        ("wait until the promoted instance accepts writes",
         ["aws", "rds", "wait", "db-instance-available", *where]),
    ]  # fmt: skip


def failover_steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    instance = rds_replica_of(args.compiled, args.standby)
    if instance is not None:
        return rds_steps(instance, args.standby) + dns_steps(args)
    standby = cluster_of(args.compiled, args.standby)
    spec, meta = standby["spec"], standby["metadata"]
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        raise ScriptError(f"{args.standby}'s cluster.yaml is not a Cluster object")
    if not spec.get("replica", {}).get("enabled"):
        raise ScriptError(f"{args.standby}'s Cluster is not a replica cluster: nothing to promote (already primary?)")
    name, ns, ctx = meta["name"], meta["namespace"], args.standby_context or f"<{args.standby}-context>"
    steps: list[tuple[str, list[str]]] = [
        ("the replica cluster's state and replay lag (must be within the RPO)",
         ["kubectl", "--context", ctx, "-n", ns, "cnpg", "status", name]),
    ]  # fmt: skip
    if args.primary_context:
        steps.append(
            ("fence the old primary: no writes may land there any more (prevents split brain)",
             ["kubectl", "--context", args.primary_context, "-n", ns, "annotate", "cluster", name,
              'cnpg.io/fencedInstances=["*"]', "--overwrite"])
        )  # fmt: skip
    patch = json.dumps({"spec": {"replica": {"enabled": False}}})
    steps += [
        ("promote the replica cluster to a primary",
         ["kubectl", "--context", ctx, "-n", ns, "patch", "cluster", name, "--type", "merge", "-p", patch]),
        ("wait until the promoted cluster is ready for writes",
         ["kubectl", "--context", ctx, "-n", ns, "wait", f"cluster/{name}", "--for=condition=Ready", "--timeout=15m"]),
    ]  # fmt: skip
    return steps + dns_steps(args)


def dns_steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    if args.hosted_zone_id and args.record and args.dr_lb_hostname:
        change = {
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": args.record,
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": args.dr_lb_hostname}],
                    },
                }
            ]
        }
        steps.append(
            ("switch traffic: the public name now resolves to the DR gateway",
             ["aws", "route53", "change-resource-record-sets", "--hosted-zone-id", args.hosted_zone_id,
              "--change-batch", json.dumps(change, sort_keys=True)])
        )  # fmt: skip
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--standby", default="prod-dr", help="target name of the standby cluster")
    parser.add_argument("--standby-context", help="kubectl context of the standby cluster")
    parser.add_argument("--primary", default="prod", help="target name of the failed primary")
    parser.add_argument("--primary-context", help="kubectl context of the primary, if it still answers (to fence it)")
    parser.add_argument("--hosted-zone-id", help="Route 53 hosted zone of the public record")
    parser.add_argument("--record", help="public DNS name to move (e.g. api.machinenativeops.com)")
    parser.add_argument("--dr-lb-hostname", help="hostname of the DR gateway's load balancer")
    parser.add_argument("--compiled", type=Path, default=COMPILED, help="compiled tree (default: compiled/)")
    parser.add_argument("--dry-run", action="store_true", help="print the steps, change nothing")
    args = parser.parse_args(argv)

    def run() -> None:
        if not args.standby_context and not args.dry_run:
            raise ScriptError("--standby-context is required (or --dry-run to only print the plan)")
        run_steps(failover_steps(args), args.dry_run)
        if not (args.hosted_zone_id and args.record and args.dr_lb_hostname):
            print("# still to do: switch traffic (pass --hosted-zone-id, --record and --dr-lb-hostname to run it)")
        if rds_replica_of(args.compiled, args.standby) is not None:
            print(f"# still to do: on the management cluster copy Secret postgres-master-password from "
                  f"infra-{args.primary} to infra-{args.standby} (else the provider generates and sets a new password "
                  "once it is a primary)")  # fmt: skip
        print(f"# still to do: set parameters.cluster.role: primary in inventory/targets/{args.standby}.yml, "
              "make compile, commit and push (Argo CD must not turn it back into a replica)")  # fmt: skip

    return main_guard(run)


if __name__ == "__main__":
    sys.exit(main())
