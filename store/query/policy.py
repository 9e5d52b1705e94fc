"""Promotion policies: a search filter evaluated against one run, clause by clause.

`check(expression, run)` says whether the run passes and, for every clause, the value the
run actually has, so that a refusal can name the failing clause and the transition log can
record why a version was let through. The semantics are the search engine's (the SQL
compiler and this evaluator are checked against each other in the tests): a missing key
never matches, a NaN metric matches only `!=`, LIKE is case-sensitive, ILIKE folds ASCII.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from mltop.store.entities import Run
from mltop.store.errors import FilterError
from mltop.store.query.compiler import ATTRIBUTES, ENTITIES, METRICS, PARAMS, Compiler, Sql
from mltop.store.query.parser import (
    BoolOp,
    Comparison,
    Identifier,
    Node,
    NullCheck,
    parse_filter,
)


@dataclass(frozen=True)
class ClauseResult:
    clause: str  # as written, normalised: `metrics.val_acc >= 0.92`
    actual: Any  # the run's value (None when the run has no such key)
    passed: bool

    def describe(self) -> str:
        shown = "missing" if self.actual is None else _show(self.actual)
        return f"{self.clause} (actual: {shown}) {'pass' if self.passed else 'FAIL'}"


@dataclass(frozen=True)
class PolicyResult:
    expression: str
    passed: bool
    clauses: tuple[ClauseResult, ...]

    def failing(self) -> list[ClauseResult]:
        return [c for c in self.clauses if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "passed": self.passed,
            "clauses": [
                {"clause": c.clause, "actual": _jsonable(c.actual), "passed": c.passed}
                for c in self.clauses
            ],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:g}"
    return repr(value)


def validate(expression: str) -> Node:
    """Parse and type-check a policy as a run filter; raises FilterError."""
    tree = parse_filter(expression)
    if tree is None:
        raise FilterError("a policy cannot be empty (clear it instead)", expression, 0)
    Compiler(expression, experiments=False).compile(tree, Sql())
    return tree


def check(expression: str, run: Run) -> PolicyResult:
    tree = validate(expression)
    clauses: list[ClauseResult] = []
    passed = _evaluate(tree, run, clauses)
    return PolicyResult(expression, passed, tuple(clauses))


def matches(tree: Node, run: Run) -> bool:
    """Whether `run` matches a (validated) filter AST."""
    return _evaluate(tree, run, [])


def _evaluate(node: Node, run: Run, out: list[ClauseResult]) -> bool:
    if isinstance(node, BoolOp):
        results = [_evaluate(item, run, out) for item in node.items]  # every clause recorded
        return all(results) if node.op == "AND" else any(results)
    actual = _value(node.ident, run)
    if isinstance(node, Comparison):
        passed = compare(actual, node.op, node.value)
        text = f"{node.ident.text} {node.op} {_literal(node.value)}"
    elif isinstance(node, NullCheck):
        passed = (actual is not None) == node.negated
        text = f"{node.ident.text} IS {'NOT ' if node.negated else ''}NULL"
    else:
        passed = actual is not None and ((actual in node.values) != node.negated)
        values = ", ".join(_literal(v) for v in node.values)
        text = f"{node.ident.text} {'NOT IN' if node.negated else 'IN'} ({values})"
    out.append(ClauseResult(text, actual, passed))
    return passed


def _literal(value: str | float) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"{value:g}"


_ATTRIBUTE_FIELDS = {
    "run_id": "run_id",
    "run_name": "run_name",
    "status": "status",
    "user_id": "user_id",
    "artifact_uri": "artifact_uri",
    "start_time": "start_time",
    "created": "start_time",
    "end_time": "end_time",
}


def _value(ident: Identifier, run: Run) -> Any:
    entity = ENTITIES.get(ident.entity or "", ATTRIBUTES)
    if entity == METRICS:
        summary = run.data.summaries.get(ident.key)
        return None if summary is None else summary.value
    if entity == PARAMS:
        return run.data.params.get(ident.key)
    if entity == ATTRIBUTES:
        value = getattr(run.info, _ATTRIBUTE_FIELDS[ident.key])
        return None if value is None else value
    return run.data.tags.get(ident.key)


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), flags | re.DOTALL)


def compare(actual: Any, op: str, expected: str | float) -> bool:
    """`actual OP expected` as a search means it (None: the key is missing, never matches)."""
    if actual is None:
        return False
    if isinstance(expected, float):
        value = float(actual)
        if math.isnan(value):
            return op == "!="
        return {
            "=": value == expected,
            "!=": value != expected,
            "<": value < expected,
            "<=": value <= expected,
            ">": value > expected,
            ">=": value >= expected,
        }[op]
    text = str(actual)
    if op == "LIKE":
        return _like(expected).fullmatch(text) is not None
    if op == "ILIKE":
        return _like(expected, re.IGNORECASE | re.ASCII).fullmatch(text) is not None
    return text == expected if op == "=" else text != expected
