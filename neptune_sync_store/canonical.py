"""One stored form for numbers that are equal but not identical: -0.0 is stored as 0.0.

SQLite writes a REAL column's integral values as integers, so -0.0 comes back as 0.0, while
PostgreSQL keeps the sign. -0.0 == 0.0, so nothing a reader compares changes, and rewriting the
sign before storage makes both backends hold the same bytes (docs/sync-protocol.md, rule 7).
Only the floats that land in numeric columns are rewritten: entry and point timestamps, series
steps and float values, and float field values.
"""

from __future__ import annotations

import math
import operator

import msgspec

from neptune_sync.oplog import ops
from neptune_sync.oplog.framing import Entry
from neptune_sync.protocol import BatchRequest

_SERIES = (ops.LogFloats, ops.LogStrings, ops.LogFiles)
_step = operator.attrgetter("step")
_ts = operator.attrgetter("ts")
_value = operator.attrgetter("value")


def without_negative_zero(req: BatchRequest) -> BatchRequest:
    """``req`` with every -0.0 that reaches a numeric column made 0.0 (``req`` itself if none)."""
    if not any(map(_has_negative_zero, req.entries)):
        return req
    return msgspec.structs.replace(req, entries=[_canonical(e) for e in req.entries])


def _is_negative_zero(x: float) -> bool:
    return x == 0.0 and math.copysign(1.0, x) < 0


def _any_negative_zero(values: list[float]) -> bool:
    return 0.0 in values and any(map(_is_negative_zero, values))  # `in` is a C loop; -0.0 == 0.0


def _has_negative_zero(entry: Entry) -> bool:
    op = entry.op
    if _is_negative_zero(entry.ts) or (isinstance(op, ops.AssignFloat) and _is_negative_zero(op.value)):
        return True
    if not isinstance(op, _SERIES):
        return False
    floats = list(map(_step, op.points)) + list(map(_ts, op.points))
    if isinstance(op, ops.LogFloats):
        floats += map(_value, op.points)
    return _any_negative_zero(floats)


def _zero(x: float) -> float:
    return 0.0 if x == 0.0 else x


def _canonical(entry: Entry) -> Entry:
    op = entry.op
    if isinstance(op, ops.AssignFloat):
        op = ops.AssignFloat(op.path, _zero(op.value))
    elif isinstance(op, ops.LogFloats):
        op = ops.LogFloats(
            op.path, tuple(ops.FloatPoint(_zero(p.step), _zero(p.value), _zero(p.ts)) for p in op.points)
        )
    elif isinstance(op, _SERIES):
        points = tuple(msgspec.structs.replace(p, step=_zero(p.step), ts=_zero(p.ts)) for p in op.points)
        op = type(op)(op.path, points)
    return Entry(entry.seq, _zero(entry.ts), op)
