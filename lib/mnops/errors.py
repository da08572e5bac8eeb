"""Errors that reach the person running `make compile`.

Each problem names the file (and line) that set the value, the key path in the inventory, the
targets it affects, the value found and what was expected, so that someone who has never seen
the code can fix the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one target's inventory."""

    target: str
    path: str
    found: str
    expected: str
    hint: str = ""
    source: str = ""  # file:line:column that set the value, when the inventory's files are known

    def render(self) -> str:
        # An empty `expected` means `found` says it all ("unknown key", "missing").
        where = f"{self.source}: " if self.source else ""
        line = f"  {where}{self.path}: " + (f"expected {self.expected}, found {self.found}" if self.expected else self.found)
        if self.hint:
            line += f" ({self.hint})"
        return line


class InventoryError(Exception):
    """Raised with every problem found, grouped by target, never only the first one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.target, p.path, p.expected))
        super().__init__(self.render())

    def render(self) -> str:
        """Problems grouped by the targets they occur in: a bad shared value is reported once."""
        targets_of: dict[Problem, list[str]] = {}
        for problem in self.problems:
            targets_of.setdefault(replace(problem, target=""), []).append(problem.target)
        groups: dict[tuple[str, ...], list[Problem]] = {}
        for problem, names in targets_of.items():
            groups.setdefault(tuple(sorted(names)), []).append(problem)
        lines: list[str] = []
        for group, problems in sorted(groups.items()):
            listed = ", ".join(f"'{t}'" for t in group)
            lines.append(f"inventory error in target{'s' if len(group) > 1 else ''} {listed}:")
            lines.extend(problem.render() for problem in problems)
        count = len(targets_of)
        lines.append(f"{count} problem{'s' if count != 1 else ''}; nothing was written to compiled/.")
        return "\n".join(lines)


class BuildError(ValueError):
    """A builder was called with arguments that cannot make a valid object."""
