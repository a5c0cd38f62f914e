"""Summary levels over the chunks of float series: what keeps a bucketed read near O(buckets) rows
whatever the series length.

``series_summaries`` holds levels of *nodes* per float series, one row each: ``(field, level,
first_step, last_step, n, vmin, vmax, vlast, last_ts, parts)``. A level-1 node sums at most
:data:`FANOUT` consecutive chunks (.chunks), a level-``l`` node at most ``FANOUT`` consecutive
level-``l - 1`` nodes (its ``parts``); ``vlast`` / ``last_ts`` are those of its last point. The
nodes of a level never overlap in step and together sum exactly the field's chunks, so every level
sums the field's kept points. A field with chunks has level 1; level ``l + 1`` (up to
:data:`LEVELS`) is added, from the whole of level ``l``, once level ``l`` holds two nodes or more,
and stays: a short series keeps one or two levels, a long one all. Reads start at a field's top
level.

Nodes are derived data, maintained in the batch's transaction after the chunks, level by level
(:func:`regroup`): at each level, the nodes around the span of first steps the level below changed
are replaced by nodes regrouping their children, read back from the level below. An append touches
the last node of each level. Where node boundaries fall depends on delivery order; what they sum
does not, and reads (.aggregate) depend only on what they sum. A store with another ``FANOUT``
needs a schema version whose fill rebuilds the table (.schema).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FANOUT = 4
LEVELS = 6
COLUMNS = "field, level, first_step, last_step, n, vmin, vmax, vlast, last_ts, parts"
# what an upsert of a node replaces when its (field, level, first_step) exists
UPDATE = ", ".join(f"{c}=excluded.{c}" for c in COLUMNS.split(", ")[3:])

# (first_step, last_step, n, vmin, vmax, vlast, last_ts): what a chunk or a node sums up
Summary = tuple[float, float, int, float, float, float, float]
SUMMARY_COLUMNS = "first_step, last_step, n, vmin, vmax, vlast, last_ts"

# The nodes of level :l that the changed first steps [:lo, :hi] of level :l - 1 replace (:full is
# FANOUT): from the last node starting at or below :lo if it holds :lo or has room, else from :lo,
# up to the last one starting at or below :hi. Its (first_step, last_step), in step order.
REPLACED = (
    "SELECT first_step, last_step FROM series_summaries WHERE field=:f AND level=:l AND first_step<=:hi"
    " AND first_step>=COALESCE((SELECT CASE WHEN b.last_step>=:lo OR b.parts<:full THEN b.first_step END"
    " FROM series_summaries b WHERE b.field=:f AND b.level=:l AND b.first_step<=:lo"
    " ORDER BY b.first_step DESC LIMIT 1), :lo) ORDER BY first_step"
)
# the children of level :l starting in [:a, :b], in step order ({chunks}: the backend's clause that
# reads chunk summaries without their points)
_CHILD_NODES = (
    f"SELECT {SUMMARY_COLUMNS} FROM series_summaries WHERE field=:f AND level=:l - 1"
    " AND first_step>=:a AND first_step<=:b ORDER BY first_step"
)
_CHILD_CHUNKS = (
    f"SELECT {SUMMARY_COLUMNS} FROM series_chunks {{chunks}} WHERE field=:f"
    " AND first_step>=:a AND first_step<=:b ORDER BY first_step"
)


def children_sql(level: int, chunks_clause: str) -> str:
    """The query of the children of ``level`` (chunks for level 1) in a window of first steps."""
    return _CHILD_CHUNKS.format(chunks=chunks_clause) if level == 1 else _CHILD_NODES


# One field's replaced nodes (child 0: their first and last step) and the children they regroup
# (child 1): those starting from the lower of :lo and the first replaced node's first step up to the
# higher of :hi and the last one's last step. In step order: what a level's upkeep reads.
_NODES = (
    "WITH r AS (" + REPLACED.replace(" ORDER BY first_step", "") + ")"
    " SELECT * FROM (SELECT 0 AS child, first_step, last_step, 0, 0.0, 0.0, 0.0, 0.0 FROM r"
    " UNION ALL SELECT 1, * FROM ({children})) ORDER BY child, first_step"
)
_WINDOW = {
    ":a": "MIN(:lo, COALESCE((SELECT MIN(first_step) FROM r), :lo))",
    ":b": "MAX(:hi, COALESCE((SELECT MAX(last_step) FROM r), :hi))",
}


def nodes_sql(level: int, chunks_clause: str) -> str:
    """SQLite's query of what the upkeep of ``level`` reads for one field (``:f``, ``:l``, the
    changed span ``:lo`` / ``:hi`` of the level below, ``:full``): rows ``(child, first_step,
    last_step, n, vmin, vmax, vlast, last_ts)``, the replaced nodes (child 0) first."""
    children = children_sql(level, chunks_clause)
    for name, expression in _WINDOW.items():
        children = children.replace(name + " ", expression + " ").replace(name + ")", expression + ")")
    return _NODES.format(children=children)


def nodes(children: Sequence[Summary]) -> list[tuple[Any, ...]]:
    """Children (in step order) cut into ``ceil(len / FANOUT)`` nodes of near-equal size:
    ``(first_step, last_step, n, vmin, vmax, vlast, last_ts, parts)`` each."""
    total = len(children)
    parts = -(-total // FANOUT)
    out = []
    for p in range(parts):
        i, j = total * p // parts, total * (p + 1) // parts
        group = children[i:j]
        first, last = group[0], group[-1]
        out.append(
            (
                first[0],
                last[1],
                sum(c[2] for c in group),
                min(c[3] for c in group),
                max(c[4] for c in group),
                last[5],
                last[6],
                j - i,
            )
        )
    return out


def regroup(
    fid: int, level: int, replaced: Sequence[tuple[float, float]], children: Sequence[Summary]
) -> tuple[list[tuple[int, int, float]], list[tuple[Any, ...]], tuple[float, float] | None]:
    """The replacement of a field's ``replaced`` nodes of ``level`` by nodes of ``children``: the
    ``(field, level, first_step)`` keys to delete, the rows to upsert (``COLUMNS``) and the span of
    first steps this level changed (None: none)."""
    new = nodes(children)
    starts = {r[0] for r in new}
    gone = [(fid, level, s) for s, _ in replaced if s not in starts]
    firsts = [s for s, _ in replaced] + [r[0] for r in new]
    span = (min(firsts), max(firsts)) if firsts else None
    return gone, [(fid, level, *r) for r in new], span


def levels_of(fid: int, chunk_summaries: Sequence[Summary]) -> list[tuple[Any, ...]]:
    """Every node row (``COLUMNS``) of a field whose chunks sum up as ``chunk_summaries`` (in step
    order): what an upgrade fills ``series_summaries`` with."""
    rows: list[tuple[Any, ...]] = []
    below: Sequence[Summary] = chunk_summaries
    for level in range(1, LEVELS + 1):
        made = nodes(below)
        rows.extend((fid, level, *r) for r in made)
        if len(made) < 2:
            break
        below = [r[:7] for r in made]
    return rows


# A field's top level and whether it holds two nodes or more (0, 0 when it has none); SQLite
# binds it as it is, PostgreSQL per unnest row.
TOP = (
    "SELECT COALESCE(MAX(level), 0), COUNT(*) FROM (SELECT level FROM series_summaries"
    " WHERE field=:f AND level=(SELECT MAX(level) FROM series_summaries WHERE field=:f) LIMIT 2) t"
)


@dataclass
class Top:
    """A field's highest summary level (0: none) and whether it holds two nodes or more."""

    level: int
    wide: bool


