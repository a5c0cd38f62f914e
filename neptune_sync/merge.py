"""The one order in which the records of a run's writers combine (docs/sync-protocol.md, "Merge of writers").

A run may have several writers (a resumed process, DDP ranks, forked children, importers). Every
record -- an operation, or one point of a series operation -- has the key ``(t, writer_id, seq)``:

- ``seq`` is its sequence number (a series point's own);
- ``t`` is its *order time*: the largest timestamp among the writer's records up to and including
  it, in sequence order (an op's timestamp is its entry's, a point's is its own). A writer's keys
  therefore increase along its log even where timestamps step back (a user-given timestamp, a clock
  set back, microsecond rounding of points), so merging never reorders one writer's records. A
  resumed writer's order time starts at its *floor* (its segment header's ``after``): above every
  record of the log it resumed from, whatever its clock says.

The content of a run is *defined* as every record of every writer applied in ascending key. The
local read-back (:mod:`neptune_sync.replay`) merges its writers' logs with :func:`merge`; the store
(``neptune_sync_store.plan``) reaches the same content whatever order writers' batches arrive in.
"""

from __future__ import annotations

import heapq
import itertools
import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any

from .wire.ops import Entry

Key = tuple[float, str, int]  # (order time, writer id, seq)
NO_TIME = float("-inf")  # the order time before a writer's first record


def start(floor: float | None) -> float:
    """The order time before a writer's first record: its floor, if it has one."""
    return NO_TIME if floor is None else floor


def floor_above(t: float) -> float | None:
    """The floor of a writer that follows records up to order time ``t``: the next float above it."""
    return None if t == NO_TIME else math.nextafter(t, math.inf)


def later(t: float, ts: float) -> float:
    """The order time of a record stamped ``ts`` that follows a record of order time ``t``.

    A NaN timestamp never advances it (``ts > t`` is false), so keys stay totally ordered.
    """
    return ts if ts > t else t


def point_times(t: float, points: Iterable[Any]) -> list[float]:
    """Order times of consecutive points following order time ``t``."""
    out = []
    for p in points:
        ts = p.ts
        if ts > t:
            t = ts
        out.append(t)
    return out


def first_time(t: float, entry: Entry) -> float:
    """Order time of an entry's first record (a series entry's first point has its own ts)."""
    points = getattr(entry.op, "points", None)
    return later(t, points[0].ts if points else entry.ts)


def last_time(t: float, entry: Entry) -> float:
    """Order time after all of an entry's records."""
    points = getattr(entry.op, "points", None)
    if not points:
        return later(t, entry.ts)
    for p in points:
        if p.ts > t:
            t = p.ts
    return t


def head(entry: Entry, n: int) -> Entry:
    """The first ``n`` points of a series entry."""
    op = entry.op
    return Entry(entry.seq, entry.ts, type(op)(op.path, op.points[:n]))  # type: ignore[union-attr]


def tail(entry: Entry, n: int) -> Entry:
    """A series entry without its first ``n`` points."""
    op = entry.op
    points = op.points[n:]  # type: ignore[union-attr]
    return Entry(entry.seq + n, points[0].ts, type(op)(op.path, points))


def merge(
    streams: dict[str, Iterator[Entry]], times: dict[str, float], floors: dict[str, float | None]
) -> Iterator[tuple[str, Entry]]:
    """(writer, entry) of several writers in ascending key, series entries split where another
    writer's record falls between their points. ``times`` holds each writer's order time so far and
    is advanced as entries are yielded (a follower keeps it between calls); a writer not in it
    starts at its floor in ``floors``, which may be filled in while a stream yields its first entry."""
    heap: list[tuple[Key, int, Entry, Iterator[Entry]]] = []
    tie = itertools.count()

    def time_of(writer: str) -> float:
        t = times.get(writer)
        return start(floors.get(writer)) if t is None else t

    def push(writer: str, entry: Entry, rest: Iterator[Entry]) -> None:
        key = (first_time(time_of(writer), entry), writer, entry.seq)
        heapq.heappush(heap, (key, next(tie), entry, rest))

    for writer, stream in streams.items():
        for entry in stream:
            push(writer, entry, stream)
            break
    while heap:
        (_, writer, _), _, entry, rest = heapq.heappop(heap)
        if not heap:  # the last writer left: the rest of its log in order, unsplit
            yield from _advancing(writer, itertools.chain((entry,), rest), times, time_of(writer))
            return
        t = time_of(writer)
        points = getattr(entry.op, "points", None)
        if points and len(points) > 1:
            pts = point_times(t, points)
            bound = heap[0][0]
            n = bisect_left([(x, writer, entry.seq + i) for i, x in enumerate(pts)], bound)
            if n < len(points):
                times[writer] = pts[n - 1]
                yield writer, head(entry, n)
                push(writer, tail(entry, n), rest)
                continue
            times[writer] = pts[-1]
        else:
            times[writer] = last_time(t, entry)
        yield writer, entry
        for nxt in rest:
            push(writer, nxt, rest)
            break


def _advancing(
    writer: str, entries: Iterable[Entry], times: dict[str, float], t: float
) -> Iterator[tuple[str, Entry]]:
    try:
        for entry in entries:
            t = last_time(t, entry)
            yield writer, entry
    finally:
        times[writer] = t
