"""Missing, cut, zeroed and damaged segments: every record a writer logged is either read back or
reported lost, with its sequence number, and nothing is reported lost that was read.

The model is the list of sequence numbers the writer returned; the damage is done to real files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oplog_helpers import new_writer

from neptune_sync.exceptions import CorruptRecordError, MissingRecordsError
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.reader import read_run, segment_files
from neptune_sync.wire import ops

SEGMENT = 16 << 10  # about 900 points a segment: a log of many segments


def write_log(segments: Path, points: int = 8000) -> list[int]:
    """A closed log of float points with an op every 500 points; returns every seq logged."""
    writer = new_writer(segments, segment_size=SEGMENT)
    seqs = []
    for i in range(points):
        if i % 500 == 0:
            last = writer.append(ops.AssignInt("params/i", i))
            seqs.append(last)
        seqs.append(writer.append_float("loss", i, i / 10, 1.7e9 + i))
    writer.close()
    return seqs


def read_back(
    segments: Path, floors: dict[str, int] | None = None
) -> tuple[set[int], list[CorruptRecordError]]:
    reports: list[CorruptRecordError] = []
    seqs: set[int] = set()
    for _, entry in read_run(segments, on_damage=reports.append, floors=floors):
        seqs.update(range(entry.seq, entry.last_seq + 1))
    return seqs, reports


def lost_seqs(reports: list[CorruptRecordError], logged: list[int]) -> set[int]:
    lost: set[int] = set()
    for report in reports:
        if report.lost is None:  # damage at a segment's end: the writer's SequenceCheck tells the loss
            assert not isinstance(report, MissingRecordsError)
            continue
        first, last = report.lost
        lost.update(range(first, (last if last is not None else max(logged)) + 1))
    return lost


def assert_accounted(segments: Path, logged: list[int]) -> list[CorruptRecordError]:
    """Every logged record is read or reported lost; none is both; nothing else is invented."""
    read, reports = read_back(segments)
    lost = lost_seqs(reports, logged)
    assert read | lost == set(logged)
    assert not read & lost
    return reports


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, list[int], list[Path]]:
    segments = tmp_path / "segments"
    seqs = write_log(segments)
    files = segment_files(segments)
    assert len(files) >= 6
    return segments, seqs, files


def test_an_intact_log_reads_back_whole_without_reports(log):
    segments, logged, _ = log
    read, reports = read_back(segments)
    assert reports == [] and read == set(logged)


def test_a_deleted_middle_segment_is_reported_with_its_exact_range(log):
    segments, logged, files = log
    before, _ = read_back(segments)
    files[3].unlink()
    read, reports = read_back(segments)
    (gap,) = reports
    assert isinstance(gap, MissingRecordsError)
    missing = before - read
    assert gap.lost == (min(missing), max(missing)) and gap.lost_count == len(missing) > 100
    assert_accounted(segments, logged)


@pytest.mark.parametrize("deleted", [1, 2])
def test_deleted_last_segments_are_reported_from_the_end_of_the_last_one_left(log, deleted):
    """The end frame of a segment the writer rotated from says a next one exists (its close does not)."""
    segments, logged, files = log
    for path in files[-deleted:]:
        path.unlink()
    read, reports = read_back(segments)
    (gap,) = reports
    assert isinstance(gap, MissingRecordsError) and gap.lost == (max(read) + 1, None)
    assert_accounted(segments, logged)


def test_a_closed_writer_s_last_segment_says_nothing_follows(log):
    """Only rotation flags an end frame as continued: the log as closed reads with no report."""
    segments, logged, files = log
    with open(files[-1], "rb") as f:
        data = f.read()
    kind, flags, _, _ = fr.PRELUDE.unpack_from(data, len(data) - fr.PRELUDE.size)
    assert kind == fr.KIND_END and flags == 0
    with open(files[-2], "rb") as f:
        data = f.read()
    kind, flags, _, _ = fr.PRELUDE.unpack_from(data, len(data) - fr.PRELUDE.size)
    assert kind == fr.KIND_END and flags == fr.END_CONTINUES


def test_deleted_first_segments_are_reported_unless_the_store_acknowledged_them(log):
    segments, logged, files = log
    files[0].unlink()
    files[1].unlink()
    read, reports = read_back(segments)
    (gap,) = reports
    assert gap.lost == (1, min(read) - 1)
    writer_id = files[2].stem.rpartition("-")[0]
    assert read_back(segments, {writer_id: min(read) - 1})[1] == []  # pruned after they were synced


@pytest.mark.parametrize("cut", [8, 100, 936, 5000, 12000])
def test_a_middle_segment_cut_short_is_reported_with_its_exact_range(log, cut):
    segments, logged, files = log
    data = files[2].read_bytes()
    files[2].write_bytes(data[: len(data) - cut])
    reports = assert_accounted(segments, logged)
    read, _ = read_back(segments)
    assert bool(reports) == (read != set(logged))


@pytest.mark.parametrize("zeroed", [8, 32, 40, 1000, 9000])
def test_a_zeroed_tail_of_a_finished_segment_is_reported(log, zeroed):
    segments, logged, files = log
    for path in (files[2], files[-1]):  # a middle segment: the range is known; the last: from where
        data = bytearray(path.read_bytes())
        n = min(zeroed, len(data) - fr.decode_segment_header(data)[1])  # the header stays
        data[len(data) - n :] = bytes(n)
        path.write_bytes(bytes(data))
    reports = assert_accounted(segments, logged)
    read, _ = read_back(segments)
    last = [r.lost for r in reports if r.file == str(files[-1]) and isinstance(r, MissingRecordsError)]
    assert last == [(max(read) + 1, None)]


def test_a_truncated_last_segment_is_reported_from_where_it_was_cut(log):
    segments, logged, files = log
    data = files[-1].read_bytes()
    files[-1].write_bytes(data[: len(data) // 2])
    read, reports = read_back(segments)
    assert [r.lost for r in reports] == [(max(read) + 1, None)]
    assert max(read) < max(logged)


def test_a_writer_killed_mid_segment_is_not_reported_as_a_cut(tmp_path: Path):
    segments = tmp_path / "segments"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from oplog_helpers import new_writer
        w = new_writer(__import__("pathlib").Path({str(segments)!r}), segment_size={SEGMENT})
        for i in range(3000):
            last = w.append_float("loss", i, float(i), 1.7e9 + i)
        print(last, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == -9, out.stderr
    read, reports = read_back(segments)
    assert reports == [] and read == set(range(1, int(out.stdout) + 1))


def as_format_1(path: Path) -> None:
    """Rewrite a finished format-2 segment as format 1 wrote it: the version, and no end frame."""
    data = bytearray(path.read_bytes())
    data[8:10] = (1).to_bytes(2, "little")
    path.write_bytes(bytes(data[: len(data) - fr.END_FRAME_SIZE]))


def test_format_1_segments_still_read_and_a_deleted_one_still_shows(log):
    segments, logged, files = log
    for path in files:
        as_format_1(path)
    read, reports = read_back(segments)
    assert reports == [] and read == set(logged)
    files[3].unlink()
    (gap,) = assert_accounted(segments, logged)
    assert isinstance(gap, MissingRecordsError) and gap.lost_count > 100


DAMAGE = st.tuples(
    st.sampled_from(["delete", "truncate", "zero_tail", "zero_range", "flip"]),
    st.integers(0, 1_000),  # which segment (modulo their number)
    st.floats(0, 1, exclude_max=True),  # where in it
    st.floats(0, 1),  # how much
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[int]]:
    segments = tmp_path_factory.mktemp("pristine") / "segments"
    return segments, write_log(segments)


def damage(files: list[Path], kind: str, which: int, where: float, amount: float) -> None:
    path = files[which % len(files)]
    if not path.exists():
        return
    if kind == "delete":
        if path != files[-1]:  # a writer's last segment deleted whole cannot be told (docs)
            path.unlink()
        return
    data = bytearray(path.read_bytes())
    if not data:
        return
    at = int(where * len(data))
    if kind == "truncate":
        del data[at:]
    elif kind == "zero_tail":
        data[at:] = bytes(len(data) - at)
    elif kind == "zero_range":
        end = min(len(data), at + 8 + int(amount * 4096))
        data[at:end] = bytes(end - at)
    elif at not in (8, 9):  # flip; the format version is not damage: a newer version stops loudly
        data[at] ^= 1 + int(amount * 254)
    path.write_bytes(bytes(data))


@settings(max_examples=150, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
@given(damages=st.lists(DAMAGE, min_size=1, max_size=3))
def test_any_damage_leaves_every_record_read_or_reported_lost(pristine, damages):
    source, logged = pristine
    segments = Path(tempfile.mkdtemp(prefix="gaps-")) / "segments"
    try:
        shutil.copytree(source, segments)
        files = segment_files(segments)
        for kind, which, where, amount in damages:
            damage(files, kind, which, where, amount)
        assert_accounted(segments, logged)
    finally:
        shutil.rmtree(segments.parent)
