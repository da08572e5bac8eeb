#!/usr/bin/env python3
"""Validate the inventory, compile every target and regenerate every generated doc, as one transaction.

Usage (normally through `make compile`):
    .venv/bin/python scripts/compile.py                 # all targets into compiled/, docs into docs/
    .venv/bin/python scripts/compile.py --output /tmp/x/compiled   # into another folder (make diff, tests)
    .venv/bin/python scripts/compile.py --inventory tests/fixtures/invalid/typo --output /tmp/x/compiled
    .venv/bin/python scripts/compile.py --recover       # only finish or clean up an interrupted compile
    .venv/bin/python scripts/compile.py --list-generated  # every path the compile owns (make check)
    .venv/bin/python scripts/compile.py --output /tmp/x/compiled --scratch --parameters-out /tmp/x/p.json  # make diff

Beside the output folder (the repository root by default) it writes everything listed in
lib/mnops/generated.py: argocd/<target>/ (the Argo CD bootstrap), docs/deployment-guide.md, the
runbooks, the coverage table, the bucket table and the CI/CD step map.

Nothing is replaced unless every target is valid, Kapitan succeeded and every output can be
written: the new set is built in a `.compile-*` folder beside the outputs and installed with a
commit record (lib/mnops/transaction.py), so a kill at any instant leaves the complete old or,
after the next run's recovery, the complete new set. Errors are one line each; MNOPS_DEBUG=1
or --debug shows tracebacks. Exit code 1 on any error.

A compile of this checkout's own inventory into its own compiled/ also writes
.cache/compile-record.json (lib/mnops/gitops/compile_record.py): digests of the inputs it read and
of the compiled/ and argocd/ it installed, with the rendered parameters, so `make diff` reuses
them instead of compiling the working tree again while both digests still match. `--scratch`
is make diff's own compile into a folder it throws away: only compiled/ and argocd/ (what it
compares), not fsynced, no record; `--parameters-out` writes every target's parameters as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import re
import sys
import tempfile
import types
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lib"))

from mnops import yamlio  # noqa: E402
from mnops.api_limits import oversized_objects  # noqa: E402
from mnops.charts.compile_check import chart_values_problems  # noqa: E402
from mnops.charts.compile_pass import ChartPassError, finish_charts  # noqa: E402
from mnops.errors import InventoryError, Problem  # noqa: E402
from mnops.generated import GENERATED, Build, write_all  # noqa: E402
from mnops.gitops.compile_record import (  # noqa: E402
    COMPARED_OUTPUTS,
    CompileRecord,
    forget_record,
    inputs_digest,
    outputs_digest,
    write_record,
)
from mnops.gitops.rules import fleet_problems  # noqa: E402
from mnops.inventory import problems_in  # noqa: E402
from mnops.inventory.sources import (  # noqa: E402
    InventorySources,
    SourceErrors,
    explain_reclass_error,
    locate_all,
    read_sources,
)
from mnops.kapitan_inventory import INVENTORY_BACKEND, InventoryRenderError, render_inventory  # noqa: E402
from mnops.transaction import (  # noqa: E402
    InterruptedCommit,
    OutputError,
    Stage,
    check_writable,
    output_error_from,
    output_lock,
    recover,
)


def validate(parameters_by_target: Mapping[str, Mapping[str, Any]], sources: InventorySources) -> list[Problem]:
    """Every problem of every target, each with the file and line that set the value.

    Rules across clusters (a standby without its primary) run once every target passed its own.
    """
    problems = [problem for name, params in parameters_by_target.items() for problem in problems_in(name, params)]
    problems = problems or fleet_problems(parameters_by_target)
    return [replace(problem, source=str(locate_all(sources, problem.target, problem.path) or "")) for problem in problems]


def use_libyaml_emitter() -> None:
    """Give Kapitan's YAML writer libyaml's C emitter instead of PyYAML's pure-Python one.

    Emitting YAML was four fifths of the compile time (measured with cProfile: 5.0 of 6.3 s).
    The documents are the same YAML; the visible difference is that block sequences are not
    indented under their key (`key:\n- item`, as kubectl prints). Multi-line strings keep
    Kapitan's default literal style (mnops.yamlio.KapitanDumper, which the steps after Kapitan
    use too). Pool workers are forked after this and inherit it.
    """
    from kapitan.utils import PrettyDumper

    PrettyDumper.get_dumper_for_style = classmethod(lambda cls, style_selection="literal": yamlio.KapitanDumper)


# Kapitan's command line imports the code of commands a compile never runs, for its argument parser:
# `kapitan init` (copier, questionary, prompt_toolkit) and `kapitan refs` (the AWS, Azure and Google
# KMS clients), 0.2-0.25 s of every compile's CPU (python -X importtime). The reference backends a
# compile may meet import their clients themselves, when a reference needs one (kapitan.refs.base).
_COMMANDS_NOT_COMPILED = {"kapitan.initialiser": "initialise_skeleton", "kapitan.refs.cmd_parser": "handle_refs_command"}


def defer_unused_kapitan_commands() -> None:
    """Stand-ins for those modules until their command is called; then the real module is imported."""
    for module, function in _COMMANDS_NOT_COMPILED.items():
        if module not in sys.modules:
            stand_in = types.ModuleType(module, "imported when its command is first called (scripts/compile.py)")
            setattr(stand_in, function, partial(_call_real, module, function))
            sys.modules[module] = stand_in


def _call_real(module: str, function: str, *args: Any, **kwargs: Any) -> Any:
    sys.modules.pop(module, None)
    return getattr(importlib.import_module(module), function)(*args, **kwargs)


def run_kapitan(inventory_path: Path, output: Path, parallelism: int | None) -> None:
    defer_unused_kapitan_commands()
    from kapitan.cli import main as kapitan_main

    use_libyaml_emitter()

    # fork, not Kapitan's default spawn: workers inherit the imports and the emitter set up here.
    argv = ["--mp-method", "fork", "compile", "--inventory-path", str(inventory_path), "--output-path", str(output),
            "--search-paths", str(ROOT), "--inventory-backend", INVENTORY_BACKEND]  # fmt: skip
    if parallelism:
        argv += ["--parallelism", str(parallelism)]
    with tempfile.TemporaryFile(mode="w+") as log:
        with _output_to(log):
            try:
                code = kapitan_main(*argv)
            except SystemExit as stop:
                code = stop.code
        if code:
            log.seek(0)
            text = log.read()
            if os.environ.get("MNOPS_DEBUG") == "1":
                sys.stderr.write(text)
            raise KapitanFailed(kapitan_error(text, code))


class KapitanFailed(Exception):
    """A component failed inside Kapitan; the message is the cause, not Kapitan's wrapper."""


