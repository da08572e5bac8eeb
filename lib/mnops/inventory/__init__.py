"""Inventory: validate a target's rendered parameters, then give components a typed view.

    target = load_target("prod", parameters)   # raises InventoryError listing every problem

Validation runs in two passes: the JSON Schema in schema/ (unknown keys, types, ranges,
formats) and, only if that passed, the cross-field rules. Each concern keeps its rules in its
own module exposing a RULES tuple and lists that module in RULE_MODULES below.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import Any

from mnops.errors import InventoryError, Problem
from mnops.inventory.model import Target, build_target
from mnops.inventory.rules import Rule, check_rules
from mnops.inventory.schema_check import check_schema

# Modules whose RULES tuple runs on every target, in this order.
RULE_MODULES: tuple[str, ...] = (
    "mnops.inventory.rules",
    "mnops.gitops.rules",
    "mnops.observability.inventory_rules",
    "mnops.observability.signal_rules",
    "mnops.data.rules",
    "mnops.delivery.rules",
    "mnops.security.rules",
    "mnops.infra.rules",
    "mnops.compose.rules",
)


@cache
def all_rules() -> tuple[Rule, ...]:
    return tuple(rule for module in RULE_MODULES for rule in importlib.import_module(module).RULES)


def problems_in(target: str, parameters: Mapping[str, Any], rules: tuple[Rule, ...] | None = None) -> list[Problem]:
    """Every problem with one target, schema first (rules assume a schema-valid shape)."""
    problems = check_schema(target, parameters)
    return problems or check_rules(target, parameters, all_rules() if rules is None else rules)


def load_target(target: str, parameters: Mapping[str, Any]) -> Target:
    problems = problems_in(target, parameters)
    if problems:
        raise InventoryError(problems)
    return build_target(parameters)


__all__ = ["InventoryError", "Problem", "Target", "load_target", "problems_in"]
