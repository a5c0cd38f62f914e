"""Import neptune 1.x queues written by our fixture code (conftest.Neptune1Queue): every operation
type, several data files, async acknowledgement markers, re-import, damage and unknown types."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from neptune_sync.cli import main
from neptune_sync.importers.neptune1 import import_neptune
from neptune_sync.oplog import layout

PROJECT = "ws/proj"


def _import(root, *extra: str) -> int:
    return main(["import", "neptune", str(root), "--project", PROJECT, *extra])


def _full_queue(make_queue, tmp_path):
    """A queue with every operation type the 1.x client writes, spread over two data files."""
    artifact_dir = tmp_path / "artifact"
    (artifact_dir / "d").mkdir(parents=True)
    (artifact_dir / "a.bin").write_bytes(b"A" * 10)
    (artifact_dir / "d" / "b.bin").write_bytes(b"B")
    q = make_queue()
    q.op("AssignFloat", "p/f", value=0.25)
    q.op("AssignInt", "p/i", value=-7)
    q.op("AssignBool", "p/b", value=True)
    q.op("AssignString", "p/s", value="zażółć")
    q.op("AssignDatetime", "p/t", value=1767323045123)
    q.floats("m/loss", [(0, 1.0), (1, 0.5), (2.5, 1e300)])
    q.floats("m/auto", [(None, 3.0), (None, 4.0)])
    q.roll()
    q.floats("m/auto", [(None, 5.0)])
    q.op("ConfigFloatSeries", "m/loss", min=0.0, max=1.0, unit="nats")
    q.op(
        "LogStrings",
        "log",
        values=[{"value": "a", "step": 5, "ts": 1.0}, {"value": "b", "step": None, "ts": 2.0}],
    )
    q.op("ClearStringLog", "log")
    q.op("LogStrings", "log", values=[{"value": "c", "step": None, "ts": 3.0}])
    img = b"\x89PNG-not-really"
    q.op(
        "LogImages",
        "img",
        values=[
            {
                "value": {"data": base64.b64encode(img).decode(), "name": "n", "description": "d"},
                "step": 3,
                "ts": 4.0,
            }
        ],
    )
    q.op("LogImages", "img2", values=[{"value": base64.b64encode(b"old").decode(), "step": None, "ts": 4.0}])
    q.op("ClearImageLog", "img2")
    q.op("ClearFloatLog", "m/auto")
    q.op("AddStrings", "sys/tags", values=["x", "y", "z"])
    q.op("RemoveStrings", "sys/tags", values=["y"])
    q.op("AddStrings", "other", values=["q"])
    q.op("ClearStringSet", "other")
    q.upload_bytes("file/mem", b"memory bytes", "bin")
    q.op("UploadFileContent", "file/old", ext="txt", file_content=base64.b64encode(b"old style").decode())
    q.op("UploadFileSet", "fs", file_globs=[str(artifact_dir / "**" / "*.bin")], reset="False")
    q.op("DeleteFiles", "fs", file_paths=["a.bin"])
    q.op("TrackFilesToArtifact", "art", entries=[[str(artifact_dir), "data"]], project_id="p-1")
    q.op("AssignArtifact", "art2", hash="f" * 64)
    q.op("AssignInt", "gone", value=1)
    q.op("DeleteAttribute", "gone")
    q.markers()
    return q, img


def _expected(q, img):
    return {
        "import/neptune/container_id": q.container_id,
        "import/neptune/container_type": "run",
        "import/neptune/mode": "offline",
        "import/neptune/client_version": "1.14.0.post2",
        "sys/id": q.container_id,
        "sys/state": "Inactive",
        "sys/creation_time": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),  # metadata.json createdAt
        "p/f": 0.25,
        "p/i": -7,
        "p/b": True,
        "p/s": "zażółć",
        "p/t": dt.datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=dt.timezone.utc),
        "m/loss": [(0, 1.0), (1, 0.5), (2.5, 1e300)],
        "m/auto": [],
        "log": [(0.0, "c")],  # a cleared series is empty: numbering without a step restarts at 0
        "img": [(3.0, img)],
        "img2": [],
        "sys/tags": {"x", "z"},
        "other": set(),
        "file/mem": ("mem.bin", b"memory bytes"),
        "file/old": ("old.txt", b"old style"),
        "fs": {"d/b.bin": b"B"},
        "art": {
            "data/a.bin": hashlib.sha256(b"A" * 10).hexdigest(),
            "data/d/b.bin": hashlib.sha256(b"B").hexdigest(),
        },
        "art2": "f" * 64,
    }


def test_every_operation_type_is_converted(make_queue, neptune_root, tmp_path, log_view, capsys):
    q, img = _full_queue(make_queue, tmp_path)

    assert _import(neptune_root) == 0

    assert log_view.state() == _expected(q, img)
    out = capsys.readouterr().out
    assert "imported 27 operations" in out and "ignored 1 x ConfigFloatSeries" in out


def test_values_the_store_would_refuse_are_kept_aside(make_queue, neptune_root, log_view, capsys):
    """NaN/inf, a non-finite step, an int beyond 64 bits, bad paths: neptune-sync's rules; keeping
    them aside keeps one bad point from costing the whole frame of its series."""
    q = make_queue()
    q.op("AssignFloat", "p/nan", value=math.nan)
    q.floats("m/loss", [(0, 1.0), (1, math.inf)])
    q.floats("m/loss", [(math.nan, 2.0)])
    q.floats("m/loss", [(1, 0.5)])
    q.op("AssignInt", "p/big", value=2**63)
    q.op("AssignInt", "p//empty", value=1)
    q.op("AssignInt", "long/" + "x" * 1100, value=1)

    assert _import(neptune_root) == 1

    out = capsys.readouterr().out
    assert out.count("SKIPPED:") == 6 and "non-finite value nan" in out and "non-finite step nan" in out
    assert "64 bits" in out and "malformed attribute path ['p', '', 'empty']" in out and "path-length" in out
    state = log_view.state()
    assert state["m/loss"] == [(1, 0.5)]
    assert {k for k in state if not k.startswith(("import/", "sys/"))} == {"m/loss"}


def test_each_entry_keeps_the_neptune_timestamp(make_queue, neptune_root, log_view):
    q = make_queue()
    q.op("AssignInt", "a", value=1)
    q.floats("s", [(0, 1.0), (1, 2.0)])

    assert _import(neptune_root) == 0

    log = log_view.entries()
    assert log[-2].ts == pytest.approx(1_790_000_001.0)  # the record's "at"
    assert [p.ts for p in log[-1].op.points] == pytest.approx([1_790_000_000.0, 1_790_000_000.125], abs=1e-6)


def test_reimport_adds_nothing(make_queue, neptune_root, tmp_path, log_view, capsys):
    _full_queue(make_queue, tmp_path)
    assert _import(neptune_root) == 0
    run = log_view.run()
    segments = sorted(p.name for p in layout.segments_dir(run).iterdir())
    before = _encoded(log_view.entries())
    capsys.readouterr()

    assert _import(neptune_root) == 0

    assert sorted(p.name for p in layout.segments_dir(run).iterdir()) == segments
    assert _encoded(log_view.entries()) == before
    assert "imported 0 operations" in capsys.readouterr().out


def test_reimport_through_another_spelling_of_the_directory_adds_nothing(
    make_queue, neptune_root, log_view, monkeypatch
):
    q = make_queue()
    q.op("AssignInt", "a", value=1)
    assert _import(neptune_root) == 0
    before = len(log_view.entries())
    monkeypatch.chdir(q.path.parent)

    report = import_neptune(Path(q.path.name), project=PROJECT).sources[0]

    assert (report.imported_ops, report.already_imported) == (0, 1)
    assert len(log_view.entries()) == before


def test_reimport_of_a_moved_queue_adds_nothing(make_queue, neptune_root, tmp_path, log_view):
    q = make_queue()
    q.op("AssignInt", "a", value=1)
    assert _import(neptune_root) == 0
    moved = tmp_path / "backup"
    moved.mkdir()
    q.path.rename(moved / q.path.name)

    report = import_neptune(moved, project=PROJECT).sources[0]

    assert (report.imported_ops, report.already_imported) == (0, 1)


def test_reimport_after_more_data_imports_only_the_new_versions(make_queue, neptune_root, log_view):
    q = make_queue()
    q.floats("s", [(0, 0.0), (1, 1.0)])
    assert _import(neptune_root) == 0
    q.floats("s", [(2, 2.0)])
    q.op("AssignInt", "late", value=5)

    report = import_neptune(neptune_root, project=PROJECT)

    assert report.sources[0].already_imported == 1 and report.sources[0].imported_ops == 2
    state = log_view.state()
    # two writers: the log orders writers by id, not by import time
    assert sorted(state["s"]) == [(0, 0.0), (1, 1.0), (2, 2.0)] and state["late"] == 5
    writers = {h.writer_id for h, _ in _headers(log_view)}
    assert len(writers) == 2


def _encoded(log: list) -> list[bytes]:
    return [msgspec.msgpack.encode(e) for e in log]  # NaN != NaN, bytes compare exactly


def _headers(log_view):
    from neptune_sync.oplog.reader import read_run

    return list(read_run(layout.segments_dir(log_view.run())))


def test_same_container_in_another_project_is_another_run(make_queue, neptune_root, log_view):
    make_queue().op("AssignInt", "a", value=1)
    assert _import(neptune_root) == 0
    assert main(["import", "neptune", str(neptune_root), "--project", "ws/other"]) == 0
    assert len(log_view.runs()) == 2


def test_async_queue_reports_the_acknowledged_part_and_imports_it_by_default(
    make_queue, neptune_root, log_view
):
    q = make_queue(mode="async")
    for i in range(10):
        q.floats("s", [(i, float(i))])
    q.markers(ack=6)

    report = import_neptune(neptune_root, project=PROJECT).sources[0]

    assert (report.imported_ops, report.acknowledged) == (10, 6)
    assert any("acknowledged versions up to 6" in n for n in report.notes)
    assert [s for s, _ in log_view.state()["s"]] == list(range(10))
    assert json.loads((log_view.run() / "run.json").read_text())["mode"] == "async"


def test_skip_acknowledged_imports_only_what_was_pending(make_queue, neptune_root, log_view):
    q = make_queue(mode="async")
    for i in range(10):
        q.floats("s", [(i, float(i))])
    q.markers(ack=6)

    assert _import(neptune_root, "--skip-acknowledged") == 0

    assert [s for s, _ in log_view.state()["s"]] == [6, 7, 8, 9]
    report = import_neptune(neptune_root, project=PROJECT).sources[0]  # now the rest, on request
    assert (report.imported_ops, report.already_imported) == (6, 4)
    assert any("older value may win" in n for n in report.notes)


def test_put_marker_ahead_of_the_data_is_reported_and_the_data_trusted(make_queue, neptune_root, capsys):
    q = make_queue()
    for i in range(5):
        q.floats("s", [(i, 1.0)])
    q.markers(put=14)

    assert _import(neptune_root) == 0

    out = capsys.readouterr().out
    assert "imported 5 operations" in out and "says 14 but the data ends at version 5: 9 operation(s)" in out


def test_missing_project_is_a_usage_error(make_queue, neptune_root, capsys):
    make_queue().op("AssignInt", "a", value=1)
    assert main(["import", "neptune", str(neptune_root)]) == 2
    assert "--project" in capsys.readouterr().err


def test_project_comes_from_the_environment(make_queue, neptune_root, log_view, monkeypatch):
    make_queue().op("AssignInt", "a", value=1)
    monkeypatch.setenv("NEPTUNE_PROJECT", "env/proj")
    assert main(["import", "neptune", str(neptune_root)]) == 0
    assert json.loads((log_view.run() / "run.json").read_text())["project"] == "env/proj"


def test_directory_without_queues_fails(tmp_path, capsys):
    assert main(["import", "neptune", str(tmp_path), "--project", PROJECT]) == 1
    assert "no neptune 1.x queue" in capsys.readouterr().out


def test_old_layouts_are_found_by_their_directory_names(make_queue, neptune_root, log_view):
    cid = "0d9c6b2e-1111-2222-3333-444455556666"
    make_queue(
        mode="async", subdir=f"run__{cid}/exec-1700000000.0-2023-11-14_22.13.20-77", metadata=False
    ).op("AssignInt", "a", value=1)
    make_queue(container_id="p-uuid", container_type="project").op("AssignString", "p", value="v")

    report = import_neptune(neptune_root, project=PROJECT)

    ids = {s.container_id for s in report.sources}
    assert ids == {cid, "p-uuid"}
    identities = [json.loads((r / "run.json").read_text()) for r in log_view.runs()]
    assert sorted((i["run_id"], i["kind"]) for i in identities) == [
        (cid, "run"),
        (f"project:{PROJECT}", "project"),
    ]


def test_records_without_time_take_the_time_of_the_queue_file(make_queue, neptune_root, log_view):
    q = make_queue(mode="async", subdir="run__old-client-run/exec-1", metadata=False, timestamps=False)
    q.op("AssignInt", "a", value=1)
    os.utime(q.data_file(), (1_700_000_000, 1_700_000_000))

    assert _import(neptune_root) == 0

    assert {e.ts for e in log_view.entries()} == {1_700_000_000.0}


def test_old_in_memory_upload_is_found_in_the_moved_queue(make_queue, neptune_root, log_view):
    q = make_queue()
    (q.path / "upload_path" / "copy.bin").write_bytes(b"copied by the client")
    old_place = "/gone/.neptune/offline/run__x/upload_path/copy.bin"
    q.op("UploadFile", "f", ext="bin", file_path=old_place, tmp_file_name=None, clean_after_upload=True)
    q.op("UploadFile", "g", ext="bin", file_path="/gone/elsewhere/copy.bin", tmp_file_name=None)

    assert _import(neptune_root) == 1  # g was a user's file by path: it is gone

    state = log_view.state()
    assert state["f"] == ("copy.bin", b"copied by the client") and "g" not in state


def test_imported_run_can_be_resumed_with_its_neptune_id(make_queue, neptune_root, log_view):
    import neptune_sync

    q = make_queue()
    q.op("AssignInt", "a", value=1)
    assert _import(neptune_root) == 0

    run = neptune_sync.init_run(with_id=q.container_id, project=PROJECT, mode="offline")
    try:
        assert run["a"].fetch() == 1
        run["b"] = 2
    finally:
        run.stop()
    assert len(log_view.runs()) == 1 and log_view.state()["b"] == 2


def test_two_concurrent_imports_of_one_queue_write_it_once(
    make_queue, neptune_root, log_view, isolated_data_dir
):
    q = make_queue()
    for i in range(20_000):
        q.floats("s", [(i, float(i))])
    q.markers()
    cmd = [
        sys.executable,
        "-m",
        "neptune_sync.cli",
        "import",
        "neptune",
        str(neptune_root),
        "--project",
        PROJECT,
    ]
    env = {**os.environ, "NEPTUNE_SYNC_DIR": str(isolated_data_dir)}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]

    assert [p.returncode for p in procs] == [0, 0]
    assert sorted("imported 20000 operations" in o for o in outs) == [False, True]
    assert len({h.writer_id for h, _ in _headers(log_view)}) == 1
    assert [s for s, _ in log_view.state()["s"]] == list(range(20_000))
