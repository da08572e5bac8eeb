"""The README's "How to …" recipes are executable (issue 10, item 9): each is run on a copy of the
inventory as written in README.md, and the effect it states is checked in the compiled output.
"Add a service" and "Remove a service" run whole in tests/test_journey.py; here their wording is
checked against what that journey edits.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import journey_support as journey
import pytest
from conftest import ROOT, cluster_targets, compile_in_process, real_parameters, run_compile, tree_snapshot
from ruamel.yaml import YAML

pytestmark = pytest.mark.slow  # compiles a copy of the repository

README = (ROOT / "README.md").read_text()
# The value each recipe key is set to: different from every current value, and valid.
NEW_VALUES = {"max_replicas": 9, "replicas": 3}


def recipe(title: str) -> str:
    """The paragraph of the "How to …" section that starts with **title.**"""
    section = README.split("## How to …", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"\*\*{re.escape(title)}\.\*\*(.*?)(?=\n\n|\Z)", section, re.S)
    assert match, f"README.md has no recipe '{title}'"
    return " ".join(match.group(1).split())


def edits_in(text: str) -> list[tuple[str, str]]:
    """`inventory/...yml` → `dotted.key` pairs, in the order the recipe names them."""
    return re.findall(r"`(inventory/[\w/.-]+\.yml)` → `([\w.-]+)`", text)


def set_value(inventory: Path, file: str, dotted: str, value: int) -> None:
    yaml = YAML()
    path = inventory / Path(file).relative_to("inventory")
    document = yaml.load(path.read_text())
    node = document["parameters"]
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    with path.open("w") as handle:
        yaml.dump(document, handle)


def environment_targets(environment: str) -> list[str]:
    parameters = real_parameters()  # a deep copy of every target's: once, not once per target
    return [n for n in cluster_targets() if parameters[n]["cluster"]["environment"] == environment]


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.fixture(scope="module")
def resized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """The "Change a value" recipe's edits plus staging's service_defaults.replicas, compiled once."""
    edits = [
        *edits_in(recipe("Change a value for one environment")),
        ("inventory/classes/env/staging.yml", "service_defaults.replicas"),
    ]
    work = tmp_path_factory.mktemp("resize")
    shutil.copytree(ROOT / "inventory", work / "inventory")
    for file, dotted in edits:
        set_value(work / "inventory", file, dotted, NEW_VALUES[dotted.rsplit(".", 1)[-1]])
    run = run_compile(work / "inventory", work / "compiled")
    assert run.returncode == 0, run.stderr
    return tree_snapshot(work / "compiled"), edits


def test_the_change_a_value_recipe_names_files_and_keys_that_exist() -> None:
    edits = edits_in(recipe("Change a value for one environment"))
    assert len(edits) >= 2
    for file, _ in edits:
        assert (ROOT / file).is_file(), file


def test_resizing_changes_exactly_the_autoscalers_the_readme_says(
    resized: tuple[dict[str, bytes], list[tuple[str, str]]],
) -> None:
    after, edits = resized
    services = sorted({name for p in real_parameters().values() for name in p.get("services", {})})
    expected: set[str] = set()
    for file, dotted in edits:
        environment = Path(file).stem
        names = services if dotted.startswith("service_defaults.") else [dotted.split(".")[1]]
        if dotted.endswith("max_replicas"):
            for target in environment_targets(environment):
                expected |= {f"{target}/manifests/{s}/horizontalpodautoscaler.yaml" for s in names}
                expected.add(f"{target}/README.md")  # its replicas column shows the HPA bounds
    assert expected
    assert changed_files(tree_snapshot(ROOT / "compiled"), after) == expected


def test_replicas_changes_nothing_where_the_environment_autoscales(
    resized: tuple[dict[str, bytes], list[tuple[str, str]]],
) -> None:
    """The README says so: staging's replica count belongs to its HorizontalPodAutoscalers."""
    after, _ = resized
    staging = environment_targets("staging")  # once: each call reads every target's parameters
    workloads = [p for p in after if p.split("/")[0] in staging and p.endswith(("deployment.yaml", "rollout.yaml"))]
    parameters = real_parameters()
    assert all(parameters[n]["service_defaults"]["autoscaling"]["enabled"] for n in staging)
    assert workloads
    before = tree_snapshot(ROOT / "compiled")
    assert [p for p in workloads if before[p] != after[p]] == []


def test_the_add_a_service_recipe_names_every_file_the_journey_edits(tmp_path: Path) -> None:
    text = recipe("Add a service")
    repo = journey.copy_repository(tmp_path / "repo")
    journey.add_service(repo, "audit-service")
    touched = set()
    for path in (repo / "inventory").rglob("*.yml"):
        original = ROOT / path.relative_to(repo)
        if not original.exists() or original.read_bytes() != path.read_bytes():
            touched.add(str(path.relative_to(repo)))
    named = {t.replace("audit-service", "<name>") for t in touched}
    named = {re.sub(r"env/[\w-]+\.yml", "env/<env>.yml", t) for t in named}
    assert named == {
        "inventory/classes/services/<name>.yml",
        "inventory/classes/services/init.yml",
        "inventory/classes/env/<env>.yml",
    }
    for path in named:
        assert f"`{path}`" in text, path
    assert "digest in prod" in text and "make compile" in text


def test_the_remove_a_service_recipe_names_the_files_and_the_guide() -> None:
    text = recipe("Remove a service")
    assert "`inventory/classes/services/<name>.yml`" in text and "`services/init.yml`" in text
    assert "data.allow_delete" in text
    guide = (ROOT / "docs" / "deployment-guide.md").read_text()
    assert "## Remove a service, a component or a cluster" in guide


ERROR_LINE = re.compile(
    r"^\s+(?:(?P<file>inventory/[\w/.-]+):\d+:\d+: )?(?P<path>parameters\.[\w.-]+): expected .*, found '(?P<found>[^']*)'$"
)


def test_the_compile_error_example_is_what_the_compile_prints(tmp_path: Path) -> None:
    """The README's example error, made real: the same line, and nothing written."""
    block = README.split("**Read a compile error.**", 1)[1].split("```", 2)[1]
    lines = block.splitlines()
    index, match = next((i, m) for i, line in enumerate(lines) if (m := ERROR_LINE.match(line)))
    targets = re.findall(r"'([\w-]+)'", next(line for line in reversed(lines[:index]) if line.startswith("inventory error")))
    file = match["file"] or f"inventory/classes/env/{real_parameters()[targets[0]]['cluster']['environment']}.yml"
    shutil.copytree(ROOT / "inventory", tmp_path / "inventory")
    set_value(tmp_path / "inventory", file, match["path"].removeprefix("parameters."), match["found"])  # type: ignore[arg-type]
    run = compile_in_process(tmp_path / "inventory", tmp_path / "compiled")
    assert run.returncode == 1
    printed = run.stdout + run.stderr
    assert lines[index].split(": ", 1)[1] in printed if match["file"] else lines[index].strip() in printed
    assert "Traceback" not in printed
    assert not (tmp_path / "compiled").exists()
