"""Reading the operation log: segments, frames, damage.

Rules (docs/oplog-format.md):
- A torn tail is the end: a zero or incomplete commit word at the end of the data is where the
  writer stopped, never an error.
- A damaged frame (checksum mismatch, impossible length, undecodable op) loses only itself. It is
  reported as a :class:`CorruptRecordError` with its offset, and reading resumes at the next
  8-aligned offset that holds a valid frame with a higher sequence number.
- While the writer is alive (it holds an exclusive flock on its active segment), an invalid frame
  is a frame being written, or bytes that changed under the reader (a points frame that grew after
  its commit word was read, with a newer frame after it): reading stops there quietly, and damage
  in a live segment is reported once its writer is done. Resume from the offset of the last frame
  read, not from after it: that frame may still grow.
- A dead writer's invalid last frame is the end, too, when the writer never finished the segment
  (it still ends in its preallocated zeros: a kill tore the last write) or when the frame runs
  past the end of the file (cut off). In a finished segment an invalid last frame that looks like
  either of those cannot be told from a torn write; any other is damage.
- An unknown operation tag or frame kind in a frame that verifies, or a segment in an unknown
  format version, is not damage: it stops the segment loudly (:class:`UnknownOperationError`),
  since skipping it would silently drop data.
- A finished segment (format 2) ends with an end frame naming the first sequence number of the
  writer's next segment. :class:`SequenceCheck` follows one writer's segments and reports every
  sequence number none of them holds (:class:`MissingRecordsError`): a deleted segment, a cut or
  zeroed end. Damage reports carry the range of sequence numbers lost when it is known.

Segments are read with ``pread`` (never mapped): a writer may trim the file under us.
"""

from __future__ import annotations

import fcntl
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import msgspec

from ..exceptions import CorruptRecordError, MissingRecordsError, SegmentHeaderError, UnknownOperationError
from . import framing as fr

CHUNK = 1 << 20
_PAST_EOF = "frame runs past the end of the file"
DamageHandler = Callable[[CorruptRecordError], None]


def _raise(err: CorruptRecordError) -> None:
    raise err


