"""The viewer's ``where`` and ``orderby`` parameters: a small SQL subset, parsed here into SQL that
we write ourselves. Column names are checked against the split's columns and quoted by us; every
value becomes a bound parameter. Nothing the caller sent is ever pasted into SQL text.

Grammar (case-insensitive keywords)::

    where   := or ; or := and ("OR" and)* ; and := not ("AND" not)*
    not     := "NOT" not | "(" or ")" | test
    test    := col op value | col "IS" ["NOT"] "NULL" | col ["NOT"] ("LIKE"|"ILIKE") string
             | col ["NOT"] "IN" "(" value ("," value)* ")" | col "BETWEEN" value "AND" value
    op      := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value   := 'string' | number | TRUE | FALSE
    orderby := col ["ASC"|"DESC"] ("," col ["ASC"|"DESC"])*
    col     := name | "quoted name"
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from dockyard.errors import BadRequestError

MAX_LENGTH = 4096
MAX_DEPTH = 32
MAX_TOKENS = 512

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<str>'(?:[^']|'')*')
    | (?P<qid>"(?:[^"]|"")+")
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|<>|!=|==|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "LIKE", "ILIKE", "IN", "BETWEEN", "TRUE", "FALSE", "ASC", "DESC"}
_OPS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class InvalidQueryError(BadRequestError):
    """A ``where``, ``orderby`` or search query the viewer cannot run (the Hub answers 400)."""

    code = "InvalidParameter"
    default_message = "Parameter 'where' or 'orderby' is invalid"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num, str, qid, word, op, punct
    text: str


@dataclass(frozen=True, slots=True)
class Clause:
    """SQL text written by us, with ``?`` for every value, and the values in order."""

    sql: str
    params: tuple[Any, ...]


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise InvalidQueryError(f"The expression is longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise InvalidQueryError(f"Unexpected character at position {pos}")
        tokens.append(Token(match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
        if len(tokens) > MAX_TOKENS:
            raise InvalidQueryError("The expression is too long")
    return tokens


def quote_identifier(name: str) -> str:
    """A column name as a DuckDB identifier (the name comes from the split's schema)."""
    return '"' + name.replace('"', '""') + '"'


class _Parser:
    def __init__(self, text: str, columns: Collection[str]) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.columns = columns
        self.params: list[Any] = []

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() in words:
            self.pos += 1
            return token.text.upper()
        return None

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text.upper() != text):
            raise InvalidQueryError(f"Expected {text or kind} at token {self.pos + 1}")
        self.pos += 1
        return token

    def done(self) -> None:
        if self.peek() is not None:
            raise InvalidQueryError(f"Unexpected {self.tokens[self.pos].text!r} at token {self.pos + 1}")

    def column(self) -> str:
        token = self.peek()
        if (
            token is None
            or token.kind not in ("word", "qid")
            or (token.kind == "word" and token.text.upper() in _KEYWORDS)
        ):
            raise InvalidQueryError(f"Expected a column name at token {self.pos + 1}")
        self.pos += 1
        name = token.text[1:-1].replace('""', '"') if token.kind == "qid" else token.text
        if name not in self.columns:
            raise InvalidQueryError(f"Unknown column: {name!r}")
        return quote_identifier(name)

    def value(self) -> str:
        token = self.peek()
        if token is None:
            raise InvalidQueryError("Expected a value")
        self.pos += 1
        if token.kind == "num":
            self.params.append(float(token.text) if re.search(r"[.eE]", token.text) else int(token.text))
        elif token.kind == "str":
            self.params.append(token.text[1:-1].replace("''", "'"))
        elif token.kind == "word" and token.text.upper() in ("TRUE", "FALSE"):
            self.params.append(token.text.upper() == "TRUE")
        else:
            raise InvalidQueryError(f"Expected a value at token {self.pos}")
        return "?"

    def where(self, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise InvalidQueryError("The expression is nested too deeply")
        parts = [self.conjunction(depth)]
        while self.keyword("OR"):
            parts.append(self.conjunction(depth))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def conjunction(self, depth: int) -> str:
        parts = [self.negation(depth)]
        while self.keyword("AND"):
            parts.append(self.negation(depth))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def negation(self, depth: int) -> str:
        if self.keyword("NOT"):
            return f"(NOT {self.negation(depth + 1)})"
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == "(":
            self.pos += 1
            inner = self.where(depth + 1)
            self.expect("punct", ")")
            return f"({inner})"
        return self.test()

    def test(self) -> str:
        column = self.column()
        token = self.peek()
        if token is not None and token.kind == "op":
            self.pos += 1
            return f"({column} {_OPS[token.text]} {self.value()})"
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            self.expect("word", "NULL")
            return f"({column} IS {'NOT ' if negate else ''}NULL)"
        if self.keyword("BETWEEN"):
            low = self.value()
            self.expect("word", "AND")
            return f"({column} BETWEEN {low} AND {self.value()})"
        negate = "NOT " if self.keyword("NOT") else ""
        operator = self.keyword("LIKE", "ILIKE", "IN")
        if operator == "IN":
            self.expect("punct", "(")
            values = [self.value()]
            while self.peek() == Token("punct", ","):
                self.pos += 1
                values.append(self.value())
            self.expect("punct", ")")
            return f"({column} {negate}IN ({', '.join(values)}))"
        if operator is not None:
            if self.peek() is None or self.tokens[self.pos].kind != "str":
                raise InvalidQueryError(f"{operator} needs a quoted pattern")
            return f"(CAST({column} AS VARCHAR) {negate}{operator} {self.value()})"
        raise InvalidQueryError(f"Expected an operator at token {self.pos + 1}")

    def orderby(self) -> str:
        items = []
        while True:
            column = self.column()
            direction = self.keyword("ASC", "DESC") or "ASC"
            items.append(f"{column} {direction}")
            if self.peek() != Token("punct", ","):
                break
            self.pos += 1
        return ", ".join(items)


def parse_where(text: str, columns: Collection[str]) -> Clause:
    """``where`` as SQL over ``columns`` (the split's filterable columns)."""
    parser = _Parser(text, columns)
    if not parser.tokens:
        raise InvalidQueryError("Parameter 'where' is empty")
    sql = parser.where()
    parser.done()
    return Clause(sql, tuple(parser.params))


def parse_orderby(text: str, columns: Collection[str]) -> Clause:
    """``orderby`` as an SQL ORDER BY list over ``columns``."""
    parser = _Parser(text, columns)
    if not parser.tokens:
        raise InvalidQueryError("Parameter 'orderby' is empty")
    sql = parser.orderby()
    parser.done()
    return Clause(sql, ())
