"""Bucketed reads of float series for charts: the shapes, the bucket rule and the SQL of each backend.

A chart never receives a whole series. The x range ``[lo, hi]`` (steps, or timestamps when
``x="time"``) is cut into ``n`` equal buckets; point ``p`` falls in bucket
``min(floor((x(p) - lo) * (n / (hi - lo))), n - 1)`` (every point in bucket 0 when ``hi == lo``).
Each non-empty bucket reports its first and last step, min, max, count, and the value and timestamp
of its last point (the one with the largest step). When the range holds at most ``n`` points the
points themselves are returned (``raw``), so zooming in ends at exact data.

Step buckets come from the series' summary levels (.summaries) and chunks (.chunks), in one
recursive query (:func:`walk_sql`): a node or chunk inside one bucket is taken whole, any other is
descended into, and the at most one chunk straddling each edge is split in Python at the edges
:func:`step_edges` derives from the same rule; so a read fetches O(buckets x levels) rows whatever
the series length. Time buckets are one GROUP BY over the points (timestamps are not
indexed). Everything evaluates the rule in IEEE doubles, so all paths agree point for point.
A chart may let step buckets *snap* to chunk boundaries when the range holds at least
:data:`SNAP_CHUNKS_PER_BUCKET` chunks per bucket: each chunk inside the range then lies whole in the
bucket of its first step, so no chunk is unpacked but the (at most two) cut by the range's ends. A
snapped bucket's edges move to the next chunk boundary, by less than a chunk (a quarter of a bucket
at most, on average); its first and last step, min, max, count and last value stay exact for the
points it holds, and the buckets still tile the range in step order.
A chart may first ask for a *sample* (x = step only): the first point at or after each of ``lo + k * (hi - lo) / n`` for
``k = 0 .. n-1``, deduplicated; n index seeks whatever the series length. A sample can miss spikes:
it is a preview to draw while the exact buckets load. A read that may snap (and is let to) returns
its snapped buckets instead of a sample: they cost about as much.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from .chunks import BucketSums, points_within

X_AXES = ("step", "time")
MAX_BUCKETS = 10_000


class SeriesBuckets(msgspec.Struct, frozen=True):
    """One series of one run, in columns (one entry per bucket, or per point when ``raw``)."""

    run: str  # the run_key
    path: str
    x: str  # "step" or "time": what lo / hi and the buckets measure
    raw: bool
    lo: float | None  # the bucketed range (None: the range holds no point)
    hi: float | None
    first_step: list[float] = []
    step: list[float] = []  # step of the last point of each bucket
    min: list[float | None] = []
    max: list[float | None] = []
    last: list[float | None] = []
    count: list[int] = []
    ts: list[float] = []  # timestamp of the last point of each bucket
    sampled: bool = False  # entries are sampled points (count 1 each), not every point or bucket
    snapped: bool = False  # bucket edges moved to chunk boundaries (see the module docstring)


def x_column(x: str) -> str:
    """The points column that ``x`` measures (``x`` was validated against :data:`X_AXES`)."""
    return "step" if x == "step" else "ts"


def scale(lo: float, hi: float, buckets: int) -> float:
    """Buckets per unit of x (0 puts every point in bucket 0 when the range is a single x)."""
    return buckets / (hi - lo) if hi > lo else 0.0


def raw_buckets(run: str, path: str, x: str, lo: float, hi: float, rows: list[Any]) -> SeriesBuckets:
    """Points ``(step, value, ts)`` as one bucket each."""
    steps = [r[0] for r in rows]
    values = [r[1] for r in rows]
    return SeriesBuckets(
        run,
        path,
        x,
        True,
        lo,
        hi,
        steps,
        steps,
        values,
        values,
        values,
        [1] * len(rows),
        [r[2] for r in rows],
    )


def grouped_buckets(run: str, path: str, x: str, lo: float, hi: float, rows: list[Any]) -> SeriesBuckets:
    """Rows ``(first_step, last_step, min, max, last, count, ts)`` of the grouping query."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    return SeriesBuckets(run, path, x, False, lo, hi, *(list(c) for c in cols))


