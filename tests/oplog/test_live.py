"""Reading a log while its writer (another process, at full speed) is appending and rotating:
every read is a gap-free prefix of the workload, never damage, and it keeps growing."""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from pathlib import Path

from oplog_helpers import read_writers
from oplog_strategies import T0
from oplog_workload import check_records

from neptune_sync.oplog import framing as fr
from neptune_sync.oplog import writer as writer_module
from neptune_sync.oplog.reader import SegmentReader, segment_files
from neptune_sync.wire import ops

CHILD = Path(__file__).with_name("oplog_child.py")


def test_a_reader_tailing_a_live_writer_sees_a_growing_prefix_and_no_damage(tmp_path):
    segments, progress = tmp_path / "segments", tmp_path / "progress"
    progress.write_bytes(bytes(8))
    # paused 2 ms every 1,024 calls: each read starts over, and must not fall ever further behind
    cmd = [sys.executable, str(CHILD), str(segments), str(progress), "mmap", str(16 << 10), "0.002"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    lasts: list[int] = []
    try:
        started = time.monotonic() + 60  # the child's start-up is not part of the window (a loaded box)
        while struct.unpack("<Q", progress.read_bytes())[0] == 0 and time.monotonic() < started:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.01)
        deadline, bound = time.monotonic() + 1.5, time.monotonic() + 60
        while time.monotonic() < deadline or (len(lasts) < 10 and time.monotonic() < bound):
            assert proc.poll() is None, proc.stderr.read()
            runs = read_writers(segments) if segments.exists() else {}  # the default on_damage raises
            assert len(runs) <= 1
            lasts.append(check_records(next(iter(runs.values()), [])))
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stderr.close()
    reported = struct.unpack("<Q", progress.read_bytes())[0]
    ((_, entries),) = read_writers(segments).items()
    assert check_records(entries) >= reported
    assert lasts == sorted(lasts), "a later read saw fewer records than an earlier one"
    assert len(lasts) >= 10 and lasts[-1] > 10_000, lasts[-5:]


def test_a_listing_taken_while_writers_rotate_holds_every_segment(tmp_path):
    """Writers rename each new segment into place while readers list the directory; a bare
    listing missed a segment about once in a hundred here. Every listing must be whole."""
    segments = tmp_path / "segments"
    children = []
    for n in range(2):  # two writers of one run: twice the renames
        progress = tmp_path / f"progress{n}"
        progress.write_bytes(bytes(8))
        cmd = [sys.executable, str(CHILD), str(segments), str(progress), "mmap", str(16 << 10)]
        children.append((subprocess.Popen(cmd, stderr=subprocess.PIPE), progress))
    listings = 0
    try:
        started = time.monotonic() + 60
        for proc, progress in children:
            while struct.unpack("<Q", progress.read_bytes())[0] == 0 and time.monotonic() < started:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.01)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            indices: dict[str, list[int]] = {}
            for path in segment_files(segments):
                writer_id, index = fr.parse_segment_name(path.name)
                indices.setdefault(writer_id, []).append(index)
            for writer_id, found in indices.items():
                assert found == list(range(len(found))), (writer_id, found)
            listings += 1
    finally:
        for proc, _ in children:
            proc.kill()
            proc.wait(timeout=10)
            proc.stderr.close()
    assert listings >= 50


def test_segment_names_parse_back():
    assert fr.parse_segment_name(fr.segment_name("ab12-cd", 7)) == ("ab12-cd", 7)
    assert fr.parse_segment_name(fr.segment_name("w", 1_234_567)) == ("w", 1_234_567)
    for other in ("w-000001.seg.tmp", "w-01x.seg", "-000001.seg", "w000001.seg", "w-.seg", "w-000001.bin"):
        assert fr.parse_segment_name(other) is None, other


def test_a_segment_trimmed_by_its_writer_during_a_read_ends_the_read_cleanly(
    writer_factory, segments, monkeypatch
):
    monkeypatch.setattr(writer_module, "FIRST_SEGMENT_SIZE", 4 << 20)  # one segment takes it all
    writer = writer_factory(segment_size=4 << 20)
    i = 0
    while writer.last_seq < 150_000:  # about 2.4 MB: the reader fetches it in 1 MiB chunks
        writer.append_float("loss", i, i * 0.5, T0)
        i += 1
    (path,) = segments.glob("*.seg")
    with SegmentReader(path) as reader:
        read = reader.entries()  # sizes the file while it is still preallocated
        entries = []
        for offset, entry in read:
            entries.append(entry)
            if offset > 1_500_000:
                break
        writer.close()  # trims the file under the reader
        entries.extend(entry for _, entry in read)
    assert [p.step for entry in entries for p in entry.op.points] == list(range(i))


def test_while_the_writer_lives_bytes_it_is_changing_end_the_read_quietly(writer_factory, segments):
    """A reader that looks past a points frame which then grows (a resume offset taken after it,
    or a pread racing the writer) sees point bytes where a frame should start, and a newer frame
    after them. That is not damage: the read ends there, and reading from the frame's own offset
    gets the grown frame."""
    writer = writer_factory()
    for i in range(10):
        writer.append_float("loss", i, 0.5, T0 + i)
    (path,) = segments.glob("*.seg")
    with SegmentReader(path) as reader:
        ((offset, _),) = list(reader.entries())
        after = fr.align8(offset + 8 + fr.COMMIT.unpack_from(path.read_bytes(), offset)[0])
        for i in range(10, 20):  # the frame grows over `after`
            writer.append_float("loss", i, 0.5, T0 + i)
        writer.append(ops.AssignInt("epoch", 1), T0)  # and a frame follows it
        assert list(reader.entries(after)) == []  # the default on_damage raises
        (again, grown), (_, epoch) = list(reader.entries(offset))
    assert (again, len(grown.op.points), epoch.op) == (offset, 20, ops.AssignInt("epoch", 1))
