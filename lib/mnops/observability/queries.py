"""Checks on the queries we generate: metric names in PromQL, the structure of LogQL.

PromQL is parsed for real with `promql_parser` (bindings to the Rust promql-parser crate, which
follows Prometheus' grammar); the tests additionally run `promtool check rules` on every query.
No LogQL parser is packaged for Python or Debian, so `check_logql` is a small structural parser
for the subset we generate: a stream selector with known labels, pipeline stages, range and
vector aggregations, and an optional comparison.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import promql_parser


def promql_metric_names(expr: str) -> set[str]:
    """Every metric name the expression selects (raises ValueError if it does not parse)."""
    try:
        tree = promql_parser.parse(expr)
    except Exception as error:  # the binding raises plain exceptions with the parser's message
        raise ValueError(f"not valid PromQL: {error}") from error
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            else:  # {__name__="..."} selects by matcher; we never generate it, so refuse it
                raise ValueError(f"selector without a metric name in {expr!r}")

    promql_parser.walk(tree, visit)
    return names


def unknown_metrics(expressions: Iterable[str], allowed: set[str]) -> dict[str, set[str]]:
    """expression -> names it uses that are not in `allowed` (only expressions with unknown names)."""
    result = {}
    for expr in expressions:
        unknown = promql_metric_names(expr) - allowed
        if unknown:
            result[expr] = unknown
    return result


# --- LogQL -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
      | (?P<range>\[[0-9]+[smhdw]\])
      | (?P<op>\|=|\|~|!=|!~|=~|==|>=|<=|[|{}(),=<>])
      | (?P<number>[0-9]+(?:\.[0-9]+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
RANGE_AGGREGATIONS = {"rate", "count_over_time", "bytes_over_time", "bytes_rate", "absent_over_time"}
VECTOR_AGGREGATIONS = {"sum", "avg", "min", "max", "count", "topk", "bottomk"}
PARSERS = {"json", "logfmt"}
LINE_FILTERS = {"|=", "!=", "|~", "!~"}
MATCH_OPS = {"=", "!=", "=~", "!~"}
COMPARISONS = {">", "<", ">=", "<=", "==", "!="}


@dataclass(frozen=True)
class LogQuery:
    stream_labels: frozenset[str]
    is_metric: bool


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                if text[position:].strip():
                    raise ValueError(f"unexpected character {text[position]!r} at {position} in {text!r}")
                break
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0
        self.labels: set[str] = set()

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        got_kind, got_value = self.peek()
        if (kind and got_kind != kind) or (value and got_value != value):
            raise ValueError(f"expected {value or kind} but found {got_value or 'the end'!r} in {self.text!r}")
        self.index += 1
        return got_value

    def selector(self) -> None:
        self.take("op", "{")
        while True:
            label = self.take("ident")
            op = self.take("op")
            if op not in MATCH_OPS:
                raise ValueError(f"matcher operator {op!r} in {self.text!r}")
            self.take("string")
            self.labels.add(label)
            if self.peek() == ("op", ","):
                self.take()
                continue
            self.take("op", "}")
            return

    def pipeline(self) -> None:
        while True:
            kind, value = self.peek()
            if kind == "op" and value in LINE_FILTERS:
                self.take()
                self.take("string")
            elif (kind, value) == ("op", "|"):
                self.take()
                name = self.take("ident")
                if name in PARSERS or name == "line_format":
                    if name == "line_format":
                        self.take("string")
                    continue
                op = self.take("op")  # a label filter: label op value
                if op not in MATCH_OPS | COMPARISONS:
                    raise ValueError(f"label filter operator {op!r} in {self.text!r}")
                if self.peek()[0] not in ("string", "number"):
                    raise ValueError(f"label filter {name} needs a value in {self.text!r}")
                self.take()
            else:
                return

    def log_query(self) -> None:
        self.selector()
        self.pipeline()

    def metric_query(self) -> None:
        name = self.take("ident")
        if name in VECTOR_AGGREGATIONS:
            if self.peek() == ("ident", "by") or self.peek() == ("ident", "without"):
                self.take()
                self.grouping()
            self.take("op", "(")
            self.expression()
            self.take("op", ")")
        elif name in RANGE_AGGREGATIONS:
            self.take("op", "(")
            self.log_query()
            self.take("range")
            self.take("op", ")")
        else:
            raise ValueError(f"unknown LogQL function {name!r} in {self.text!r}")

    def grouping(self) -> None:
        self.take("op", "(")
        while self.peek()[0] == "ident":
            self.take()
            if self.peek() == ("op", ","):
                self.take()
        self.take("op", ")")

    def expression(self) -> bool:
        """True if it is a metric query."""
        if self.peek() == ("op", "{"):
            self.log_query()
            return False
        self.metric_query()
        return True


def check_logql(expr: str, allowed_labels: Iterable[str]) -> LogQuery:
    """Parse the LogQL subset we generate; raise ValueError naming what is wrong."""
    parser = _Parser(expr)
    is_metric = parser.expression()
    if is_metric and parser.peek()[0] == "op" and parser.peek()[1] in COMPARISONS:
        parser.take()
        parser.take("number")
    if parser.peek()[0] != "end":
        raise ValueError(f"unexpected {parser.peek()[1]!r} after the query in {expr!r}")
    unknown = parser.labels - set(allowed_labels)
    if unknown:
        raise ValueError(f"stream selector uses labels the collectors do not set: {sorted(unknown)} in {expr!r}")
    return LogQuery(frozenset(parser.labels), is_metric)