class SegmentReader:
    """One segment file, opened for reading. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            head = os.pread(self._fd, 65536, 0)
            self.header, self.data_start = fr.decode_segment_header(head)
            self.version = fr.segment_version(head)
        except fr.UnsupportedVersion as exc:  # newer data, not damage: never skip it quietly
            os.close(self._fd)
            raise UnknownOperationError(str(self.path), 0, str(exc)) from None
        except ValueError as exc:
            os.close(self._fd)
            raise SegmentHeaderError(str(self.path), str(exc)) from None
        self.last_seq = self.header.first_seq - 1  # the last record read so far
        self.end_seq: int | None = None  # the end frame's sequence number, once read
        self.continues = False  # the end frame says the writer went on in its next segment
        self.live = False  # the writer held the segment while it was read

    def __enter__(self) -> SegmentReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def writer_alive(self) -> bool:
        """True while the writing process still holds this segment (its tail may grow)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        return False

    def entries(
        self,
        start: int | None = None,
        *,
        on_damage: DamageHandler = _raise,
        live: bool | None = None,
    ) -> Iterator[tuple[int, fr.Entry]]:
        """Yield ``(frame offset, entry)`` from ``start`` (default: the first frame) to the end.

        ``on_damage`` receives each damaged frame (default: raise it). ``live`` says whether the
        writer may still be appending; by default it is asked of the file lock.
        """
        if live is None:
            live = self.writer_alive()
        self.live = live
        offset = self.data_start if start is None else start
        size = os.fstat(self._fd).st_size
        last_seq = self.header.first_seq - 1
        self.end_seq = None
        self.continues = False
        chunk_at, chunk = 0, b""
        while offset + 8 <= size:
            if not (chunk_at <= offset and offset + 8 <= chunk_at + len(chunk)):
                chunk_at, chunk = offset, os.pread(self._fd, CHUNK, offset)
                if len(chunk) < 8:
                    return  # the writer finished the segment and trimmed it under us: its end
            length, crc = fr.COMMIT.unpack_from(chunk, offset - chunk_at)
            if length == 0 and crc == 0:
                if live or self._zero_from(offset, size):
                    return  # the end of what was written
                problem = "zero commit word before the end of the data"
            else:
                end = offset + 8 + length
                problem = ""
                if end > size:
                    problem = f"{_PAST_EOF} (length {length})"
                elif length < fr.PRELUDE.size or length > fr.MAX_BODY:
                    problem = f"impossible frame length {length}"
                else:
                    if end > chunk_at + len(chunk):
                        chunk_at, chunk = offset, os.pread(self._fd, max(CHUNK, 8 + length), offset)
                    body = memoryview(chunk)[offset - chunk_at + 8 : end - chunk_at]
                    if zlib.crc32(body) != crc:
                        problem = "checksum mismatch"
                    elif body[0] == fr.KIND_END:
                        _, flags, seq, _ = fr.PRELUDE.unpack_from(body, 0)
                        if length != fr.PRELUDE.size:
                            problem = f"end frame of length {length}"
                        elif seq > last_seq:
                            self.end_seq = seq
                            self.continues = bool(flags & fr.END_CONTINUES)
                            return  # what follows an end frame is not part of the segment
                        problem = f"end frame's sequence number {seq} does not follow {last_seq}"
                    else:
                        entries, problem = self._decode(body, offset)
                        if entries and entries[0].seq > last_seq:
                            for entry in entries:
                                yield offset, entry
                            self.last_seq = last_seq = entries[-1].last_seq
                            offset = fr.align8(end)
                            continue
                        if entries:
                            problem = f"sequence number {entries[0].seq} does not follow {last_seq}"
            if live:
                # the writer may be changing these bytes under us (a points frame grew since its
                # commit word was read): the end, for now; damage shows once the writer is done
                return
            resume, next_seq = self._resync(offset + 8, size, last_seq)
            if resume is None and (problem.startswith(_PAST_EOF) or self._unfinished(offset, length, size)):
                return  # cut off by a truncation, or torn by a kill
            # with no frame after it, what was lost is for the writer's SequenceCheck to tell
            lost = (last_seq + 1, next_seq - 1) if resume is not None and next_seq > last_seq + 1 else None
            on_damage(CorruptRecordError(str(self.path), offset, problem, resume, lost))
            if resume is None:
                return
            offset = resume

    def _decode(self, body: memoryview, offset: int) -> tuple[list[fr.Entry], str]:
        if body[0] not in fr.KNOWN_KINDS:  # it verified: a newer writer's frame, not damage
            raise UnknownOperationError(str(self.path), offset, f"frame kind {body[0]}")
        try:
            return fr.decode_body(body), ""
        except msgspec.ValidationError as exc:
            if "Invalid value" in str(exc) and "$[0]" in str(exc):
                raise UnknownOperationError(str(self.path), offset, str(exc)) from None
            return [], f"undecodable operation: {exc}"
        except (msgspec.DecodeError, ValueError, UnicodeDecodeError, struct.error) as exc:
            return [], f"undecodable frame: {exc}"

    def _unfinished(self, offset: int, length: int, size: int) -> bool:
        """Whether a dead writer never finished this segment, so its invalid last frame is a write
        torn by a kill rather than damage.

        A clean finish trims the segment to its end frame; a killed mmap writer leaves it at its
        preallocated size (format 1: ending in zeros). A frame that ends exactly at the end of the
        file is finished.
        """
        if self.header.size:
            return size == self.header.size
        if fr.align8(offset + 8 + length) == size:
            return False
        return os.pread(self._fd, 8, size - 8) == bytes(8)

    def unended(self) -> bool:
        """After reading to the end: the segment lacks an end frame although its writer is done
        with it (format 2). Fine for a writer's last segment when a kill ended it; any other is cut."""
        return self.version >= 2 and not self.live and self.end_seq is None

    def cut_short(self) -> bool:
        """After reading to the end: an unended segment that is not at its preallocated size, so
        no kill left it so (a kill leaves the preallocation in place; trimming follows the end
        frame): its end was cut or zeroed. Unknowable for a segment that grows as it is written
        (buffered durability, format 1): those count as ended by a kill."""
        return self.unended() and bool(self.header.size) and self.size() != self.header.size

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def _zero_from(self, offset: int, size: int) -> bool:
        while offset < size:
            block = os.pread(self._fd, CHUNK, offset)
            if block.count(0) != len(block):
                return False
            offset += len(block)
        return True

    def _resync(self, offset: int, size: int, last_seq: int) -> tuple[int | None, int]:
        """The offset and sequence number of the next frame that verifies and continues the
        sequence; (None, 0) if there is none."""
        offset = fr.align8(offset)
        while offset + 8 + fr.PRELUDE.size <= size:
            block = os.pread(self._fd, CHUNK + 8 + fr.PRELUDE.size, offset)
            for rel in range(0, min(CHUNK, len(block) - 8 - fr.PRELUDE.size), 8):
                length, crc = fr.COMMIT.unpack_from(block, rel)
                if length < fr.PRELUDE.size or length > fr.MAX_BODY or offset + rel + 8 + length > size:
                    continue
                kind, _, seq, _ = fr.PRELUDE.unpack_from(block, rel + 8)
                if kind not in fr.KNOWN_KINDS or seq <= last_seq:
                    continue
                body = os.pread(self._fd, length, offset + rel + 8)
                if zlib.crc32(body) == crc:
                    return offset + rel, seq
            offset += CHUNK
        return None, 0


