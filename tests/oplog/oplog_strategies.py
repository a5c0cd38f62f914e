"""Hypothesis strategies for logging calls, and a helper that writes them with a real writer."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from neptune_sync.wire import ops

T0 = 1_700_000_000.0
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
paths = st.sampled_from(["a", "train/loss", "x/é/y"])
texts = st.text(max_size=12)
steps = st.one_of(st.integers(0, 2**32 + 5), st.floats(-1e6, 1e12, allow_nan=False))
# how far a point's timestamp is from the previous call's: small, or a jump past a frame's ~71 min
ts_moves = st.one_of(st.floats(0, 2.0), st.just(4295.0), st.floats(-1.0, 0.0))

string_points = st.lists(st.builds(ops.StringPoint, steps, texts, st.floats(T0, T0 + 1e5)), max_size=3).map(
    tuple
)

single_ops = st.one_of(
    st.builds(ops.AssignFloat, paths, finite),
    st.builds(ops.AssignInt, paths, st.integers(-(2**63), 2**63 - 1)),
    st.builds(ops.AssignBool, paths, st.booleans()),
    st.builds(ops.AssignString, paths, texts),
    st.builds(ops.AddStrings, paths, st.lists(texts, max_size=3).map(tuple)),
    st.builds(ops.LogStrings, paths, string_points),
    st.builds(ops.DeleteField, paths),
)

points = st.tuples(st.just("point"), paths, steps, finite, ts_moves)
calls = st.lists(st.one_of(points, points, st.tuples(st.just("op"), single_ops)), min_size=1, max_size=40)


class ModelLogger:
    """Logs calls with a writer and keeps the model: one ``(seq, record)`` per sequence number, as
    oplog_helpers.records_of reads them back. Checks every seq the writer returns."""

    def __init__(self, writer) -> None:
        self.writer = writer
        self.model: list[tuple[int, object]] = []
        self.ts = T0

    def log(self, call: tuple) -> None:
        seq = len(self.model) + 1
        if call[0] == "point":
            _, path, step, value, move = call
            self.ts += move
            assert self.writer.append_float(path, step, value, self.ts) == seq
            self.model.append((seq, (path, ops.FloatPoint(step, value, self.ts))))
            return
        op = call[1]
        points = getattr(op, "points", ())
        n = max(len(points), 1)  # a series op without points still takes one seq
        assert self.writer.append(op, self.ts) == seq + n - 1, f"{op} after seq {seq - 1}"
        if points:
            self.model.extend((seq + i, (op.path, p)) for i, p in enumerate(points))
        else:
            self.model.append((seq, (self.ts, op)))


def write_calls(writer, calls_: list[tuple]) -> list[tuple[int, object]]:
    """Log ``calls_`` with ``writer``; returns the model (see ModelLogger)."""
    logger = ModelLogger(writer)
    for call in calls_:
        logger.log(call)
    return logger.model


def segment_of(segments: Path) -> Path:
    (path,) = sorted(segments.glob("*.seg"))
    return path
