"""The open points frame of an operation log writer, and the call made once per logged point.

:class:`HotFrame` is the base of :class:`~neptune_sync.oplog.writer.OpLogWriter`: it holds the
state a point needs (the active segment's bytes, the open points frame, the sequence number) and
``append_float``, which adds a point to the open frame when that frame takes it. Everything else
(a new series, a full frame, a float step, a point outside the frame's time window, another thread
holding the writer's turn) goes to the writer's ``_append_float_general``. The C build also lays
an operation's frame (``_append_op``) when it fits the active segment and no page release is due;
the Python build leaves every operation to the writer's ``_append_op_general``.

Two builds, the same bytes: the C extension ``_hotframe`` (built at install when a compiler and
zlib are there) and :class:`PyHotFrame` below. ``NEPTUNE_SYNC_PURE_PYTHON=1`` in the environment
selects the Python build; :data:`BUILD` names the one in use. tests/oplog/test_hotframe.py writes
the same points through both and compares the segments byte for byte.

Fields (one attribute each, shared by both builds):
  ``_turn``        the writer's mutex (:mod:`.turn`)
  ``_buf``         the active segment's bytes (an mmap or a bytearray), None between segments
  ``_end``         first free byte of the segment
  ``_limit``       a point starting at or past it does not fit the open frame (0: no open frame)
  ``_frame``       offset of the open points frame, where its commit word is (-1: none)
  ``_seq``         the last sequence number used
  ``_open_path``   the series of the open single-series frame ("" if none)
  ``_open_table``  the path table of the open multi-series frame (path -> index), or None
  ``_base_ts``     the open frame's timestamp: points store their offset from it in microseconds
  ``_crc``         crc32 of the open frame's body so far
  ``_float_path``  the series of the open float-step frame ("" if none)
  ``_segment_size`` bytes of the active segment frames may use (its end frame's reserve included)
  ``_release_at``  a frame laid at or past this offset goes through the writer, which tells the
                   segment (page release, :meth:`.segment.Segment.after_frame`)
  ``closed``       the writer takes no more writes
"""

from __future__ import annotations

import math
import os
import struct

from . import framing as fr

_PACK_INT_STEP = fr.POINT_INT_STEP.pack
_INT_STEP_POINT = fr.POINT_INT_STEP.size
_PACK_MULTI = fr.POINT_MULTI.pack
_floor = math.floor  # a third of int()'s cost for a float; a negative offset then fails to pack
_StructError = struct.error


class PyHotFrame:
    """The Python build of the hot path (the module docstring says what each field is)."""

    __slots__ = (
        "_turn",
        "_buf",
        "_end",
        "_limit",
        "_frame",
        "_seq",
        "_open_path",
        "_open_table",
        "_base_ts",
        "_crc",
        "_float_path",
        "_segment_size",
        "_release_at",
        "closed",
    )

    def append_float(self, path: str, step: float, value: float, ts: float) -> int:
        """Append one point of a float series; returns its sequence number."""
        turn = self._turn
        try:
            del turn[-1]
        except IndexError:  # another thread is writing: the general path waits for the turn
            return self._append_float_general(path, step, value, ts)
        try:
            pos = self._end
            if pos < self._limit:
                point = None
                try:  # struct.error: a step that is not a u32 int, a time outside the frame's window
                    if path == self._open_path:
                        point = _PACK_INT_STEP(step, _floor((ts - self._base_ts) * 1e6), value)
                    else:
                        table = self._open_table
                        if table is not None and path in table:
                            point = _PACK_MULTI(table[path], step, _floor((ts - self._base_ts) * 1e6), value)
                except _StructError:
                    pass
                if point is not None:
                    return self._grow(point)  # the subclass's: the point, then the frame's commit word
        finally:
            turn.append(True)
        return self._append_float_general(path, step, value, ts)  # the subclass's

    def _append_op(self, data: bytes, n: int, ts: float) -> int:
        """Lay the frame of an encoded operation taking ``n`` sequence numbers; returns the last."""
        return self._append_op_general(data, n, ts)  # the subclass's; the C build lays it itself


def _select() -> tuple[type, str]:
    if os.environ.get("NEPTUNE_SYNC_PURE_PYTHON") != "1":
        try:
            from ._hotframe import HotFrame as CHotFrame
        except ImportError:  # built without a compiler or zlib: the Python build
            pass
        else:
            return CHotFrame, "c"
    return PyHotFrame, "python"


HotFrame, BUILD = _select()