class Upkeep:
    """What a batch's upkeep regroups at each level, from the spans of first steps the chunks changed
    and each field's :class:`Top` before the batch; :meth:`spans` then :meth:`done` per level."""

    def __init__(self, spans: dict[int, tuple[float, float]], tops: dict[int, Top]) -> None:
        self.changed = spans
        self.tops = tops

    def spans(self, level: int) -> dict[int, tuple[float, float]]:
        """The fields to regroup at ``level``: those that have it, with the span the level below
        changed, and those that get it now, over the whole level below."""
        out = {}
        for fid, span in self.changed.items():
            top = self.tops[fid]
            if level <= top.level:
                out[fid] = span
            elif level == top.level + 1 and (level == 1 or top.wide) and level <= LEVELS:
                out[fid] = (-math.inf, math.inf)
        self.changed = {}
        return out

    def done(self, level: int, fid: int, replaced: Sequence[Any], rows: Sequence[Any], span: Any) -> None:
        """Record what regrouping ``level`` of a field replaced, wrote and changed."""
        top = self.tops[fid]
        if level > top.level:  # made now, from the whole level below
            self.tops[fid] = Top(level, len(rows) >= 2)
        elif level == top.level:
            top.wide = top.wide or len(rows) >= 2 or bool(rows and not replaced)
        if span is not None:
            self.changed[fid] = span
