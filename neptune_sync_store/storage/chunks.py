"""Chunk summaries of float series: what makes a bucketed read cost O(buckets + chunks), not O(points).

The ``points`` table stays the record of a series (each point with its merge key). Alongside it,
``series_chunks`` cuts each float series' kept points into runs of consecutive steps, at most
:data:`CHUNK_POINTS` points each, one row per run:
``(field, first_step, last_step, n, vmin, vmax, vlast, last_ts, data)`` where ``data`` packs the
run's steps, values and timestamps as three little-endian float64 arrays. Chunks of a field never
overlap in step and together hold exactly its kept points.

Chunks are derived data, rewritten in the batch's transaction from what the batch changed
(:func:`rechunk`): the chunks around the changed steps are replaced by new ones holding their
points with the batch's removals and additions applied. Where chunk boundaries fall depends on
delivery order; what they hold does not, and reads depend only on what they hold.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from neptune_sync.oplog import ops

CHUNK_POINTS = 256
COLUMNS = "field, first_step, last_step, n, vmin, vmax, vlast, last_ts, data"
_BIG = sys.byteorder == "big"

# (first_step, last_step, n, vmin, vmax, vlast, last_ts, data): a chunk row without its field
ChunkRow = tuple[float, float, int, float, float, float, float, bytes]
Points = tuple[array, array, array]  # steps, values, timestamps (ascending steps)


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


def change_of(state: Any) -> tuple[list[tuple[float, float, float]], list[float], float, float] | None:
    """(added ``(step, value, ts)``, removed steps, lowest, highest changed step) of a float series
    in a batch's plan (plan.FieldState); None when the batch changes none of its kept points."""
    if state.type != ops.FieldType.FLOAT_SERIES:
        return None
    added = [(r[0], r[2], r[1]) for r in state.points] + [(r[0], r[2], r[1]) for r in state.plain]
    steps = [p[0] for p in added] + state.removed_steps
    if not steps:
        return None
    return added, state.removed_steps, min(steps), max(steps)


def start_of(before: tuple[float, float, int] | None, lo: float) -> float:
    """Where the chunks to replace begin, given ``(first_step, last_step, n)`` of the last chunk
    starting at or below the lowest changed step ``lo``: that chunk if it holds ``lo`` or has room."""
    if before is not None and (before[1] >= lo or before[2] < CHUNK_POINTS):
        return before[0]
    return lo


def merged(
    old: list[bytes], removed: Iterable[float], added: list[tuple[float, float, float]]
) -> tuple[array, array, array]:
    """The points of the replaced chunks ``old`` (in step order) without ``removed``, plus ``added``
    ``(step, value, ts)`` points (a step in both: the added point)."""
    olds = [unpack(d) for d in old]
    steps = array("d", [s for o in olds for s in o[0]])
    values = array("d", [v for o in olds for v in o[1]])
    stamps = array("d", [t for o in olds for t in o[2]])
    added = sorted(added)
    gone = set(removed)
    if added and not gone and (not steps or added[0][0] > steps[-1]):  # an append: the usual case
        steps.extend(p[0] for p in added)
        values.extend(p[1] for p in added)
        stamps.extend(p[2] for p in added)
        return steps, values, stamps
    by_step = {s: (v, t) for s, v, t in zip(steps, values, stamps, strict=True) if s not in gone}
    by_step.update((s, (v, t)) for s, v, t in added)
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