# Queries use named parameters (:f field id, :a / :b x bounds, :n row limit, :s scale, :m last
# bucket); SQLite binds them as they are, :func:`numbered` rewrites them for PostgreSQL.
_STEP_RANGE = (
    "SELECT (SELECT step FROM points WHERE field=:f AND step>=:a AND step<=:b ORDER BY step LIMIT 1),"
    " (SELECT step FROM points WHERE field=:f AND step>=:a AND step<=:b ORDER BY step DESC LIMIT 1)"
)
_TIME_RANGE = "SELECT MIN(ts), MAX(ts) FROM points WHERE field=:f AND ts>=:a AND ts<=:b"
# at most :n points of the range (callers ask for n + 1 to tell whether it holds more than n)
_PROBE = "SELECT step, num, ts FROM points WHERE field=:f AND {x}>=:a AND {x}<=:b ORDER BY step LIMIT :n"
_GROUP = (
    "WITH b AS (SELECT {bucket} AS k, MIN(step) AS s0, MAX(step) AS s1, MIN(num) AS lo,"
    " MAX(num) AS hi, COUNT(*) AS c FROM points WHERE field=:f AND {x}>=:a AND {x}<=:b GROUP BY k)"
    " SELECT b.s0, b.s1, b.lo, b.hi, p.num, b.c, p.ts FROM b JOIN points p"
    " ON p.field=:f AND p.step=b.s1 ORDER BY b.k"
)
# :w is the bucket width; recursive CTEs run on both backends (generate_series is PostgreSQL's only)
_SAMPLE = (
    "WITH RECURSIVE b(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM b WHERE k + 1 < :n),"
    " s(step) AS (SELECT (SELECT step FROM points WHERE field=:f"
    " AND step>=CAST(:a AS DOUBLE PRECISION) + k * CAST(:w AS DOUBLE PRECISION) AND step<=:b"
    " ORDER BY step LIMIT 1) FROM b)"
    " SELECT step, num, ts FROM points WHERE field=:f AND step IN (SELECT step FROM s) ORDER BY step"
)
# SQLite's CAST truncates toward zero, which is floor here since x >= lo.
SQLITE_BUCKET = "MIN(CAST(({x} - :a) * :s AS INTEGER), :m)"
PG_BUCKET = "LEAST(floor(({x} - :a) * :s)::bigint, :m)"
_NAME = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")  # not the "::" of a PostgreSQL cast


def range_sql(x: str) -> str:
    return _STEP_RANGE if x == "step" else _TIME_RANGE


def probe_sql(x: str) -> str:
    return _PROBE.format(x=x_column(x))


def group_sql(x: str, bucket: str) -> str:
    return _GROUP.format(x=x_column(x), bucket=bucket.format(x=x_column(x)))


