"""Render the reclass inventory through Kapitan, once per process."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# reclass (Python): reclass-rs renders the same bytes here but is no faster (docs/performance.md).
INVENTORY_BACKEND = os.environ.get("MNOPS_INVENTORY_BACKEND", "reclass")


def render_inventory(inventory_path: Path) -> dict[str, Mapping[str, Any]]:
    """Every target's merged parameters; a following in-process `kapitan compile` reuses this render."""
    from kapitan import cached
    from kapitan.resources import get_inventory

    cached.reset_cache()
    cached.args = argparse.Namespace(inventory_backend=INVENTORY_BACKEND, compose_target_name=False)
    inventory = get_inventory(str(inventory_path))
    return {name: inventory.inventory[name]["parameters"] for name in sorted(inventory.targets)}


def compiles_manifests(parameters: Mapping[str, Any]) -> bool:
    """Whether a target is a cluster: it compiles Kubernetes manifests. The `local` target only
    compiles a Docker Compose stack, so it gets no Argo CD bootstrap and no deployment-guide table."""
    return any(entry.get("output_path") == "manifests" for entry in parameters.get("kapitan", {}).get("compile", []))
