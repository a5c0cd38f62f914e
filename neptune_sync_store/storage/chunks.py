"""Chunk summaries of float series: what makes a bucketed read cost O(buckets + chunks), not O(points).

The ``points`` table stays the record of a series (each point with its merge key). Alongside it,
``series_chunks`` cuts each float series' kept points into runs of consecutive steps, at most
:data:`CHUNK_POINTS` points each, one row per run:
``(field, first_step, last_step, n, vmin, vmax, vlast, last_ts, data)`` where ``data`` packs the
run's steps, values and timestamps as three little-endian float64 arrays. Chunks of a field never
overlap in step and together hold exactly its kept points.

Chunks are derived data, rewritten in the batch's transaction from what the batch changed
(:func:`rewrite`; one read and one write per batch for all its fields): the chunks around the
changed steps are replaced by new ones holding their points with the batch's removals and additions
applied. Where chunk boundaries fall depends on delivery order; what they hold does not, and reads
depend only on what they hold.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from neptune_sync.wire import ops

CHUNK_POINTS = 256
COLUMNS = "field, first_step, last_step, n, vmin, vmax, vlast, last_ts, data"
# what an upsert of a chunk row replaces when its (field, first_step) exists
UPDATE = ", ".join(f"{c}=excluded.{c}" for c in COLUMNS.split(", ")[2:])
_BIG = sys.byteorder == "big"

# (first_step, last_step, n, vmin, vmax, vlast, last_ts, data): a chunk row without its field
ChunkRow = tuple[float, float, int, float, float, float, float, bytes]
Points = tuple[array, array, array]  # steps, values, timestamps (ascending steps)
_STEP, _TS, _VALUE = itemgetter(0), itemgetter(1), itemgetter(2)  # of a plan's point rows


@dataclass(frozen=True)
class Change:
    """What a batch changes in a float series: points added, kept steps removed, their step span."""

    fid: int
    added: Points
    removed: list[float]
    lo: float
    hi: float


def pack(steps: array, values: array, stamps: array) -> bytes:
    if _BIG:
        steps, values, stamps = (array("d", a) for a in (steps, values, stamps))
        for a in (steps, values, stamps):
            a.byteswap()
    return steps.tobytes() + values.tobytes() + stamps.tobytes()


def unpack(data: bytes) -> Points:
    whole = array("d")
    whole.frombytes(data)
    if _BIG:
        whole.byteswap()
    n = len(whole) // 3
    return whole[:n], whole[n : 2 * n], whole[2 * n :]


def chunk_rows(steps: array, values: array, stamps: array) -> list[ChunkRow]:
    """Points (ascending steps) cut into ``ceil(len / CHUNK_POINTS)`` chunks of near-equal size."""
    total = len(steps)
    if not total:
        return []
    parts = -(-total // CHUNK_POINTS)
    rows = []
    for p in range(parts):
        i, j = total * p // parts, total * (p + 1) // parts
        vs = values[i:j]
        rows.append(
            (
                steps[i],
                steps[j - 1],
                j - i,
                min(vs),
                max(vs),
                vs[-1],
                stamps[j - 1],
                pack(steps[i:j], vs, stamps[i:j]),
            )
        )
    return rows


def change_of(state: Any) -> Change | None:
    """What a batch's plan (plan.FieldState) changes in the kept points of a float series; None when
    it changes none (or the field is no float series)."""
    if state.type != ops.FieldType.FLOAT_SERIES:
        return None
    rows = state.points + state.plain  # both start (step, ts, value, ...); a step is in one at most
    removed = state.removed_steps
    if not rows and not removed:
        return None
    steps = array("d", map(_STEP, rows))
    if rows and steps != array("d", sorted(steps)):
        rows = sorted(rows, key=_STEP)
        steps = array("d", map(_STEP, rows))
    added = (steps, array("d", map(_VALUE, rows)), array("d", map(_TS, rows)))
    ends = [*removed, *steps[:1], *steps[-1:]]
    return Change(state.id, added, removed, min(ends), max(ends))


# The chunks a change replaces (given :f field, :lo / :hi lowest / highest changed step, :full
# CHUNK_POINTS): from the last chunk starting at or below :lo if it holds :lo or has room, else from
# :lo, up to the one starting at or below :hi. SQLite binds it as it is, PostgreSQL per unnest row.
REPLACED = (
    "SELECT first_step, data FROM series_chunks WHERE field=:f AND first_step<=:hi AND first_step>=COALESCE("
    "(SELECT CASE WHEN b.last_step>=:lo OR b.n<:full THEN b.first_step END FROM series_chunks b"
    " WHERE b.field=:f AND b.first_step<=:lo ORDER BY b.first_step DESC LIMIT 1), :lo)"
    " ORDER BY first_step"
)


def rewrite(
    changes: list[Change], replaced: dict[int, list[tuple[float, bytes]]]
) -> tuple[list[tuple[int, float]], list[tuple[Any, ...]], dict[int, tuple[float, float]]]:
    """For each change and the ``(first_step, data)`` of the chunks it replaces (``replaced`` by field):
    the ``(field, first_step)`` keys of replaced chunks to delete, the chunk rows (with their field
    first) to upsert, and per field the span of the replaced and new chunks' first steps (what the
    summary levels above must regroup, .summaries). A replacement starting at a replaced chunk's
    first step takes its key (an append updates the field's last chunk in place)."""
    gone: list[tuple[int, float]] = []
    rows: list[tuple[Any, ...]] = []
    spans: dict[int, tuple[float, float]] = {}
    for change in changes:
        old = replaced.get(change.fid, [])
        new = chunk_rows(*merged([d for _, d in old], change.removed, change.added))
        starts = {r[0] for r in new}
        gone.extend((change.fid, s) for s, _ in old if s not in starts)
        rows.extend((change.fid, *r) for r in new)
        firsts = [s for s, _ in old] + [r[0] for r in new]
        if firsts:
            spans[change.fid] = (min(firsts), max(firsts))
    return gone, rows, spans


def merged(old: list[bytes], removed: Iterable[float], added: Points) -> Points:
    """The points of the replaced chunks ``old`` (in step order) without ``removed``, plus ``added``
    (a step in both: the added point)."""
    steps, values, stamps = array("d"), array("d"), array("d")
    for data in old:
        s, v, t = unpack(data)
        steps += s
        values += v
        stamps += t
    gone = set(removed)
    a_steps, a_values, a_stamps = added
    if not gone and (not steps or not a_steps or a_steps[0] > steps[-1]):  # an append: the usual case
        return steps + a_steps, values + a_values, stamps + a_stamps
    by_step = {s: (v, t) for s, v, t in zip(steps, values, stamps, strict=True) if s not in gone}
    by_step.update(zip(a_steps, zip(a_values, a_stamps, strict=True), strict=True))
    order = sorted(by_step)
    return (
        array("d", order),
        array("d", [by_step[s][0] for s in order]),
        array("d", [by_step[s][1] for s in order]),
    )


# ---------------------------------------------------------------- reads


def points_within(data: bytes, lo: float, hi: float) -> list[tuple[float, float, float]]:
    """``(step, value, ts)`` of a chunk's points with ``lo <= step <= hi``."""
    steps, values, stamps = unpack(data)
    i, j = bisect_left(steps, lo), bisect_right(steps, hi)
    return list(zip(steps[i:j], values[i:j], stamps[i:j], strict=True))


class BucketSums:
    """Per-bucket (first_step, last_step, min, max, last, count, ts), combined from pieces."""

    def __init__(self) -> None:
        self.by_bucket: dict[int, list[Any]] = {}

    def add(
        self, k: int, s0: float, s1: float, vmin: float, vmax: float, last: float, n: int, ts: float
    ) -> None:
        got = self.by_bucket.get(k)
        if got is None:
            self.by_bucket[k] = [s0, s1, vmin, vmax, last, n, ts]
            return
        got[0] = min(got[0], s0)
        got[2] = min(got[2], vmin)
        got[3] = max(got[3], vmax)
        got[5] += n
        if s1 > got[1]:
            got[1], got[4], got[6] = s1, last, ts

    def add_points(self, data: bytes, edges: list[float], lo: float, hi: float) -> None:
        """Every point of a chunk within ``[lo, hi]``, split at the bucket edges."""
        steps, values, stamps = unpack(data)
        n = len(edges) - 1
        i, end = bisect_left(steps, lo), bisect_right(steps, hi)
        while i < end:
            k = min(max(bisect_right(edges, steps[i], 0, n) - 1, 0), n - 1)
            j = end if k == n - 1 else min(end, bisect_left(steps, edges[k + 1], i, end))
            vs = values[i:j]
            self.add(k, steps[i], steps[j - 1], min(vs), max(vs), vs[-1], j - i, stamps[j - 1])
            i = j

    def rows(self) -> list[list[Any]]:
        return [self.by_bucket[k] for k in sorted(self.by_bucket)]
