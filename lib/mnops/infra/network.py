"""The address plan: which range each network owns, and how a cluster's range is cut into subnets.

Subnets are carved deterministically from the cluster's range, so the same inventory always
gives the same CIDRs (and a CIDR, being immutable, never changes by accident): private subnets of
`private_prefix` in zone order from the start of the range; public ones of `public_prefix` from
the last private-sized block, which no zone's private subnet uses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

Network = ipaddress.IPv4Network


@dataclass(frozen=True)
class ZoneSubnets:
    zone: str
    private: str
    public: str


class AddressError(ValueError):
    """The address plan cannot give this cluster its subnets; the message names the key."""

    def __init__(self, key: str, found: str, expected: str) -> None:
        self.key, self.found, self.expected = key, found, expected
        super().__init__(f"{key}: expected {expected}, found {found}")


def parse(cidr: str, key: str) -> Network:
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as error:
        raise AddressError(key, repr(cidr), f"an IPv4 network address with its prefix ({error})") from None


def overlaps(networks: Mapping[str, str], prefix: str) -> list[tuple[str, str, str]]:
    """Every pair of named ranges that overlap: (key of the later one, its CIDR, the other's name)."""
    parsed = {name: parse(cidr, f"{prefix}.{name}") for name, cidr in networks.items()}
    found = []
    for (first, a), (second, b) in combinations(sorted(parsed.items()), 2):
        if a.overlaps(b):
            found.append((second, str(b), f"{first} ({a})"))
    return found


def carve(cidr: str, zones: Sequence[str], subnets: Mapping[str, Any]) -> list[ZoneSubnets]:
    """One private and one public subnet per zone, inside `cidr`; AddressError if they cannot fit."""
    network = parse(cidr, "parameters.infra.networks")
    private_prefix, public_prefix = int(subnets["private_prefix"]), int(subnets["public_prefix"])
    if private_prefix <= network.prefixlen or public_prefix < private_prefix:
        raise AddressError(
            "parameters.infra.subnets.private_prefix",
            f"/{private_prefix} in {network}",
            f"a prefix longer than the network's /{network.prefixlen} and at most public_prefix",
        )
    blocks = list(network.subnets(new_prefix=private_prefix))
    if len(zones) >= len(blocks):
        raise AddressError(
            "parameters.infra.subnets.private_prefix",
            f"{len(blocks)} /{private_prefix} blocks in {network}",
            f"room for {len(zones)} private subnets and one block for the public ones",
        )
    public_blocks = list(blocks[-1].subnets(new_prefix=public_prefix))
    if len(zones) > len(public_blocks):
        raise AddressError(
            "parameters.infra.subnets.public_prefix",
            f"{len(public_blocks)} /{public_prefix} blocks",
            f"room for {len(zones)} public subnets",
        )
    private = [str(b) for b in blocks[: len(zones)]]
    public = [str(b) for b in public_blocks[: len(zones)]]
    for kind, explicit in (("private", subnets.get("private")), ("public", subnets.get("public"))):
        if explicit is None:
            continue
        key = f"parameters.infra.subnets.{kind}"
        if len(explicit) != len(zones):
            raise AddressError(key, f"{len(explicit)} subnet(s)", f"one per zone ({len(zones)})")
        for index, text in enumerate(explicit):
            if not parse(text, f"{key}[{index}]").subnet_of(network):
                raise AddressError(f"{key}[{index}]", repr(text), f"a subnet inside the cluster's network {network}")
        if kind == "private":
            private = list(explicit)
        else:
            public = list(explicit)
    every = [parse(c, "parameters.infra.subnets") for c in private + public]
    for a, b in combinations(every, 2):
        if a.overlaps(b):
            raise AddressError("parameters.infra.subnets", f"{a} and {b} overlap", "disjoint subnets")
    return [ZoneSubnets(zone, private[i], public[i]) for i, zone in enumerate(zones)]


def allocate(cidr: str, prefixes: Mapping[str, int], key: str) -> dict[str, str]:
    """Named blocks of the given prefix lengths packed into `cidr`, largest first so that every block
    starts on its own boundary; AddressError naming `key` if they do not all fit.

    GKE and AKS carve one network's range into purposes (nodes, pods, services, control plane)
    instead of one subnet pair per zone: the same inventory always gives the same blocks.
    """
    network = parse(cidr, "parameters.infra.networks")
    start = int(network.network_address)
    end = int(network.broadcast_address)
    blocks: dict[str, str] = {}
    for name, prefix in sorted(prefixes.items(), key=lambda item: (item[1], item[0])):
        if prefix < network.prefixlen or prefix > 30:
            raise AddressError(f"{key}.{name}", f"/{prefix} in {network}", f"a prefix between /{network.prefixlen} and /30")
        size = 2 ** (32 - prefix)
        if start + size - 1 > end:
            wanted = ", ".join(f"{n} /{p}" for n, p in sorted(prefixes.items()))
            raise AddressError(key, f"{wanted} in {network}", "blocks that fit in the cluster's network together")
        blocks[name] = str(ipaddress.IPv4Network((start, prefix)))
        start += size
    return blocks
