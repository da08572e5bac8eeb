"""Conventions of the inventory's layout that keep a change in one place."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import ROOT

CLASSES = ROOT / "inventory" / "classes"
CATALOG = CLASSES / "platform" / "charts.yml"
PINNED_FIELDS = {"repo_url", "chart", "version"}


def chart_pins_outside_the_catalog(classes: Path, catalog: Path) -> list[str]:
    found = []
    for path in sorted(classes.rglob("*.yml")):
        if path == catalog:
            continue
        charts = ((yaml.safe_load(path.read_text()) or {}).get("parameters") or {}).get("charts") or {}
        for name, entry in sorted(charts.items()):
            if pinned := PINNED_FIELDS & set(entry or {}):
                found.append(f"{path.relative_to(classes)}: charts.{name} sets {sorted(pinned)}")
    return found


def test_chart_versions_live_only_in_the_chart_catalog() -> None:
    assert yaml.safe_load(CATALOG.read_text())["parameters"]["charts"], "the catalog itself is empty"
    assert chart_pins_outside_the_catalog(CLASSES, CATALOG) == []


def test_a_chart_pinned_in_an_environment_class_is_caught(tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    (classes / "env").mkdir(parents=True)
    (classes / "env" / "prod.yml").write_text("parameters:\n  charts:\n    loki: {version: 9.9.9, enabled: true}\n")
    assert chart_pins_outside_the_catalog(classes, classes / "platform" / "charts.yml") == [
        "env/prod.yml: charts.loki sets ['version']"
    ]


def test_targets_only_list_classes_and_per_cluster_values() -> None:
    allowed = {"cluster", "cloud"}
    for path in sorted((ROOT / "inventory" / "targets").glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        assert set(document) <= {"classes", "parameters"}, path.name
        extra = set(document.get("parameters", {})) - allowed - {"kapitan"}
        assert not extra, f"{path.name} sets {sorted(extra)}: move shared values into a class"
