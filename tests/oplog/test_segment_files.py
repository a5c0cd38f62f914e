"""Which files ``segment_files`` returns for a run's segment directory, and in what order."""

from __future__ import annotations

from neptune_sync.oplog.reader import segment_files, segments_by_writer


def _touch(directory, *names):
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"")


def test_listed_segments_are_returned_under_the_names_they_have(tmp_path):
    _touch(tmp_path, "w-1.seg", "w-2.seg", "v-0000003.seg")
    found = segment_files(tmp_path)
    assert sorted(p.name for p in found) == ["v-0000003.seg", "w-1.seg", "w-2.seg"]
    assert all(p.exists() for p in found)


def test_a_writers_segments_come_in_index_order_past_six_digits(tmp_path):
    _touch(tmp_path, "x-999998.seg", "x-999999.seg", "x-1000000.seg", "x-1000001.seg")
    groups = segments_by_writer(tmp_path)
    assert [p.name for p in groups["x"]] == ["x-999998.seg", "x-999999.seg", "x-1000000.seg", "x-1000001.seg"]


def test_a_deleted_middle_segment_and_pruned_first_ones_stay_absent(tmp_path):
    _touch(tmp_path, "w-000003.seg", "w-000004.seg", "w-000006.seg", "a-b-000001.seg")
    groups = segments_by_writer(tmp_path)
    assert {k: [p.name for p in v] for k, v in groups.items()} == {
        "a-b": ["a-b-000001.seg"],
        "w": ["w-000003.seg", "w-000004.seg", "w-000006.seg"],
    }
