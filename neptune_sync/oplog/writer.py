"""The operation-log writer: one per process and run, appending frames to its own segments.

Design (docs/oplog-format.md):
- Each writer owns its segment files ``<writer_id>-<index>.seg`` in the run's ``segments/`` dir;
  nobody else writes them. Other processes logging to the same run (DDP ranks, a resumed run)
  get their own writer id. A forked child drops the parent's writer and opens its own on its
  first write, so it never writes into the parent's mapping (:mod:`.forks`).
- ``durability="mmap"`` (default): segments are preallocated (a full disk fails at rotation with
  an error instead of SIGBUS later; a nearly full one gets smaller segments) and mapped; a call
  has returned only after its frame and commit word are in the mapping, and the kernel keeps
  those pages when the process dies, so SIGKILL loses no returned call. ``fsync()`` makes them
  survive power loss. ``durability="buffered"``: for filesystems where shared mappings are unsafe
  (NFS, FUSE); frames reach the file on ``flush()`` (:mod:`.segment`).
- Consecutive float points share one growing points frame (:mod:`.points`): 16 bytes a point,
  18 while several series interleave.
- Only complete segments are truncated to their used length, after their end frame (which names
  the next segment's first sequence number: readers tell a cut from the end of the log); every
  segment keeps room for it. The writer holds an exclusive ``flock`` on its active segment while
  it lives, which tells readers the tail may still grow.

The parts: this module is the facade (sequence numbers, points frames, rotation); :mod:`.hotframe`
is its base, the open points frame and the call made per point (in C where it was built);
:mod:`.turn` is its mutex; :mod:`.segment` creates, fills and finishes segment files;
:mod:`.points` lays out points frames; :mod:`.fsyncs` keeps finished segments until the next fsync.
"""

from __future__ import annotations

import functools
import logging
import math
import mmap
import os
import socket
import time
import uuid
import zlib
from pathlib import Path

from ..exceptions import LoggingDisabledError
from ..wire.ops import Op, encode_op
from . import framing as fr
from .forks import release_in_child
from .fsyncs import PendingFsyncs, fsync_all
from .hotframe import HotFrame
from .points import RecentSeries, as_int_step, new_frame, series_in_points
from .segment import COMMIT_PACK, MapSegment, Segment, open_segment
from .turn import new_turn, take

logger = logging.getLogger("neptune_sync")

DEFAULT_SEGMENT_SIZE = 16 << 20
# A writer's first segment; each next one doubles, up to its segment size. A short run (a sweep's
# trial, a run that only records its parameters) then preallocates and trims 1 MiB, not 16.
FIRST_SEGMENT_SIZE = 1 << 20

_crc32 = zlib.crc32


def new_writer_id() -> str:
    return uuid.uuid4().hex[:16]


