"""Render the reclass inventory through Kapitan, once per process."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

# reclass (Python): reclass-rs renders the same bytes here but is no faster (docs/performance.md).
INVENTORY_BACKEND = os.environ.get("MNOPS_INVENTORY_BACKEND", "reclass")


class InventoryRenderError(Exception):
    """reclass could not merge the inventory (an unresolvable ${reference}, ...); its message, not a traceback."""


class _Collect(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _kapitan_errors() -> Iterator[list[str]]:
    """Kapitan logs a reclass error and exits; keep the message for one readable line instead."""
    messages: list[str] = []
    logger = logging.getLogger("kapitan")
    handler, propagate = _Collect(messages), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def render_inventory(inventory_path: Path) -> dict[str, Mapping[str, Any]]:
    """Every target's merged parameters; a following in-process `kapitan compile` reuses this render."""
    from kapitan import cached
    from kapitan.resources import get_inventory

    cached.reset_cache()
    cached.args = argparse.Namespace(inventory_backend=INVENTORY_BACKEND, compose_target_name=False)
    with _kapitan_errors() as messages:
        try:
            inventory = get_inventory(str(inventory_path))
        except SystemExit:
            raise InventoryRenderError("\n".join(messages) or "reclass could not render the inventory") from None
    return {name: inventory.inventory[name]["parameters"] for name in sorted(inventory.targets)}


def compiles_manifests(parameters: Mapping[str, Any]) -> bool:
    """Whether a target is a cluster: it compiles Kubernetes manifests. The `local` target only
    compiles a Docker Compose stack, so it gets no Argo CD bootstrap and no deployment-guide table."""
    return any(entry.get("output_path") == "manifests" for entry in parameters.get("kapitan", {}).get("compile", []))
