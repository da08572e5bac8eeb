"""The management cluster's OpenTofu bootstrap (bootstrap/main.tf.json), from its inventory."""

from __future__ import annotations

from typing import Any

from mnops.component import current_target
from mnops.infra.bootstrap import root_module


def main(input_params: dict[str, Any]) -> Any:
    return root_module(current_target())
