"""Shared fixtures: the repository root, inventory copies with edits, and compile runs."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import importlib.util
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

PYTHON = sys.executable
# Where the CRD schemas are: CRD_SCHEMA_LOCATION as make and CI set it, else the offline mirror beside the repo.
CRD_SCHEMAS = os.environ.get("CRD_SCHEMA_LOCATION") or str(ROOT.parent / "shared" / "crd-schemas")
# Charts come from CHART_MIRROR as make and CI set it, else from the offline mirror beside the repo:
# compiles of copied repositories (make diff tests) must find them too.
if not os.environ.get("CHART_MIRROR") and (ROOT.parent / "shared" / "charts" / "index.yaml").exists():
    os.environ["CHART_MIRROR"] = str(ROOT.parent / "shared" / "charts")
os.environ.setdefault("CHART_CACHE", str(ROOT / ".cache"))


# Fixtures that start real servers or run real server tools: a test using one is marked `servers`,
# and `make test-fast` (pytest -m "not servers and not slow") leaves it to `make test`.
SERVER_FIXTURES = frozenset({"promtool", "amtool", "drill", "preview", "prometheus", "redis"})
# Fixtures that compile the whole inventory, a copy of it or a generated one: a test using one is marked `slow`.
COMPILE_FIXTURES = frozenset({"compiled_tree", "two_commit_repo", "diff_run", "review_sides", "synthetic_compiled"})


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None]:
    # Before every other plugin: `-m` selection sees these markers, pytest-xdist these groups.
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SERVER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.servers)
        if COMPILE_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("xdist_group") is None and uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    yield
    if os.environ.get("PYTEST_XDIST_WORKER"):
        if config.getoption("loadgroup", False):
            for item in items:
                keep_xdist_group(item)
        # pytest-xdist hands out tests in collection order (groups first): long tests first, so the
        # many short ones fill the end instead of one worker finishing a long test alone.
        items.sort(key=lambda item: not (item.get_closest_marker("slow") or item.get_closest_marker("servers")))


def keep_xdist_group(item: pytest.Item) -> None:
    """The `@group` suffix pytest-xdist's loadgroup schedules by, on pytest 9.2's structured node ids.

    xdist 3.8 writes the suffix into `item._nodeid`, which pytest 9.2 no longer reads, so every group
    was silently split across workers (pytest-dev/pytest-xdist#1386, fix pending in #1388, which sets
    the structured id as done here). A no-op once xdist's own suffix shows in the node id.
    """
    marks = list(item.iter_markers("xdist_group"))
    if not marks or "@" in item.nodeid.rsplit("]", 1)[-1]:
        return
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks})
    item._id = type(item._id).parse(f"{item.nodeid}@{'_'.join(names)}")


def uses_module_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a module-scoped fixture (a compiled copy of the repository, a drill).

    Such tests are grouped by module: under `--dist loadgroup` (make test) they run on one
    pytest-xdist worker, so the fixture is built once instead of once per worker.
    """
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info else ()
    return any(defs and defs[-1].scope == "module" for defs in definitions)


@pytest.fixture(autouse=True)
def fresh_inventory_checks(request: pytest.FixtureRequest) -> Generator[None]:
    """A test that can patch (it uses monkeypatch) starts and ends without the inventory checks' kept answers
    (mnops.inventory.problems_in keeps them by the parameters' content): it must not get an answer found under
    the real constants, nor leave one found under its patch. Other tests share them, as one compile does:
    the same parameters get the same answer (most edited inventories change one target of six)."""
    from mnops.inventory import forget_checks

    patches = "monkeypatch" in request.fixturenames
    if patches:
        forget_checks()
    yield
    if patches:
        forget_checks()


@dataclass
class CompileRun:
    returncode: int
    stdout: str
    stderr: str