_EXCEPTION = re.compile(r"^(?P<kind>[A-Za-z_][\w.]*(?:Error|Exception)): (?P<message>.+)$")
_FAILED_TARGET = re.compile(r"failed to compile target: (?P<target>\S+)")


def kapitan_error(log: str, code: object) -> str:
    """What went wrong, from Kapitan's log: the first exception of the chain (the cause), and the target.

    Kapitan wraps a component's exception in its own ("Could not load Kadet module") and ends its
    log with "failed to compile target": the cause is the first exception line. A builder's
    BuildError is a value no schema rule caught, and its message says what to change; any other
    exception is a bug, named with its type.
    """
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    targets = [m["target"] for line in lines if (m := _FAILED_TARGET.search(line))]
    causes = [m for line in lines if (m := _EXCEPTION.match(line))]
    where = f"target '{targets[0]}': " if targets else ""
    if not causes:
        return f"{where}kapitan compile failed (exit {code}): {lines[-1] if lines else 'no output'}"
    cause = causes[0]
    if cause["kind"].endswith("BuildError"):
        return f"{where}{cause['message']}"
    return f"{where}{cause['kind'].rsplit('.', 1)[-1]}: {cause['message']} (a bug; MNOPS_DEBUG=1 shows the traceback)"


@contextlib.contextmanager
def _output_to(log: IO[str]) -> Iterator[None]:
    """Send this process's and Kapitan's worker processes' output (file descriptors 1 and 2) to `log`.

    Kapitan's pool workers log progress on their own; on success nobody needs it, on failure it
    is printed with the error.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def compile_all(
    inventory_path: Path,
    output: Path,
    parallelism: int | None = None,
    *,
    scratch: bool = False,
    parameters_out: Path | None = None,
) -> int:
    root = output.parent
    artefacts = [a for a in GENERATED if a.path in COMPARED_OUTPUTS] if scratch else list(GENERATED)
    destinations = {a.path: output.name if a.path == "compiled" else a.path for a in artefacts}
    # Only `make compile` itself (this checkout's inventory into its compiled/) is recorded for make diff.
    recorded = not scratch and inventory_path == ROOT / "inventory" and output == ROOT / "compiled"
    with output_lock(root):
        say(recover(root, locked=True))
        # Refuse an output we cannot replace now, before the slow part, and again at the commit.
        check_writable(root, {destinations[a.path]: a.folder for a in artefacts})
        read_inputs = inputs_digest(ROOT) if recorded else ""
        parameters = checked_parameters(inventory_path)
        if parameters is None:
            return 1
        if parameters_out is not None:
            parameters_out.write_text(json.dumps(parameters, sort_keys=True, default=str))
        stage = Stage.create(root, durable=not scratch)
        try:
            kapitan = partial(run_kapitan, inventory_path, parallelism=parallelism)
            build = Build(stage.new, root, parameters, kapitan, partial(finish_manifests, parameters=parameters))
            write_all(build, destinations)
            refused = oversized_objects(stage.new / "compiled")
            if refused:
                say("\n".join([*refused, f"{len(refused)} object(s) too large; nothing was written to compiled/."]))
                return 1
            wrote = outputs_digest(stage.new) if recorded else ""
            if recorded:
                forget_record(ROOT)  # until the new outputs are installed, no record describes them
            stage.commit({staged: to for staged, to in destinations.items() if (stage.new / staged).exists()})
        except ChartPassError as error:
            say("\n".join([f"{error.heading}:", *(f"  {p}" for p in error.problems),
                            f"{len(error.problems)} problem(s); nothing was written to compiled/."]))  # fmt: skip
            return 1
        finally:
            stage.discard()
        # An input edited while the compile read it: the outputs may be of either version, so no record.
        if recorded and inputs_digest(ROOT) == read_inputs:
            write_record(ROOT, CompileRecord(read_inputs, wrote, parameters))
    names = ", ".join(parameters)
    print(f"compiled {len(parameters)} targets into {os.path.relpath(output)} and {len(artefacts) - 1} generated docs: {names}")
    return 0


def finish_manifests(compiled: Path, parameters: Mapping[str, Mapping[str, Any]]) -> None:
    """After Kapitan: check every chart values file, then render the charts and derive from them."""
    # A values key the chart does not know would be ignored by Helm: stop before rendering anything.
    problems = chart_values_problems(compiled, parameters, ROOT)
    if problems:
        raise ChartPassError(problems, "chart values error")
    finish_charts(compiled, parameters, ROOT)


def checked_parameters(inventory_path: Path) -> dict[str, Mapping[str, Any]] | None:
    """Every target's parameters if the files, the merge and the values are all valid; else None
    after printing every problem, each naming the file and line that set it."""
    try:
        sources = read_sources(inventory_path)  # file-level problems, before reclass sees them
    except SourceErrors as errors:
        say(errors.render())
        return None
    try:
        parameters = render_inventory(inventory_path)
    except InventoryRenderError as error:
        say(explain_reclass_error(str(error), sources) + "\n1 problem; nothing was written to compiled/.")
        return None
    problems = validate(parameters, sources)
    if problems:
        say(InventoryError(problems).render())
        return None
    return parameters


def say(note: str | None) -> None:
    """One message for the person running the compile (stderr: stdout stays the result)."""
    if note:
        print(note, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory", help="inventory folder")
    parser.add_argument("--output", type=Path, default=ROOT / "compiled", help="compiled tree to replace")
    parser.add_argument("--parallelism", type=int, help="Kapitan worker processes (default: one per CPU)")
    parser.add_argument("--recover", action="store_true", help="only finish or clean up an interrupted compile")
    parser.add_argument("--list-generated", action="store_true", help="print every generated path, one a line")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks (also MNOPS_DEBUG=1)")
    parser.add_argument(
        "--scratch", action="store_true", help="make diff's throwaway output: only compiled/ and argocd/, not fsynced"
    )
    parser.add_argument("--parameters-out", type=Path, help="also write every target's rendered parameters here (JSON)")
    args = parser.parse_args(argv)
    if args.debug:
        os.environ["MNOPS_DEBUG"] = "1"
    if args.list_generated:
        print("\n".join(a.path for a in GENERATED))
        return 0
    output = args.output.resolve()
    os.chdir(ROOT)  # Kapitan resolves component paths (components/...) from the working directory
    try:
        if args.recover:
            say(recover(output.parent) or "nothing to recover")
            return 0
        parameters_out = args.parameters_out.resolve() if args.parameters_out else None
        return compile_all(
            args.inventory.resolve(), output, args.parallelism, scratch=args.scratch, parameters_out=parameters_out
        )
    except Exception as error:  # every failure is one line unless debugging
        if os.environ.get("MNOPS_DEBUG") == "1":
            raise
        replaced = "" if isinstance(error, InterruptedCommit) else "; nothing was replaced"
        print(f"compile failed: {describe(error)}{replaced}", file=sys.stderr)
        return 1


def describe(error: Exception) -> str:
    if isinstance(error, OutputError | InventoryError | InterruptedCommit | KapitanFailed):
        return str(error)
    if isinstance(error, OSError):
        return str(output_error_from(error, ROOT))
    return f"{type(error).__name__}: {error} (MNOPS_DEBUG=1 shows the traceback)"


# A compile builds millions of small objects that live to its end (parameters, parsed YAML, what it
# writes) and frees few: with Python's default thresholds (700, 10, 10) the cyclic collector walked the
# growing heap again and again, which made large compiles super-linear (300 services x 5 clusters:
# 42 s -> 28 s wall, byte-identical output, same peak memory). Collections still run, less often.
# Set for the command only (Kapitan's forked workers inherit it), not for a process importing main().
GC_THRESHOLDS = (100_000, 50, 100)


if __name__ == "__main__":
    gc.set_threshold(*GC_THRESHOLDS)
    sys.exit(main())
