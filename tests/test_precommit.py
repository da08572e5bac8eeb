"""The pre-commit hooks run the same linters as `make lint`, from the project's .venv (offline)."""

from __future__ import annotations

import re

import yaml
from conftest import ROOT


def make_lint_commands() -> set[str]:
    """`ruff check`, `mypy`, ... : each tool of the lint steps' recipes (LINT_STEPS) with its subcommand, no paths."""
    makefile = ROOT.joinpath("Makefile").read_text()
    steps = re.search(r"^LINT_STEPS := (.+)$", makefile, re.MULTILINE)
    assert steps, "the Makefile no longer names its lint steps in LINT_STEPS"
    recipe = "\n".join(makefile.split(f"\n{step}:", 1)[1].split("\n\n", 1)[0] for step in steps.group(1).split())
    found = re.findall(r"\$\(VENV\)/bin/(\S+)((?: [a-z][\w-]*| --[\w-]+| -s)*)", recipe)
    return {
        f"{tool}{' ' + args.split()[0] if args.split() and args.split()[0] in ('check', 'format') else ''}"
        for tool, args in found
    }


def hook_commands() -> set[str]:
    config = yaml.safe_load(ROOT.joinpath(".pre-commit-config.yaml").read_text())
    commands = set()
    for repo in config["repos"]:
        assert repo["repo"] == "local", "hooks must run offline from .venv, not be downloaded"
        for hook in repo["hooks"]:
            assert hook["language"] == "system" and hook["entry"].startswith(".venv/bin/"), hook["id"]
            words = hook["entry"].removeprefix(".venv/bin/").split()
            commands.add(words[0] + (f" {words[1]}" if len(words) > 1 and words[1] in ("check", "format") else ""))
    return commands


def test_every_make_lint_linter_has_a_hook_and_no_hook_is_extra() -> None:
    expected = make_lint_commands()
    assert {"ruff check", "ruff format", "mypy", "yamllint"} <= expected
    assert hook_commands() == expected