def numbered(sql: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """``sql`` with ``:name`` parameters as ``$1, $2, ...`` (PostgreSQL) and the arguments in order."""
    order: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m[1] not in order:
            order.append(m[1])
        return f"${order.index(m[1]) + 1}"

    return _NAME.sub(number, sql), [values[name] for name in order]


Fetch = Callable[[str, dict[str, Any]], Awaitable[list[Any]]]
# (field id, x, lo, hi, n, snap) -> rows (first_step, last_step, min, max, last, count, ts) of
# non-empty buckets (snapped to chunk boundaries when snap)
Group = Callable[[int, str, float, float, int, bool], Awaitable[list[Any]]]


def step_edges(lo: float, hi: float, n: int) -> list[float]:
    """Edges ``e_0 = lo <= e_1 <= ... <= e_n = hi`` with bucket k holding exactly the steps in
    ``[e_k, e_k+1)`` (the last one also holds ``hi``) under the bucket rule, as doubles compute it.

    The rule is monotone in x, so each inner edge is the smallest double whose bucket is >= k:
    start from ``lo + k / scale`` and step by one ulp to it.
    """
    per = scale(lo, hi, n)
    if per == 0.0:
        return [lo] + [math.inf] * (n - 1) + [hi]  # every point in bucket 0

    def bucket(x: float) -> int:
        return min(math.floor((x - lo) * per), n - 1)

    edges = [lo]
    for k in range(1, n):
        x = max(lo, min(hi, lo + k / per))
        while x > lo and bucket(x) >= k:
            x = math.nextafter(x, -math.inf)
        while bucket(x) < k and x < hi:
            x = math.nextafter(x, math.inf)
        edges.append(x if bucket(x) >= k else math.inf)
    return edges + [hi]


# Step buckets from the summary levels (.summaries) and chunks (.chunks), walked down from the
# field's top level: a node or chunk inside [:a, :b] whose first and last step fall in one bucket is taken
# whole; any other is descended into, down to the chunks, whose points are split at the edges in
# Python. Each level contributes what lies between the coarser level's boundaries and the bucket
# edges: O(FANOUT) rows per edge and level, whatever the series length. Rows:
# (bucket or NULL, first_step, last_step, min, max, last, count, last ts, points or NULL).
# "+c.first_step<=:b" is no index bound (a unary plus): the child's range bound is its parent's end,
# and SQLite would take the range's end instead, scanning to it from every parent.
_INSIDE = "{p}first_step>=:a AND {p}last_step<=:b AND {b0}={b1}"
_WALK = (
    "WITH RECURSIVE t(level, first_step, last_step, n, vmin, vmax, vlast, last_ts) AS ("
    " SELECT level, first_step, last_step, n, vmin, vmax, vlast, last_ts FROM series_summaries"
    " WHERE field=:f AND level=(SELECT MAX(level) FROM series_summaries WHERE field=:f)"
    " AND first_step<=:b AND last_step>=:a"
    " UNION ALL"
    " SELECT c.level, c.first_step, c.last_step, c.n, c.vmin, c.vmax, c.vlast, c.last_ts"
    " FROM t JOIN series_summaries c ON c.field=:f AND c.level=t.level - 1"
    " AND c.first_step>=t.first_step AND c.first_step<=t.last_step"
    " WHERE t.level>1 AND NOT ({t_inside}) AND +c.first_step<=:b AND c.last_step>=:a)"
    " SELECT {t_b0}, first_step, last_step, vmin, vmax, vlast, n, last_ts, NULL FROM t WHERE {t_inside}"
    " UNION ALL"
    " SELECT CASE WHEN {c_inside} THEN {c_b0} END, c.first_step, c.last_step, c.vmin, c.vmax, c.vlast,"
    " c.n, c.last_ts, CASE WHEN {c_inside} THEN NULL ELSE (SELECT d.data FROM series_chunks d"
    " WHERE d.field=:f AND d.first_step=c.first_step) END"
    " FROM t JOIN series_chunks c {summaries} ON c.field=:f AND c.first_step>=t.first_step"
    " AND c.first_step<=t.last_step"
    " WHERE t.level=1 AND NOT ({t_inside}) AND +c.first_step<=:b AND c.last_step>=:a"
)


def walk_sql(bucket: str, summaries: str, snap: bool = False) -> str:
    """The walk down the summary levels for a backend's bucket expression and chunk-summary clause;
    with ``snap`` every chunk inside [:a, :b] is taken whole, in the bucket of its first step."""

    def inside(table: str) -> str:
        p = f"{table}."
        return _INSIDE.format(p=p, b0=bucket.format(x=p + "first_step"), b1=bucket.format(x=p + "last_step"))

    return _WALK.format(
        t_inside=inside("t"),
        c_inside=_IN_RANGE if snap else inside("c"),
        t_b0=bucket.format(x="t.first_step"),
        c_b0=bucket.format(x="c.first_step"),
        summaries=summaries,
    )


_IN_RANGE = "c.first_step>=:a AND c.last_step<=:b"
SNAP_CHUNKS_PER_BUCKET = 4
# whether the range holds :n chunks (starting in it) or more
_HOLDS_CHUNKS = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM series_chunks {summaries} WHERE field=:f"
    " AND first_step>=:a AND first_step<=:b LIMIT :n) t"
)

_AFTER_CHUNK_OF_LO = (
    "first_step>=COALESCE((SELECT first_step FROM series_chunks WHERE field=:f AND first_step<=:a"
    " ORDER BY first_step DESC LIMIT 1), :a)"
)
_CHUNK_HEADS = (
    "SELECT first_step, last_step, n FROM series_chunks WHERE field=:f AND first_step<=:b AND "
    + _AFTER_CHUNK_OF_LO
    + " ORDER BY first_step LIMIT :n"
)
_CHUNK_DATA = (
    "SELECT data FROM series_chunks WHERE field=:f AND first_step>=:a AND first_step<=:b ORDER BY first_step"
)


