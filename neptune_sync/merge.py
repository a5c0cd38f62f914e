"""Merging the logs of a run's writers into the one order of their records (docs/sync-protocol.md,
"Merge of writers").

A run may have several writers (a resumed process, DDP ranks, forked children, importers). Every
record -- an operation, or one point of a series operation -- has the key ``(order time, writer
id, seq)`` of :mod:`neptune_sync.rules`, which also computes order times and floors. A writer's
keys increase along its log even where timestamps step back, so merging never reorders one
writer's records; it only interleaves writers, splitting a series entry where another writer's
record falls between its points.

The content of a run is *defined* as every record of every writer applied in ascending key. The
local read-back (:mod:`neptune_sync.replay`) merges its writers' logs with :func:`merge`; the store
(``neptune_sync_store.plan``) reaches the same content whatever order writers' batches arrive in.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from .rules import Key, later, point_times, start
from .wire.ops import Entry


def first_time(t: float, entry: Entry) -> float:
    """Order time of an entry's first record (a series entry's first point has its own ts)."""
    points = getattr(entry.op, "points", None)
    return later(t, points[0].ts if points else entry.ts)


def last_time(t: float, entry: Entry) -> float:
    """Order time after all of an entry's records."""
    points = getattr(entry.op, "points", None)
    if not points:
        return later(t, entry.ts)
    return point_times(t, [p.ts for p in points])[-1]


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
            pts = point_times(t, [p.ts for p in points])
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
