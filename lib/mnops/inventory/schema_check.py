"""Validate a target's parameters against the JSON Schema in schema/ and explain failures.

jsonschema's own messages are written for programmers ("Additional properties are not
allowed"); this module turns each error into a Problem that names the key path, shows the
value, says what was expected in plain words and suggests the closest valid key.
"""

from __future__ import annotations

import datetime
import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from mnops import units, yamlio
from mnops.errors import Problem

SCHEMA_DIR = Path(__file__).parent / "schema"
ROOT_SCHEMA_ID = "mnops:parameters"


def _is_cron(value: str) -> bool:
    """check_cron raises or returns nothing; a format check must return True to pass."""
    units.check_cron(value)
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=[])  # only our own formats: no optional packages
    checker.checks("k8s-cpu", raises=ValueError)(units.cpu_millicores)
    checker.checks("k8s-memory", raises=ValueError)(units.memory_bytes)
    checker.checks("duration", raises=ValueError)(units.duration_seconds)
    checker.checks("cron", raises=ValueError)(_is_cron)
    return checker


@cache
def schema_registry() -> Registry:
    """Every schema/*.yaml file, addressable by its $id."""
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        document = yamlio.load(path.read_text())
        if "$id" not in document:
            raise RuntimeError(f"{path} has no $id; every schema file must name itself")
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


@cache
def validator(schema_id: str = ROOT_SCHEMA_ID) -> Draft202012Validator:
    """A validator built once per process (building one walks every schema file)."""
    registry = schema_registry()
    schema = registry.contents(schema_id)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry, format_checker=_format_checker())


def check_schema(target: str, parameters: Mapping[str, Any]) -> list[Problem]:
    """Every schema violation in one target's parameters, as readable problems."""
    problems: dict[Problem, None] = {}  # jsonschema reports a missing key once per missing key
    for error in validator().iter_errors(parameters):
        problems.update(dict.fromkeys(_explain(target, error)))
    return list(problems)


def key_path(parts: Iterator[Any] | list[Any], root: str = "parameters") -> str:
    """['services', 'memory-service', 'port'] -> 'parameters.services.memory-service.port'."""
    text = root
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def show(value: Any) -> str:
    """A short, YAML-like rendering of a found value."""
    if isinstance(value, Mapping):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, datetime.date):  # YAML reads an unquoted 2026-01-31 as a date, not text
        return f"the date {value.isoformat()}"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(target: str, error: jsonschema.ValidationError) -> Iterator[Problem]:
    path = key_path(list(error.absolute_path))
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    about = schema.get("description", "")
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed)):
            yield Problem(target, f"{path}.{key}", "unknown key", "", _did_you_mean(key, allowed))
    elif kind == "required" and isinstance(error.instance, Mapping):
        for name in error.validator_value:
            if name not in error.instance:
                sub = schema.get("properties", {}).get(name, {})
                about = sub.get("description", "") if isinstance(sub, Mapping) else ""
                yield Problem(target, f"{path}.{name}", "missing (this key is required)", "", about)
    elif kind == "format" and error.cause is not None:
        yield Problem(target, path, str(error.cause), "", about)
    elif kind == "type" and error.validator_value == "string" and _valid_as_text(error):
        # `account: 111111111111` or `version: 1.33`: YAML read a number where this text was meant.
        quoted = f"write it quoted: '{_as_written(error.instance)}'"
        yield Problem(target, path, show(error.instance), _expected(error), f"{about.rstrip('.')}; {quoted}" if about else quoted)
    elif kind == "uniqueItems" and isinstance(error.instance, list):
        yield Problem(target, path, _repeated(error.instance), _expected(error), about)
    else:
        yield Problem(target, path, show(error.instance), _expected(error), about)


def _repeated(items: list[Any]) -> str:
    """ "'a' twice" for a list with duplicates: which item repeats, not just "a list"."""
    seen: list[Any] = []
    repeated: list[Any] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.append(item)

    def named(item: Any) -> str:
        return f"the entry named {item['name']!r}" if isinstance(item, Mapping) and "name" in item else show(item)

    counts = [f"{named(item)} {'twice' if items.count(item) == 2 else f'{items.count(item)} times'}" for item in repeated]
    return ", ".join(counts) or show(items)


def _valid_as_text(error: jsonschema.ValidationError) -> bool:
    """Whether a number or date YAML read would be valid written in quotes (an account ID, a
    version, a release date): then quoting is the fix. `memory: 512` quoted is still not what was meant."""
    if not isinstance(error.instance, int | float | datetime.date) or isinstance(error.instance, bool):
        return False
    return bool(validator().evolve(schema=error.schema).is_valid(_as_written(error.instance)))


def _as_written(value: int | float | datetime.date) -> str:
    """The scalar as the YAML file most likely spelled it (a date as 2026-01-31, not a Python repr)."""
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


# JSON Schema's type names as someone writing YAML says them.
TYPE_WORDS = {
    "array": "a list",
    "object": "a mapping",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def _expected(error: jsonschema.ValidationError) -> str:
    value = error.validator_value
    kind = error.validator
    words: dict[str, Callable[[], str]] = {
        "type": lambda: " or ".join(TYPE_WORDS.get(str(v), str(v)) for v in (value if isinstance(value, list) else [value])),
        "enum": lambda: "one of " + ", ".join(json.dumps(v) for v in value),
        "const": lambda: f"exactly {json.dumps(value)}",
        "minimum": lambda: f"a number of at least {value}",
        "maximum": lambda: f"a number of at most {value}",
        "exclusiveMinimum": lambda: f"a number above {value}",
        "exclusiveMaximum": lambda: f"a number below {value}",
        "pattern": lambda: f"text matching {value}",
        "minItems": lambda: f"at least {value} item{'s' if value != 1 else ''}",
        "maxItems": lambda: f"at most {value} items",
        "uniqueItems": lambda: "a list without duplicates",
        "minLength": lambda: "a non-empty string" if value == 1 else f"at least {value} characters",
        "minProperties": lambda: f"at least {value} entr{'ies' if value != 1 else 'y'}",
    }
    describe = words.get(str(kind))
    return describe() if describe else error.message


def _did_you_mean(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known keys: " + ", ".join(allowed) if allowed else "no keys are allowed here"
