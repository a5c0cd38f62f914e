"""Damaged queue files and operations we cannot convert: reported with file and position, the
rest imported, the unconvertible records kept aside in the run directory, exit status 1."""

from __future__ import annotations

import json
import shutil

from neptune_sync.cli import main
from neptune_sync.importers.neptune1 import import_neptune
from neptune_sync.importers.target import import_dir
from neptune_sync.oplog import layout

PROJECT = "ws/proj"


def _import(root) -> int:
    return main(["import", "neptune", str(root), "--project", PROJECT])


def _queue_of_ints(make_queue, n: int):
    q = make_queue()
    for i in range(n):
        q.op("AssignInt", f"v{i}", value=i)
    q.markers()
    return q


def _line_offsets(path) -> list[int]:
    data = path.read_bytes()
    offsets, pos = [], 0
    for line in data.splitlines(keepends=True):
        offsets.append(pos)
        pos += len(line)
    return offsets


def test_torn_last_line_is_reported_with_its_offset_and_the_rest_imported(
    make_queue, neptune_root, log_view, capsys
):
    q = _queue_of_ints(make_queue, 5)
    data = q.data_file()
    last = _line_offsets(data)[-1]
    with open(data, "r+b") as f:
        f.truncate(last + 20)  # the client was killed in the middle of its last write

    assert _import(neptune_root) == 1

    out = capsys.readouterr().out
    assert f"{data} @ byte {last}: torn last line" in out
    assert "imported 4 operations" in out
    state = log_view.state()
    assert [state.get(f"v{i}") for i in range(5)] == [0, 1, 2, 3, None]


def test_garbage_in_the_middle_loses_only_that_line(make_queue, neptune_root, log_view, capsys):
    q = _queue_of_ints(make_queue, 6)
    data = q.data_file()
    lines = data.read_bytes().splitlines(keepends=True)
    lines[2] = b"\x00\x00garbage{not json\n"
    data.write_bytes(b"".join(lines))
    third = sum(len(x) for x in lines[:2])

    assert _import(neptune_root) == 1

    out = capsys.readouterr().out
    assert f"{data} @ byte {third}: " in out and "undecodable" in out
    state = log_view.state()
    assert [state.get(f"v{i}") for i in range(6)] == [0, 1, None, 3, 4, 5]


def test_deeply_nested_garbage_is_damage_not_a_crash(make_queue, neptune_root, log_view, capsys):
    q = _queue_of_ints(make_queue, 2)
    with open(q.data_file(), "ab") as f:
        f.write(b"[" * 100_000 + b"\n")
    q.op("AssignInt", "after", value=7)

    assert _import(neptune_root) == 1

    assert "undecodable" in capsys.readouterr().out and log_view.state()["after"] == 7


def test_unreadable_data_file_is_reported_and_the_next_one_read(make_queue, neptune_root, log_view, capsys):
    q = make_queue()
    q.op("AssignInt", "a", value=1)
    q.roll()
    q.op("AssignInt", "b", value=2)
    first = q.path / "data-1.log"
    first.unlink()
    first.mkdir()  # opening it fails with IsADirectoryError, as an unreadable file would

    assert _import(neptune_root) == 1

    assert f"{first} @ byte 0: cannot read the rest of the file" in capsys.readouterr().out
    assert log_view.state()["b"] == 2


def test_record_glued_to_a_torn_line_is_recovered(make_queue, neptune_root, log_view, capsys):
    """After a crash the client appends to the file again: a new record follows the torn one."""
    q = _queue_of_ints(make_queue, 3)
    data = q.data_file()
    lines = data.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1][:17] + lines[2]  # torn v1 line, then the v2 record on the same line
    data.write_bytes(b"".join(lines[:2]))

    assert _import(neptune_root) == 1

    assert "17 undecodable bytes" in capsys.readouterr().out
    state = log_view.state()
    assert (state["v0"], state.get("v1"), state["v2"]) == (0, None, 2)


def test_repeated_version_is_reported_and_skipped(make_queue, neptune_root, log_view, capsys):
    q = _queue_of_ints(make_queue, 2)
    data = q.data_file()
    first = data.read_bytes().splitlines(keepends=True)[0]
    data.write_bytes(data.read_bytes() + first.replace(b'"value": 0', b'"value": 99'))

    assert _import(neptune_root) == 1

    assert "version 1 does not follow 2" in capsys.readouterr().out
    assert log_view.state()["v0"] == 0


