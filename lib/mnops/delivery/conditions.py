"""Argo Rollouts' reading of a Prometheus measurement, for the conditions we emit.

Argo Rollouts (utils/evaluate, analysis/analysis.go) turns an instant query's vector into
`result`, a list of floats (empty when the query matched nothing), evaluates the metric's
`successCondition` and `failureCondition` with expr-lang, and decides the measurement:

    an expression error (e.g. `result[0]` on an empty list)   -> Error
    failure condition true                                      -> Failed
    success condition true                                      -> Successful
    neither                                                     -> Inconclusive
    only a failure condition given: "not failed" is Successful  (why we always give both)

and then the metric: more Failed than `failureLimit`, more Inconclusive than `inconclusiveLimit`
(default 0) or more consecutive Errors than `consecutiveErrorLimit` (default 4) ends it Failed,
Inconclusive or Error; a background analysis stopped at the end of the rollout is Successful.

This module implements the part of expr-lang those conditions use: numbers, `result`,
`result[i]` (negative i counts from the end), `len(...)`, `isNaN(...)`, comparisons, `!`/`not`,
`&&`/`and`, `||`/`or` (short-circuit) and parentheses; anything else is refused, so a condition
this module cannot read fails the tests rather than being guessed at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

Value = float | int | bool | list[float]


class ConditionError(ValueError):
    """The expression cannot be compiled or run (Argo Rollouts: the measurement is an Error)."""


class Phase(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||==|!=|<=|>=|[<>!()\[\],-]))")
WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
FUNCTIONS = ("len", "isNaN")


def tokens(expression: str) -> list[str]:
    found: list[str] = []
    position = 0
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        if match is None:
            raise ConditionError(f"unexpected text at {position}: {expression[position:]!r}")
        text = match.group(0).strip()
        found.append(WORD_OPERATORS.get(text, text))
        position = match.end()
    return found


@dataclass
class Parser:
    """Recursive descent, expr-lang's precedence: || < && < comparison < unary < postfix."""

    items: list[str]
    result: list[float]
    position: int = 0

    def peek(self) -> str | None:
        return self.items[self.position] if self.position < len(self.items) else None

    def take(self, expected: str | None = None) -> str:
        word = self.peek()
        if word is None or (expected is not None and word != expected):
            raise ConditionError(f"expected {expected or 'more'}, found {word!r}")
        self.position += 1
        return word

    def parse(self) -> Value:
        value = self.logical_or(evaluate=True)
        if self.peek() is not None:
            raise ConditionError(f"unexpected {self.peek()!r}")
        return value

    def logical_or(self, evaluate: bool) -> Value:
        value = self.logical_and(evaluate)
        while self.peek() == "||":
            self.take()
            left = boolean(value) if evaluate else False
            right = self.logical_and(evaluate and not left)  # short-circuit: the right side is not run
            value = left or (boolean(right) if evaluate and not left else False)
        return value

    def logical_and(self, evaluate: bool) -> Value:
        value = self.comparison(evaluate)
        while self.peek() == "&&":
            self.take()
            left = boolean(value) if evaluate else False
            right = self.comparison(evaluate and left)
            value = left and (boolean(right) if evaluate and left else False)
        return value

    def comparison(self, evaluate: bool) -> Value:
        left = self.unary(evaluate)
        if self.peek() in COMPARISONS:
            operator = self.take()
            right = self.unary(evaluate)
            return compare(operator, left, right) if evaluate else False
        return left

    def unary(self, evaluate: bool) -> Value:
        if self.peek() == "!":
            self.take()
            value = self.unary(evaluate)
            return (not boolean(value)) if evaluate else False
        if self.peek() == "-":
            self.take()
            value = self.unary(evaluate)
            if not evaluate:
                return 0
            return -value if isinstance(value, int) and not isinstance(value, bool) else -numeric(value)
        return self.postfix(evaluate)

    def postfix(self, evaluate: bool) -> Value:
        value = self.primary(evaluate)
        while self.peek() == "[":
            self.take()
            index = self.logical_or(evaluate)
            self.take("]")
            value = element(value, index) if evaluate else 0.0
        return value

    def primary(self, evaluate: bool) -> Value:
        word = self.take()
        if word == "(":
            value = self.logical_or(evaluate)
            self.take(")")
            return value
        if word in FUNCTIONS:
            return self.call(word, evaluate)
        return self.literal_or_name(word)

    def call(self, function: str, evaluate: bool) -> Value:
        self.take("(")
        argument = self.logical_or(evaluate)
        self.take(")")
        if not evaluate:
            return 0
        return length(argument) if function == "len" else math.isnan(numeric(argument))

    def literal_or_name(self, word: str) -> Value:
        names: dict[str, Value] = {"true": True, "false": False, "result": list(self.result)}
        if word in names:
            return names[word]
        if re.fullmatch(r"\d+", word):
            return int(word)
        if re.fullmatch(r"\d*\.\d*", word):
            return float(word)
        raise ConditionError(f"unknown name {word!r}")


