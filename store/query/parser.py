"""MLflow's search filter and order_by language, parsed into a small AST.

    metrics.val_acc > 0.9 and params.optimizer = 'adam'
    (tags.team = 'vision' or tags.team = 'nlp') and attributes.status != 'FAILED'
    metrics.`val loss` <= 0.2 and params."model/arch" LIKE 'resnet%'

The grammar is MLflow's `search_runs` filter plus OR and parentheses (AND binds tighter):
a bare key is an attribute (`status = 'FAILED'`), a kind may be quoted in backticks
(`` `params`.lr ``), and MLflow's UI names of attributes (`` `Run name` ``, `Created`) read
as the attribute they name. This module only parses: what an identifier may be compared
with is checked when the AST is compiled (`compiler.py`), against the kind of thing
searched. Every error is a `FilterError` carrying the character position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mltop.store.errors import FilterError

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W\d]\w*")  # an entity name or keyword: a letter or _, then \w
_TAIL = re.compile(r"[\w.]*")
_BARE_KEY = re.compile(r"[\w\-./:]+")  # what may follow `entity.` without quotes


# -- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT, KEYWORD, STRING, NUMBER, OP, LPAREN, RPAREN, COMMA, END
    text: str  # as typed
    pos: int
    value: object = None  # STRING: str, NUMBER: float, KEYWORD: upper-case word,
    # IDENT: (entity or None, key)


def _describe(token: Token) -> str:
    if token.kind == "END":
        return "the end of the filter"
    return repr(token.text)


def _read_quoted(text: str, start: int, what: str) -> tuple[str, int]:
    """A string in `quote ... quote`, the quote doubled inside stands for itself."""
    quote = text[start]
    out = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise FilterError(f"unterminated {what}: add the closing {quote}", text, start)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(Token("LPAREN", c, i))
            i += 1
        elif c == ")":
            tokens.append(Token("RPAREN", c, i))
            i += 1
        elif c == ",":
            tokens.append(Token("COMMA", c, i))
            i += 1
        elif c in "!<>=":
            two = text[i : i + 2]
            if two in ("!=", "<=", ">="):
                tokens.append(Token("OP", two, i))
                i += 2
            elif two == "==":
                raise FilterError("'==' is not an operator: use '='", text, i)
            elif two == "<>":
                raise FilterError("'<>' is not an operator: use '!='", text, i)
            elif c == "!":
                raise FilterError("'!' must be followed by '=' ('!=')", text, i)
            else:
                tokens.append(Token("OP", c, i))
                i += 1
        elif c in "'\"":
            value, end = _read_quoted(text, i, "string")
            tokens.append(Token("STRING", text[i:end], i, value))
            i = end
        elif c == "`":
            i = _read_backticked(text, i, tokens)
        elif c == ";":
            raise FilterError(
                "';' is not allowed: a filter is one condition, not SQL statements", text, i
            )
        elif (match := _NUMBER.match(text, i)) is not None:
            end = match.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                word = match.group(0) + _TAIL.match(text, end).group(0)  # type: ignore[union-attr]
                raise FilterError(f"{word!r} is neither a number nor an identifier", text, i)
            tokens.append(Token("NUMBER", match.group(0), i, float(match.group(0))))
            i = end
        elif (match := _WORD.match(text, i)) is not None:
            i = _read_identifier(text, match, tokens)
        else:
            raise FilterError(f"unexpected character {c!r}", text, i)
    tokens.append(Token("END", "", n))
    return tokens


def _read_identifier(text: str, match: re.Match[str], tokens: list[Token]) -> int:
    start, word, end = match.start(), match.group(0), match.end()
    if end >= len(text) or text[end] != ".":
        upper = word.upper()
        if upper in KEYWORDS:
            tokens.append(Token("KEYWORD", word, start, upper))
        else:
            tokens.append(Token("IDENT", word, start, (None, word)))
        return end
    return _read_key(text, start, word, end + 1, tokens)


def _read_backticked(text: str, start: int, tokens: list[Token]) -> int:
    """`` `params`.lr `` (a quoted kind, as MLflow allows) or `` `Run name` `` (a bare
    attribute key in backticks)."""
    word, end = _read_quoted(text, start, "quoted name")
    if not word:
        raise FilterError("a quoted name cannot be empty", text, start)
    if end < len(text) and text[end] == ".":
        return _read_key(text, start, word, end + 1, tokens)
    tokens.append(Token("IDENT", text[start:end], start, (None, word)))
    return end


def _read_key(text: str, start: int, word: str, key_start: int, tokens: list[Token]) -> int:
    """The key after `kind.`: quoted with backticks or double quotes, or bare."""
    if key_start < len(text) and text[key_start] in '`"':
        key, stop = _read_quoted(text, key_start, "quoted key")
        if not key:
            raise FilterError("a quoted key cannot be empty", text, key_start)
    else:
        bare = _BARE_KEY.match(text, key_start)
        if bare is None:
            raise FilterError(
                f"expected a key after {word + '.'!r} (quote keys with spaces: {word}.`my key`)",
                text,
                key_start,
            )
        key, stop = bare.group(0), bare.end()
    tokens.append(Token("IDENT", text[start:stop], start, (word, key)))
    return stop


# -- the AST ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identifier:
    entity: str | None  # as typed: metrics, metric, params, tags, attributes, ...; None if bare
    key: str
    pos: int
    text: str


@dataclass(frozen=True)
class Comparison:
    ident: Identifier
    op: str  # = != < <= > >= LIKE ILIKE
    value: str | float
    op_pos: int
    value_pos: int


@dataclass(frozen=True)
class NullCheck:
    ident: Identifier
    negated: bool  # IS NOT NULL
    op_pos: int


@dataclass(frozen=True)
class InList:
    ident: Identifier
    values: tuple[str | float, ...]
    negated: bool  # NOT IN
    op_pos: int
    value_pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR
    items: tuple[Node, ...]


Node = Comparison | NullCheck | InList | BoolOp


@dataclass(frozen=True)
class OrderKey:
    ident: Identifier
    descending: bool
    item: int  # which order_by entry
    # `min(metrics.loss)` / `max(metrics.loss)`: the metric's smallest or largest value over
    # its whole history (best so far) rather than its latest; None: the latest
    extreme: str | None = None


# -- the parser ---------------------------------------------------------------------------


# The words that name run attributes (a bare key is an attribute too), and the column
# titles of MLflow's UI that its search reads as the attribute they show.
ATTRIBUTE_WORDS = ("attributes", "attribute", "attr", "run")
ATTRIBUTE_ALIASES = {
    "created": "start_time",
    "Created": "start_time",
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
}

_IDENT_HINT = "an identifier such as metrics.loss, params.lr, tags.team or attributes.status"

# Limits that keep a search within Python's recursion limit and SQLite's (500 terms in a
# compound SELECT, 64 tables in a join), said as a FilterError rather than failing there.
MAX_DEPTH = 32  # parentheses nested
MAX_CONDITIONS = 500
MAX_ORDER_KEYS = 16


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, message: str, token: Token | None = None) -> FilterError:
        token = token or self.tok
        return FilterError(message, self.text, token.pos)

    def keyword(self, *words: str) -> bool:
        return self.tok.kind == "KEYWORD" and self.tok.value in words

    def parse(self) -> Node:
        node = self.parse_or()
        if self.tok.kind != "END":
            if self.tok.kind == "RPAREN":
                raise self.fail("unmatched ')'")
            raise self.fail(
                f"expected AND, OR or the end of the filter, found {_describe(self.tok)}"
            )
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.keyword("OR"):
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unit()]
        while self.keyword("AND"):
            self.take()
            items.append(self.parse_unit())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def parse_unit(self) -> Node:
        if self.tok.kind == "LPAREN":
            opening = self.take()
            if self.tok.kind == "RPAREN":
                raise self.fail("empty parentheses: expected a condition")
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"parentheses nest at most {MAX_DEPTH} deep", opening)
            node = self.parse_or()
            self.depth -= 1
            if self.tok.kind != "RPAREN":
                if self.tok.kind == "END":
                    raise self.fail("'(' is never closed: add ')'", opening)
                raise self.fail(f"expected AND, OR or ')', found {_describe(self.tok)}")
            self.take()
            return node
        return self.parse_condition()

    def identifier(self) -> Identifier:
        token = self.tok
        if token.kind != "IDENT":
            raise self.fail(f"expected {_IDENT_HINT}, found {_describe(token)}")
        self.take()
        assert isinstance(token.value, tuple)
        entity, key = token.value
        if entity is None or entity in ATTRIBUTE_WORDS:
            key = ATTRIBUTE_ALIASES.get(key, key)
        return Identifier(entity, key, token.pos, token.text)

    def extreme(self) -> str | None:
        """`min(` or `max(` opening an order_by entry: which (lower-case); else None."""
        token = self.tok
        following = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if (
            token.kind == "IDENT"
            and following is not None
            and following.kind == "LPAREN"
            and isinstance(token.value, tuple)
            and token.value[0] is None
            and token.value[1].lower() in ("min", "max")
        ):
            self.take()
            self.take()
            return token.value[1].lower()
        return None

    def value(self, after: Token) -> tuple[str | float, int]:
        token = self.tok
        if token.kind in ("STRING", "NUMBER"):
            self.take()
            return token.value, token.pos  # type: ignore[return-value]
        if token.kind in ("IDENT", "KEYWORD"):
            raise self.fail(
                f"expected a number or a quoted string after {after.text!r}, found "
                f"{token.text!r}: quote strings, as in '{token.text}'"
            )
        raise self.fail(
            f"expected a number or a quoted string after {after.text!r}, found {_describe(token)}"
        )

    def parse_condition(self) -> Node:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.fail(f"a filter holds at most {MAX_CONDITIONS} conditions")
        ident = self.identifier()
        token = self.tok
        if token.kind == "OP":
            self.take()
            value, pos = self.value(token)
            return Comparison(ident, token.text, value, token.pos, pos)
        if self.keyword("LIKE", "ILIKE"):
            self.take()
            value, pos = self.value(token)
            return Comparison(ident, str(token.value), value, token.pos, pos)
        if self.keyword("IS"):
            self.take()
            negated = False
            if self.keyword("NOT"):
                self.take()
                negated = True
            if not self.keyword("NULL"):
                raise self.fail(
                    f"expected NULL after IS{' NOT' if negated else ''}, found "
                    f"{_describe(self.tok)}"
                )
            self.take()
            return NullCheck(ident, negated, token.pos)
        if self.keyword("NOT", "IN"):
            negated = self.keyword("NOT")
            if negated:
                self.take()
                if not self.keyword("IN"):
                    raise self.fail(f"expected IN after NOT, found {_describe(self.tok)}")
            in_token = self.take()
            if self.tok.kind != "LPAREN":
                raise self.fail(f"expected '(' after IN, found {_describe(self.tok)}")
            opening = self.take()
            values: list[str | float] = []
            while True:
                value, _pos = self.value(in_token)
                values.append(value)
                if self.tok.kind == "COMMA":
                    self.take()
                    continue
                if self.tok.kind == "RPAREN":
                    self.take()
                    break
                if self.tok.kind == "END":
                    raise self.fail("'(' is never closed: add ')'", opening)
                raise self.fail(f"expected ',' or ')' in the IN list, found {_describe(self.tok)}")
            return InList(ident, tuple(values), negated, token.pos, opening.pos)
        if token.kind == "END":
            raise self.fail(
                f"expected an operator (= != < <= > >= LIKE ILIKE IS IN) after "
                f"{ident.text!r}, found the end of the filter"
            )
        raise self.fail(
            f"expected an operator (= != < <= > >= LIKE ILIKE IS IN) after {ident.text!r}, "
            f"found {_describe(token)}"
        )


def parse_filter(text: str | None) -> Node | None:
    """The AST of a filter; None for an empty one. Raises FilterError."""
    if text is None or not text.strip():
        return None
    if not isinstance(text, str):
        raise FilterError(f"a filter is a string, not {type(text).__name__}", str(text), 0)
    return _Parser(text).parse()


def parse_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """`["metrics.loss ASC", "start_time DESC"]` as OrderKeys. Raises FilterError."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    if len(items) > MAX_ORDER_KEYS:
        raise FilterError(
            f"order_by holds at most {MAX_ORDER_KEYS} entries (this one has {len(items)})",
            items[MAX_ORDER_KEYS],
            0,
            item=MAX_ORDER_KEYS,
        )
    keys = []
    for number, item in enumerate(items):
        parser = _Parser(item)
        if parser.tok.kind == "END":
            raise FilterError("an order_by entry is empty", item, 0, item=number)
        try:
            extreme = parser.extreme()
            ident = parser.identifier()
            if extreme is not None:
                if parser.tok.kind != "RPAREN":
                    raise parser.fail(
                        f"expected ')' after {ident.text!r}, found {_describe(parser.tok)}"
                    )
                parser.take()
            descending = False
            if parser.keyword("ASC", "DESC"):
                descending = parser.take().value == "DESC"
            if parser.tok.kind != "END":
                raise parser.fail(f"expected ASC, DESC or the end, found {_describe(parser.tok)}")
        except FilterError as exc:
            raise FilterError(exc.message, item, exc.position, item=number) from None
        keys.append(OrderKey(ident, descending, number, extreme))
    return keys
