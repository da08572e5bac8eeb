"""Rule groups and PrometheusRule objects of a size Prometheus and Kubernetes handle at any
number of services.

Prometheus evaluates the rules of one group one after the other, every evaluation interval; a
group of thousands of alerts risks overrunning the interval (missed evaluations). Alert-only
groups are therefore cut into groups of at most MAX_RULES_PER_GROUP rules; recording groups are
left whole, because a recording rule may read the series an earlier rule of its group records.
A PrometheusRule is one Kubernetes object, stored in etcd (at most 1.5 MiB per object), so the
groups of one rule file are packed into as many objects as needed, each under MAX_OBJECT_BYTES.
With few services nothing changes: the first group and the first object keep their names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_RULES_PER_GROUP = 100
# Half of etcd's default request limit (1.5 MiB): room for metadata, managedFields and the
# last-applied annotation a client-side apply adds (which repeats the whole spec).
MAX_OBJECT_BYTES = 512 * 1024

Group = Mapping[str, Any]


def split_groups(groups: Sequence[Group], max_rules: int = MAX_RULES_PER_GROUP) -> list[dict[str, Any]]:
    """Alert-only groups cut into chunks of `max_rules`: name, name-2, name-3, ..."""
    result: list[dict[str, Any]] = []
    for group in groups:
        rules = list(group["rules"])
        if len(rules) <= max_rules or any("record" in rule for rule in rules):
            result.append(dict(group))
            continue
        for index in range(0, len(rules), max_rules):
            number = index // max_rules + 1
            name = group["name"] if number == 1 else f"{group['name']}-{number}"
            result.append({**group, "name": name, "rules": rules[index : index + max_rules]})
    return result


def encoded_size(value: Any) -> int:
    """Bytes of the value as the API server stores it (JSON)."""
    return len(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def pack_groups(stem: str, groups: Sequence[Group], max_bytes: int = MAX_OBJECT_BYTES) -> dict[str, list[Group]]:
    """Object name -> the groups it carries, in order: stem, stem-2, ...; each under `max_bytes`."""
    packs: list[list[Group]] = [[]]
    size = 0
    for group in groups:
        group_size = encoded_size(group)
        if group_size > max_bytes:
            raise ValueError(f"rule group {group['name']} alone is {group_size} bytes, over {max_bytes}: split it")
        if packs[-1] and size + group_size > max_bytes:
            packs.append([])
            size = 0
        packs[-1].append(group)
        size += group_size
    return {stem if index == 0 else f"{stem}-{index + 1}": pack for index, pack in enumerate(packs)}
