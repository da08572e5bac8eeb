#!/usr/bin/env python3
"""Fail over to the DR region: promote the CloudNativePG replica cluster and switch traffic.

Usage:
    scripts/dr/failover.py --standby prod-dr --standby-context prod-usw2 \
        [--primary prod --primary-context prod-use1] \
        [--hosted-zone-id Z123 --record api.machinenativeops.com --dr-lb-hostname k8s-...elb.amazonaws.com] \
        [--dry-run]

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

import yaml
from _common import COMPILED, ScriptError, main_guard, run_steps


def cluster_of(compiled: Path, target: str) -> dict[str, object]:
    path = compiled / target / "manifests" / "postgres" / "cluster.yaml"
    if not path.exists():
        raise ScriptError(f"{path} not found: does target {target!r} run PostgreSQL? (make compile)")
    document: dict[str, object] = yaml.safe_load(path.read_text())
    return document


def failover_steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
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
        print(f"# still to do: set parameters.cluster.role: primary in inventory/targets/{args.standby}.yml, "
              "make compile, commit and push (Argo CD must not turn it back into a replica)")  # fmt: skip

    return main_guard(run)


if __name__ == "__main__":
    sys.exit(main())
