"""The chart values check `make compile` runs before it replaces compiled/ (scripts/compile.py).

Every cluster's helm-values/<key>.yaml is compared with the locked chart's own values; a key the
chart does not know stops the compile with one line naming the file, the key path and the
clusters it occurs in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mnops.charts.fetch import fetch
from mnops.charts.lock import LOCK_FILE, ChartLockError, read_lock
from mnops.charts.values_check import chart_values, unknown_keys
from mnops.gitops.plan import delivery_plan
from mnops.kapitan_inventory import compiles_manifests


def chart_mirror(root: Path) -> Path | None:
    """CHART_MIRROR as make and CI set it, else the offline mirror beside the repository when there is one."""
    configured = os.environ.get("CHART_MIRROR")
    if configured:
        return Path(configured).resolve()
    beside = root.parent / "shared" / "charts"
    return beside.resolve() if (beside / "index.yaml").exists() else None


def cache_root(root: Path) -> Path:
    """CHART_CACHE (make exports the worktree's .cache, so compiles of other checkouts such as make
    diff's reuse it: every entry is keyed by content), else root/.cache."""
    return Path(os.environ.get("CHART_CACHE") or root / ".cache")


def helm_binary(root: Path) -> str:
    return os.environ.get("HELM") or str(root / ".tools" / "helm" / "helm")


def chart_values_problems(tree: Path, parameters_by_target: Mapping[str, Mapping[str, Any]], root: Path) -> list[str]:
    """One line per unknown key (grouped over the clusters that share it); [] when every values file fits its chart."""
    try:
        lock = read_lock(root / LOCK_FILE)
    except ChartLockError as error:
        return [str(error)]
    found: dict[tuple[str, str], list[str]] = {}
    for target, parameters in sorted(parameters_by_target.items()):
        if not compiles_manifests(parameters):
            continue
        for chart in delivery_plan(parameters).enabled_charts:
            values_file = f"helm-values/{chart.key}.yaml"
            locked = lock.get(chart.key)
            if locked is None or locked.version != chart.version:
                found.setdefault(
                    (values_file, f"chart {chart.key} {chart.version} is not in {LOCK_FILE} (run `make chart-lock`)"), []
                ).append(target)
                continue
            try:
                package = fetch(locked, cache_root(root) / "charts", chart_mirror(root), helm_binary(root))
            except ChartLockError as error:
                return [str(error)]
            tree_of_chart = chart_values(package, cache_root(root) / "chart-values")
            values = yaml.load((tree / target / values_file).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
            for unknown in unknown_keys(values, tree_of_chart):
                message = f"{unknown.render().replace('this chart', f'chart {chart.chart} {chart.version}')}"
                found.setdefault((values_file, message), []).append(target)
    return [
        f"compiled/<cluster>/{values_file}: {message} (clusters {', '.join(repr(t) for t in targets)})"
        for (values_file, message), targets in sorted(found.items())
    ]