async def chunk_probe(fetch: Fetch, fid: int, lo: float, hi: float, limit: int) -> list[Any]:
    """At most ``limit`` points ``(step, value, ts)`` of a float series with ``lo <= step <= hi``
    from its chunks (every chunk holds a point, so ``limit + 1`` chunks from ``lo`` hold enough),
    or ``limit`` entries without reading points when the chunks inside the range hold that many."""
    heads = await fetch(_CHUNK_HEADS, {"f": fid, "a": lo, "b": hi, "n": limit + 1})
    if sum(n for s0, s1, n in heads if s0 >= lo and s1 <= hi) >= limit:
        return [None] * limit
    rows: list[Any] = []
    span = {"f": fid, "a": heads[0][0], "b": heads[-1][0]} if heads else None
    for (data,) in await fetch(_CHUNK_DATA, span) if span else []:
        rows.extend(points_within(data, lo, hi))
    return rows[:limit]


async def snappable(fetch: Fetch, summaries: str, fid: int, lo: float, hi: float, n: int) -> bool:
    """Whether ``n`` step buckets over [lo, hi] may snap: the range holds at least
    :data:`SNAP_CHUNKS_PER_BUCKET` chunks per bucket (one index scan of at most that many)."""
    enough = n * SNAP_CHUNKS_PER_BUCKET
    ((held,),) = await fetch(
        _HOLDS_CHUNKS.format(summaries=summaries), {"f": fid, "a": lo, "b": hi, "n": enough}
    )
    return bool(held >= enough)


async def chunk_bucket_rows(
    fetch: Fetch, bucket: str, summaries: str, fid: int, lo: float, hi: float, n: int, snap: bool = False
) -> list[Any]:
    """Step buckets of a float series over [lo, hi] read from its summary levels and chunks
    (:func:`walk_sql`), snapped to chunk boundaries when ``snap``. ``summaries`` is the backend's
    clause that reads chunk summaries without their points."""
    values = group_values(fid, lo, hi, n)
    sums = BucketSums()
    edges: list[float] = []
    for k, *summary, data in await fetch(walk_sql(bucket, summaries, snap), values):
        if data is None:
            sums.add(k, *summary)
            continue
        edges = edges or step_edges(lo, hi, n)
        sums.add_points(data, edges, lo, hi)
    return sums.rows()


async def read_buckets(
    fetch: Fetch,
    group: Group,
    key: tuple[str, str, int],
    x: str,
    start: float,
    stop: float,
    buckets: int,
    sample: bool = False,
    snap: bool = False,
    summaries: str = "",
) -> SeriesBuckets:
    """Buckets of the float series ``key = (run_key, path, field id)`` over ``[start, stop]`` of ``x``,
    or a sample of its points when ``sample`` (x must be "step") and the range holds more than ``buckets``;
    ``snap`` lets step buckets snap to chunk boundaries (see the module docstring), and then a
    sample is not taken: snapped buckets cost about as much. ``summaries`` is the backend's clause
    that reads chunk summaries without their points.

    ``fetch(sql, values)`` runs one query of this module on a backend and returns its rows;
    ``group`` computes the buckets.
    """
    run, path, fid = key
    ((lo, hi),) = await fetch(range_sql(x), {"f": fid, "a": start, "b": stop})
    if lo is None:
        return SeriesBuckets(run, path, x, True, None, None)
    bounds = {"f": fid, "a": lo, "b": hi}
    if x == "step":
        rows = await chunk_probe(fetch, fid, lo, hi, buckets + 1)
    else:
        rows = await fetch(probe_sql(x), {**bounds, "n": buckets + 1})
    if len(rows) <= buckets:
        return raw_buckets(run, path, x, lo, hi, rows)
    snap = snap and x == "step" and await snappable(fetch, summaries, fid, lo, hi, buckets)
    if sample and not snap:
        rows = await fetch(_SAMPLE, {**bounds, "n": buckets, "w": (hi - lo) / buckets})
        return msgspec.structs.replace(raw_buckets(run, path, x, lo, hi, rows), raw=False, sampled=True)
    rows = await group(fid, x, lo, hi, buckets, snap)
    return msgspec.structs.replace(grouped_buckets(run, path, x, lo, hi, rows), snapped=snap)


def group_values(fid: int, lo: float, hi: float, n: int) -> dict[str, Any]:
    """Parameters of :func:`group_sql`."""
    return {"f": fid, "a": lo, "b": hi, "s": scale(lo, hi, n), "m": n - 1}