class _Ended(NamedTuple):
    """How the previous segment of a writer ended, for :class:`SequenceCheck`."""

    file: str
    offset: int  # where its end is (or should be)
    why: str  # why it lacks its end frame ("" if it has one, or may lack it)
    cut_short: bool  # it lacks it even as the writer's last segment
    next_file: str = ""  # the segment its end frame says follows it ("" if none does)


_CUT = "segment cut short or zeroed: its end frame is missing"


class SequenceCheck:
    """Follows one writer's segments, in order, and reports the records none of them holds.

    Call :meth:`begin` before reading each segment, :meth:`end` after reading it to its end (or
    :meth:`unreadable` for a segment whose header cannot be read), and :meth:`finish` after the
    writer's last one. Records up to ``floor`` are accounted for elsewhere (acknowledged by the
    store, so their segments may have been pruned).
    """

    def __init__(self, on_damage: DamageHandler, floor: int = 0) -> None:
        self._on_damage = on_damage
        self._next = floor + 1  # the first sequence number not yet accounted for
        self._prev: _Ended | None = None

    def begin(self, path: Path, header: fr.SegmentHeader) -> None:
        first, prev = header.first_seq, self._prev
        if first > self._next:
            if prev is None:
                where, detail = (str(path), 0), "the writer's earlier segments are missing"
            elif prev.why:
                where, detail = (prev.file, prev.offset), prev.why
            else:
                where = (str(path), 0)
                detail = f"segments are missing between {Path(prev.file).name} and this one"
            self._report(where, detail, (self._next, first - 1))
        self._next = max(self._next, first)
        self._prev = None

    def end(self, reader: SegmentReader) -> None:
        self._next = max(self._next, reader.end_seq or reader.last_seq + 1)
        why = _CUT if reader.unended() else ""
        follows = ""
        if reader.continues:
            follows = str(
                reader.path.with_name(fr.segment_name(reader.header.writer_id, reader.header.index + 1))
            )
        self._prev = _Ended(str(reader.path), reader.size(), why, reader.cut_short(), follows)

    def unreadable(self, path: Path) -> None:
        """A segment whose header cannot be read: its records are lost, from where the last one ended."""
        self._prev = _Ended(str(path), 0, "segment header unreadable: its records are lost", True)

    def finish(self) -> None:
        prev = self._prev
        if prev is None:
            return
        if prev.cut_short:
            self._report((prev.file, prev.offset), prev.why, (self._next, None))
        elif prev.next_file and not os.path.exists(prev.next_file):
            # the next segment is renamed into place before this end frame is written: it is gone
            detail = f"the writer's later segments are missing ({Path(prev.next_file).name} on)"
            self._report((prev.file, prev.offset), detail, (self._next, None))

    def _report(self, where: tuple[str, int], detail: str, lost: tuple[int, int | None]) -> None:
        self._on_damage(MissingRecordsError(where[0], where[1], detail, None, lost))


