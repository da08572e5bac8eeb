"""Inventory rules of the infrastructure layer: address plan, subnets, data exposure, encryption.

Each problem names the key and the file where the value is normally set, because the fix is
always an edit there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mnops.errors import Problem
from mnops.infra.network import AddressError, carve, overlaps
from mnops.kapitan_inventory import compiles_manifests

Params = Mapping[str, Any]
PLAN_FILE = "inventory/classes/platform/infra.yml"


def _target_file(target: str) -> str:
    return f"inventory/targets/{target}.yml"


def network_is_planned(target: str, params: Params) -> Iterator[Problem]:
    """A cluster without a range in the address plan would get one nobody checked for overlaps."""
    if compiles_manifests(params) and target not in params["infra"]["networks"]:
        yield Problem(
            target,
            f"parameters.infra.networks.{target}",
            "nothing",
            "an address range for this cluster",
            f"add it to the address plan in {PLAN_FILE}",
        )


def networks_do_not_overlap(target: str, params: Params) -> Iterator[Problem]:
    """Overlapping ranges can never be peered or routed between: the plan must be disjoint."""
    infra = params["infra"]
    named = {
        **{f"networks.{k}": v for k, v in infra["networks"].items()},
        **{f"peered_networks.{k}": v for k, v in infra["peered_networks"].items()},
    }
    try:
        found = overlaps(named, "parameters.infra")
    except AddressError as error:
        yield Problem(target, error.key, error.found, error.expected, f"in {PLAN_FILE}")
        return
    for key, cidr, other in found:
        yield Problem(
            target,
            f"parameters.infra.{key}",
            f"{cidr}, which overlaps {other}",
            "a range no other network uses",
            f"address plan in {PLAN_FILE}",
        )


def subnets_fit_the_network(target: str, params: Params) -> Iterator[Problem]:
    infra = params["infra"]
    if not compiles_manifests(params) or target not in infra["networks"]:
        return
    try:
        carve(infra["networks"][target], params["cluster"]["zones"], infra["subnets"])
    except AddressError as error:
        yield Problem(target, error.key, error.found, error.expected, f"set in {_target_file(target)} or {PLAN_FILE}")


def databases_are_private(target: str, params: Params) -> Iterator[Problem]:
    if params["infra"]["data_services"].get("publicly_accessible", False):
        yield Problem(
            target,
            "parameters.infra.data_services.publicly_accessible",
            "true",
            "false: databases and caches are reachable only from the cluster's private subnets",
            f"remove it from {_target_file(target)}",
        )


def buckets_are_encrypted(target: str, params: Params) -> Iterator[Problem]:
    for purpose, settings in sorted(params["infra"].get("buckets", {}).items()):
        if settings.get("encrypted") is False:
            yield Problem(
                target,
                f"parameters.infra.buckets.{purpose}.encrypted",
                "false",
                "true: every bucket is encrypted with the cluster's KMS key",
                f"remove it from {_target_file(target)}",
            )


RULES = (network_is_planned, networks_do_not_overlap, subnets_fit_the_network, databases_are_private, buckets_are_encrypted)