class OpLogWriter(HotFrame):
    """Append operations to a run's log. Thread-safe; every method returns after the data is
    in the segment (mmap mode) or in the write buffer (buffered mode).

    Raises :class:`LoggingDisabledError` when the log cannot be written (disk full, I/O error);
    the caller decides whether that reaches training code.
    """

    __slots__ = (  # those of the hot path are HotFrame's
        "_points_at",
        "_recent",
        "_segment",
        "_wanted_size",
        "_next_size",
        "_unfinished",
        "_index",
        "_map",
        "_identity",
        "_notices",
        "_fsyncs",
        "_forked",
        "durability",
        "segments_dir",
        "writer_id",
        "__weakref__",
    )

    def __init__(
        self,
        segments_dir: Path,
        *,
        project: str,
        run_key: str,
        run_id: str = "",
        custom_run_id: str = "",
        durability: str = "mmap",
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        writer_id: str | None = None,
        after: float | None = None,
        map_segment: MapSegment = mmap.mmap,
    ) -> None:
        """``after`` is the writer's causal floor, recorded in every segment header (a resumed run's:
        the largest order time of the log it resumed from). ``map_segment(fd, size)`` maps a segment
        in mmap durability (a seam for tests that watch every store into the mapping)."""
        if durability not in ("mmap", "buffered"):
            raise ValueError(f"durability must be 'mmap' or 'buffered', not {durability!r}")
        self.segments_dir = Path(segments_dir)
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        self.durability = durability
        self.writer_id = writer_id or new_writer_id()
        self._identity = dict(
            project=project, run_key=run_key, run_id=run_id, custom_run_id=custom_run_id, after=after
        )
        self._wanted_size = self._segment_size = segment_size
        self._next_size = min(FIRST_SEGMENT_SIZE, segment_size)
        self._map = map_segment
        self._turn = new_turn()
        self._notices: list[str] = []  # warnings raised holding the turn, logged once it is given back
        self._index = -1
        self._segment: Segment | None = None
        # detached segments not finished yet: (segment, end, open points frame, next seq)
        self._unfinished: list[tuple[Segment, int, int, int]] = []
        self._buf: mmap.mmap | bytearray | None = None  # the active segment's bytes
        self._end = 0  # first free byte (frames are laid from here, aligned)
        self._seq = 0  # last sequence number used
        self._fsyncs = PendingFsyncs()
        self._recent = RecentSeries()
        self._base_ts = 0.0  # the open points frame's timestamp
        self._points_at = 0  # where its points start
        self._close_points_frame()
        self.closed = False
        self._forked = False
        turn = self._turn
        take(turn)
        try:
            self._start_segment()
        finally:
            turn.append(True)
        release_in_child(self)

    # ------------------------------------------------------------------ public API
    @property
    def last_seq(self) -> int:
        """Sequence number of the last operation or point written."""
        return self._seq

    def append(self, op: Op, ts: float | None = None) -> int:
        """Append one operation; returns its last sequence number."""
        points = getattr(op, "points", None)
        n = len(points) if points else 1  # a series op without points still takes one seq
        return self._append_op(encode_op(op), n, time.time() if ts is None else ts)

    def _append_op_general(self, data: bytes, n: int, ts: float) -> int:
        """Lay the frame of an encoded operation taking ``n`` sequence numbers, rotating first if
        it does not fit (HotFrame._append_op lays it itself when it fits the active segment)."""
        turn = self._turn
        take(turn)
        try:
            if self.closed:
                self._check_open()
            seq = self._seq + 1
            if self._frame >= 0:
                self._close_points_frame()
            last = seq + n - 1
            self._write_frame(fr.encode_op_body(seq, ts, data), last)
        finally:
            turn.append(True)
        if self._notices:
            self._emit_notices()
        return last

    # append_float(path, step, value, ts) -> seq, the hot path, is HotFrame's (hotframe.py): it adds
    # a point to the open points frame when that frame takes it, and calls this for every other point.
    # HotFrame._append_op likewise lays an op frame that fits the active segment.
    def _append_float_general(self, path: str, step: float, value: float, ts: float) -> int:
        """Append one point of a float series, whichever frame it needs; returns its sequence number.
        ``step`` and ``ts`` must be finite (the client validates them)."""
        turn = self._turn
        take(turn)
        try:
            seq = self._append_float_slow(path, step, value, ts)
        finally:
            turn.append(True)
        if self._notices:
            self._emit_notices()
        return seq

    def flush(self) -> None:
        """Buffered mode: write what is pending to the file. mmap mode: nothing to do."""
        turn = self._turn
        take(turn)
        try:
            if self._segment is not None:
                try:
                    self._segment.flush(self._end, self._frame)
                except OSError as exc:
                    raise LoggingDisabledError(f"writing the operation log failed: {exc}") from exc
        finally:
            turn.append(True)

    def fsync(self) -> None:
        """Make everything written so far survive power loss, in this segment and in the ones
        finished since the last fsync. The fsyncs run without holding the writer's turn."""
        turn = self._turn
        take(turn)
        try:
            paths = self._fsyncs.take()
            if self._segment is not None:
                try:
                    self._segment.flush(self._end, self._frame)
                except OSError as exc:
                    raise LoggingDisabledError(f"writing the operation log failed: {exc}") from exc
                paths.append(self._segment.path)
        finally:
            turn.append(True)
        fsync_all(paths)

    def close(self) -> None:
        """Flush, trim the active segment to its used length, fsync it and release it."""
        turn = self._turn
        take(turn)
        try:
            if self.closed and self._segment is None and not self._unfinished:
                return  # closed already; an interrupted close() is done again, for what it left
            self.closed = True
            try:
                if self._segment is not None:
                    self._detach()
                self._finish_unfinished(continues=False)
            finally:
                fsync_all(self._fsyncs.take())  # the active segment last
        finally:
            turn.append(True)

    # ------------------------------------------------------------------ points
    def _append_float_slow(self, path: str, step: float, value: float, ts: float) -> int:
        """Every case the hot path does not take: float steps, a new series, a full frame."""
        point = b""
        off_us = math.floor((ts - self._base_ts) * 1e6)
        room = self._end < self._limit and 0 <= off_us <= fr.MAX_TS_OFFSET_US
        if room:
            int_step = as_int_step(step)
            if self._open_table is not None:
                index = self._open_table.get(path)
                if index is not None and int_step is not None:
                    point = fr.POINT_MULTI.pack(index, int_step, off_us, value)
            elif path == self._open_path and int_step is not None:
                point = fr.POINT_INT_STEP.pack(int_step, off_us, value)
            elif path == self._float_path:
                point = fr.POINT_FLOAT_STEP.pack(step, off_us, value)
        if not point:
            if not room and self._frame >= 0:  # the open frame is full (or its time span is)
                self._recent.keep(self._series_in_open_frame())
            return self._new_points_frame(path, step, value, ts)
        return self._grow(point)

    def _grow(self, point: bytes) -> int:
        """Add a point to the open points frame: its bytes, then the frame's new commit word."""
        pos = self._end
        end = pos + len(point)
        buf, frame = self._buf, self._frame
        crc = _crc32(point, self._crc)
        word = COMMIT_PACK(end - frame - 8, crc)
        # statements only from here: an interrupt (it runs after a call) leaves all of it or none
        buf[pos:end] = point
        buf[frame : frame + 8] = word
        self._crc, self._end = crc, end
        self._seq = seq = self._seq + 1
        return seq

    def _new_points_frame(self, path: str, step: float, value: float, ts: float) -> int:
        self._check_open()
        seq = self._seq + 1
        frame = new_frame(path, step, value, ts, seq, self._recent)
        crc = zlib.crc32(frame.body)
        self._close_points_frame()
        offset = self._write_frame(frame.body, seq)
        # Statements only from here (an interrupt runs after a call): until the last of them the
        # frame is laid but not open, and the next point opens a frame of its own.
        size = frame.point_size
        self._points_at = offset + 8 + len(frame.body) - size
        if frame.kind == fr.KIND_FLOATS_INT_STEP:
            self._open_path = path
        elif frame.kind == fr.KIND_FLOATS_FLOAT_STEP:
            self._float_path = path
        self._open_table = frame.table
        self._base_ts = ts
        self._crc = crc
        # a point may start below _limit: the frame holds at most ``frame.most`` points and never
        # crosses the end frame's reserve
        capacity_end = self._end + (frame.most - 1) * size
        segment_end = self._segment_size - fr.END_RESERVE
        self._limit = (capacity_end if capacity_end < segment_end else segment_end) - size + 1
        self._frame = offset
        return seq

    def _series_in_open_frame(self) -> list[str]:
        """The integer-step series with points in the open frame."""
        if self._open_table is not None:
            return series_in_points(self._open_table, self._buf[self._points_at : self._end])
        return [self._open_path] if self._open_path else []

    def _close_points_frame(self) -> None:
        """The open points frame takes no more points; later frames go after it."""
        self._frame, self._limit, self._open_path, self._float_path, self._open_table = -1, 0, "", "", None

    # ------------------------------------------------------------------ frames and segments
    def _write_frame(self, body: bytes, last_seq: int) -> int:
        """Lay a complete frame at the next aligned offset, its records ending at ``last_seq``;
        returns its offset."""
        need = 8 + len(body)
        offset = (self._end + 7) & ~7  # fr.align8, inlined
        if offset + need > self._segment_size - fr.END_RESERVE:  # also while no segment is active
            if need + 4096 > self._wanted_size:
                raise LoggingDisabledError(f"operation of {len(body)} bytes is larger than a segment")
            while self._next_size < need + 4096:  # the next segment must take it (and its header)
                self._next_size = min(self._next_size * 2, self._wanted_size)
            self._rotate()
            offset = fr.align8(self._end)
            if offset + need > self._segment_size - fr.END_RESERVE:  # a small segment: disk nearly full
                raise LoggingDisabledError(f"no room on the disk for an operation of {len(body)} bytes")
        buf = self._buf
        word = COMMIT_PACK(need - 8, _crc32(body))
        # statements only until the sequence number is taken: the frame and its seqs go together
        buf[offset + 8 : offset + need] = body
        buf[offset : offset + 8] = word
        self._end = offset + need
        self._seq = last_seq
        self._release_at = self._segment.after_frame(offset)
        return offset

    def _start_segment(self) -> None:
        """Make the next segment the active one (none is active: see :meth:`_detach`)."""
        index = self._index + 1
        path = self.segments_dir / fr.segment_name(self.writer_id, index)
        wanted = self._next_size
        try:
            segment = open_segment(
                path,
                functools.partial(self._header_bytes, index),
                mapped=self.durability == "mmap",
                wanted_size=wanted,
                map_segment=self._map,
            )
        except LoggingDisabledError:
            self.closed = True
            raise
        # Statements only: an interrupt right after open_segment returned leaves the index
        # unused, and the next try renames a new segment of that name over this one.
        shorter = segment.size < wanted and segment.size != self._segment_size
        doubled = wanted * 2
        self._next_size = doubled if doubled < self._wanted_size else self._wanted_size
        self._index = index
        self._release_at = 0  # the first frame goes through _write_frame, which asks the segment
        self._segment_size = segment.size
        self._segment, self._buf, self._end = segment, segment.buf, segment.start
        if shorter:
            self._notices.append(
                f"neptune-sync: the disk is nearly full; log segment {path} gets {segment.size >> 10} KiB "
                f"instead of {wanted >> 10} KiB"
            )

    def _header_bytes(self, index: int, size: int) -> bytes:
        header = fr.SegmentHeader(
            index=index,
            writer_id=self.writer_id,
            first_seq=self._seq + 1,
            created=time.time(),
            pid=os.getpid(),
            hostname=socket.gethostname(),
            size=size,
            **self._identity,
        )
        return fr.encode_segment_header(header)

    def _rotate(self) -> None:
        """Continue in the next segment. It exists (renamed into place) before this one gets its end
        frame saying the writer continues, so a reader that sees that frame can tell a missing next
        segment from one not created yet.

        A KeyboardInterrupt can land after any call (a Ctrl-C in a notebook, where the run goes on),
        so each step leaves a state the next write completes: the active segment is detached into
        ``_unfinished`` in statements, a write with no active segment starts one, and the
        unfinished segments are finished after it."""
        if self._segment is not None:
            self._detach()
        try:
            self._start_segment()
        except LoggingDisabledError:
            self._finish_unfinished(continues=False)
            raise
        self._finish_unfinished(continues=True)

    def _detach(self) -> None:
        """Move the active segment to ``_unfinished``; none is active after. Statements only (an
        interrupt runs after a call): no frame fits a segment of size 0, so the next write starts one."""
        self._unfinished += [(self._segment, self._end, self._frame, self._seq + 1)]
        self._segment = self._buf = None
        self._end = self._segment_size = 0
        self._frame, self._limit, self._open_path, self._float_path, self._open_table = -1, 0, "", "", None

    def _finish_unfinished(self, continues: bool) -> None:
        """Flush each detached segment, then give it its end frame, trim and unlock it, oldest
        first; they wait in the pending fsyncs. The last says whether the writer ``continues``
        (in the active segment); the others all do.

        A segment leaves ``_unfinished`` only once finished: an interrupt (at any call) leaves it
        there, and the next rotation or close() starts over with it. Both steps may be redone: a
        flush writes the same bytes again, and a finished segment's ``finish`` does nothing."""
        while self._unfinished:
            segment, end, frame, next_seq = self._unfinished[0]
            try:
                segment.flush(end, frame)
            except OSError as exc:
                self._unfinished = self._unfinished[1:]
                self.closed = True  # the segment cannot take its data: nothing more goes in
                segment.release()
                raise LoggingDisabledError(f"cannot complete log segment: {exc}") from exc
            try:
                segment.finish(end, next_seq, continues or len(self._unfinished) > 1)
            except LoggingDisabledError:
                self._unfinished = self._unfinished[1:]
                self.closed = True  # the segment is gone from under the writer: nothing more goes in
                raise
            self._fsyncs.add(segment.path)  # an interrupt after it: a second fsync of the path, harmless
            self._unfinished = self._unfinished[1:]

    # ------------------------------------------------------------------ state
    def _check_open(self) -> None:
        if self._forked:
            raise LoggingDisabledError(
                "this operation log writer belongs to the parent process; a forked child must open "
                "its own writer (neptune_sync.Run does this on the child's first write)"
            )
        if self.closed:
            raise LoggingDisabledError("the operation log writer is closed")

    def _emit_notices(self) -> None:
        """Log the warnings gathered holding the turn. Never log while holding it: a handler (console
        capture, a logging integration) may write to this very run and would wait for the turn."""
        notices, self._notices = self._notices, []
        for message in notices:
            logger.warning("%s", message)

    def _after_fork_in_child(self) -> None:
        """In a forked child: let go of the parent's mapping without touching its contents."""
        self._turn = new_turn()  # first: a parent thread may have held it at fork time
        self._forked = self.closed = True
        self._close_points_frame()
        segment, self._segment, self._buf = self._segment, None, None
        unfinished, self._unfinished = self._unfinished, []
        self._fsyncs.discard()  # the child's copies; the parent keeps its own
        for dropped in [segment, *(entry[0] for entry in unfinished)]:
            if dropped is not None:
                dropped.drop()
