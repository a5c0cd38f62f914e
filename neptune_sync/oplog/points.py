"""Float points in frames (docs/oplog-format.md, kinds 2-4): which kind a new points frame gets, its
prelude and first point, and the path table of multi-series frames.

Consecutive points of one series with whole steps share a single-series frame (16 bytes a point);
once several series interleave, a multi-series frame with a table of the recently logged series
takes them all (18 bytes a point); a fractional step gets a float-step frame of its own series.

"Recently logged" (:class:`RecentSeries`): the table grows by each series that arrives while
another's frame is open, and when a frame fills up it shrinks to the series that frame holds. So
interleaved series keep sharing frames, and a loop that logs one series at full speed goes back to
single-series frames one or two frames after an occasional point of another series (a hardware
sample), instead of paying 2 bytes and a table lookup a point for the rest of the run.
"""

from __future__ import annotations

from typing import NamedTuple

from . import framing as fr

MAX_POINTS_PER_FRAME = 1024  # the unit of damage for float series: at most this many points
MAX_POINTS_PER_MULTI_FRAME = 4096  # more for multi-series frames: their path table is larger
MAX_TABLE_PATHS = 256  # series in one multi-series frame's path table (an index fits one byte)
MAX_TABLE_BYTES = 8192  # bytes of that table


class NewFrame(NamedTuple):
    """A points frame to open: its body so far (prelude and first point) and what later points need."""

    body: bytes
    kind: int
    table: dict[str, int] | None  # multi-series frames: series path -> index in the table
    point_size: int
    most: int  # the most points the frame takes


class RecentSeries:
    """The series logged lately, in first-seen order: the path table of the next multi-series frame.
    Past the table's limits it starts over; :meth:`keep` narrows it to the series a full frame held."""

    __slots__ = ("_paths", "_bytes")

    def __init__(self) -> None:
        self._paths: dict[str, int] = {}
        self._bytes = 0

    def table_for(self, path: str) -> dict[str, int] | None:
        """A path table holding ``path``, or None while only one series is being logged."""
        paths = self._paths
        if path not in paths:
            size = len(path.encode("utf-8")) + 2
            if len(paths) >= MAX_TABLE_PATHS or self._bytes + size > MAX_TABLE_BYTES:
                paths.clear()
                self._bytes = 0
            paths[path] = len(paths)
            self._bytes += size
        return dict(paths) if len(paths) > 1 else None

    def keep(self, paths: list[str]) -> None:
        """Only ``paths`` are being logged (the series of a frame that filled up)."""
        self._paths = {path: index for index, path in enumerate(paths)}
        self._bytes = sum(len(path.encode("utf-8")) + 2 for path in paths)


def series_in_points(table: dict[str, int], points: bytes) -> list[str]:
    """The series of ``table`` that have a point among ``points`` (whole kind 4 points), in table
    order. A point starts with its u16 table index, little-endian; with at most 256 paths the low
    byte is the whole index, so every point's first byte is all there is to read."""
    indices = set(points[:: fr.POINT_MULTI.size])
    return [path for path, index in table.items() if index in indices]


def new_frame(path: str, step: float, value: float, ts: float, seq: int, recent: RecentSeries) -> NewFrame:
    """The frame for a point that no open frame takes: single-series while one series is being
    logged, multi-series once several interleave, float steps for a step that is not a u32."""
    int_step = as_int_step(step)
    if int_step is None:
        point = fr.POINT_FLOAT_STEP.pack(step, 0, value)
        prelude = fr.encode_points_prelude(fr.KIND_FLOATS_FLOAT_STEP, seq, ts, path.encode("utf-8"))
        return NewFrame(prelude + point, fr.KIND_FLOATS_FLOAT_STEP, None, len(point), MAX_POINTS_PER_FRAME)
    table = recent.table_for(path)
    if table is None:
        point = fr.POINT_INT_STEP.pack(int_step, 0, value)
        prelude = fr.encode_points_prelude(fr.KIND_FLOATS_INT_STEP, seq, ts, path.encode("utf-8"))
        return NewFrame(prelude + point, fr.KIND_FLOATS_INT_STEP, None, len(point), MAX_POINTS_PER_FRAME)
    point = fr.POINT_MULTI.pack(table[path], int_step, 0, value)
    prelude = fr.encode_multi_prelude(seq, ts, [p.encode("utf-8") for p in table])
    return NewFrame(prelude + point, fr.KIND_FLOATS_MULTI, table, len(point), MAX_POINTS_PER_MULTI_FRAME)


def as_int_step(step: float) -> int | None:
    """The step as a u32 if it is a whole number in range, else None (it needs a float step)."""
    if isinstance(step, int):
        return int(step) if 0 <= step <= fr.MAX_INT_STEP else None
    if step.is_integer() and 0 <= step <= fr.MAX_INT_STEP:
        return int(step)
    return None