def boolean(value: Value) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(f"expected bool, got {value!r}")
    return value


def numeric(value: Value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConditionError(f"expected a number, got {value!r}")
    return float(value)


def length(value: Value) -> int:
    if not isinstance(value, list):
        raise ConditionError(f"len() of {value!r}")
    return len(value)


def element(value: Value, index: Value) -> float:
    if not isinstance(value, list):
        raise ConditionError(f"cannot index {value!r}")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ConditionError(f"index must be an integer, got {index!r}")
    position = index + len(value) if index < 0 else index
    if not 0 <= position < len(value):
        raise ConditionError(f"index out of range: {index} (array length is {len(value)})")
    return value[position]


def compare(operator: str, left: Value, right: Value) -> bool:
    if operator in ("==", "!=") and isinstance(left, bool) and isinstance(right, bool):
        return (left == right) == (operator == "==")
    a, b = numeric(left), numeric(right)  # IEEE 754 as in Go: every comparison with NaN but != is false
    outcomes = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}
    return outcomes[operator]


def condition_holds(condition: str, result: Sequence[float]) -> bool:
    """Evaluate one condition over `result`; raises ConditionError where Argo Rollouts errs."""
    value = Parser(tokens(condition), list(result)).parse()
    if not isinstance(value, bool):
        raise ConditionError(f"expected bool, but got {type(value).__name__}")
    return value


def measurement_phase(result: Sequence[float], success_condition: str, failure_condition: str) -> Phase:
    """Argo Rollouts' EvaluateResult for a Prometheus vector."""
    try:
        success = condition_holds(success_condition, result) if success_condition else False
        failure = condition_holds(failure_condition, result) if failure_condition else False
    except ConditionError:
        return Phase.ERROR
    if not success_condition and not failure_condition:
        return Phase.SUCCESSFUL
    if success_condition and not failure_condition:
        failure = not success
    if failure_condition and not success_condition:
        success = not failure
    if failure:
        return Phase.FAILED
    return Phase.SUCCESSFUL if success else Phase.INCONCLUSIVE


def metric_phase(
    measurements: Sequence[Phase],
    *,
    failure_limit: int = 0,
    inconclusive_limit: int = 0,
    consecutive_error_limit: int = 4,
    count: int | None = None,
) -> Phase | None:
    """The metric's phase after these measurements (analysis.go assessMetricStatus, no
    consecutiveSuccessLimit); None while it keeps running. Later checks win, as there."""
    failed = sum(m is Phase.FAILED for m in measurements)
    inconclusive = sum(m is Phase.INCONCLUSIVE for m in measurements)
    consecutive_errors = 0
    for m in measurements:
        consecutive_errors = consecutive_errors + 1 if m is Phase.ERROR else 0
    phase: Phase | None = None
    if failure_limit >= 0 and failed > failure_limit:
        phase = Phase.FAILED
    if inconclusive > inconclusive_limit:
        phase = Phase.INCONCLUSIVE
    if consecutive_errors > consecutive_error_limit:
        phase = Phase.ERROR
    if phase is None and count is not None and len(measurements) >= count:
        phase = Phase.SUCCESSFUL
    return phase
