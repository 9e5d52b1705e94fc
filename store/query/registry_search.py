"""Registry searches as MLflow's `search_registered_models` and `search_model_versions`
take them: a filter over a model's name and tags, or a version's name, version_number,
run_id, source_path and tags; an order_by over names and times. Parsed with the filter
language's parser (`parser.py`), checked and compiled here to parameterized SQL over the
registry's tables, aliased `m` (registered_models) and `v` (model_versions).

As in MLflow: strings compare with = != LIKE ILIKE (LIKE is case-sensitive, ILIKE folds
ASCII case), `name` (and a version's `run_id`) also with IN and NOT IN; version_number
with = != < <= > >=; a tag condition matches only what carries the tag. mltop also takes
OR and parentheses, as its run search does. No text a user typed is ever SQL: keys,
values and patterns are bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mltop.store.errors import FilterError
from mltop.store.query.parser import (
    BoolOp,
    Comparison,
    Identifier,
    InList,
    Node,
    NullCheck,
    parse_filter,
    parse_order_by,
)

STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")
_ATTRIBUTE_ENTITIES = (None, "attribute", "attributes")
_TAG_ENTITIES = ("tag", "tags")

MODEL_SEARCH_DEFAULT_MAX_RESULTS = 100
MODEL_SEARCH_MAX_RESULTS = 1000
VERSION_SEARCH_DEFAULT_MAX_RESULTS = 10_000
VERSION_SEARCH_MAX_RESULTS = 200_000
VERSION_DEFAULT_ORDER = ("last_updated_timestamp DESC", "name ASC", "version_number DESC")


@dataclass(frozen=True)
class _Kind:
    what: str  # "registered models" or "model versions"
    strings: dict[str, str]  # attribute -> SQL column
    numbers: dict[str, str]
    listable: frozenset[str]  # attributes taking IN and NOT IN
    tag_exists: str  # SQL: the row carries a tag with key ? whose value ...
    order: dict[str, str]  # order_by key -> SQL column
    tie_breaks: tuple[tuple[str, bool], ...]  # (order_by key, descending) always appended


MODELS = _Kind(
    "registered models",
    {"name": "m.name"},
    {},
    frozenset({"name"}),
    "EXISTS (SELECT 1 FROM registered_model_tags AS t WHERE t.model = m.id AND t.key = ? AND ",
    {
        "name": "m.name",
        "timestamp": "m.last_update_time",
        "last_updated_timestamp": "m.last_update_time",
        "creation_timestamp": "m.creation_time",
    },
    (("name", False),),
)

VERSIONS = _Kind(
    "model versions",
    {"name": "m.name", "run_id": "v.run_id", "source_path": "v.source"},
    {"version_number": "v.version"},
    frozenset({"name", "run_id"}),
    "EXISTS (SELECT 1 FROM model_version_tags AS t WHERE t.model = v.model "
    "AND t.version = v.version AND t.key = ? AND ",
    {
        "name": "m.name",
        "version_number": "v.version",
        "creation_timestamp": "v.creation_time",
        "last_updated_timestamp": "v.last_update_time",
    },
    (("name", False), ("version_number", True)),
)


@dataclass(frozen=True)
class RegistryQuery:
    """A compiled registry search: its WHERE text and parameters, and its ORDER BY text."""

    where: str
    params: tuple[Any, ...]
    order: str


def like_to_glob(pattern: str) -> str:
    """A LIKE pattern (% and _) as a case-sensitive GLOB pattern, other characters literal."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(c, c) for c in pattern)


def _string_test(column: str, op: str) -> str:
    if op == "LIKE":
        return f"{column} GLOB ?"
    if op == "ILIKE":
        return f"{column} LIKE ?"
    return f"{column} {op} ?"


def _string_param(op: str, value: str) -> str:
    return like_to_glob(value) if op == "LIKE" else value


