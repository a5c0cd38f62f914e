"""Table selection in SQL: a filter tree (see :mod:`.nql`), kind, trash, sort and page as one query.

Every condition is an ``EXISTS`` over the field at its path (the ``UNIQUE(run, path)`` index finds
it per run), so filters and the sort key are evaluated by the database, and only the page's
columns are read afterwards. Rules:

- A condition matches a run that has the field with a type the condition's type allows
  (``STORED_TYPES``) and a value: ``float`` / ``int`` also compare a float series by its last
  value, ``string`` also a string series. ``!=``, ``NOT CONTAINS`` and ``NOT MATCHES`` need the
  field too; ``NOT (...)`` matches runs without it.
- ``experimentState``: a run is active when its ``sys/state`` is "Active" / "running" (any case);
  every other run is inactive, one without the field included.
- ``sys/trashed`` (bool) is whether the run is in the trash.
- Strings compare by code point on both backends; ``CONTAINS`` on a string is a substring test,
  ``MATCHES`` a regular-expression search (Python ``re`` on SQLite, POSIX on PostgreSQL).
- Sorting by a field: runs whose field holds a number first, then strings, then runs without it;
  ties by creation time and run key, in the same direction.

The ``where`` expressions of the web app's ``/v1/runs`` (``<path><op><value>``) are conditions of
type ``number`` (any numeric field: bools as 0 / 1, datetimes as POSIX seconds) or ``string``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import nql
from .errors import BadQuery, RequestError
from .nql import And, Compare, Node, Not, Or

TAGS_PATH = "sys/tags"
STATE_PATH = "sys/state"
TRASHED_PATH = "sys/trashed"
ACTIVE_STATES = ("active", "running")
STATES = ("active", "inactive")
TRASHED = {"false": False, "true": True, "any": None}

STORED_TYPES: dict[str, tuple[str, ...]] = {
    "float": ("float", "int", "floatSeries"),
    "int": ("float", "int", "floatSeries"),
    "bool": ("bool",),
    "datetime": ("datetime",),
    "string": ("string", "stringSeries"),
    "stringSet": ("stringSet",),
    "number": ("float", "int", "bool", "datetime", "floatSeries"),
}
_COMPARE = ("=", "!=", ">", ">=", "<", "<=")
_WHERE = re.compile(r"\s*(?P<path>[^<>=!\s][^<>=!]*?)\s*(?P<op>==|!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*")


@dataclass(frozen=True)
class Dialect:
    """What differs between the backends' SQL."""

    regex: str  # "{text}" matches "{pattern}"
    contains: str  # "{pattern}" is a substring of "{text}"
    collate: str  # after a text expression: compare by code point
    by_path: str  # after "fields f": read fields through the (path, run, type, num) index
    active: str  # after "fields f": read the partial index of active runs (ACTIVE_RUN)


SQLITE = Dialect(
    "{text} REGEXP {pattern}",
    "instr({text}, {pattern}) > 0",
    "",
    " INDEXED BY fields_by_path",
    " INDEXED BY fields_active",
)
POSTGRES = Dialect("{text} ~ {pattern}", "strpos({text}, {pattern}) > 0", ' COLLATE "C"', "", "")
# the condition of the partial index fields_active (both backends), written the same in queries so
# that the database sees the index applies
ACTIVE_RUN = "f.path = 'sys/state' AND f.type = 'string' AND lower(f.txt) IN ('active', 'running')"


@dataclass(frozen=True)
class TableQuery:
    project: str
    kind: str = "run"
    filter: Node | None = None
    trashed: bool | None = False  # None: trashed and not
    columns: list[str] = field(default_factory=list)  # empty: every field
    sort_by: str | None = None  # a field path; None: creation time
    ascending: bool = False
    limit: int = 10_000
    offset: int = 0


def parse_where(text: str) -> Compare:
    """A web-app ``where`` expression; raises :class:`RequestError` saying what is wrong."""
    m = _WHERE.fullmatch(text)
    if m is None or not m["value"]:
        raise RequestError(f"where {text!r} is not '<field path><op><value>' with op one of == != > >= < <=")
    raw, op = m["value"], "=" if m["op"] == "==" else m["op"]
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return Compare(m["path"], "string", op, raw[1:-1])
    try:
        return Compare(m["path"], "number", op, float(raw))
    except ValueError:
        flag = {"true": 1.0, "false": 0.0}.get(raw.lower())
        return Compare(
            m["path"], "number" if flag is not None else "string", op, raw if flag is None else flag
        )


def parse_nql(text: str) -> Node | None:
    """An NQL query as a filter tree; a bad one is a 400 naming the column."""
    try:
        node = nql.parse(text)
    except nql.NQLError as exc:
        raise BadQuery(str(exc)) from None
    return node


def all_of(*nodes: Node | None) -> Node | None:
    kept = tuple(n for n in nodes if n is not None)
    return None if not kept else kept[0] if len(kept) == 1 else And(kept)


def any_of(nodes: list[Node]) -> Node | None:
    return None if not nodes else nodes[0] if len(nodes) == 1 else Or(tuple(nodes))


def tags_filter(tags: list[str]) -> Node | None:
    """Every tag present."""
    return all_of(*(Compare(TAGS_PATH, "stringSet", "CONTAINS", t) for t in tags))


def states_filter(states: list[str]) -> Node | None:
    """Any of the states ("active" / "inactive")."""
    return any_of([Compare(STATE_PATH, "experimentState", "=", s) for s in states])