def run_compile(inventory: Path, output: Path, *extra: str, env: Mapping[str, str] | None = None) -> CompileRun:
    """The real `make compile` entry point, on any inventory and output folder (extra environment: env)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib"), **(env or {})}
    proc = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "compile.py"), "--inventory", str(inventory), "--output", str(output), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    return CompileRun(proc.returncode, proc.stdout, proc.stderr)


@cache
def script_module(name: str) -> ModuleType:
    """scripts/<name>.py as a module, loaded once per test process, for tests that call its functions."""
    spec = importlib.util.spec_from_file_location(f"mnops_script_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


def compile_script() -> ModuleType:
    return script_module("compile")


def compile_in_process(inventory: Path, output: Path, *extra: str) -> CompileRun:
    """The same entry point as run_compile (`main` with the command line's arguments, which is all
    `python scripts/compile.py` adds), without a new interpreter: for compiles that stop at the
    inventory checks, where starting Python was most of the time. Not for compiles that run Kapitan,
    which would fork this test process."""
    stdout, stderr, cwd = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = compile_script().main(["--inventory", str(inventory), "--output", str(output), *extra])
    finally:
        os.chdir(cwd)  # main works from the repository root, as Kapitan needs
    return CompileRun(code, stdout.getvalue(), stderr.getvalue())


def set_path(document: Any, dotted: str, value: Any) -> None:
    """Set parameters.a.b.c in a ruamel document, creating mappings on the way."""
    keys = dotted.split(".")
    node = document
    for key in keys[:-1]:
        if key not in node or node[key] is None:
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value


def delete_path(document: Any, dotted: str) -> None:
    keys = dotted.split(".")
    node = document
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]


def apply_edits(inventory: Path, edits: list[Mapping[str, Any]]) -> None:
    """Each edit: {file, set: {dotted.path: value}, delete: [dotted.path]} on a copied inventory.

    Edits that must keep the exact text (syntax errors, duplicate keys, `0755`, bytes that are
    not UTF-8) use {file, write_text | append_text | replace_text: {old: new}, encoding} instead.
    """
    yaml = YAML()
    for edit in edits:
        path = inventory / edit["file"]
        if {"write_text", "append_text", "replace_text"} & set(edit):
            _edit_text(path, edit)
            continue
        document = yaml.load(path.read_text()) if path.exists() else {}
        for dotted, value in (edit.get("set") or {}).items():
            set_path(document, dotted, value)
        for dotted in edit.get("delete") or []:
            delete_path(document, dotted)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            yaml.dump(document, handle)


def _edit_text(path: Path, edit: Mapping[str, Any]) -> None:
    encoding = edit.get("encoding", "utf-8")  # latin-1 writes characters as single, non-UTF-8 bytes
    text = edit["write_text"] if "write_text" in edit else path.read_text()
    for old, new in (edit.get("replace_text") or {}).items():
        assert old in text, f"{path.name} does not contain {old!r}: the fixture no longer edits anything"
        text = text.replace(old, new, 1)
    text += edit.get("append_text", "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Callable[[list[Mapping[str, Any]]], Path]:
    """A fresh copy of the real inventory with edits applied."""

    def make(edits: list[Mapping[str, Any]]) -> Path:
        copy = tmp_path / "inventory"
        shutil.copytree(ROOT / "inventory", copy)
        apply_edits(copy, edits)
        return copy

    return make


@cache
def _real_inventory() -> dict[str, Any]:
    from mnops.kapitan_inventory import render_inventory

    return dict(render_inventory(ROOT / "inventory"))


def real_parameters() -> dict[str, Any]:
    """Every target's merged parameters from the real inventory: rendered once per test process,
    handed out as a deep copy so that a test may edit its copy."""
    return copy.deepcopy(_real_inventory())


def cluster_targets() -> list[str]:
    """Targets that compile Kubernetes manifests (the local Compose stack is not a cluster), from the
    inventory: tests iterate over these, never over a list of names written down."""
    from mnops.kapitan_inventory import compiles_manifests

    return sorted(name for name, params in _real_inventory().items() if compiles_manifests(params))


def tree_snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills once per pytest run, shared by every pytest-xdist worker.

    The first worker that needs it builds it under a lock in the run's temporary folder (which
    the workers share); the others wait for the lock and use the result. A build that failed
    leaves no completion mark, so the next worker builds again (and fails the same way).
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-of-<user>/pytest-<n>/, above each worker's popen-gw<i>/
    folder, done = shared / f"shared-{name}", shared / f"shared-{name}.done"
    with (shared / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


# `make test` runs pytest right after `make check`, which compiled the inventory into this checkout
# and found every generated path identical to what is committed; it says so with this variable (the
# checkout's path), and the compiled tree is copied from there instead of compiled a second time.
CHECKED_CHECKOUT = "MNOPS_COMPILED_BY_CHECK"


@pytest.fixture(scope="session")
def compiled_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real inventory compiled once per run into a temporary folder (tests only read it).

    Beside `compiled/`, the folder holds everything else the compile writes (argocd/, generated docs).
    """

    def build(folder: Path) -> None:
        if Path(os.environ.get(CHECKED_CHECKOUT) or "/nonexistent").resolve() == ROOT:
            from mnops.generated import GENERATED

            for relative in (artefact.path for artefact in GENERATED):
                source, target = ROOT / relative, folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, target)
                else:
                    shutil.copy2(source, target)
            return
        run = run_compile(ROOT / "inventory", folder / "compiled")
        assert run.returncode == 0, run.stderr

    return once_per_run(tmp_path_factory, "compiled-tree", build) / "compiled"


@pytest.fixture(scope="session")
def review_sides(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Compile base and head inventories for review-section tests (tests/review_support.py)."""
    from review_support import make_sides

    return make_sides(tmp_path_factory)
