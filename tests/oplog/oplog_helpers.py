"""Shared helpers of the operation-log tests (imported by the tests and by the child scripts)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

from neptune_sync.exceptions import CorruptRecordError
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.reader import SegmentReader, segment_files
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire import ops


def new_writer(segments_dir: Path, **kwargs) -> OpLogWriter:
    """A writer for the test run in ``segments_dir`` (keyword arguments go to OpLogWriter)."""
    return OpLogWriter(segments_dir, project="ws/proj", run_key="run-under-test", **kwargs)


def read_segment(path: Path) -> tuple[list[tuple[int, fr.Entry]], list[CorruptRecordError]]:
    """Every ``(offset, entry)`` of one segment, and the damage reported while reading it."""
    damage: list[CorruptRecordError] = []
    with SegmentReader(path) as reader:
        return list(reader.entries(on_damage=damage.append)), damage


def read_writers(segments_dir: Path) -> dict[str, list[fr.Entry]]:
    """Entries per writer id, in segment order; damage raises (the reader's default)."""
    out: dict[str, list[fr.Entry]] = {}
    for path in segment_files(segments_dir):
        with SegmentReader(path) as reader:
            out.setdefault(reader.header.writer_id, []).extend(e for _, e in reader.entries())
    return out


def rewrite_body(path: Path, offset: int, edit: Callable[[bytearray], None]) -> None:
    """Change the body of the frame at ``offset`` in place and give it a valid commit word again."""
    data = bytearray(path.read_bytes())
    length, _ = fr.COMMIT.unpack_from(data, offset)
    body = bytearray(data[offset + 8 : offset + 8 + length])
    edit(body)
    assert len(body) == length, "the edit must keep the body length"
    data[offset + 8 : offset + 8 + length] = body
    fr.COMMIT.pack_into(data, offset, length, zlib.crc32(body))
    path.write_bytes(bytes(data))


def records_of(entries: list[fr.Entry]) -> list[tuple[int, object]]:
    """``(seq, record)`` per sequence number: a series op is split into ``(path, point)`` per
    point; any other op (or a series op without points) is ``(ts, op)``."""
    out: list[tuple[int, object]] = []
    for entry in entries:
        points = getattr(entry.op, "points", None)
        if points:
            out.extend((entry.seq + i, (entry.op.path, p)) for i, p in enumerate(points))
        else:
            out.append((entry.seq, (entry.ts, entry.op)))
    return out


def assert_same_records(read: list[tuple[int, object]], model: list[tuple[int, object]]) -> None:
    """Equal, except that a float point's timestamp is kept to the microsecond."""
    assert [seq for seq, _ in read] == [seq for seq, _ in model]
    for (seq, got), (_, want) in zip(read, model, strict=True):
        if isinstance(want[1], ops.FloatPoint):
            assert (got[0], got[1].step, got[1].value) == (want[0], want[1].step, want[1].value), seq
            assert abs(got[1].ts - want[1].ts) < 2e-6, (seq, got, want)
        else:
            assert got == want, seq
