"""Inventory: validate a target's rendered parameters, then give components a typed view.

    target = load_target("prod", parameters)   # raises InventoryError listing every problem

Validation runs in two passes: the JSON Schema in schema/ (unknown keys, types, ranges,
formats) and, only if that passed, the cross-field rules. Each concern keeps its rules in its
own module exposing a RULES tuple and lists that module in RULE_MODULES below.
"""

from __future__ import annotations

import importlib
import pickle
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


# One compile validates the same parameters several times: its own check of every target, then each
# target's components, the management cluster for every cluster it manages, and the generated docs.
# The answer depends only on the parameters' content, so it is kept by content (Kapitan's forked
# workers inherit what the compile's own check found). Bounded: test processes validate many inventories.
_CHECKED: dict[tuple[str, bytes], tuple[Problem, ...]] = {}
_CHECKED_MAX = 256


def _content(parameters: Mapping[str, Any]) -> bytes | None:
    """The parameters' content with every type (1 and '1', a date and its text differ), or None if they
    cannot be pickled: then nothing is kept. The same content in another key order is only a miss."""
    try:
        return pickle.dumps(parameters, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # anything unpicklable is simply validated every time
        return None


def forget_checks() -> None:
    """Drop the kept answers: for a caller that changes what a rule checks (a test patching a constant)."""
    _CHECKED.clear()


def problems_in(target: str, parameters: Mapping[str, Any], rules: tuple[Rule, ...] | None = None) -> list[Problem]:
    """Every problem with one target, schema first (rules assume a schema-valid shape)."""
    content = _content(parameters) if rules is None else None
    if content is None:
        return check_schema(target, parameters) or check_rules(target, parameters, all_rules() if rules is None else rules)
    key = (target, content)
    if key not in _CHECKED:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = tuple(check_schema(target, parameters) or check_rules(target, parameters, all_rules()))
    return list(_CHECKED[key])


def load_target(target: str, parameters: Mapping[str, Any]) -> Target:
    problems = problems_in(target, parameters)
    if problems:
        raise InventoryError(problems)
    return build_target(parameters)


__all__ = ["InventoryError", "Problem", "Target", "forget_checks", "load_target", "problems_in"]
