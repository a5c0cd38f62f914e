"""Import a queue written by the real neptune 1.14 client in offline mode (data/neptune1_offline,
made by data/make_neptune1_fixture.py) and compare every field, point and file with what the
script logged."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

from neptune_sync.cli import main

FIXTURE = Path(__file__).parent / "data" / "neptune1_offline"
GEN_DIR = "/tmp/neptune1-fixture-gen"  # where the fixture was generated; recorded in the queue
CONTAINER_ID = "90edefcd-f560-43e0-a53e-e251347b7314"


def _copy_fixture(dest: Path, *, trained_in: Path) -> Path:
    """Copy the fixture to ``dest`` as if the training had run in ``trained_in``."""
    shutil.copytree(FIXTURE, dest)
    for log in dest.rglob("data-*.log"):
        log.write_text(log.read_text().replace(GEN_DIR, str(trained_in)))
    return dest


def _logged_image() -> bytes:
    for line in next(FIXTURE.rglob("data-1.log")).read_text().splitlines():
        record = json.loads(line)
        if record["obj"]["type"] == "LogImages":
            return base64.b64decode(record["obj"]["values"][0]["value"]["data"])
    raise AssertionError("the fixture has no LogImages")


def test_real_offline_queue_imports_every_field_point_and_file(tmp_path, log_view, capsys):
    training = _copy_fixture(tmp_path / "training", trained_in=tmp_path / "training")

    assert main(["import", "neptune", str(training), "--project", "ws/proj"]) == 0

    out = capsys.readouterr().out
    assert "imported 82 operations" in out and "0 problem(s)" in out
    state = log_view.state()
    created = dt.datetime.fromisoformat("2026-11-27T03:33:55.226255+00:00")  # metadata.json
    assert abs(state.pop("sys/creation_time") - created) < dt.timedelta(milliseconds=1)
    assert {k: v for k, v in state.items() if not k.startswith("monitoring/") and k != "sys/hostname"} == {
        "sys/id": CONTAINER_ID,
        "sys/state": "Inactive",
        "import/neptune/container_id": CONTAINER_ID,
        "import/neptune/container_type": "run",
        "import/neptune/mode": "offline",
        "import/neptune/client_version": "1.14.0.post2",
        "sys/name": "fixture",
        "sys/description": "",
        "sys/tags": {"t2", "t3"},
        "sys/failed": False,
        "source_code/entrypoint": "make_neptune1_fixture.py",
        "source_code/files": {},
        "params/lr": 0.001,
        "params/epochs": 3,
        "params/flag": True,
        "params/name": "exp",
        "params/when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        "train/loss": [(i, 1.0 / (i + 1)) for i in range(50)],
        "train/acc": [(0, 0.5), (1, 0.6)],
        "train/half": [(0.5, 1.5)],
        "scratch": [],
        "notes": [(0.0, "hello"), (10.0, "world")],
        "cfg": ("a.txt", b"hello file\n"),
        "mem": ("mem.txt", b"in memory"),
        "fset": {"sub/y.txt": b"yy"},
        "art": {"sub/y.txt": hashlib.sha256(b"yy").hexdigest(), "x.txt": hashlib.sha256(b"x").hexdigest()},
        "imgs": [(0.0, _logged_image())],
    }
    run = log_view.run()
    identity = json.loads((run / "run.json").read_text())
    assert identity["run_id"] == CONTAINER_ID and identity["project"] == "ws/proj"
    assert identity["mode"] == "offline"


def test_real_queue_whose_files_moved_keeps_those_ops_aside_and_fails(tmp_path, log_view, capsys):
    training = _copy_fixture(tmp_path / "training", trained_in=tmp_path / "gone")

    assert main(["import", "neptune", str(training), "--project", "ws/proj"]) == 1

    out = capsys.readouterr().out
    assert out.count("SKIPPED:") == 2 and "file not found any more" in out and "none of the files" in out
    state = log_view.state()
    assert "cfg" not in state and not state.get("fset")
    assert state["mem"] == ("mem.txt", b"in memory")  # in-memory uploads were copied into the queue
    assert set(state["art"]) == {"sub/y.txt", "x.txt"}  # relative path: resolved next to .neptune/
    kept = [
        json.loads(line)
        for f in (log_view.run() / "import").glob("*.kept.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert sorted(k["record"]["type"] for k in kept) == ["UploadFile", "UploadFileSet"]
    assert all(k["file"].endswith("data-1.log") and k["offset"] > 0 and k["reason"] for k in kept)


ASYNC_FIXTURE = Path(__file__).parent / "data" / "neptune1_async"  # data/make_neptune1_async_fixture.py


def test_real_async_queue_imports_all_and_reports_the_acknowledged_part(log_view, capsys):
    assert main(["import", "neptune", str(ASYNC_FIXTURE), "--project", "ws/proj"]) == 0

    out = capsys.readouterr().out
    assert "imported 27 operations" in out and "11 of them had been acknowledged" in out
    state = log_view.state()
    assert state["sys/name"] == "async-fixture" and state["status"] == "pending"
    assert state["train/loss"] == [(i, 1.0 / (i + 1)) for i in range(25)]
    assert json.loads((log_view.run() / "run.json").read_text())["mode"] == "async"


def test_real_async_queue_skip_acknowledged_imports_only_the_pending_part(log_view):
    assert main(["import", "neptune", str(ASYNC_FIXTURE), "--project", "ws/proj", "--skip-acknowledged"]) == 0

    state = log_view.state()
    assert "sys/name" not in state and state["status"] == "pending"
    assert state["train/loss"] == [(i, 1.0 / (i + 1)) for i in range(10, 25)]


KILLED_FIXTURE = Path(__file__).parent / "data" / "neptune1_killed"  # data/make_neptune1_killed_fixture.py


def test_real_queue_of_a_killed_client_imports_what_reached_the_disk(log_view, capsys):
    """SIGKILL lost the client's unflushed buffer: last_put_version (209) is ahead of the data (182)."""
    assert main(["import", "neptune", str(KILLED_FIXTURE), "--project", "ws/proj"]) == 0

    out = capsys.readouterr().out
    assert "says 209 but the data ends at version 182: 27 operation(s)" in out
    assert log_view.state()["train/loss"] == [(i, 1.0 / (i + 1)) for i in range(173)]
