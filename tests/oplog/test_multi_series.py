"""Interleaved float series share multi-series points frames (kind 4) and read back exactly."""

from __future__ import annotations

import pytest

from neptune_sync.exceptions import CorruptRecordError
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.points import MAX_TABLE_PATHS
from neptune_sync.oplog.reader import SegmentReader, read_run, segment_files
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire import ops

T0 = 1_700_000_000.0


def log_round_robin(writer: OpLogWriter, series: int, steps: int) -> list[tuple[str, int, float]]:
    logged = []
    for step in range(steps):
        for k in range(series):
            path = f"train/metric_{k:03d}"
            value = step * 0.5 + k
            writer.append_float(path, step, value, T0 + step * 0.01)
            logged.append((path, step, value))
    return logged


def read_points(segments) -> list[tuple[str, float, float]]:
    out = []
    for _, entry in read_run(segments):
        assert isinstance(entry.op, ops.LogFloats)
        out += [(entry.op.path, p.step, p.value) for p in entry.op.points]
    return out


def frame_kinds(segments) -> list[int]:
    kinds = []
    for path in segment_files(segments):
        data = path.read_bytes()
        with SegmentReader(path) as reader:
            for offset in dict.fromkeys(o for o, _ in reader.entries()):
                kinds.append(data[offset + 8])
    return kinds


def test_round_robin_series_read_back_exactly_at_under_20_bytes_a_point(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = log_round_robin(writer, series=100, steps=2000)
    writer.close()
    assert read_points(tmp_path) == logged
    assert fr.KIND_FLOATS_MULTI in frame_kinds(tmp_path)
    size = sum(p.stat().st_size for p in segment_files(tmp_path))
    assert size / len(logged) < 20


def test_sequence_numbers_stay_contiguous_across_series_runs(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    log_round_robin(writer, series=3, steps=50)
    writer.append(ops.AssignString("sys/name", "n"))
    log_round_robin(writer, series=3, steps=5)
    writer.close()
    seqs = []
    for _, entry in read_run(tmp_path):
        seqs += list(range(entry.seq, entry.last_seq + 1))
    assert seqs == list(range(1, 3 * 55 + 2))


def test_more_series_than_a_path_table_holds_still_read_back(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = log_round_robin(writer, series=MAX_TABLE_PATHS + 44, steps=4)
    writer.close()
    assert read_points(tmp_path) == logged


def test_float_steps_between_interleaved_int_steps(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = []
    for i in range(200):
        for path, step in (("a", i), ("b", i + 0.5), ("c", float(i))):
            writer.append_float(path, step, -i, T0 + i)
            logged.append((path, step, -i))
    writer.close()
    assert read_points(tmp_path) == logged


def test_a_flipped_byte_in_a_multi_series_frame_loses_only_that_frame(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = log_round_robin(writer, series=4, steps=600)  # several frames of up to 1024 points
    writer.close()
    (path,) = segment_files(tmp_path)
    with SegmentReader(path) as reader:
        found = list(reader.entries())
    points_at: dict[int, int] = {}
    for offset, entry in found:
        points_at[offset] = points_at.get(offset, 0) + len(entry.op.points)
    victim = max(points_at, key=points_at.get)  # the fullest frame: the flip lands inside it
    assert (path.read_bytes()[victim + 8]) == fr.KIND_FLOATS_MULTI
    data = bytearray(path.read_bytes())
    data[victim + 8 + 200] ^= 0x40
    path.write_bytes(bytes(data))
    damage: list[CorruptRecordError] = []
    with SegmentReader(path) as reader:
        got = [
            (e.op.path, p.step, p.value)
            for _, e in reader.entries(on_damage=damage.append)
            for p in e.op.points
        ]
    lost = {id(e) for o, e in found if o == victim}
    expected = [(e.op.path, p.step, p.value) for o, e in found if id(e) not in lost for p in e.op.points]
    assert got == expected
    assert len(got) < len(logged)
    assert [d.offset for d in damage] == [victim]


@pytest.mark.parametrize("durability", ["mmap", "buffered"])
def test_multi_series_frames_in_both_durability_modes(tmp_path, durability):
    writer = OpLogWriter(tmp_path, project="p", run_key="r", durability=durability, segment_size=64 << 10)
    logged = log_round_robin(writer, series=7, steps=2000)  # rotates segments mid-frame
    writer.close()
    assert len(segment_files(tmp_path)) > 1
    assert read_points(tmp_path) == logged


def test_one_series_after_a_few_points_of_others_goes_back_to_single_series_frames(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = []

    def log(path, step, value):
        writer.append_float(path, step, value, T0 + step * 1e-3)
        logged.append((path, step, value))

    for step in range(100):
        log("train/loss", step, step * 0.5)
    log("monitoring/cpu", 100, 12.5)  # a hardware sample in the middle of the loop
    log("monitoring/memory", 100, 3.25)
    for step in range(100, 20_000):
        log("train/loss", step, step * 0.5)
    writer.close()
    assert read_points(tmp_path) == logged
    kinds = [k for k in frame_kinds(tmp_path) if k != fr.KIND_END]
    last_multi = max(i for i, k in enumerate(kinds) if k == fr.KIND_FLOATS_MULTI)
    assert kinds.count(fr.KIND_FLOATS_MULTI) <= 3  # the sample's series, then one frame that fills
    assert set(kinds[last_multi + 1 :]) == {fr.KIND_FLOATS_INT_STEP}
    assert len(kinds) - last_multi > 10


def test_a_series_logged_in_every_frame_keeps_its_place_in_the_table(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = []
    for step in range(30_000):  # ~8 points of the slow series in each frame of 4096
        writer.append_float("fast", step, step * 0.25, T0 + step * 1e-3)
        logged.append(("fast", step, step * 0.25))
        if step % 500 == 0:
            writer.append_float("slow", step, -step, T0 + step * 1e-3)
            logged.append(("slow", step, -step))
    writer.close()
    assert read_points(tmp_path) == logged
    kinds = [k for k in frame_kinds(tmp_path) if k != fr.KIND_END]
    assert kinds[0] == fr.KIND_FLOATS_INT_STEP
    assert set(kinds[1:]) == {fr.KIND_FLOATS_MULTI}


def test_round_robin_series_stay_in_multi_series_frames_when_frames_fill(tmp_path):
    writer = OpLogWriter(tmp_path, project="p", run_key="r")
    logged = log_round_robin(writer, series=3, steps=10_000)  # frames of 4096 points fill
    writer.close()
    assert read_points(tmp_path) == logged
    kinds = [k for k in frame_kinds(tmp_path) if k != fr.KIND_END]
    assert kinds[:3] == [fr.KIND_FLOATS_INT_STEP, fr.KIND_FLOATS_MULTI, fr.KIND_FLOATS_MULTI]
    assert set(kinds[1:]) == {fr.KIND_FLOATS_MULTI}
    assert len(kinds) > 8
