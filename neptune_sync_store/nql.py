"""The Neptune Query Language (NQL) as neptune 1.x users wrote it, parsed into a filter tree.

Grammar (keywords are case-insensitive)::

    query      := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" or ")" | condition
    condition  := path [":" type] op value | path [":" type] ["NOT"] "EXISTS"
    path       := sys/tags | `any path in backticks`
    type       := string | float | int | integer | bool | boolean | datetime | stringSet
                  | experimentState
    op         := = | == | != | > | >= | < | <= | CONTAINS | NOT CONTAINS | MATCHES | NOT MATCHES
    value      := "double-quoted" | 'single-quoted' | number | true | false | bare-word

A condition without a type takes one from its value (a number: float, true / false: bool, else
string). A value is read as the condition's type says: ``metrics/acc:float > "0.9"`` compares
numbers. Errors are :class:`NQLError` naming the 1-based column.

The lark library does the lexing and parsing: a declared grammar, and errors that carry their
position, are what a hand-written parser would have to re-create.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import lark

TYPES = {
    "string": "string",
    "float": "float",
    "int": "int",
    "integer": "int",
    "bool": "bool",
    "boolean": "bool",
    "datetime": "datetime",
    "stringset": "stringSet",
    "experimentstate": "experimentState",
}
# the operators each type allows
OPS_OF_TYPE = {
    "string": ("=", "!=", ">", ">=", "<", "<=", "MATCHES", "NOT MATCHES", "CONTAINS", "NOT CONTAINS"),
    "float": ("=", "!=", ">", ">=", "<", "<="),
    "int": ("=", "!=", ">", ">=", "<", "<="),
    "datetime": ("=", "!=", ">", ">=", "<", "<="),
    "bool": ("=", "!="),
    "stringSet": ("CONTAINS", "NOT CONTAINS"),
    "experimentState": ("=", "!="),
}
STATES = {"active": "active", "running": "active", "inactive": "inactive", "idle": "inactive"}
MAX_LENGTH = 4_000  # characters in one query (a GET's request line holds at most 8 KiB)
MAX_CONDITIONS = 100  # the SQL of a query grows with both (SQLite caps expression depth at 1000)
MAX_DEPTH = 20  # nested NOT / parentheses

_GRAMMAR = r"""
start: or_
?or_: and_ | or_ _OR and_ -> or_
?and_: not_ | and_ _AND not_ -> and_
?not_: _NOT not_ -> not_
     | "(" or_ ")"
     | condition
condition: path type? OP value      -> compare
         | path type? _NOT? _EXISTS -> exists
         | path type? _NOT _CONTAINS value -> not_contains
         | path type? _NOT _MATCHES value  -> not_matches
path: BARE_PATH | QUOTED_PATH
type: ":" TYPE_NAME
value: DQ_STRING | SQ_STRING | NUMBER | WORD

_OR.2: /OR\b/i
_AND.2: /AND\b/i
_NOT.2: /NOT\b/i
_EXISTS.2: /EXISTS\b/i
_CONTAINS.2: /CONTAINS\b/i
_MATCHES.2: /MATCHES\b/i
OP.2: /CONTAINS\b/i | /MATCHES\b/i | "==" | "!=" | ">=" | "<=" | "=" | ">" | "<"
BARE_PATH: /[A-Za-z0-9_\-.\/]+/
QUOTED_PATH: /`[^`]+`/
TYPE_NAME: /[A-Za-z]+/
DQ_STRING: /"(\\.|[^"\\])*"/
SQ_STRING: /'(\\.|[^'\\])*'/
NUMBER.1: /[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(?![A-Za-z0-9_\-.\/])/
WORD: /[^\s()"'`]+/

%import common.WS
%ignore WS
"""
_PARSER = lark.Lark(_GRAMMAR, parser="lalr", propagate_positions=True)


class NQLError(ValueError):
    """A query the store cannot run; ``column`` is 1-based."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"NQL query, column {column}: {message}")
        self.column = column


@dataclass(frozen=True)
class Compare:
    """``path`` holds a field of ``type`` whose value stands in ``op`` to ``value``.

    ``op`` is one of ``= != > >= < <= CONTAINS MATCHES EXISTS`` (``EXISTS``: ``value`` is None and
    ``type`` may be None); ``negated`` is set for ``NOT CONTAINS`` / ``NOT MATCHES``. Values:
    float for float / int / datetime (POSIX seconds) / bool (1.0 / 0.0), str otherwise;
    ``experimentState`` values are "active" or "inactive".
    """

    path: str
    type: str | None
    op: str
    value: float | str | None
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | And | Or | Not


def parse(text: str) -> Node | None:
    """The filter tree of an NQL query; None for an empty one. Raises :class:`NQLError`."""
    if len(text) > MAX_LENGTH:
        raise NQLError(MAX_LENGTH + 1, f"a query is at most {MAX_LENGTH} characters, got {len(text)}")
    if not text.strip():
        return None
    try:
        tree = _PARSER.parse(text)
    except lark.exceptions.UnexpectedCharacters as exc:
        raise NQLError(exc.column, f"unexpected character {text[exc.pos_in_stream]!r}") from None
    except lark.exceptions.UnexpectedEOF:
        raise NQLError(len(text) + 1, "the query ends too early") from None
    except lark.exceptions.UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise NQLError(len(text) + 1, "the query ends too early") from None
        raise NQLError(exc.column, f"unexpected {str(exc.token)!r}") from None
    conditions = list(tree.find_data("compare")) + list(tree.find_data("exists"))
    conditions += list(tree.find_data("not_contains")) + list(tree.find_data("not_matches"))
    if len(conditions) > MAX_CONDITIONS:
        column = sorted(c.meta.column for c in conditions)[MAX_CONDITIONS]
        raise NQLError(column, f"a query holds at most {MAX_CONDITIONS} conditions, got {len(conditions)}")
    return _build(tree.children[0], 0)


