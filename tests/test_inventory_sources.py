"""The pre-pass over the inventory's files and the file:line it names for each merged key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import script_module

from mnops.errors import InventoryError, Problem
from mnops.inventory.sources import SourceErrors, locate_all, read_sources, split_key_path


def inventory(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "inventory"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


LAYERED = {
    "classes/common.yml": "parameters:\n  service_defaults:\n    replicas: 1\n  services:\n    api:\n      port: 80\n",
    "classes/env/dev.yml": "parameters:\n  images:\n    api:\n      tag: '1.0'\n  services:\n    api:\n      port: 8080\n",
    "targets/dev.yml": "classes: [common, env.dev]\nparameters:\n  cluster:\n    name: dev\n",
}


def test_the_last_file_in_the_merge_order_that_sets_a_key_is_named(tmp_path: Path) -> None:
    sources = read_sources(inventory(tmp_path, LAYERED))
    assert sources.chains["dev"] == ["inventory/classes/common.yml", "inventory/classes/env/dev.yml", "inventory/targets/dev.yml"]
    assert str(locate_all(sources, "dev", "parameters.services.api.port")) == "inventory/classes/env/dev.yml:7:7"
    assert str(locate_all(sources, "dev", "parameters.cluster.name")) == "inventory/targets/dev.yml:4:5"


def test_a_service_field_follows_the_service_layers_to_defaults_and_image_pins(tmp_path: Path) -> None:
    sources = read_sources(inventory(tmp_path, LAYERED))
    # replicas is set only in service_defaults; the image tag only under images.<name>.
    assert str(locate_all(sources, "dev", "parameters.services.api.replicas")) == "inventory/classes/common.yml:3:5"
    assert str(locate_all(sources, "dev", "parameters.services.api.image.tag")) == "inventory/classes/env/dev.yml:4:7"


def test_a_key_that_no_file_sets_is_placed_at_its_deepest_existing_parent(tmp_path: Path) -> None:
    sources = read_sources(inventory(tmp_path, LAYERED))
    assert str(locate_all(sources, "dev", "parameters.cluster.zones")) == "inventory/targets/dev.yml:3:3"


def test_a_self_include_is_a_circular_include_with_its_chain(tmp_path: Path) -> None:
    files = {**LAYERED, "classes/common.yml": "classes: [common]\nparameters: {}\n"}
    with pytest.raises(SourceErrors) as raised:
        read_sources(inventory(tmp_path, files))
    assert raised.value.lines == ["inventory/classes/common.yml:1:11: circular class include: common -> common"]


def test_a_flow_scalar_top_level_and_a_parameters_list_are_refused(tmp_path: Path) -> None:
    files = {**LAYERED, "classes/common.yml": "just text\n", "classes/env/dev.yml": "parameters: [a]\n"}
    with pytest.raises(SourceErrors) as raised:
        read_sources(inventory(tmp_path, files))
    assert raised.value.lines == [
        "inventory/classes/common.yml:1:1: the top level must be a mapping (classes:, parameters:), found the value 'just text'",
        "inventory/classes/env/dev.yml:1:13: parameters must be a mapping",
    ]


def test_quoted_yaml11_words_and_real_booleans_are_accepted(tmp_path: Path) -> None:
    files = {**LAYERED, "classes/common.yml": "parameters:\n  a: 'on'\n  b: true\n  c: '0755'\n  d: 755\n  e: 0\n"}
    read_sources(inventory(tmp_path, files))  # raises if any of them were reported


def test_key_paths_split_into_keys_and_list_indices() -> None:
    assert split_key_path("parameters.services.a.ports[0].port") == ["services", "a", "ports", 0, "port"]


def test_a_problem_renders_its_file_before_its_key_path() -> None:
    problem = Problem("dev", "parameters.services.api.port", "'x'", "a number", source="inventory/classes/env/dev.yml:7:7")
    assert "  inventory/classes/env/dev.yml:7:7: parameters.services.api.port: expected a number, found 'x'" in (
        InventoryError([problem]).render()
    )


def test_a_folder_without_targets_is_not_an_inventory(tmp_path: Path) -> None:
    with pytest.raises(SourceErrors) as raised:
        read_sources(tmp_path)
    assert raised.value.lines == [f"{tmp_path}: not an inventory folder (it has no targets/ folder)"]


def test_an_unexpected_failure_is_one_line_and_a_traceback_only_with_the_debug_switch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    compile_script = script_module("compile")
    monkeypatch.chdir(tmp_path)  # main() moves to the repository root; give the cwd back afterwards

    def broken(*_: object, **__: object) -> int:
        raise ValueError("boom")

    monkeypatch.setattr(compile_script, "compile_all", broken)
    monkeypatch.delenv("MNOPS_DEBUG", raising=False)
    assert compile_script.main(["--output", str(tmp_path / "compiled")]) == 1
    assert (
        capsys.readouterr().err == "compile failed: ValueError: boom (MNOPS_DEBUG=1 shows the traceback); nothing was replaced\n"
    )
    monkeypatch.setenv("MNOPS_DEBUG", "1")
    with pytest.raises(ValueError, match="boom"):
        compile_script.main(["--output", str(tmp_path / "compiled")])
