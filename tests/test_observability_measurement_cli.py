"""The command line make alert-latency and make burn-detection share (mnops.observability.measurement_cli)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from observability_support import ROOT, TARGETS

from mnops.inventory import Target
from mnops.observability.measurement_cli import Measured, run

BEGIN, END = "<!-- BEGIN m -->", "<!-- END m -->"
Capture = pytest.CaptureFixture[str]


def _repository(tmp_path: Path) -> Path:
    """The inventory and a docs/observability.md with an old section: what the command reads and writes."""
    shutil.copytree(ROOT / "inventory", tmp_path / "inventory")
    for name in TARGETS:  # what the command measures against: the targets' compiled rules
        shutil.copytree(ROOT / "compiled" / name / "rules", tmp_path / "compiled" / name / "rules")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "observability.md").write_text(f"# Observability\n\n{BEGIN}\nold\n{END}\n\nafter\n")
    return tmp_path


def test_the_measured_section_replaces_the_old_one_and_failures_exit_1(tmp_path: Path, capsys: Capture) -> None:
    root = _repository(tmp_path)
    seen: list[tuple[str, str, Path]] = []

    def measure(name: str, target: Target, compiled: Path) -> Measured:
        seen.append((name, target.cluster.name, compiled))
        return Measured(f"{BEGIN}\nnew for {name}\n{END}", ("ServiceDown (a) not notified within 5m",))

    code = run(["--target", TARGETS[0]], doc="x", name="m", markers=(BEGIN, END), measure=measure, root=root)
    assert code == 1
    assert seen == [(TARGETS[0], TARGETS[0], root / "compiled" / TARGETS[0])]
    text = (root / "docs" / "observability.md").read_text()
    assert text == f"# Observability\n\n{BEGIN}\nnew for {TARGETS[0]}\n{END}\n\nafter\n"
    assert "ServiceDown (a) not notified within 5m" in capsys.readouterr().err


def test_an_unknown_target_exits_2_naming_the_targets_and_writes_nothing(tmp_path: Path, capsys: Capture) -> None:
    root = _repository(tmp_path)
    before = (root / "docs" / "observability.md").read_text()

    def measure(name: str, target: Target, compiled: Path) -> Measured:
        raise AssertionError(f"measured {name}, which the inventory does not have")

    code = run(["--target", "no-such-cluster"], doc="x", name="m", markers=(BEGIN, END), measure=measure, root=root)
    assert code == 2
    assert f"unknown target 'no-such-cluster'; targets with alert rules: {', '.join(TARGETS)}" in capsys.readouterr().err
    assert (root / "docs" / "observability.md").read_text() == before


def test_a_target_without_alert_rules_exits_2_by_name_not_with_a_traceback(tmp_path: Path, capsys: Capture) -> None:
    root = _repository(tmp_path)
    without = sorted({p.stem for p in (root / "inventory" / "targets").glob("*.yml")} - set(TARGETS))
    if not without:
        pytest.skip("every target of this inventory compiles monitoring")

    def measure(name: str, target: Target, compiled: Path) -> Measured:
        raise AssertionError(f"measured {name}, which has no rules")

    code = run(["--target", without[0]], doc="x", name="m", markers=(BEGIN, END), measure=measure, root=root)
    assert code == 2
    assert f"target '{without[0]}' has no compiled/{without[0]}/rules (it runs no Prometheus)" in capsys.readouterr().err
