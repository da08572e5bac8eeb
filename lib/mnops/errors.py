"""Errors that reach the person running `make compile`.

Each problem names the target, the key path in the inventory, the value found and what
was expected, so that someone who has never seen the code can fix the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one target's inventory."""

    target: str
    path: str
    found: str
    expected: str
    hint: str = ""

    def render(self) -> str:
        line = f"  {self.path}: {self.expected}; found {self.found}"
        if self.hint:
            line += f" ({self.hint})"
        return line


class InventoryError(Exception):
    """Raised with every problem found, grouped by target, never only the first one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.target, p.path, p.expected))
        super().__init__(self.render())

    def render(self) -> str:
        lines: list[str] = []
        current = None
        for problem in self.problems:
            if problem.target != current:
                current = problem.target
                lines.append(f"inventory error in target '{current}':")
            lines.append(problem.render())
        count = len(self.problems)
        lines.append(f"{count} problem{'s' if count != 1 else ''}; nothing was written to compiled/.")
        return "\n".join(lines)


class BuildError(ValueError):
    """A builder was called with arguments that cannot make a valid object."""