def _build(tree: lark.Tree, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise NQLError(tree.meta.column, f"a query nests at most {MAX_DEPTH} levels deep")
    if tree.data == "or_":
        return Or(_flat(tree, Or, depth))
    if tree.data == "and_":
        return And(_flat(tree, And, depth))
    if tree.data == "not_":
        return Not(_build(tree.children[0], depth + 1))
    return _condition(tree)


def _flat(tree: lark.Tree, kind: type[And] | type[Or], depth: int) -> tuple[Node, ...]:
    items: list[Node] = []
    for child in tree.children:
        node = _build(child, depth if child.data == tree.data else depth + 1)  # a chain of ORs is one level
        items.extend(node.items if isinstance(node, kind) else (node,))
    return tuple(items)


def _condition(tree: lark.Tree) -> Compare:
    path_node, *rest = tree.children
    path = _path(path_node.children[0])
    declared = None
    if rest and isinstance(rest[0], lark.Tree) and rest[0].data == "type":
        token = rest.pop(0).children[0]
        declared = TYPES.get(token.lower())
        if declared is None:
            raise NQLError(token.column, f"unknown type {str(token)!r}; known: {', '.join(sorted(TYPES))}")
    if tree.data == "exists":
        return Compare(path, declared, "EXISTS", None)
    if tree.data in ("not_contains", "not_matches"):
        op_name, value_node, negated = tree.data[4:].upper(), rest[0], True
        op_column = tree.meta.column
    else:
        op_token, value_node = rest
        op_name, negated, op_column = _op(str(op_token)), False, op_token.column
    token = value_node.children[0]
    kind = declared or _implied_type(token)
    shown = f"{op_name}" if not negated else f"NOT {op_name}"
    if shown not in OPS_OF_TYPE[kind]:
        raise NQLError(
            op_column, f"{shown} does not apply to {kind} (allowed: {', '.join(OPS_OF_TYPE[kind])})"
        )
    value = _value(token, kind)
    if op_name == "MATCHES":
        try:
            re.compile(str(value))
        except re.error as exc:
            raise NQLError(token.column, f"{value!r} is not a regular expression: {exc}") from None
    return Compare(path, kind, op_name, value, negated)


def _op(text: str) -> str:
    upper = text.upper()
    return "=" if upper == "==" else upper


def _path(token: lark.Token) -> str:
    text = str(token)
    path = text[1:-1] if token.type == "QUOTED_PATH" else text
    if not path or path.startswith("/") or path.endswith("/") or "//" in path:
        raise NQLError(token.column, f"{path!r} is not a field path")
    return path


def _implied_type(token: lark.Token) -> str:
    if token.type == "NUMBER":
        return "float"
    if token.type == "WORD" and str(token).lower() in ("true", "false"):
        return "bool"
    return "string"


def _text(token: lark.Token) -> str:
    raw = str(token)
    if token.type in ("DQ_STRING", "SQ_STRING"):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _value(token: lark.Token, kind: str) -> float | str:
    text = _text(token)
    if kind in ("float", "int"):
        try:
            number = float(text)
        except ValueError:
            raise NQLError(token.column, f"{text!r} is not a number (the type is {kind})") from None
        if math.isnan(number):
            raise NQLError(token.column, "NaN cannot be compared")
        return number
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise NQLError(token.column, f"{text!r} is not a bool: write true or false")
        return 1.0 if text.lower() == "true" else 0.0
    if kind == "datetime":
        return _timestamp(text, token.column)
    if kind == "experimentState":
        state = STATES.get(text.lower())
        if state is None:
            raise NQLError(token.column, f"{text!r} is not a state: {', '.join(STATES)}")
        return state
    return text


def _timestamp(text: str, column: int) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise NQLError(column, f"{text!r} is not an ISO 8601 datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def paths(node: Node | None) -> set[str]:
    """Every field path a filter tree reads."""
    if node is None:
        return set()
    if isinstance(node, Compare):
        return {node.path}
    if isinstance(node, Not):
        return paths(node.item)
    return set().union(*(paths(i) for i in node.items))


def describe(node: Any) -> str:
    """A canonical NQL text of a filter tree (parses back to the same tree)."""
    if isinstance(node, Or):
        return "(" + " OR ".join(describe(i) for i in node.items) + ")"
    if isinstance(node, And):
        return "(" + " AND ".join(describe(i) for i in node.items) + ")"
    if isinstance(node, Not):
        return f"NOT {describe(node.item)}"
    path = f"`{node.path}`"
    typed = f"{path}:{node.type}" if node.type else path
    if node.op == "EXISTS":
        return f"({typed} EXISTS)"
    op = f"NOT {node.op}" if node.negated else node.op
    return f"({typed} {op} {_literal(node)})"


def _literal(node: Compare) -> str:
    if node.type == "bool":
        return "true" if node.value else "false"
    if node.type == "datetime":
        assert isinstance(node.value, float)
        return '"' + dt.datetime.fromtimestamp(node.value, dt.timezone.utc).isoformat() + '"'
    if isinstance(node.value, float):
        return repr(node.value)
    text = str(node.value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
