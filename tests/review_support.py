"""Review sections under test: the head side compiled for real from an edited copy of the inventory.

`review_sides(edits)` returns the ReviewInput scripts/diff.py hands a section builder: the base is
this checkout's committed compiled/ tree (the drift gate keeps it equal to a fresh compile) for the
kept clusters, the head is the inventory trimmed to those clusters with `edits` applied and
compiled by scripts/compile.py, once per pytest run and edit list. The kept clusters are chosen
from the inventory by what they run (a primary and the standby that replicates from it), never by
name; a compile of some targets gives the same bytes per cluster as a compile of all of them.
`review_sides(edits, keep, base_edits)` compiles the base too, from the inventory with base_edits,
for a change on top of another (the head has both).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, apply_edits, once_per_run, real_parameters, run_compile

from mnops.kapitan_inventory import render_inventory
from mnops.review import ReviewInput

_compiled: dict[str, tuple[Path, dict[str, Any]]] = {}


def kept_clusters() -> tuple[str, ...]:
    """A primary cluster with services and, if one exists, the standby that replicates from it."""
    parameters = real_parameters()
    primaries = [c for c, p in sorted(parameters.items()) if p["cluster"]["role"] == "primary" and p.get("services")]
    for primary in primaries:
        standbys = [
            c
            for c, p in sorted(parameters.items())
            if p["cluster"]["role"] == "standby" and (p.get("data") or {}).get("primary_cluster") == primary
        ]
        if standbys:
            return (primary, *standbys)
    return (primaries[0],)


def _head(
    factory: pytest.TempPathFactory, keep: tuple[str, ...], edits: Sequence[Mapping[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """The edited inventory trimmed to `keep`, compiled once per pytest run (every pytest-xdist
    worker reads the same copy: tests of one change often run on both); its inventory is rendered once per process."""
    key = json.dumps([keep, list(edits)], sort_keys=True, default=str)
    if key not in _compiled:

        def build(repo: Path) -> None:
            shutil.copytree(ROOT / "inventory", repo / "inventory")
            shutil.copytree(ROOT / "docs", repo / "docs")  # a checkout has its runbooks; the compile regenerates the rest
            for target in (repo / "inventory" / "targets").glob("*.yml"):
                if target.stem not in keep:
                    target.unlink()
            apply_edits(repo / "inventory", list(edits))
            run = run_compile(repo / "inventory", repo / "compiled")
            assert run.returncode == 0, run.stderr

        repo = once_per_run(factory, "review-head-" + hashlib.sha256(key.encode()).hexdigest()[:16], build)
        _compiled[key] = (repo, dict(render_inventory(repo / "inventory")))
    return _compiled[key]


def _base(factory: pytest.TempPathFactory, keep: tuple[str, ...]) -> Path:
    base = factory.getbasetemp() / ("review-base-" + "-".join(keep))
    if not base.exists():
        (base / "compiled").mkdir(parents=True)
        for cluster in keep:
            (base / "compiled" / cluster).symlink_to(ROOT / "compiled" / cluster)
    return base


def make_sides(factory: pytest.TempPathFactory) -> Callable[..., ReviewInput]:
    def sides(
        edits: Sequence[Mapping[str, Any]],
        keep: tuple[str, ...] | None = None,
        base_edits: Sequence[Mapping[str, Any]] = (),
    ) -> ReviewInput:
        """base_edits: the base is compiled from the inventory with these applied too (a change on top of another)."""
        keep = keep or kept_clusters()
        if base_edits:
            base_repo, base_compiled = _head(factory, keep, base_edits)
            head_repo, head_params = _head(factory, keep, [*base_edits, *edits])
            return ReviewInput(base_repo, head_repo, base_repo, head_repo, base_compiled, head_params)
        base_params = {c: p for c, p in real_parameters().items() if c in keep}
        if not edits:  # nothing changed: both sides are the committed tree
            base = _base(factory, keep)
            return ReviewInput(ROOT, ROOT, base, base, base_params, base_params)
        head_repo, head_params = _head(factory, keep, edits)
        return ReviewInput(ROOT, head_repo, _base(factory, keep), head_repo, base_params, head_params)

    return sides


def env_class(parameters: Mapping[str, Any], cluster: str) -> str:
    """The environment class file a cluster's environment-wide values live in."""
    return f"classes/env/{parameters[cluster]['cluster']['environment']}.yml"
