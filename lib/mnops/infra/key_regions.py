"""Whether every KMS key a managed resource names exists in the region where it is used.

    key_reference_gaps(objs)   # ['infra-prod/BucketServerSideEncryptionConfiguration/x: alias/prod-data in us-west-2 ...']

KMS keys and aliases are regional: `alias/prod-data` in us-east-1 does not exist in us-west-2, and an
encryption setting that names it there fails only when the first object is written. This reads the
compiled managed resources of AWS as the cloud will: a reference to a Key object (`kmsKeyIdRef`,
`replicaKmsKeyIdRef`, ...) must point at a Key of the same region; an alias or key ARN written as a
string must be an Alias emitted in that region; an IAM policy that names keys by alias must name an
alias that exists in the region of its key ARNs. A replication destination's key belongs to the
destination bucket's region, not to the region of the replication configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Obj = Mapping[str, Any]
_KMS_ARN = "arn:aws:kms:"


def _is_aws_managed(obj: Obj) -> bool:
    return str(obj.get("apiVersion", "")).split("/")[0].endswith(".aws.m.upbound.io") and "forProvider" in obj.get("spec", {})


def _external_name(obj: Obj) -> str:
    return str(obj["metadata"].get("annotations", {}).get("crossplane.io/external-name", obj["metadata"]["name"]))


class _Keys:
    """The Key and Alias objects of the tree, by namespace and name / alias name, with their regions."""

    def __init__(self, objs: list[Obj]) -> None:
        self.keys: dict[tuple[str, str], str] = {}
        self.aliases: set[tuple[str, str]] = set()  # (alias name, region): alias names are per account and region
        self.buckets: dict[tuple[str, str], str] = {}
        for obj in objs:
            kind, ns, fp = obj["kind"], obj["metadata"].get("namespace", ""), obj["spec"]["forProvider"]
            group = str(obj["apiVersion"]).split(".")[0]
            if group == "kms" and kind == "Key":
                self.keys[(ns, obj["metadata"]["name"])] = str(fp.get("region"))
            elif group == "kms" and kind == "Alias":
                self.aliases.add((_external_name(obj), str(fp.get("region"))))
            elif group == "s3" and kind == "Bucket":
                self.buckets[(ns, obj["metadata"]["name"])] = str(fp.get("region"))


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(path to the parent, field name, value) of every field below `node`."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield path, str(key), value
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from _walk(item, (*path, f"[{n}]"))


def _is_key_ref(field: str) -> bool:
    lowered = field.lower()
    return field.endswith("Ref") and ("kms" in lowered or lowered in {"targetkeyidref", "keyarnref"})


def _policy_gaps(where: str, document: Any, keys: _Keys) -> Iterator[str]:
    """An IAM or key policy naming keys by alias (alias ARN, or kms:ResourceAliases with key ARNs of a region)."""
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        kms = [r for r in resources if isinstance(r, str) and r.startswith(_KMS_ARN)]
        for arn in kms:
            region, resource = arn.split(":")[3], arn.split(":", 5)[5]
            if resource.startswith("alias/") and (resource, region) not in keys.aliases:
                yield f"{where}: its policy names {resource} in {region}, which no Alias there creates"
        named: list[str] = []
        for operator in statement.get("Condition", {}).values():
            aliases = operator.get("kms:ResourceAliases", [])
            named += [aliases] if isinstance(aliases, str) else aliases
        for region in sorted({arn.split(":")[3] for arn in kms}):
            for alias in named:
                if (alias, region) not in keys.aliases:
                    yield f"{where}: its policy grants keys of {region} aliased {alias}, which no Alias there creates"


def _region_at(obj: Obj, path: tuple[str, ...], keys: _Keys) -> str | None:
    """Where a key named at `path` is used: the resource's region, or a replication destination bucket's."""
    fp, ns = obj["spec"]["forProvider"], obj["metadata"].get("namespace", "")
    node: Any = fp
    region = fp.get("region")
    for part in path:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        if part == "destination" and isinstance(node, Mapping) and "bucketRef" in node:
            region = keys.buckets.get((node["bucketRef"].get("namespace", ns), node["bucketRef"]["name"]), region)
    return None if region is None else str(region)


def key_reference_gaps(objs: Iterable[Obj]) -> list[str]:
    """One line per key reference that names no key of the region where it is used (empty: all exist)."""
    managed = [o for o in objs if _is_aws_managed(o)]
    keys = _Keys(managed)
    gaps: list[str] = []
    for obj in managed:
        ns = obj["metadata"].get("namespace", "")
        where = f"{ns}/{obj['kind']}/{obj['metadata']['name']}"
        for path, field, value in _walk(obj["spec"]["forProvider"], ()):
            if _is_key_ref(field) and isinstance(value, Mapping) and "name" in value:
                region = _region_at(obj, path, keys)
                found = keys.keys.get((value.get("namespace", ns), value["name"]))
                if found is None:
                    gaps.append(f"{where}: {field} names Key {value['name']}, which this tree does not create")
                elif region is not None and found != region:
                    gaps.append(f"{where}: {field} names Key {value['name']} of {found}, used in {region}")
            elif isinstance(value, str) and value.lstrip().startswith("{"):
                try:
                    document = json.loads(value)
                except ValueError:
                    continue
                gaps += _policy_gaps(where, document, keys)
            elif isinstance(value, str) and (value.startswith("alias/") or value.startswith(_KMS_ARN)):
                used = _region_at(obj, path, keys)
                if value.startswith(_KMS_ARN):
                    region, resource = value.split(":")[3], value.split(":", 5)[5]
                    if used is not None and region != used:
                        gaps.append(f"{where}: {field} names a key of {region}, used in {used}")
                else:
                    region, resource = str(used), value
                if resource.startswith("alias/") and (resource, region) not in keys.aliases:
                    gaps.append(f"{where}: {field} names {resource}, which no Alias creates in {region}")
    return gaps
