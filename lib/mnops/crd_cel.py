"""Evaluate a CRD schema's `x-kubernetes-validations` (CEL) rules on a document, as the API server does.

JSON Schema ignores these rules, yet CRDs state real requirements in them (a Crossplane managed
resource says which parameters it needs to be created). The API server evaluates each rule with
`self` bound to the value at the rule's place in the schema, after applying the schema's defaults,
and rejects the object when a rule is false. This module does the same with cel-python, and is
the only CEL evaluator for CRD rules here (`make validate`, the chart-installed CRDs' check):

    report = evaluate_rules(schema, document)
    for failure in report.failures:
        print(failure.where, failure.message)

Reusable for any CRD schema in kubeconform's catalog layout (openAPIV3Schema as JSON Schema).

Rules it cannot evaluate, and what happens to each (never a silent pass):
- transition rules (they read `oldSelf`): they compare an update with the stored object, which
  does not exist offline; the API server does not evaluate them on create either. They are
  returned in `report.not_evaluated`, for the caller to report (`make validate` lists them).
- a rule cel-python cannot parse or evaluate (a Kubernetes CEL library function missing from
  KUBERNETES_FUNCTIONS, a field read without has(), a result that is not a boolean): a failure
  saying "rule could not be evaluated", as the API server rejects an object when a rule errors.
  A missing library function is mended by adding it to KUBERNETES_FUNCTIONS.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy
from celpy import celparser, celtypes, evaluation

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


@dataclass(frozen=True)
class CelReport:
    failures: list[CelFailure]  # rules the document breaks, or that could not be evaluated
    not_evaluated: list[CelFailure]  # transition rules; message says why they were not evaluated


NOT_EVALUATED_TRANSITION = "transition rule, needs the stored object"


def is_transition_rule(rule: str) -> bool:
    return re.search(r"\boldSelf\b", rule) is not None


def _evaluate(rule: Mapping[str, Any], value: Any, where: str) -> CelFailure | None:
    text = str(rule["rule"])
    try:
        result = _program(text).evaluate({"self": celpy.adapter.json_to_cel(value)})
    except (celparser.CELParseError, evaluation.CELEvalError) as error:
        # The API server reports an evaluation error (a missing field read without has()) as a failure.
        return CelFailure(where, text, f"rule could not be evaluated: {error}")
    if isinstance(result, evaluation.CELEvalError):
        return CelFailure(where, text, f"rule could not be evaluated: {result}")
    if not isinstance(result, celtypes.BoolType):
        return CelFailure(where, text, f"rule could not be evaluated: it returned {type(result).__name__}, not a boolean")
    if bool(result):
        return None
    return CelFailure(where, text, str(rule.get("message") or f"failed rule: {text}"))


def _walk(schema: Schema, value: Any, where: str, report: CelReport) -> None:
    rules = schema.get("x-kubernetes-validations", [])
    view = cel_view(schema, value) if rules else None
    for rule in rules:
        if is_transition_rule(str(rule["rule"])):
            report.not_evaluated.append(CelFailure(where, str(rule["rule"]), NOT_EVALUATED_TRANSITION))
            continue
        failure = _evaluate(rule, view, where)
        if failure:
            report.failures.append(failure)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        for key in sorted(value):
            sub = properties.get(key, additional if isinstance(additional, Mapping) else None)
            if sub is not None:
                _walk(sub, value[key], f"{where}.{key}", report)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _walk(schema["items"], item, f"{where}[{index}]", report)


def evaluate_rules(schema: Schema, document: Mapping[str, Any]) -> CelReport:
    """Every CEL rule of the schema that the document (defaults applied) does not satisfy, and the
    rules that were not evaluated (see the module docstring for which and why)."""
    report = CelReport([], [])
    _walk(schema, with_defaults(schema, dict(document)), "$", report)
    return report
