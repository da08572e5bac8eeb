"""Shared helpers of the security tests: the rendered inventory and compiled documents, once."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from mnops.kapitan_inventory import render_inventory
from mnops.security.policy import Doc, load_documents

ROOT = Path(__file__).resolve().parent.parent
COMPILED = ROOT / "compiled"
TARGETS = sorted(p.name for p in COMPILED.iterdir() if (p / "manifests").is_dir())


@cache
def parameters() -> dict[str, Any]:
    """Every target's merged parameters (rendered once per test process)."""
    return dict(render_inventory(ROOT / "inventory"))


@cache
def documents(target: str) -> tuple[Doc, ...]:
    return tuple(load_documents(COMPILED / target))


def kinds(target: str, kind: str) -> list[Doc]:
    return [d for d in documents(target) if d["kind"] == kind]
