"""One segment file of a writer: created complete and locked, filled through a mapping or a buffer,
finished with its end frame (docs/oplog-format.md).

- :func:`open_segment` prepares the file under a temporary name (flock, preallocation, header) and
  renames it into place, so readers only ever see a segment with a complete header and the
  writer's lock held (the flock stays with the inode).
- :class:`MappedSegment` (``durability="mmap"``): the preallocated file is mapped; a frame is in
  the file once it is in the mapping (the kernel keeps those pages when the process dies).
- :class:`BufferedSegment` (``durability="buffered"``, for filesystems where shared mappings are
  unsafe): frames go to an in-memory copy of the segment and reach the file on ``flush``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from ..exceptions import LoggingDisabledError
from . import framing as fr

MIN_SEGMENT_SIZE = 64 << 10  # the smallest preallocation tried when the disk is nearly full
RELEASE_EVERY = 2 << 20  # mmap mode: give finished pages back every this many bytes
NEVER = sys.maxsize  # Segment.after_frame: no later frame needs reporting

# The commit word is stored as one 8-byte slice copy of the packed bytes. Not pack_into: it zeroes
# the target and then writes the fields one by one, so a SIGKILL inside it could leave a commit
# word of (new length, crc 0), which loses the whole growing frame.
COMMIT_PACK = fr.COMMIT.pack

HeaderBytes = Callable[[int], bytes]  # the segment header for a preallocated size (0: not preallocated)
MapSegment = Callable[[int, int], mmap.mmap]


class Segment:
    """An open segment: its descriptor (holding the writer's flock) and the bytes frames go into."""

    __slots__ = ("buf", "fd", "path", "size", "start")

    def __init__(self, path: Path, fd: int, buf: mmap.mmap | bytearray, size: int, start: int) -> None:
        self.path = path
        self.fd = fd
        self.buf = buf
        self.size = size  # bytes frames may use, the end frame's reserve included
        self.start = start  # one past the header: where the first frame goes

    def after_frame(self, offset: int) -> int:
        """A frame was laid at ``offset``; returns the offset from which it needs to hear of frames
        again (a seam for page release; frames laid before it need not be reported)."""
        return NEVER

    def flush(self, end: int, open_frame: int) -> None:
        """Make the frames before ``end`` reach the file (buffered mode); raises OSError."""

    def finish(self, end: int, next_seq: int, continues: bool) -> None:
        """Lay the end frame after ``end`` (room is always kept for it), trim the file to its used
        length, unlock it and close this descriptor. Raises :class:`LoggingDisabledError`.
        Redone after an interrupt, it completes what is left (every step but the close repeats
        harmlessly; a finished segment has no descriptor)."""
        fd = self.fd
        if fd < 0:
            return  # finished (an interrupt came after)
        offset = fr.align8(end)
        body = fr.encode_end_body(next_seq, time.time(), continues)
        try:
            self._write_end(offset, body)
            os.ftruncate(fd, offset + fr.END_FRAME_SIZE)
            # unlocked, not only closed: a forked child's copy of the descriptor would keep the flock
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            self.release()
            raise LoggingDisabledError(f"cannot complete log segment: {exc}") from exc
        self.release()

    def release(self) -> None:
        """Close this descriptor, once: the number is forgotten first (a statement), so no retry
        closes a number that has since been reused."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def drop(self) -> None:
        """In a forked child: let go of the parent's segment without touching its contents."""
        self.release()  # the parent's descriptor (and its flock) stays open

    def _write_end(self, offset: int, body: bytes) -> None:
        raise NotImplementedError


class MappedSegment(Segment):
    __slots__ = ("_released",)

    def __init__(self, path: Path, fd: int, buf: mmap.mmap, size: int, start: int) -> None:
        super().__init__(path, fd, buf, size, start)
        self._released = 0

    def after_frame(self, offset: int) -> int:
        """Drop finished pages of the mapping from our RSS every RELEASE_EVERY bytes, so memory
        stays flat as a run grows. For a shared file mapping MADV_DONTNEED only unmaps: dirty pages
        stay in the page cache and reach the file as usual."""
        if offset - self._released >= RELEASE_EVERY:
            upto = offset & ~(mmap.PAGESIZE - 1)
            self.buf.madvise(mmap.MADV_DONTNEED, self._released, upto - self._released)
            self._released = upto
        return self._released + RELEASE_EVERY

    def _write_end(self, offset: int, body: bytes) -> None:
        buf = self.buf
        if buf.closed:
            return  # written by a finish an interrupt cut short after this
        buf[offset + 8 : offset + 8 + len(body)] = body  # body first, commit word last, like any frame
        buf[offset : offset + 8] = COMMIT_PACK(len(body), zlib.crc32(body))
        buf.close()  # dirty pages stay in the page cache: an fsync of the file writes them back

    def drop(self) -> None:
        # unmaps in the child only; if a parent thread had it exported, leave it mapped
        with contextlib.suppress(BufferError, ValueError, OSError):
            self.buf.close()
        super().drop()


class BufferedSegment(Segment):
    __slots__ = ("_flushed", "_flushed_frame")

    def __init__(self, path: Path, fd: int, buf: bytearray, size: int, start: int) -> None:
        super().__init__(path, fd, buf, size, start)
        self._flushed = start  # bytes already in the file
        self._flushed_frame = -1  # the points frame open at the last flush (it may have grown)

    def flush(self, end: int, open_frame: int) -> None:
        """Write the bytes added since the last flush, in file order, except that the frame open at
        the last flush (points may have joined it since, even if it is no longer the open frame)
        gets its new points, then its commit word, before any later frame. So a write cut short by
        a kill only ever tears the tail: no frame claims bytes not in the file."""
        view = memoryview(self.buf)
        start, stop, at = self._flushed, fr.align8(end), self._flushed_frame
        if at >= 0:
            grown_end = at + 8 + fr.COMMIT.unpack_from(view, at)[0]
            pwrite_all(self.fd, view[start:grown_end], start)
            pwrite_all(self.fd, view[at : at + 8], at)
            start = max(start, grown_end)
        if stop > start:
            pwrite_all(self.fd, view[start:stop], start)
        self._flushed, self._flushed_frame = end, open_frame

    def _write_end(self, offset: int, body: bytes) -> None:
        pwrite_all(self.fd, memoryview(body), offset + 8)
        pwrite_all(self.fd, memoryview(COMMIT_PACK(len(body), zlib.crc32(body))), offset)


def open_segment(
    path: Path,
    header: HeaderBytes,
    *,
    mapped: bool,
    wanted_size: int,
    map_segment: MapSegment = mmap.mmap,
) -> Segment:
    """Create the segment file ``path`` with its header, locked and in place; raises
    :class:`LoggingDisabledError`. A mapped segment gets ``wanted_size`` bytes, or as much as the
    disk still has room for (its ``size`` says)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = -1
    placed = False
    try:
        # A try cut short by an interrupt may have left it; writer ids are unique, so it is ours.
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        segment: Segment
        if mapped:
            size = _preallocate(fd, wanted_size)
            buf = map_segment(fd, size)
            raw = header(size)
            buf[: len(raw)] = raw
            segment = MappedSegment(path, fd, buf, size, len(raw))
        else:
            raw = header(0)
            data = bytearray(wanted_size)
            data[: len(raw)] = raw
            os.pwrite(fd, raw, 0)
            segment = BufferedSegment(path, fd, data, wanted_size, len(raw))
        os.rename(tmp, path)
        placed = True
        return segment
    except BaseException as exc:  # an interrupt too: leave no file that no writer will finish
        if fd >= 0:
            os.close(fd)
            (path if placed else tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise LoggingDisabledError(f"cannot open a new log segment {path}: {exc}") from exc
        raise


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


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """pwrite until all of ``data`` is written (a short write is retried; it then reports why)."""
    while data:
        n = os.pwrite(fd, data, offset)
        data, offset = data[n:], offset + n