def test_unknown_and_unconvertible_operations_are_kept_aside(make_queue, neptune_root, log_view, capsys):
    q = make_queue()
    q.op("AssignInt", "a", value=1)
    unknown = q.op("FancyOpFromTheFuture", "b", payload=[1, 2])
    q.op(
        "CopyAttribute",
        "c",
        container_id="x",
        container_type="run",
        source_path=["d"],
        source_attr_name="Integer",
    )
    q.op("AssignInt", "e", value="not an int")
    q.op("UploadFile", "f", ext="txt", file_path="/nonexistent/file.txt", tmp_file_name=None)
    q.op("AssignInt", "g", value=2)

    assert _import(neptune_root) == 1

    out = capsys.readouterr().out
    assert out.count("SKIPPED:") == 4 and "'FancyOpFromTheFuture'" in out and "kept aside" in out
    state = log_view.state()
    assert (state["a"], state["g"]) == (1, 2) and not {"b", "c", "e", "f"} & set(state)
    (kept_file,) = import_dir(log_view.run()).glob("*.kept.jsonl")
    kept = [json.loads(line) for line in kept_file.read_text().splitlines()]
    assert [k["record"]["type"] for k in kept] == [
        "FancyOpFromTheFuture",
        "CopyAttribute",
        "AssignInt",
        "UploadFile",
    ]
    assert kept[0]["number"] == unknown and kept[0]["record"]["payload"] == [1, 2]
    assert all(k["file"] == str(q.data_file()) and k["reason"] for k in kept)


def test_reimport_of_a_damaged_queue_reports_again_but_adds_nothing(
    make_queue, neptune_root, log_view, capsys
):
    q = _queue_of_ints(make_queue, 3)
    q.op("Unknown", "u")
    assert _import(neptune_root) == 1
    before = len(log_view.entries())

    report = import_neptune(neptune_root, project=PROJECT).sources[0]

    assert report.imported_ops == 0 and report.already_imported == 4
    assert len(log_view.entries()) == before


def test_crash_after_the_record_is_finished_by_the_next_import(make_queue, neptune_root, log_view):
    """Simulate a crash between writing the record and moving the segments into place."""
    _queue_of_ints(make_queue, 3)
    assert _import(neptune_root) == 0
    run = log_view.run()
    full = len(log_view.entries())
    (record,) = import_dir(run).glob("*.json")
    staging = import_dir(run) / f".staging-{record.stem}"
    staging.mkdir()
    for seg in layout.segments_dir(run).glob("*.seg"):
        shutil.move(seg, staging / seg.name)
    assert log_view.entries() == []

    assert _import(neptune_root) == 0

    assert len(log_view.entries()) == full and not staging.exists()


def test_crash_before_the_record_is_redone_from_scratch(make_queue, neptune_root, log_view):
    _queue_of_ints(make_queue, 3)
    assert _import(neptune_root) == 0
    run = log_view.run()
    expected = [e.op for e in log_view.entries()]
    (record,) = import_dir(run).glob("*.json")
    staging = import_dir(run) / f".staging-{record.stem}"
    staging.mkdir()
    for seg in layout.segments_dir(run).glob("*.seg"):
        shutil.move(seg, staging / seg.name)
    record.unlink()

    assert _import(neptune_root) == 0

    assert [e.op for e in log_view.entries()] == expected and not staging.exists()


def test_a_queue_of_garbage_is_summarised_not_listed_line_by_line(make_queue, neptune_root, capsys):
    q = _queue_of_ints(make_queue, 1)
    with open(q.data_file(), "ab") as f:
        f.write(b"garbage\n" * 500)

    assert _import(neptune_root) == 1

    out = capsys.readouterr().out
    assert out.count("SKIPPED:") == 51 and "... and 450 more" in out and "500 problem(s)" in out


def test_writer_id_is_the_same_for_the_same_import_and_new_when_the_outcome_changed(
    make_queue, neptune_root, tmp_path, log_view
):
    """The store dedups a writer's replay by sequence number, so one writer id must never name two
    different contents: here a file missing at the first import is restored before the second."""
    missing = tmp_path / "model.bin"
    q = make_queue()
    q.op("AssignInt", "a", value=1)
    q.op("UploadFile", "model", ext="bin", file_path=str(missing), tmp_file_name=None)
    q.op("AssignInt", "b", value=2)

    def import_afresh() -> str:
        shutil.rmtree(log_view.data_dir, ignore_errors=True)  # as if the local copy were wiped
        _import(neptune_root)
        (header, _), *_ = _headers(log_view)
        return header.writer_id

    first, again = import_afresh(), import_afresh()
    missing.write_bytes(b"weights")
    restored = import_afresh()

    assert first == again and restored != first
    assert log_view.state()["model"] == ("model.bin", b"weights")


def _headers(log_view):
    from neptune_sync.oplog.reader import read_run

    return list(read_run(layout.segments_dir(log_view.run())))
