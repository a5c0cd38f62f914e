"""Failure paths: segments that cannot be made or written, and frames from a newer version.

Tests run as root, so permissions block nothing: segment creation is made to fail with an
impossible preallocation, a segments path that stops being a directory, or RLIMIT_FSIZE in a child.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from oplog_helpers import (
    assert_same_records,
    new_writer,
    read_segment,
    read_writers,
    records_of,
    rewrite_body,
)
from oplog_strategies import T0, write_calls

from neptune_sync.exceptions import LoggingDisabledError, UnknownOperationError
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog import writer as writer_module
from neptune_sync.oplog.reader import SegmentReader, read_run
from neptune_sync.wire import ops

HERE = Path(__file__).parent


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_segment_that_cannot_be_preallocated_disables_logging_and_leaves_nothing(segments, monkeypatch):
    fds = _open_fds()
    monkeypatch.setattr(writer_module, "FIRST_SEGMENT_SIZE", 1 << 62)
    with pytest.raises(LoggingDisabledError, match="cannot open a new log segment"):
        new_writer(segments, segment_size=1 << 62)  # far beyond any file size limit: EFBIG
    assert list(segments.iterdir()) == []
    assert _open_fds() == fds


def test_a_failed_rotation_keeps_every_returned_call_and_refuses_more(segments, tmp_path):
    writer = new_writer(segments, segment_size=8 << 10)
    calls = [("point", "loss", i, i / 7, 0.001) for i in range(200)]
    model = write_calls(writer, calls)
    assert len(list(segments.glob("*.seg"))) == 1
    moved = tmp_path / "moved-segments"
    segments.rename(moved)
    segments.write_text("not a directory any more")
    with pytest.raises(LoggingDisabledError, match="cannot open a new log segment"):
        for i in range(10_000):  # until the segment is full and the writer must rotate
            writer.append_float("loss", 200 + i, 0.5, T0 + 1)
            model.append((len(model) + 1, ("loss", ops.FloatPoint(200 + i, 0.5, T0 + 1))))
    with pytest.raises(LoggingDisabledError):
        writer.append(ops.AssignInt("x", 1))
    with pytest.raises(LoggingDisabledError):
        writer.append_float("other", 1, 1.0, T0)
    writer.close()
    ((_, read),) = read_writers(moved).items()  # the full segment was finished before rotating
    assert_same_records(records_of(read), model)


_RLIMIT_CHILD = """
import resource, signal, sys
sys.path.insert(0, sys.argv[1])
from oplog_helpers import new_writer
from neptune_sync.exceptions import LoggingDisabledError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[4]), int(sys.argv[4])))
try:
    writer = new_writer(sys.argv[2], durability=sys.argv[3], segment_size=1 << 20)
except LoggingDisabledError as exc:
    print("init", exc)
    raise SystemExit(0)
flushed = 0
try:
    for i in range(1, 100_000):
        writer.append_float("loss", i, i * 0.5, 1e9 + i)
        if i % 100 == 0:
            writer.flush()
            flushed = i
except LoggingDisabledError as exc:
    print("flush", flushed, exc)
except BaseException as exc:
    print("raw", type(exc).__name__, exc)
