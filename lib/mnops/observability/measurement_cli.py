"""The command line shared by the measurements docs/observability.md shows (`make alert-latency`,
`make burn-detection`): one inventory target measured against its compiled/ folder, the generated
section printed and written between its markers.

    def measure_target(name: str, target: Target, compiled: Path) -> Measured: ...
    sys.exit(run(None, doc=__doc__, name="alert-latency", markers=(BEGIN, END), measure=measure_target, root=ROOT))

Options: --target (default prod), --no-write (print only). Exit 2 for an unknown target or one
without compiled rules, 1 when the measurement reports failures (each printed on its own line),
else 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnops.doc_sections import replace_section
from mnops.inventory import Target, load_target
from mnops.kapitan_inventory import render_inventory
from mnops.observability.preview import rules_target_problem

DOC = Path("docs") / "observability.md"


@dataclass(frozen=True)
class Measured:
    section: str  # the generated section, its BEGIN and END marker lines included
    failures: tuple[str, ...] = ()  # what missed its target, one line each


Measure = Callable[[str, Target, Path], Measured]  # (target name, target, compiled/<target>)


def run(argv: Sequence[str] | None, *, doc: str, name: str, markers: tuple[str, str], measure: Measure, root: Path) -> int:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--target", default="prod", help="target name (folder under compiled/)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    parameters = render_inventory(root / "inventory")
    problem = rules_target_problem(root, args.target, sorted(parameters))
    if problem:
        print(problem, file=sys.stderr)
        return 2
    measured = measure(args.target, load_target(args.target, parameters[args.target]), root / "compiled" / args.target)
    print(measured.section)
    if not args.no_write:
        path = root / DOC
        path.write_text(replace_section(path.read_text(), measured.section, *markers))
        print(f"wrote the {name} section of {DOC}")
    for failure in measured.failures:
        print(failure, file=sys.stderr)
    return 1 if measured.failures else 0