def segment_files(segments_dir: Path) -> list[Path]:
    """The segment files of a run directory, grouped by writer and in write order (by index).

    A directory listing taken while a writer renames its next segment into place can miss other
    entries (readdir promises nothing for a directory that changes under it; on ext4 about one
    listing in a hundred missed a segment of a writer rotating 16 KiB segments). A reader that
    trusted it would see a writer's records jump over a whole segment. So each writer's segments
    are completed by name: every index between its lowest and highest listed one, and the indices
    beyond them, that exists. A listed file keeps the name it has.
    """
    segments_dir = Path(segments_dir)
    others: list[Path] = []
    listed: dict[str, dict[int, list[Path]]] = {}
    for path in segments_dir.glob("*.seg"):
        if path.name.startswith("."):
            continue
        parsed = fr.parse_segment_name(path.name)
        if parsed is None:
            others.append(path)
        else:
            listed.setdefault(parsed[0], {}).setdefault(parsed[1], []).append(path)
    found = sorted(others)
    for writer_id in sorted(listed):
        found.extend(_completed(segments_dir, writer_id, listed[writer_id]))
    return found


def _completed(segments_dir: Path, writer_id: str, listed: dict[int, list[Path]]) -> Iterator[Path]:
    """The segments of one writer in index order: those listed, and those by name around and
    between them."""

    def path(index: int) -> Path:
        return segments_dir / fr.segment_name(writer_id, index)

    lo, hi = min(listed), max(listed)
    while lo > 0 and path(lo - 1).exists():
        lo -= 1
    while path(hi + 1).exists():
        hi += 1
    for index in range(lo, hi + 1):
        if index in listed:
            yield from sorted(listed[index])
        elif path(index).exists():
            yield path(index)


def segments_by_writer(segments_dir: Path) -> dict[str, list[Path]]:
    """A run's segment files per writer id (``<writer_id>-<index>.seg``), each list in write order."""
    groups: dict[str, list[Path]] = {}
    for path in segment_files(segments_dir):
        groups.setdefault(path.stem.rpartition("-")[0], []).append(path)
    return groups


def read_run(
    segments_dir: Path, *, on_damage: DamageHandler = _raise, floors: Mapping[str, int] | None = None
) -> Iterator[tuple[fr.SegmentHeader, fr.Entry]]:
    """Every entry of every writer of a run, writer by writer, in sequence order.

    Damage and missing records are reported to ``on_damage``; records of a writer up to
    ``floors[writer_id]`` count as present (the store acknowledged them; their segments may be gone).
    """
    for writer_id, paths in segments_by_writer(segments_dir).items():
        check = SequenceCheck(on_damage, (floors or {}).get(writer_id, 0))
        for path in paths:
            try:
                reader = SegmentReader(path)
            except SegmentHeaderError as exc:
                on_damage(CorruptRecordError(str(path), 0, str(exc)))
                check.unreadable(path)
                continue
            with reader:
                check.begin(path, reader.header)
                for _, entry in reader.entries(on_damage=on_damage):
                    yield reader.header, entry
                check.end(reader)
        check.finish()