"""


def _run_limited(segments: Path, durability: str, limit: int) -> list[str]:
    args = [sys.executable, "-c", _RLIMIT_CHILD, str(HERE), str(segments), durability, str(limit)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_full_disk_in_buffered_mode_raises_logging_disabled_and_keeps_flushed_points(segments):
    out = _run_limited(segments, "buffered", 20_000)
    assert out[0] == "flush", out
    flushed = int(out[1])
    assert flushed > 100
    ((_, entries),) = read_writers(segments).items()
    read = records_of(entries)
    assert len(read) >= flushed
    assert [seq for seq, _ in read] == list(range(1, len(read) + 1))
    assert all(p.value == seq * 0.5 and p.step == seq for seq, (_, p) in read)


def test_a_segment_beyond_the_file_size_limit_fails_at_creation_in_mmap_mode(segments):
    out = _run_limited(segments, "mmap", 100_000)
    assert out[0] == "init", out
    assert list(segments.glob("*")) == []


def _three_ops(writer_factory, segments) -> tuple[Path, list[int]]:
    writer = writer_factory()
    writer.append(ops.AssignFloat("a", 1.0))
    writer.append(ops.AssignString("b", "text"))
    writer.append(ops.AssignFloat("c", 2.0))
    writer.close()
    (path,) = segments.glob("*.seg")
    return path, [offset for offset, _ in read_segment(path)[0]]


def _read_until_error(path: Path) -> tuple[list, list, BaseException]:
    got: list = []
    damage: list = []
    with SegmentReader(path) as reader, pytest.raises(UnknownOperationError) as raised:
        for _, entry in reader.entries(on_damage=damage.append):
            got.append(entry.op)
    return got, damage, raised.value


def test_an_unknown_op_tag_stops_reading_loudly(writer_factory, segments):
    path, offsets = _three_ops(writer_factory, segments)

    def retag(body: bytearray) -> None:
        at = body.index(b"\xa2as", fr.PRELUDE.size)  # the msgpack fixstr tag of AssignString
        body[at + 1 : at + 3] = b"zz"

    rewrite_body(path, offsets[1], retag)
    got, damage, error = _read_until_error(path)
    assert (got, damage, error.offset) == ([ops.AssignFloat("a", 1.0)], [], offsets[1])
    assert "zz" in str(error)


def test_an_unknown_frame_kind_stops_reading_loudly(writer_factory, segments):
    path, offsets = _three_ops(writer_factory, segments)
    rewrite_body(path, offsets[1], lambda body: body.__setitem__(0, 9))
    got, damage, error = _read_until_error(path)
    assert (got, damage, error.offset) == ([ops.AssignFloat("a", 1.0)], [], offsets[1])


def test_a_reader_that_predates_frame_kind_4_stops_at_it_after_every_record_before_it(
    writer_factory, segments, monkeypatch
):
    writer = writer_factory()
    writer.append(ops.AssignFloat("a", 1.0))
    writer.append_float("x", 0, 1.0, T0)
    writer.append_float("y", 0, 2.0, T0)  # a second series: the writer opens a kind 4 frame
    writer.append_float("x", 1, 3.0, T0)
    writer.close()
    (path,) = segments.glob("*.seg")
    kinds = [(offset, _kind_at(path, offset)) for offset, _ in read_segment(path)[0]]
    assert fr.KIND_FLOATS_MULTI in {kind for _, kind in kinds}
    first_multi = next(offset for offset, kind in kinds if kind == fr.KIND_FLOATS_MULTI)
    monkeypatch.setattr(fr, "KNOWN_KINDS", fr.KNOWN_KINDS - {fr.KIND_FLOATS_MULTI})  # the old reader
    got, damage, error = _read_until_error(path)
    assert damage == [] and error.offset == first_multi and "frame kind 4" in str(error)
    assert got[0] == ops.AssignFloat("a", 1.0)
    assert all(not (isinstance(op, ops.LogFloats) and op.path == "y") for op in got)


def _kind_at(path: Path, offset: int) -> int:
    with path.open("rb") as f:
        f.seek(offset + fr.COMMIT.size)
        return f.read(1)[0]


def test_an_unknown_format_version_stops_loudly_and_is_not_skipped_as_damage(writer_factory, segments):
    path, _ = _three_ops(writer_factory, segments)
    data = bytearray(path.read_bytes())
    data[8:10] = (fr.FORMAT_VERSION + 1).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(UnknownOperationError, match=f"format version {fr.FORMAT_VERSION + 1}"):
        SegmentReader(path)
    damage: list = []
    with pytest.raises(UnknownOperationError):  # a collecting damage handler does not swallow it
        list(read_run(segments, on_damage=damage.append))
    assert damage == []


def test_an_op_larger_than_a_segment_is_refused_and_the_writer_goes_on(writer_factory, segments):
    writer = writer_factory(segment_size=8192)
    writer.append(ops.AssignString("a", "before"), T0)
    with pytest.raises(LoggingDisabledError, match="larger than a segment"):
        writer.append(ops.AssignString("big", "x" * 8000), T0)
    for seq in (2, 3, 4):  # the third rotates into a new segment
        assert writer.append(ops.AssignString(f"b{seq}", "y" * 3000), T0) == seq
    assert writer.append_float("loss", 1, 0.5, T0) == 5
    writer.close()
    ((_, entries),) = read_writers(segments).items()
    assert [e.op.path for e in entries] == ["a", "b2", "b3", "b4", "loss"]
    assert len(list(segments.glob("*.seg"))) == 2


_FINISH_FAILS_CHILD = """
import resource, signal, sys
sys.path.insert(0, sys.argv[1])
from oplog_helpers import new_writer
from neptune_sync.exceptions import LoggingDisabledError
from neptune_sync.wire import ops
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))
writer = new_writer(sys.argv[2], durability="buffered", segment_size=8192)
for i in range(1, 400):  # about 6.4 kB, all still in memory
    writer.append_float("loss", i, 0.5, 1e9 + i)
for op in (ops.AssignString("big", "x" * 2000), ops.AssignInt("small", 1)):
    try:  # the big op rotates: completing the segment fails; the small one would still fit
        writer.append(op)
        print("logged")
    except LoggingDisabledError:
        print("LoggingDisabledError")
"""


def test_a_segment_that_cannot_be_completed_disables_logging(segments):
    args = [sys.executable, "-c", _FINISH_FAILS_CHILD, str(HERE), str(segments)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.split()) == (0, ["LoggingDisabledError"] * 2), done.stderr


def test_a_writer_that_rotates_without_fsyncs_holds_no_descriptors_for_them(segments):
    """Finished segments wait for the next fsync by path: a writer rotating small segments with
    no fsync in between must not run out of descriptors."""
    fds = _open_fds()
    writer = new_writer(segments, segment_size=16 << 10)
    for i in range(2000):  # about 500 segments
        writer.append(ops.AssignString(f"text/t{i}", "x" * 3000))
    assert len(list(segments.glob("*.seg"))) >= 400
    assert _open_fds() <= fds + 2  # the active segment's descriptor, whichever it is
    writer.fsync()  # the pending segments, reopened one at a time
    assert _open_fds() <= fds + 2
    writer.close()
    assert _open_fds() == fds