class _Compiler:
    def __init__(self, kind: _Kind, text: str) -> None:
        self.kind, self.text = kind, text
        self.params: list[Any] = []

    def fail(self, message: str, pos: int) -> FilterError:
        return FilterError(message, self.text, pos)

    def attribute(self, ident: Identifier) -> str:
        """The attribute's name; FilterError for a tag, an unknown entity or attribute."""
        if ident.entity is not None and ident.entity.lower() in _TAG_ENTITIES:
            return ""
        if ident.entity is not None and ident.entity.lower() not in ("attribute", "attributes"):
            raise self.fail(
                f"{ident.entity!r} is not something {self.kind.what} have: use an attribute "
                f"({self._attributes()}) or tags.<key>",
                ident.pos,
            )
        if ident.key not in self.kind.strings and ident.key not in self.kind.numbers:
            raise self.fail(
                f"{ident.key!r} is not an attribute {self.kind.what} are searched by: "
                f"use {self._attributes()} or tags.<key>",
                ident.pos,
            )
        return ident.key

    def _attributes(self) -> str:
        return ", ".join(sorted([*self.kind.strings, *self.kind.numbers]))

    def compile(self, node: Node) -> str:
        if isinstance(node, BoolOp):
            return "(" + f" {node.op} ".join(self.compile(item) for item in node.items) + ")"
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, InList):
            return self.in_list(node)
        assert isinstance(node, NullCheck)
        raise self.fail(
            f"IS NULL is not a test on {self.kind.what}: compare with = != LIKE ILIKE",
            node.op_pos,
        )

    def comparison(self, node: Comparison) -> str:
        ident, op, value = node.ident, node.op, node.value
        key = self.attribute(ident)
        if key in self.kind.numbers:
            if op not in NUMBER_OPS:
                raise self.fail(
                    f"{ident.text} is a number: compare it with = != < <= > >=, not {op}",
                    node.op_pos,
                )
            self.params.append(self._integer(ident, value, node.value_pos))
            return f"{self.kind.numbers[key]} {op} ?"
        if op not in STRING_OPS:
            raise self.fail(
                f"{ident.text} is a string: compare it with = != LIKE ILIKE, not {op}",
                node.op_pos,
            )
        if not isinstance(value, str):
            raise self.fail(
                f"{ident.text} is a string: quote the value (e.g. '{_number_text(value)}')",
                node.value_pos,
            )
        if not key:  # a tag
            self.params += [ident.key, _string_param(op, value)]
            return self.kind.tag_exists + _string_test("t.value", op) + ")"
        self.params.append(_string_param(op, value))
        return _string_test(self.kind.strings[key], op)

    def _integer(self, ident: Identifier, value: str | float, pos: int) -> int:
        try:
            number = float(value)
            if not number.is_integer() or (isinstance(value, str) and "." in value):
                raise ValueError
            return int(number)
        except (ValueError, OverflowError):
            raise self.fail(f"{ident.text} is a whole number, not {value!r}", pos) from None

    def in_list(self, node: InList) -> str:
        ident = node.ident
        key = self.attribute(ident)
        if key not in self.kind.listable:
            listable = " and ".join(sorted(self.kind.listable))
            raise self.fail(
                f"IN and NOT IN take only {listable} in a search of {self.kind.what}",
                node.op_pos,
            )
        if not all(isinstance(v, str) for v in node.values):
            raise self.fail(f"{ident.text} is a string: quote every value", node.value_pos)
        self.params.extend(node.values)
        marks = ", ".join("?" for _ in node.values)
        return f"{self.kind.strings[key]} {'NOT IN' if node.negated else 'IN'} ({marks})"


def _number_text(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _order(kind: _Kind, order_by: Sequence[str] | None) -> str:
    items = [order_by] if isinstance(order_by, str) else list(order_by or [])
    columns: list[str] = []
    parts: list[str] = []
    for key in parse_order_by(items):
        ident = key.ident
        attribute = ident.entity is None or ident.entity.lower() in ("attribute", "attributes")
        column = kind.order.get(ident.key) if attribute and key.extreme is None else None
        if column is None:
            raise FilterError(
                f"{kind.what} are ordered by {', '.join(sorted(kind.order))}, not {ident.text!r}",
                items[key.item],
                ident.pos,
                item=key.item,
            )
        if column in columns:
            raise FilterError(
                f"order_by orders by {ident.text!r} twice",
                items[key.item],
                ident.pos,
                item=key.item,
            )
        columns.append(column)
        parts.append(f"{column} {'DESC' if key.descending else 'ASC'}")
    for name, descending in kind.tie_breaks:
        if kind.order[name] not in columns:
            parts.append(f"{kind.order[name]} {'DESC' if descending else 'ASC'}")
    return ", ".join(parts)


def _compile(
    kind: _Kind, filter_string: str | None, order_by: Sequence[str] | None
) -> RegistryQuery:
    node = parse_filter(filter_string)
    compiler = _Compiler(kind, filter_string or "")
    where = "1" if node is None else compiler.compile(node)
    return RegistryQuery(where, tuple(compiler.params), _order(kind, order_by))


def compile_model_search(
    filter_string: str | None, order_by: Sequence[str] | None = None
) -> RegistryQuery:
    """`search_registered_models`' filter and order_by, compiled; FilterError if bad."""
    return _compile(MODELS, filter_string, order_by)


def compile_version_search(
    filter_string: str | None, order_by: Sequence[str] | None = None
) -> RegistryQuery:
    """`search_model_versions`' filter and order_by (by default MLflow's: the last updated
    first), compiled; FilterError if bad."""
    return _compile(VERSIONS, filter_string, order_by or VERSION_DEFAULT_ORDER)
