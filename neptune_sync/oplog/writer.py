"""The operation-log writer: one per process and run, appending frames to its own segments.

Design (docs/oplog-format.md):
- Each writer owns its segment files ``<writer_id>-<index>.seg`` in the run's ``segments/`` dir;
  nobody else writes them. Other processes logging to the same run (DDP ranks, a resumed run)
  get their own writer id. A forked child drops the parent's writer and opens its own on its
  first write, so it never writes into the parent's mapping.
- ``durability="mmap"`` (default): segments are preallocated (``posix_fallocate``, so a full disk
  fails at rotation with an error instead of SIGBUS later) and mapped; when the disk has no room
  for a whole segment, a smaller one (down to ``MIN_SEGMENT_SIZE``) keeps what still fits; a call has returned only
  after its frame and commit word are in the mapping, and the kernel keeps those pages when the
  process dies, so SIGKILL loses no returned call. ``fsync()`` (msync) makes them survive power loss.
- ``durability="buffered"``: for filesystems where shared mappings are unsafe (NFS, FUSE). Frames
  go to an in-memory copy of the segment and reach the file on ``flush()``; a crash loses what was
  logged since the last flush.
- Consecutive float points of one series share one growing frame: 16 bytes per point.
- Only complete segments are truncated to their used length, after their end frame (which
  names the next segment's first sequence number: readers tell a cut from the end of the log);
  every segment keeps room for it, so a finished segment is always shorter than its
  preallocation. The writer holds an exclusive ``flock`` on its active segment while it lives,
  which tells readers the tail may still grow.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import mmap
import os
import socket
import struct
import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..exceptions import LoggingDisabledError
from . import framing as fr
from .ops import Op, encode_op

logger = logging.getLogger("neptune_sync")

DEFAULT_SEGMENT_SIZE = 16 << 20
MIN_SEGMENT_SIZE = 64 << 10  # the smallest preallocation tried when the disk is nearly full
MAX_POINTS_PER_FRAME = 1024  # the unit of damage for float series: at most this many points
MAX_POINTS_PER_MULTI_FRAME = 4096  # more for multi-series frames: their path table is larger
MAX_TABLE_PATHS = 256  # series in one multi-series frame's path table
MAX_TABLE_BYTES = 8192  # bytes of that table
RELEASE_EVERY = 2 << 20  # mmap mode: give finished pages back every this many bytes

_PACK_INT_STEP_INTO = fr.POINT_INT_STEP.pack_into
_PACK_MULTI_INTO = fr.POINT_MULTI.pack_into
# The commit word is stored as one 8-byte slice copy of the packed bytes. Not pack_into: it zeroes
# the target and then writes the fields one by one, so a SIGKILL inside it can leave a commit word
# of (new length, crc 0), which loses the whole growing frame (found by tests/client/test_kill.py).
_COMMIT_PACK = fr.COMMIT.pack
_crc32 = zlib.crc32


class _Segment(NamedTuple):
    """A segment the writer has left, still to be given its end frame and trimmed."""

    buf: mmap.mmap | bytearray
    fd: int
    end: int  # one past its last frame
    next_seq: int  # the first sequence number after it


class _SlowPath(Exception):
    """The point does not fit the open points frame: append it through the slow path."""


def new_writer_id() -> str:
    return uuid.uuid4().hex[:16]


class OpLogWriter:
    """Append operations to a run's log. Thread-safe; every method returns after the data is
    in the segment (mmap mode) or in the write buffer (buffered mode).

    Raises :class:`LoggingDisabledError` when the log cannot be written (disk full, I/O error);
    the caller decides whether that reaches training code.
    """

    # slots: the hot path reads and writes a handful of these per point
    __slots__ = (
        "__weakref__",
        "_buf",
        "_end",
        "_fd",
        "_flushed",
        "_flushed_frame",
        "_forked",
        "_identity",
        "_index",
        "_int_steps",
        "_lock",
        "_open_base_ts",
        "_open_crc",
        "_open_frame",
        "_open_path",
        "_open_table",
        "_point_size",
        "_recent",
        "_recent_bytes",
        "_released",
        "_limit",
        "_map",
        "_notices",
        "_segment_size",
        "_wanted_size",
        "_seq",
        "_unsynced",
        "closed",
        "durability",
        "segments_dir",
        "writer_id",
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
        map_segment: Callable[[int, int], mmap.mmap] = mmap.mmap,
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
        self._map = map_segment
        self._lock = threading.Lock()
        self._notices: list[str] = []  # warnings raised under the lock, logged once it is released
        self._index = -1
        self._fd = -1
        self._buf: mmap.mmap | bytearray | None = None
        self._end = 0  # first free byte (frames are laid from here, aligned)
        self._flushed = 0  # buffered mode: bytes already written to the file
        self._flushed_frame = -1  # buffered mode: the frame open at the last flush (it may grow)
        self._seq = 0  # last sequence number used
        self._unsynced: list[int] = []  # duplicated fds of finished segments not fsynced yet
        # The growing points frame: its offset (-1: none), series path, step kind, base timestamp,
        # body length and crc so far, and how many more points it may take (0: none).
        self._close_points_frame()
        self._open_path = ""
        self._open_table: dict[str, int] | None = None
        self._int_steps = True
        self._point_size = 0
        self._recent: dict[str, int] = {}  # series seen lately -> index in multi-series frames
        self._recent_bytes = 0
        self._open_base_ts = 0.0
        self._open_crc = 0
        self.closed = False
        self._forked = False
        with self._lock:
            self._start_segment()
        _live_writers.add(self)

    # ------------------------------------------------------------------ public API
    @property
    def last_seq(self) -> int:
        """Sequence number of the last operation or point written."""
        return self._seq

    def append(self, op: Op, ts: float | None = None) -> int:
        """Append one operation; returns its last sequence number."""
        data = encode_op(op)
        points = getattr(op, "points", None)
        n = len(points) if points else 1  # a series op without points still takes one seq
        with self._lock:
            self._check_open()
            seq = self._seq + 1
            body = fr.encode_op_body(seq, time.time() if ts is None else ts, data)
            self._close_points_frame()
            self._write_frame(body)
            self._seq = last = seq + n - 1
        if self._notices:
            self._emit_notices()
        return last

    def append_float(self, path: str, step: float, value: float, ts: float) -> int:
        """Append one point of a float series (the hot path); returns its sequence number.

        ``step`` and ``ts`` must be finite (the client validates them). The point joins the open
        points frame when that frame takes its series (its own, or one in its path table), its
        step kind, timestamp window and has room; otherwise a new frame is opened.
        """
        with self._lock:
            pos = self._end
            if pos < self._limit:
                buf = self._buf
                table = self._open_table
                try:  # struct.error: step not a u32 int, or ts outside the frame's window
                    if table is not None:
                        index = table.get(path)
                        if index is None:
                            raise _SlowPath
                        off_us = int((ts - self._open_base_ts) * 1e6)
                        _PACK_MULTI_INTO(buf, pos, index, step, off_us, value)
                    elif path == self._open_path and self._int_steps:
                        _PACK_INT_STEP_INTO(buf, pos, step, int((ts - self._open_base_ts) * 1e6), value)
                    else:
                        raise _SlowPath
                except (struct.error, _SlowPath):
                    buf[pos : pos + self._point_size] = bytes(self._point_size)  # undo a partial pack
                else:
                    # the point's bytes are in place; extending the crc and storing the commit word
                    # makes it part of the frame
                    end = pos + self._point_size
                    self._open_crc = crc = _crc32(buf[pos:end], self._open_crc)
                    frame = self._open_frame
                    buf[frame : frame + 8] = _COMMIT_PACK(end - frame - 8, crc)
                    self._end = end
                    self._seq = seq = self._seq + 1
                    return seq
        with self._lock:
            seq = self._append_float_slow(path, step, value, ts)
        if self._notices:
            self._emit_notices()
        return seq

    def _emit_notices(self) -> None:
        """Log the warnings gathered under the lock. Never log while holding it: a handler (console
        capture, a logging integration) may write to this very run and would wait on the lock."""
        notices, self._notices = self._notices, []
        for message in notices:
            logger.warning("%s", message)

    def flush(self) -> None:
        """Buffered mode: write what is pending to the file. mmap mode: nothing to do."""
        with self._lock:
            if self._buf is not None and self.durability == "buffered":
                try:
                    self._flush_buffer()
                except OSError as exc:
                    raise LoggingDisabledError(f"writing the operation log failed: {exc}") from exc

    def fsync(self) -> None:
        """Make everything written so far survive power loss, in this segment and in the ones
        finished since the last fsync.

        The fsyncs run without the writer's lock (on duplicated descriptors: on Linux an fsync
        also writes back the pages dirtied through the mapping), so a periodic fsync from another
        thread does not stall the training thread's appends.
        """
        with self._lock:
            fds, self._unsynced = self._unsynced, []
            try:
                if self._buf is not None:
                    if self.durability == "buffered":
                        self._flush_buffer()
                    fds.append(os.dup(self._fd))
            except OSError as exc:
                _close_all(fds)
                raise LoggingDisabledError(f"writing the operation log failed: {exc}") from exc
        try:
            for fd in fds:
                os.fsync(fd)
        except OSError as exc:
            raise LoggingDisabledError(f"fsync of the operation log failed: {exc}") from exc
        finally:
            _close_all(fds)

    def close(self) -> None:
        """Flush, fsync, trim the active segment to its used length and release it."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._finish_segment(self._detach(), fsync=True, continues=False)

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self._forked:
            raise LoggingDisabledError(
                "this operation log writer belongs to the parent process; a forked child must open "
                "its own writer (neptune_sync.Run does this on the child's first write)"
            )
        if self.closed:
            raise LoggingDisabledError("the operation log writer is closed")

    def _after_fork_in_child(self) -> None:
        """In a forked child: let go of the parent's mapping without touching its contents."""
        self._lock = threading.Lock()  # first: a parent thread may have held it at fork time
        self._forked = self.closed = True
        self._close_points_frame()
        buf, fd = self._buf, self._fd
        self._buf, self._fd = None, -1
        _close_all(self._unsynced)  # the child's copies; the parent keeps its own
        self._unsynced = []
        if isinstance(buf, mmap.mmap):
            # unmaps in the child only; if a parent thread had it exported, leave it mapped
            with contextlib.suppress(BufferError, ValueError, OSError):
                buf.close()
        if fd >= 0:
            os.close(fd)  # the parent's descriptor (and its flock) stays open

    def _append_float_slow(self, path: str, step: float, value: float, ts: float) -> int:
        """Every case the hot path does not take: float steps, a new series, a full frame."""
        pos = self._end
        point = b""
        if pos < self._limit:
            off_us = int((ts - self._open_base_ts) * 1e6)
            int_step = _as_int_step(step)
            if 0 <= off_us <= fr.MAX_TS_OFFSET_US:
                if self._open_table is not None:
                    index = self._open_table.get(path)
                    if index is not None and int_step is not None:
                        point = fr.POINT_MULTI.pack(index, int_step, off_us, value)
                elif path == self._open_path:
                    if self._int_steps and int_step is not None:
                        point = fr.POINT_INT_STEP.pack(int_step, off_us, value)
                    elif not self._int_steps:
                        point = fr.POINT_FLOAT_STEP.pack(step, off_us, value)
        if not point:
            return self._new_points_frame(path, step, value, ts)
        buf, end = self._buf, pos + len(point)
        buf[pos:end] = point
        self._open_crc = crc = _crc32(point, self._open_crc)
        frame = self._open_frame
        buf[frame : frame + 8] = _COMMIT_PACK(end - frame - 8, crc)
        self._end = end
        self._seq += 1
        return self._seq

    def _new_points_frame(self, path: str, step: float, value: float, ts: float) -> int:
        """Open a points frame for this point: single-series while one series is being logged,
        multi-series (with a table of the recently logged series) once several interleave."""
        self._check_open()
        seq = self._seq + 1
        int_step = _as_int_step(step)
        table = None
        if int_step is None:
            kind, point = fr.KIND_FLOATS_FLOAT_STEP, fr.POINT_FLOAT_STEP.pack(step, 0, value)
            prelude = fr.encode_points_prelude(kind, seq, ts, path.encode("utf-8"))
        else:
            table = self._recent_table(path)
            if table is None:
                kind, point = fr.KIND_FLOATS_INT_STEP, fr.POINT_INT_STEP.pack(int_step, 0, value)
                prelude = fr.encode_points_prelude(kind, seq, ts, path.encode("utf-8"))
            else:
                kind, point = fr.KIND_FLOATS_MULTI, fr.POINT_MULTI.pack(table[path], int_step, 0, value)
                prelude = fr.encode_multi_prelude(seq, ts, [p.encode("utf-8") for p in table])
        body = prelude + point
        self._close_points_frame()
        offset = self._write_frame(body)
        self._open_frame = offset
        self._open_path = path
        self._open_table = table
        self._int_steps = kind != fr.KIND_FLOATS_FLOAT_STEP
        self._point_size = len(point)
        self._open_base_ts = ts
        self._open_crc = zlib.crc32(body)
        # a point may start below _limit: the frame holds at most MAX_POINTS_PER_(MULTI_)FRAME
        # points and never crosses the end of the segment
        most = MAX_POINTS_PER_FRAME if table is None else MAX_POINTS_PER_MULTI_FRAME
        capacity_end = min(self._end + (most - 1) * len(point), self._segment_size - fr.END_RESERVE)
        self._limit = capacity_end - len(point) + 1
        self._seq = seq
        return seq

    def _recent_table(self, path: str) -> dict[str, int] | None:
        """The path table for a multi-series frame that takes ``path``, or None while only one
        series is being logged. Series join in first-seen order; past the table's limits it
        starts over."""
        recent = self._recent
        if path not in recent:
            size = len(path.encode("utf-8")) + 2
            if len(recent) >= MAX_TABLE_PATHS or self._recent_bytes + size > MAX_TABLE_BYTES:
                recent.clear()
                self._recent_bytes = 0
            recent[path] = len(recent)
            self._recent_bytes += size
        return dict(recent) if len(recent) > 1 else None

    def _close_points_frame(self) -> None:
        """The open points frame takes no more points; later frames go after it."""
        self._open_frame, self._limit, self._open_path, self._open_table = -1, 0, "", None

    def _write_frame(self, body: bytes) -> int:
        """Lay a complete frame at the next aligned offset; returns its offset."""
        need = 8 + len(body)
        offset = fr.align8(self._end)
        if offset + need > self._segment_size - fr.END_RESERVE:
            if need + 4096 > self._wanted_size:
                raise LoggingDisabledError(f"operation of {len(body)} bytes is larger than a segment")
            self._rotate()
            offset = fr.align8(self._end)
            if offset + need > self._segment_size - fr.END_RESERVE:  # a small segment: disk nearly full
                raise LoggingDisabledError(f"no room on the disk for an operation of {len(body)} bytes")
        buf = self._buf
        buf[offset + 8 : offset + need] = body
        buf[offset : offset + 8] = _COMMIT_PACK(len(body), zlib.crc32(body))
        self._end = offset + need
        if offset - self._released >= RELEASE_EVERY and isinstance(buf, mmap.mmap):
            self._release_pages(offset)
        return offset

    def _release_pages(self, before: int) -> None:
        """Drop finished pages of the mapping from our RSS, so memory stays flat as a run grows.

        For a shared file mapping MADV_DONTNEED only unmaps: dirty pages stay in the page cache
        and reach the file as usual, and a later read maps them back from there.
        """
        upto = before & ~(mmap.PAGESIZE - 1)
        if upto > self._released:
            self._buf.madvise(mmap.MADV_DONTNEED, self._released, upto - self._released)
            self._released = upto

    def _start_segment(self) -> None:
        self._index += 1
        path = self.segments_dir / fr.segment_name(self.writer_id, self._index)
        # Readers only ever see a segment with a complete header and the writer's lock held:
        # it is prepared under a temporary name and renamed (the flock stays with the inode).
        tmp = path.with_name(f".{path.name}.tmp")
        fd = -1
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if self.durability == "mmap":
                size = _preallocate(fd, self._wanted_size)
                if size < self._wanted_size and size != self._segment_size:
                    self._notices.append(
                        f"neptune-sync: the disk is nearly full; log segment {path} gets {size >> 10} KiB "
                        f"instead of {self._wanted_size >> 10} KiB"
                    )
                self._segment_size = size
                buf: mmap.mmap | bytearray = self._map(fd, self._segment_size)
                raw = self._header_bytes(self._segment_size)
                buf[: len(raw)] = raw
            else:
                buf = bytearray(self._segment_size)
                raw = self._header_bytes(0)
                buf[: len(raw)] = raw
                os.pwrite(fd, raw, 0)
            os.rename(tmp, path)
        except OSError as exc:
            self.closed = True
            if fd >= 0:
                os.close(fd)
                tmp.unlink(missing_ok=True)
            raise LoggingDisabledError(f"cannot open a new log segment {path}: {exc}") from exc
        self._fd, self._buf, self._end, self._flushed = fd, buf, len(raw), len(raw)
        self._released = 0
        self._flushed_frame = -1
        self._close_points_frame()

    def _header_bytes(self, size: int) -> bytes:
        header = fr.SegmentHeader(
            index=self._index,
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
        segment from one not created yet."""
        current = self._detach()
        try:
            self._start_segment()
        except LoggingDisabledError:
            self._finish_segment(current, fsync=False, continues=False)
            raise
        self._finish_segment(current, fsync=False, continues=True)

    def _detach(self) -> _Segment | None:
        """The active segment, its data flushed (buffered mode); the writer holds none after this."""
        if self._buf is None:
            return None
        if not isinstance(self._buf, mmap.mmap):
            try:
                self._flush_buffer()
            except OSError as exc:
                self.closed = True  # the segment cannot take its data: nothing more goes in
                os.close(self._fd)
                self._buf, self._fd = None, -1
                raise LoggingDisabledError(f"cannot complete log segment: {exc}") from exc
        segment = _Segment(self._buf, self._fd, self._end, self._seq + 1)
        self._buf, self._fd = None, -1
        self._close_points_frame()
        return segment

    def _finish_segment(self, segment: _Segment | None, fsync: bool, continues: bool) -> None:
        if segment is None:
            return
        buf, fd = segment.buf, segment.fd
        # the end frame (room for it is always kept): body first, commit word last, like any frame
        offset = fr.align8(segment.end)
        body = fr.encode_end_body(segment.next_seq, time.time(), continues)
        used = offset + fr.END_FRAME_SIZE
        try:
            if isinstance(buf, mmap.mmap):
                buf[offset + 8 : used] = body
                buf[offset : offset + 8] = _COMMIT_PACK(len(body), zlib.crc32(body))
                if fsync:
                    buf.flush()
                buf.close()
            else:
                _pwrite_all(fd, memoryview(body), offset + 8)
                _pwrite_all(fd, memoryview(_COMMIT_PACK(len(body), zlib.crc32(body))), offset)
            os.ftruncate(fd, used)
            if fsync:
                for pending in [*self._unsynced, fd]:  # and each segment finished since the last
                    os.fsync(pending)
                _close_all(self._unsynced)
                self._unsynced = []
            else:
                # the next fsync() makes it durable; unlocked first, since the duplicate shares
                # the flock that tells readers the segment may still grow
                fcntl.flock(fd, fcntl.LOCK_UN)
                self._unsynced.append(os.dup(fd))
        except OSError as exc:
            self.closed = True  # the segment is gone from under the writer: nothing more goes in
            raise LoggingDisabledError(f"cannot complete log segment: {exc}") from exc
        finally:
            os.close(fd)

    def _flush_buffer(self) -> None:
        """Buffered mode: write the bytes added since the last flush, in file order, except that
        the frame open at the last flush (points may have joined it since, even if it is no longer
        the open frame) gets its new points, then its commit word, before any later frame. So a
        write cut short by a kill only ever tears the tail: no frame claims bytes not in the file.
        """
        view = memoryview(self._buf)
        start, end, at = self._flushed, fr.align8(self._end), self._flushed_frame
        if at >= 0:
            grown_end = at + 8 + fr.COMMIT.unpack_from(view, at)[0]
            _pwrite_all(self._fd, view[start:grown_end], start)
            _pwrite_all(self._fd, view[at : at + 8], at)
            start = max(start, grown_end)
        if end > start:
            _pwrite_all(self._fd, view[start:end], start)
        self._flushed, self._flushed_frame = self._end, self._open_frame


def _preallocate(fd: int, size: int) -> int:
    """Reserve ``size`` bytes for a segment, or as much as the disk still has room for (halving
    down to MIN_SEGMENT_SIZE); returns the size reserved. Raises OSError when not even that fits."""
    while True:
        try:
            os.posix_fallocate(fd, 0, size)
            return size
        except OSError as exc:
            if exc.errno != errno.ENOSPC or size <= MIN_SEGMENT_SIZE:
                raise
            os.ftruncate(fd, 0)  # give back what a partial allocation took
            size = max(MIN_SEGMENT_SIZE, size // 2)


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """pwrite until all of ``data`` is written (a short write is retried; it then reports why)."""
    while data:
        n = os.pwrite(fd, data, offset)
        data, offset = data[n:], offset + n


_live_writers: weakref.WeakSet[OpLogWriter] = weakref.WeakSet()


def _forget_parent_writers() -> None:
    for writer in list(_live_writers):
        writer._after_fork_in_child()
    _live_writers.clear()


os.register_at_fork(after_in_child=_forget_parent_writers)


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _as_int_step(step: float) -> int | None:
    """The step as a u32 if it is a whole number in range, else None (it needs a float step)."""
    if isinstance(step, int):
        return int(step) if 0 <= step <= fr.MAX_INT_STEP else None
    if step.is_integer() and 0 <= step <= fr.MAX_INT_STEP:
        return int(step)
    return None