class Selection:
    """SQL of one table query, with its ``:name`` parameters."""

    def __init__(self, query: TableQuery, dialect: Dialect, *, sort_text: bool = True) -> None:
        """``sort_text`` False: no row's sort field holds a string (see :meth:`sort_text_sql`), so
        the sort reads numbers only, from the index."""
        self.query = query
        self.dialect = dialect
        self.sort_text = sort_text
        self.params: dict[str, object] = {}

    def sort_text_sql(self) -> str:
        """One row if some container of the project holds a string at the sort path."""
        q = self.query
        return (
            f"SELECT 1 FROM fields f{self.dialect.by_path} JOIN runs r ON r.id = f.run"
            f" WHERE f.path = {self.param(q.sort_by)} AND f.type IN ({_quoted(STORED_TYPES['string'])})"
            f" AND r.project = {self.param(q.project)} LIMIT 1"
        )

    def param(self, value: object) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def page_sql(self) -> str:
        """Rows ``(id, project, run_key, run_id, custom_run_id, kind, created, total)`` of the page."""
        q = self.query
        where = [f"r.project = {self.param(q.project)}", f"r.kind = {self.param(q.kind)}"]
        if q.trashed is not None:
            where.append(("" if q.trashed else "NOT ") + _IN_TRASH)
        if q.filter is not None:
            where.append(self.node(q.filter))
        direction = "ASC" if q.ascending else "DESC"
        c = self.dialect.collate
        order = [f"r.created {direction}", f"r.run_key{c} {direction}"]
        join = ""
        if q.sort_by:
            join = f" LEFT JOIN fields s{self.dialect.by_path} ON s.run = r.id AND s.path = {self.param(q.sort_by)}"
            if self.sort_text:
                group = "CASE WHEN s.num IS NOT NULL THEN 0 WHEN s.txt IS NOT NULL THEN 1 ELSE 2 END"
                text = f"CASE WHEN s.num IS NULL THEN s.txt END{c}"  # a number's row needs no table read
                order = [group, f"s.num {direction}", f"{text} {direction}", *order]
            else:
                order = ["CASE WHEN s.num IS NOT NULL THEN 0 ELSE 2 END", f"s.num {direction}", *order]
        return (
            "SELECT r.id, r.project, r.run_key, r.run_id, r.custom_run_id, r.kind, r.created, COUNT(*) OVER ()"
            f" FROM runs r{join} WHERE {' AND '.join(where)} ORDER BY {', '.join(order)}"
            f" LIMIT {self.param(q.limit)} OFFSET {self.param(q.offset)}"
        )

    def node(self, node: Node) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(i) for i in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(i) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"NOT {self.node(node.item)}"
        return self.compare(node)

    def compare(self, c: Compare) -> str:
        if c.path == TRASHED_PATH and c.type in ("bool", None):
            return self._trashed(c)
        if c.type == "experimentState":
            if c.path == STATE_PATH:
                active = f"EXISTS (SELECT 1 FROM fields f{self.dialect.active} WHERE f.run = r.id AND {ACTIVE_RUN})"
            else:
                states = ", ".join(f"'{s}'" for s in ACTIVE_STATES)
                active = self._field(c.path, ("string",), f"lower(f.txt) IN ({states})")
            return active if (c.value == "active") == (c.op == "=") else f"NOT {active}"
        types = STORED_TYPES[c.type] if c.type else None
        if c.op == "EXISTS":
            return self._field(c.path, types, None)
        if c.type == "stringSet":
            member = f"EXISTS (SELECT 1 FROM set_members m WHERE m.field = f.id AND m.member = {self.param(c.value)})"
            return self._field(c.path, types, f"NOT {member}" if c.negated else member)
        text = f"f.txt{self.dialect.collate}"
        if c.op in ("MATCHES", "CONTAINS"):
            form = self.dialect.regex if c.op == "MATCHES" else self.dialect.contains
            test = form.format(text="f.txt", pattern=self.param(c.value))
            return self._field(c.path, types, f"NOT ({test})" if c.negated else test)
        assert c.op in _COMPARE, c.op
        column = "f.num" if isinstance(c.value, float) else text
        return self._field(c.path, types, f"{column} {c.op} {self.param(c.value)}")

    def _field(self, path: str, types: tuple[str, ...] | None, test: str | None) -> str:
        sql = (
            f"SELECT 1 FROM fields f{self.dialect.by_path} WHERE f.run = r.id AND f.path = {self.param(path)}"
        )
        if types:
            sql += f" AND f.type IN ({_quoted(types)})"
        if test:
            sql += f" AND {test}"
        return f"EXISTS ({sql})"

    def _trashed(self, c: Compare) -> str:
        if c.op == "EXISTS":
            return "1 = 1"
        if c.op not in ("=", "!="):
            raise BadQuery(f"{TRASHED_PATH} compares with = or != only")
        wanted = (c.value == 1.0) == (c.op == "=")
        return _IN_TRASH if wanted else f"NOT {_IN_TRASH}"


def _quoted(types: tuple[str, ...]) -> str:
    return ", ".join(f"'{t}'" for t in types)


_IN_TRASH = "EXISTS (SELECT 1 FROM trash t WHERE t.run = r.id)"


def columns_sql(run_ids: list[int], paths: list[str]) -> tuple[str, dict[str, object]]:
    """Rows ``(run id, path, type, data, last_step)`` of the given runs: ``paths`` only, if any."""
    values: dict[str, object] = {f"r{i}": rid for i, rid in enumerate(run_ids)}
    sql = (
        "SELECT f.run, f.path, f.type, f.data, f.last_step FROM fields f WHERE f.run IN ("
        + ",".join(f":r{i}" for i in range(len(run_ids)))
        + ")"
    )
    if paths:
        values |= {f"c{i}": p for i, p in enumerate(paths)}
        sql += " AND f.path IN (" + ",".join(f":c{i}" for i in range(len(paths))) + ")"
    return sql, values
