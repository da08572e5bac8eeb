"""Evaluate a CRD schema's `x-kubernetes-validations` (CEL) rules on a document, as the API server does.

JSON Schema ignores these rules, yet CRDs state real requirements in them (a Crossplane managed
resource says which parameters it needs to be created). The API server evaluates each rule with
`self` bound to the value at the rule's place in the schema, after applying the schema's defaults,
and rejects the object when a rule is false. This module does the same with cel-python:

    for failure in cel_failures(schema, document):
        print(failure.where, failure.message)

Reusable for any CRD schema in kubeconform's catalog layout (openAPIV3Schema as JSON Schema).
Transition rules (those that read `oldSelf`) are skipped: there is no previous object offline.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy
from celpy import celtypes, evaluation

Schema = Mapping[str, Any]


@dataclass(frozen=True)
class CelFailure:
    where: str  # JSON path of the value the rule was evaluated on
    rule: str
    message: str


def _find(text: Any, pattern: Any) -> Any:
    match = re.search(str(pattern), str(text))
    return celtypes.StringType(match.group(0) if match else "")


def _substring(text: Any, start: Any, end: Any = None) -> Any:
    value = str(text)
    return celtypes.StringType(value[int(start) : None if end is None else int(end)])


# The Kubernetes CEL string library (k8s.io/apiserver/pkg/cel/library) that CRD rules call and
# cel-python lacks; a rule calling anything else fails loudly as "could not be evaluated".
KUBERNETES_FUNCTIONS: dict[str, Any] = {
    "find": _find,
    "findAll": lambda text, pattern: celtypes.ListType([celtypes.StringType(m) for m in re.findall(str(pattern), str(text))]),
    "substring": _substring,
    "lowerAscii": lambda text: celtypes.StringType(str(text).lower()),
    "upperAscii": lambda text: celtypes.StringType(str(text).upper()),
    "split": lambda text, separator: celtypes.ListType([celtypes.StringType(p) for p in str(text).split(str(separator))]),
    "trim": lambda text: celtypes.StringType(str(text).strip()),
    "indexOf": lambda text, part: celtypes.IntType(str(text).find(str(part))),
}


@cache
def _program(rule: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule), functions=KUBERNETES_FUNCTIONS)


def with_defaults(schema: Schema, value: Any) -> Any:
    """A copy of value with the schema's `default`s filled in for missing properties, recursively
    (structural defaulting, which the API server applies before it evaluates any rule)."""
    if isinstance(value, dict):
        result = copy.copy(value)
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key not in result and "default" in sub:
                result[key] = copy.deepcopy(sub["default"])
            if key in result:
                result[key] = with_defaults(sub, result[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            for key in result.keys() - properties.keys():
                result[key] = with_defaults(additional, result[key])
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [with_defaults(schema["items"], item) for item in value]
    return value


# Kubernetes escapes property names that CEL cannot spell (k8s.io/apiserver/pkg/cel: Escape).
_RESERVED = frozenset(
    {
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)


def escape_property(name: str) -> str:
    """A declared property's name as CEL rules spell it (`namespace` -> `__namespace__`)."""
    if name in _RESERVED:
        return f"__{name}__"
    for raw, escaped in (("__", "__underscores__"), (".", "__dot__"), ("-", "__dash__"), ("/", "__slash__")):
        name = name.replace(raw, escaped)
    return name


def cel_view(schema: Schema, value: Any) -> Any:
    """The value as CEL sees it: declared properties under their escaped names, map keys unchanged."""
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        view = {}
        for key, item in value.items():
            if key in properties:
                view[escape_property(key)] = cel_view(properties[key], item)
            else:
                view[key] = cel_view(additional, item) if isinstance(additional, Mapping) else item
        return view
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [cel_view(schema["items"], item) for item in value]
    return value


def _evaluate(rule: Mapping[str, Any], value: Any, where: str) -> CelFailure | None:
    text = str(rule["rule"])
    if "oldSelf" in text:
        return None
    try:
        result = _program(text).evaluate({"self": celpy.adapter.json_to_cel(value)})
    except evaluation.CELEvalError as error:
        # The API server reports an evaluation error (a missing field read without has()) as a failure.
        return CelFailure(where, text, f"rule could not be evaluated: {error}")
    if isinstance(result, evaluation.CELEvalError):
        return CelFailure(where, text, f"rule could not be evaluated: {result}")
    if bool(result):
        return None
    return CelFailure(where, text, str(rule.get("message") or f"failed rule: {text}"))


def _walk(schema: Schema, value: Any, where: str) -> Iterator[CelFailure]:
    rules = schema.get("x-kubernetes-validations", [])
    view = cel_view(schema, value) if rules else None
    for rule in rules:
        failure = _evaluate(rule, view, where)
        if failure:
            yield failure
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        for key in sorted(value):
            sub = properties.get(key, additional if isinstance(additional, Mapping) else None)
            if sub is not None:
                yield from _walk(sub, value[key], f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _walk(schema["items"], item, f"{where}[{index}]")


def cel_failures(schema: Schema, document: Mapping[str, Any]) -> list[CelFailure]:
    """Every CEL rule of the schema that the document (defaults applied) does not satisfy."""
    return list(_walk(schema, with_defaults(schema, dict(document)), "$"))
