"""A minimal table of containers from the store, for ``fetch_model_versions_table``.

``fetch_table(client, kind, project, ...)`` reads the store's table endpoint (``/v1/runs`` with
``kind``) and returns a :class:`Table` with ``to_rows()`` / ``to_pandas()``. ``query`` takes the
part of the Neptune Query Language that the endpoint's filters express: comparisons
``path[:type] op value`` (op ``= != > >= < <=``) joined by AND, each optionally in parentheses.
Anything else raises :class:`NeptuneUserError` naming its position. Only the model versions
table (neptune_sync.model) reads through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from .exceptions import NeptuneUserError

_TYPES = {"string", "float", "int", "bool", "datetime", "experimentState"}
_TERM = re.compile(
    r"""\s*\(?\s*(?P<path>[A-Za-z0-9_./-]+)\s*(?::\s*(?P<type>\w+))?\s*(?P<op>!=|>=|<=|=|>|<)\s*"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|[^\s()"]+)\s*\)?\s*"""
)
_AND = re.compile(r"AND\b", re.IGNORECASE)


class TableEntry:
    """One row: ``get_attribute_value(path)`` (neptune 1.x ``TableEntry``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def get_attribute_value(self, path: str) -> Any:
        """The value of ``path``; a ValueError if the row has none (as 1.x)."""
        if path not in self._values:
            raise ValueError(f"Could not find {path} attribute")
        return self._values[path]


class Table:
    """Rows of a containers table (neptune 1.x ``Table``)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[TableEntry]:
        return iter(self.to_rows())

    def to_rows(self) -> list[TableEntry]:
        return [TableEntry(row) for row in self._rows]

    def to_pandas(self) -> Any:
        """A DataFrame with one column per field path (``sys/id``, ``sys/stage``, ...)."""
        import pandas as pd

        columns = sorted({path for row in self._rows for path in row})
        return pd.DataFrame(self._rows, columns=columns)


def parse_query(query: str) -> list[str]:
    """NQL ``query`` as the store's ``where`` expressions; raises naming the position it cannot read."""
    where: list[str] = []
    if not query.strip():
        return where
    pos = 0
    while True:
        m = _TERM.match(query, pos)
        if m is None:
            raise NeptuneUserError(
                f"query {query!r}: cannot read a comparison at position {pos} ({query[pos : pos + 20]!r}); "
                "supported: (path:type op value) joined by AND"
            )
        if m["type"] is not None and m["type"] not in _TYPES:
            raise NeptuneUserError(
                f"query {query!r}: type {m['type']!r} at position {m.start('type')} is not supported"
            )
        where.append(_where(m["path"], m["type"], m["op"], m["value"]))
        pos = m.end()  # past the comparison and the blanks after it
        if pos == len(query):
            return where
        joined = _AND.match(query, pos)
        if joined is None:
            raise NeptuneUserError(f"query {query!r}: expected AND at position {pos}")
        pos = joined.end()


def _where(path: str, type_: str | None, op: str, raw: str) -> str:
    quoted = raw.startswith('"')
    text = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\") if quoted else raw
    op = "==" if op == "=" else op
    if type_ in ("float", "int", "bool") and not quoted:
        return f"{path}{op}{text}"
    if type_ == "experimentState":
        text = text.capitalize()
    return f'{path}{op}"{text}"'


def fetch_table(
    client: Any,
    kind: str,
    project: str,
    *,
    query: str | None = None,
    columns: Iterable[str] | None = None,
    limit: int | None = None,
    sort_by: str | None = None,
    ascending: bool = False,
    where: Iterable[str] = (),
) -> Table:
    """The ``kind`` containers of ``project`` matching ``query`` and ``where``, ``columns`` plus ``sys/id``."""
    wanted = [] if columns is None else sorted({"sys/id", *columns})
    conditions = [*where, *parse_query(query or "")]
    got = client.runs_table(
        project,
        kind=kind,
        columns=wanted,
        where=conditions,
        sort_by=sort_by,
        ascending=ascending,
        limit=limit,
    )
    return Table([dict(row.fields) for row in got.rows])
