"""Every file in fixtures/invalid/ must fail the real compile with its message and write nothing;
every file in fixtures/valid/ must compile and produce what it promises.

The invalid ones call the compile's entry point (scripts/compile.py's main) in this process: a new
interpreter per fixture was two thirds of the time. One test per kind of refusal runs the command
line itself and must print exactly what the entry point printed.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, apply_edits, compile_in_process, compile_script, run_compile, tree_snapshot

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
COMMAND_LINE = [
    FIXTURES / "invalid" / f"{name}.yml" for name in ("source-yaml-syntax-error", "reclass-unresolvable-reference", "latest-tag")
]


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


def edit_atoms(case: dict[str, Any]) -> set[str]:
    """Each single change a fixture makes (one key set or deleted, or one text edit), comparable across fixtures."""
    atoms = set()
    for edit in case["edits"]:
        changes = [("set", key, value) for key, value in (edit.get("set") or {}).items()]
        changes += [("delete", key, None) for key in edit.get("delete") or []]
        if not changes:  # a text edit: one change as a whole
            changes = [("text", "", {k: v for k, v in edit.items() if k != "file"})]
        atoms |= {json.dumps([edit["file"], *change], sort_keys=True) for change in changes}
    return atoms


def compile_groups(cases: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Valid fixtures that may share one compile: within a group, two fixtures edit different files, or
    one's changes are all among the other's (the same keys set to the same values). Fixtures that edit
    one file differently (dev on GKE or on AKS; staging's PostgreSQL or its Redis on AWS) never share."""
    atoms = {name: edit_atoms(case) for name, case in cases.items()}
    files = {name: {edit["file"] for edit in case["edits"]} for name, case in cases.items()}

    def fits(name: str, other: str) -> bool:
        return not files[name] & files[other] or atoms[name] <= atoms[other] or atoms[other] <= atoms[name]

    groups: list[list[str]] = []
    for name in sorted(cases, key=lambda n: (-len(atoms[n]), n)):  # the largest first: the others may fit within
        group = next((g for g in groups if all(fits(name, other) for other in g)), None)
        if group is None:
            groups.append([name])
        else:
            group.append(name)
    return groups


@pytest.fixture(scope="module")
def variant_output(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The compiled tree of the group a valid fixture is in (compile_groups): one compile per group,
    with the edits of every fixture of the group applied in turn."""
    cases = {path.stem: load(path) for path in VALID}
    group_of = {name: tuple(group) for group in compile_groups(cases) for name in group}
    outputs: dict[tuple[str, ...], Path] = {}

    def output(name: str) -> Path:
        group = group_of[name]
        if group not in outputs:
            work = tmp_path_factory.mktemp("variants")
            shutil.copytree(ROOT / "inventory", work / "inventory")
            for member in group:
                apply_edits(work / "inventory", cases[member]["edits"])
            run = run_compile(work / "inventory", work / "out" / "compiled")
            assert run.returncode == 0, f"{', '.join(group)} together:\n{run.stderr}"
            outputs[group] = work / "out" / "compiled"
        return outputs[group]

    return output


@pytest.mark.slow
@pytest.mark.parametrize("fixture", VALID, ids=[p.stem for p in VALID])
def test_valid_inventory_variant_compiles(fixture: Path, inventory_copy: Any, variant_output: Callable[[str], Path]) -> None:
    """Alone, the fixture's inventory passes every inventory check (the compile's own, in-process); the
    compile of its group (variant_output) succeeds and holds what the fixture promises."""
    case = load(fixture)
    inventory = inventory_copy(case["edits"])
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        parameters = compile_script().checked_parameters(inventory)
    assert parameters is not None, stderr.getvalue()
    output = variant_output(fixture.stem)
    for relative, text in case["expect_in_output"].items():
        path = output / Path(relative).relative_to("compiled")
        assert text in path.read_text(), f"{relative} does not contain {text!r}"


def test_valid_fixtures_that_edit_one_file_differently_never_share_a_compile() -> None:
    """Guards the grouping: a same-file conflict splits, a subset joins, other files join."""
    gke = {"edits": [{"file": "targets/dev.yml", "set": {"classes": ["cloud.gcp"]}}]}
    aks = {"edits": [{"file": "targets/dev.yml", "set": {"classes": ["cloud.azure"], "parameters.cloud.account": "a"}}]}
    aks_only = {"edits": [{"file": "targets/dev.yml", "set": {"classes": ["cloud.azure"]}}]}
    prod = {"edits": [{"file": "classes/env/prod.yml", "delete": ["parameters.images.x.tag"]}]}
    groups = compile_groups({"gke": gke, "aks": aks, "aks-only": aks_only, "prod": prod})
    assert groups == [["aks", "aks-only", "prod"], ["gke"]]


def test_fixture_edits_really_change_the_inventory(tmp_path: Path) -> None:
    """Guards the harness itself: an edit that silently did nothing would make fixtures pass vacuously."""
    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", copy)
    apply_edits(copy, [{"file": "classes/env/dev.yml", "set": {"parameters.images.memory-service.tag": "9.9.9"}}])
    assert "9.9.9" in (copy / "classes/env/dev.yml").read_text()
