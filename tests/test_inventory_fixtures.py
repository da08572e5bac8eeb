"""Every file in fixtures/invalid/ must fail the real compile with its message and write nothing;
every file in fixtures/valid/ must compile and produce what it promises.

The invalid ones call the compile's entry point (scripts/compile.py's main) in this process: a new
interpreter per fixture was two thirds of the time. One test per kind of refusal runs the command
line itself and must print exactly what the entry point printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import apply_edits, compile_in_process, run_compile, tree_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = sorted((FIXTURES / "invalid").glob("*.yml"))
VALID = sorted((FIXTURES / "valid").glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    assert case.get("description") and case.get("edits"), f"{path.name} needs a description and edits"
    return case


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    """An existing compiled tree that a failing compile must leave byte-for-byte as it was."""
    output = tmp_path / "compiled"
    (output / "prod" / "manifests").mkdir(parents=True)
    (output / "prod" / "manifests" / "sentinel.yaml").write_text("kept: true\n")
    return output


@pytest.mark.parametrize("fixture", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_inventory_is_rejected_with_its_message_and_nothing_written(
    fixture: Path, inventory_copy: Any, previous_output: Path
) -> None:
    case = load(fixture)
    inventory = inventory_copy(case["edits"])
    before = tree_snapshot(previous_output.parent)
    run = compile_in_process(inventory, previous_output)
    assert run.returncode == 1, f"{fixture.name} compiled although it should not:\n{run.stdout}"
    for expected in case["expect"]:
        assert expected in run.stderr, f"missing message:\n  {expected}\ngot:\n{run.stderr}"
    assert "Traceback" not in run.stderr, "errors must be readable, not Python tracebacks"
    assert "nothing was written to compiled/" in run.stderr
    assert tree_snapshot(previous_output.parent) == before


# One fixture of each kind: a file the parser refuses, a merge reclass refuses, a value a rule refuses.
COMMAND_LINE = [FIXTURES / "invalid" / f"{name}.yml" for name in ("source-yaml-syntax-error", "reclass-unresolvable-reference", "latest-tag")]


@pytest.mark.parametrize("fixture", COMMAND_LINE, ids=[p.stem for p in COMMAND_LINE])
def test_the_command_line_refuses_invalid_inventory_exactly_as_its_entry_point(
    fixture: Path, inventory_copy: Any, previous_output: Path
) -> None:
    """`python scripts/compile.py` (a new interpreter, as make runs it) prints what main printed in-process."""
    inventory = inventory_copy(load(fixture)["edits"])
    before = tree_snapshot(previous_output.parent)
    run = run_compile(inventory, previous_output)
    assert run.returncode == 1 and run.stdout == ""
    assert "Traceback" not in run.stderr and "nothing was written to compiled/" in run.stderr
    assert run.stderr == compile_in_process(inventory, previous_output).stderr
    assert tree_snapshot(previous_output.parent) == before


@pytest.mark.slow
@pytest.mark.parametrize("fixture", VALID, ids=[p.stem for p in VALID])
def test_valid_inventory_variant_compiles(fixture: Path, tmp_path: Path, inventory_copy: Any) -> None:
    case = load(fixture)
    inventory = inventory_copy(case["edits"])
    output = tmp_path / "out" / "compiled"
    run = run_compile(inventory, output)
    assert run.returncode == 0, run.stderr
    for relative, text in case["expect_in_output"].items():
        path = output / Path(relative).relative_to("compiled")
        assert text in path.read_text(), f"{relative} does not contain {text!r}"


def test_fixture_edits_really_change_the_inventory(tmp_path: Path) -> None:
    """Guards the harness itself: an edit that silently did nothing would make fixtures pass vacuously."""
    import shutil

    from conftest import ROOT

    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", copy)
    apply_edits(copy, [{"file": "classes/env/dev.yml", "set": {"parameters.images.memory-service.tag": "9.9.9"}}])
    assert "9.9.9" in (copy / "classes/env/dev.yml").read_text()
