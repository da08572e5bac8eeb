"""Inventory: validate a target's rendered parameters, then give components a typed view.

    target = load_target("prod", parameters)   # raises InventoryError listing every problem

Validation runs in two passes: the JSON Schema in schema/ (unknown keys, types, ranges,
formats) and, only if that passed, the cross-field rules in rules.py. Other concerns add
rules by appending to EXTRA_RULES from their own module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mnops.errors import InventoryError, Problem
from mnops.inventory.model import Target, build_target
from mnops.inventory.rules import RULES, Rule, check_rules
from mnops.inventory.schema_check import check_schema


def problems_in(target: str, parameters: Mapping[str, Any], rules: tuple[Rule, ...] = RULES) -> list[Problem]:
    """Every problem with one target, schema first (rules assume a schema-valid shape)."""
    problems = check_schema(target, parameters)
    return problems or check_rules(target, parameters, rules)


def load_target(target: str, parameters: Mapping[str, Any]) -> Target:
    problems = problems_in(target, parameters)
    if problems:
        raise InventoryError(problems)
    return build_target(parameters)


__all__ = ["InventoryError", "Problem", "Target", "load_target", "problems_in"]
