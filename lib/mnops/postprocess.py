"""Files derived from the whole compiled tree of a target, written after Kapitan ran."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mnops.readme import target_readme


def finish_tree(tree: Path, parameters_by_target: Mapping[str, Mapping[str, Any]]) -> None:
    """Add each target's README.md (object counts, dependency diagram)."""
    for name, parameters in parameters_by_target.items():
        target_dir = tree / name
        (target_dir / "README.md").write_text(target_readme(target_dir, parameters))
