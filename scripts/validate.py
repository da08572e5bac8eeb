#!/usr/bin/env python3
"""Strictly validate every Kubernetes document under compiled/ and argocd/.

Usage (normally through `make validate`):
    .venv/bin/python scripts/validate.py compiled argocd
    CRD_SCHEMA_LOCATION=../shared/crd-schemas .venv/bin/python scripts/validate.py compiled

Each target's documents are checked against the strict Kubernetes schemas of every version its
inventory declares (kubernetes.supported_versions); custom resources against the CRD schemas
at CRD_SCHEMA_LOCATION (a folder or URL in kubeconform's catalog layout) and their CEL rules;
the CEL rules that cannot be evaluated offline (transition rules) are listed, once per rule.
Every file under a manifests/ folder must hold only Kubernetes objects. Exit 1 on any finding.
Results are cached under CHART_CACHE/validate keyed by content (mnops.validation_cache): a file or
document validated before with the same schemas is not validated again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from functools import partial
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops.kapitan_inventory import render_inventory  # noqa: E402
from mnops.manifest_validation import Finding  # noqa: E402
from mnops.transaction import recover  # noqa: E402
from mnops.validation_cache import ValidationCache  # noqa: E402

PUBLIC_CRD_CATALOG = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main"


def kubernetes_objects(text: str, strict: bool) -> list[object]:
    """Documents of a YAML file that are (or, strict: under manifests/, must be) Kubernetes objects."""
    docs = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    if strict:
        return docs
    return [d for d in docs if isinstance(d, dict) and "apiVersion" in d and "kind" in d]


def target_of(path: Path, roots: list[Path]) -> str:
    for root in roots:
        if root in path.parents:
            return path.relative_to(root).parts[0]
    raise ValueError(path)


def report_not_evaluated(skipped: list[Finding]) -> None:
    """One line per distinct rule (kind, place, rule) with how often it was not evaluated."""
    rules = Counter((f.document.split("/")[0], re.sub(r"\[\d+\]", "[*]", f.where), f.message) for f in skipped)
    if rules:
        print(f"CRD CEL rules not evaluated offline ({len(rules)} rules, at {len(skipped)} places):")
    for (kind, where, message), count in sorted(rules.items()):
        print(f"  {kind} {where}: {message} ({count}x)")


def crd_location_problem(location: str) -> str:
    """Why CRD_SCHEMA_LOCATION cannot serve schemas, or ''. Checked once up front: otherwise every
    custom resource is reported on its own as having no schema (about a thousand lines)."""
    layout = "a folder or URL in kubeconform's catalog layout ({group}/{kind}_{version}.json)"
    if re.match(r"^https?://", location):
        try:
            with urllib.request.urlopen(location, timeout=10):  # noqa: S310 - http(s) checked above  # nosec B310
                return ""
        except urllib.error.HTTPError:
            return ""  # the server answered; a catalog's root need not be a page
        except OSError as error:
            return (
                f"CRD_SCHEMA_LOCATION={location} is unreachable ({getattr(error, 'reason', error)}); offline, set it to {layout}"
            )
    if not Path(location).is_dir():
        return f"CRD_SCHEMA_LOCATION={location} is not a folder; set it to {layout}"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="folders holding one sub-folder per target")
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    args = parser.parse_args(argv)
    location = os.environ.get("CRD_SCHEMA_LOCATION") or PUBLIC_CRD_CATALOG
    started = time.monotonic()
    # A killed compile may have left its output half-installed: finish or discard it first.
    for root in sorted({tree.resolve().parent for tree in args.trees}):
        note = recover(root)
        if note:
            print(note, file=sys.stderr)
    problem = crd_location_problem(location)
    if problem:
        print(f"validate: {problem}", file=sys.stderr)
        return 2
    versions = {name: tuple(p["kubernetes"]["supported_versions"]) for name, p in render_inventory(args.inventory).items()}
    roots = [tree.resolve() for tree in args.trees if tree.exists()]
    findings: list[Finding] = []
    documents = 0
    # Results keyed by content under CHART_CACHE, like the product's other caches: only what has not
    # been validated before is (a gate's copy of the repository reuses the real tree's results).
    # (CHART_CACHE as mnops.charts.compile_check.cache_root reads it, without importing the chart code.)
    cache_dir = Path(os.environ.get("CHART_CACHE") or ROOT / ".cache") / "validate"
    cache = ValidationCache(cache_dir, location, selection=hashlib.sha256(Path(__file__).read_bytes()).hexdigest())
    for root in roots:
        for path in sorted(root.rglob("*.yaml")):
            target = target_of(path, roots)
            if target not in versions:
                findings.append(Finding(str(path), "-", "-", f"no inventory target named {target!r}"))
                continue
            strict = "manifests" in path.parts
            parse = partial(kubernetes_objects, strict=strict)
            count, found = cache.check_file(path.read_text(), os.path.relpath(path), versions[target], strict, parse)
            documents += count
            findings += found
    not_evaluated = [f for f in findings if f.not_evaluated]
    findings = [f for f in findings if not f.not_evaluated]
    for finding in findings:
        print(finding.render(), file=sys.stderr)
    report_not_evaluated(not_evaluated)
    seconds = time.monotonic() - started
    all_versions = sorted({v for vs in versions.values() for v in vs})
    status = f"{len(findings)} problem(s)" if findings else "all valid"
    print(f"validated {documents} documents against Kubernetes {', '.join(all_versions)} and CRD schemas "
          f"in {seconds:.2f}s ({cache.hits} unchanged since validated before): {status}")  # fmt: skip
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
