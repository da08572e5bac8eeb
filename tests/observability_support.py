"""Shared helpers for tests/test_observability_*.py (not a test module itself)."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from conftest import real_parameters  # noqa: E402

from mnops.inventory import Target, load_target  # noqa: E402
from mnops.observability.preview import local_alertmanager_config  # noqa: E402

COMPILED = ROOT / "compiled"
DEBS = ("promtool=prometheus", "amtool=prometheus-alertmanager", "prometheus=prometheus",
        "prometheus-alertmanager=prometheus-alertmanager")  # fmt: skip


def ensure_tools() -> None:
    subprocess.run([str(ROOT / "scripts" / "ensure-debs"), *DEBS], check=True)


@cache
def parameters() -> dict[str, Any]:
    return real_parameters()


def compiles_monitoring(params: dict[str, Any]) -> bool:
    return any("components/monitoring" in entry.get("input_paths", []) for entry in params["kapitan"]["compile"])


# Every cluster that compiles the monitoring component, from the inventory (never a fixed list:
# adding a cluster adds it here).
TARGETS = tuple(sorted(name for name, params in parameters().items() if compiles_monitoring(params)))


def target(name: str) -> Target:
    return load_target(name, parameters()[name])


def rule_files(name: str) -> list[Path]:
    return sorted((COMPILED / name / "rules").glob("*.yaml"))


def all_rules(name: str) -> list[dict[str, Any]]:
    return [rule for path in rule_files(name) for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}


def metric_names_in(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (strings, matchers, ranges, functions, keywords removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![0-9.\w:])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        word, call = match.group(1), match.group(2)
        if not call and word.lower() not in PROMQL_WORDS:
            names.add(word)
    return names


def run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def for_local_alertmanager(config: Path, out: Path) -> Path:
    """The compiled Alertmanager config as Debian 12's Alertmanager 0.25 can load it.

    The one difference: webhook `url_file` (Alertmanager 0.26+, what the chart runs) becomes
    `url`, because 0.25 rejects the field (preview.local_alertmanager_config). Everything else
    (routes, timings, inhibitions, receivers) is what the cluster gets;
    test_observability_routing.py checks that nothing else changed.
    """
    out.write_text(yaml.safe_dump(local_alertmanager_config(yaml.safe_load(config.read_text())), sort_keys=False))
    return out
