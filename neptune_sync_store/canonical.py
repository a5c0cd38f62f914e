"""One stored form for numbers that are equal but not identical: -0.0 is stored as 0.0.

SQLite writes a REAL column's integral values as integers, so -0.0 comes back as 0.0, while
PostgreSQL keeps the sign. -0.0 == 0.0, so nothing a reader compares changes, and rewriting the
sign before storage makes both backends hold the same bytes (docs/sync-protocol.md, rule 7).
Only the floats that land in numeric columns are rewritten: entry and point timestamps, series
steps and float values, and float field values.
"""

from __future__ import annotations

import msgspec

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchRequest

_SERIES = (ops.LogFloats, ops.LogStrings, ops.LogFiles)
# -0.0 as msgpack float64 and float32: a body without either holds no -0.0 (a match inside another
# value only costs the rewrite below, which changes nothing but zeros).
_NEGATIVE_ZERO = (b"\xcb\x80" + b"\x00" * 7, b"\xca\x80" + b"\x00" * 3)


def without_negative_zero(req: BatchRequest, body: bytes) -> BatchRequest:
    """``req`` (decoded from ``body``) with every -0.0 that reaches a numeric column made 0.0."""
    # the usual case: byte searches of the body, no per-point work; the 2-byte prefix (type, then a
    # sign bit with a zero exponent) is rare in a body, and a short needle is searched fastest
    if not any(pattern[:2] in body and pattern in body for pattern in _NEGATIVE_ZERO):
        return req
    return msgspec.structs.replace(req, entries=[_canonical(e) for e in req.entries])


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
