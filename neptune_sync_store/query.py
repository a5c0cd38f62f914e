"""Runs-table selection, pure: parse ``where`` expressions, filter by tags / state, sort, page.

A ``where`` expression is ``<field path><op><value>`` with op one of ``== != > >= < <=`` (``=`` is
``==``). The value is compared as a number when both sides are numbers (bools count as 0 / 1,
datetimes as POSIX seconds, a numeric series by its last value), else as a string. A run without
the field, or with a value of another kind, does not match.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neptune_sync.protocol import FieldValue, RunRecord

from .errors import RequestError

TAGS_PATH = "sys/tags"
STATE_PATH = "sys/state"
STATES = ("active", "inactive")
TABLE_KINDS = ("run", "model", "model_version")  # what a table lists (a project's own fields never)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_WHERE = re.compile(r"\s*(?P<path>[^<>=!\s][^<>=!]*?)\s*(?P<op>==|!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*")


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: float | str

    def matches(self, values: dict[str, FieldValue]) -> bool:
        held = values.get(self.path)
        if held is None:
            return False
        mine = comparable(held.value)
        if mine is None or isinstance(mine, str) != isinstance(self.value, str):
            return False
        return _OPS[self.op](mine, self.value)


@dataclass(frozen=True)
class RunsQuery:
    columns: list[str] = field(default_factory=list)  # empty: every field
    where: list[Condition] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # every tag must be present
    state: str | None = None
    sort_by: str | None = None  # a field path; None: creation time
    ascending: bool = False
    limit: int = 10_000
    offset: int = 0  # rows to skip after sorting (pages of a long table)
    kind: str = "run"  # one of TABLE_KINDS

    def filter_paths(self) -> list[str]:
        """Field paths the selection reads for every run: filters, tags, state and the sort key."""
        extra = (
            [c.path for c in self.where] + [TAGS_PATH, STATE_PATH] + ([self.sort_by] if self.sort_by else [])
        )
        return sorted(set(extra))


def parse_where(text: str) -> Condition:
    """Parse one ``where`` expression; raises :class:`RequestError` saying what is wrong."""
    m = _WHERE.fullmatch(text)
    if m is None or not m["value"]:
        raise RequestError(f"where {text!r} is not '<field path><op><value>' with op one of == != > >= < <=")
    raw = m["value"]
    value: float | str
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        value = raw[1:-1]
    else:
        try:
            value = float(raw)
        except ValueError:
            value = {"true": 1.0, "false": 0.0}.get(raw.lower(), raw)
    return Condition(m["path"], m["op"], value)


def comparable(value: Any) -> float | str | None:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return value
    return None


def run_state(values: dict[str, FieldValue]) -> str:
    held = values.get(STATE_PATH)
    return "active" if held is not None and str(held.value).lower() in ("active", "running") else "inactive"


def select(
    runs: list[tuple[RunRecord, dict[str, FieldValue]]], query: RunsQuery
) -> tuple[list[RunRecord], int]:
    """Filter, sort and page runs (given with the values of :meth:`RunsQuery.filter_paths`).

    Returns the page and how many runs matched in all. Only containers of ``query.kind`` are rows
    (the project's own fields, ``init_project``'s container of kind "project", never are).
    """
    kept = [(run, values) for run, values in runs if run.kind == query.kind and _keep(values, query)]
    if query.sort_by:
        present = [r for r in kept if comparable(_value(r[1], query.sort_by)) is not None]
        absent = [r for r in kept if comparable(_value(r[1], query.sort_by)) is None]
        present.sort(
            key=lambda r: _sort_key(comparable(_value(r[1], query.sort_by))), reverse=not query.ascending
        )
        kept = present + absent
    else:
        kept.sort(key=lambda r: (r[0].created, r[0].run_key), reverse=not query.ascending)
    return [run for run, _ in kept[query.offset : query.offset + query.limit]], len(kept)


def _keep(values: dict[str, FieldValue], query: RunsQuery) -> bool:
    if query.tags:
        held = values.get(TAGS_PATH)
        tags = set(held.value) if held is not None and isinstance(held.value, list) else set()
        if not tags.issuperset(query.tags):
            return False
    if query.state and run_state(values) != query.state:
        return False
    return all(c.matches(values) for c in query.where)


def _value(values: dict[str, FieldValue], path: str) -> Any:
    held = values.get(path)
    return None if held is None else held.value


def _sort_key(value: float | str | None) -> tuple[int, float | str]:
    # numbers before strings, so a column mixing both still sorts
    return (0, value) if isinstance(value, float) else (1, value or "")
