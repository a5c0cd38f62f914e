"""The two builds of the hot path (neptune_sync/oplog/hotframe.py and _hotframe.c) write the same
bytes and return the same sequence numbers for any calls; the C build respects the writer's turn;
and the Python build's store order is checked store by store (test_commit_order.py)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from oplog_helpers import new_writer, read_writers
from oplog_strategies import T0

from neptune_sync.oplog import hotframe
from neptune_sync.wire import ops

HERE = Path(__file__).parent
PATHS = ["loss", "acc", "lr", "x/y/z", "ünï", "a" * 300]


def random_script(rng: random.Random) -> dict:
    """Calls that reach every branch of append_float: one series and several interleaved, whole,
    fractional, negative and out-of-range steps, int and bool steps and values, timestamps before
    the open frame's and beyond its window, ops between points, full frames and full segments."""
    calls: list[list] = []
    paths = rng.sample(PATHS, rng.randint(1, len(PATHS)))
    step, ts = 0, T0
    for _ in range(rng.randint(1, 4000)):
        roll = rng.random()
        if roll < 0.01:
            calls.append(["op", rng.choice(paths), "v" * rng.randint(0, 3000), ts])
            continue
        if roll < 0.015:
            calls.append(["flush"])
            continue
        step += 1
        kind = rng.random()
        if kind < 0.03:
            value_step = step + 0.5
        elif kind < 0.05:
            value_step = float(step)
        elif kind < 0.055:
            value_step = 2**32 + step
        elif kind < 0.06:
            value_step = -step
        elif kind < 0.065:
            value_step = True
        else:
            value_step = step
        jump = rng.random()
        if jump < 0.005:
            ts += 5000.0  # past a frame's ~71-minute window
        elif jump < 0.01:
            ts -= 1.0  # before the open frame's timestamp
        else:
            ts += rng.choice([0.0, 1e-7, 0.001, 0.25])
        value = rng.choice([rng.random(), -1e300, 0.0, rng.randint(-5, 5), False])
        path = paths[0] if rng.random() < 0.7 else rng.choice(paths)
        calls.append(["point", path, value_step, value, ts])
    return {
        "calls": calls,
        "segment_size": rng.choice([16 << 10, 64 << 10, 1 << 20]),
        "durability": rng.choice(["mmap", "buffered"]),
    }


def write_with(build: str, scripts: Path, out: Path) -> dict:
    env = dict(os.environ)
    env.pop("NEPTUNE_SYNC_PURE_PYTHON", None)
    if build == "python":
        env["NEPTUNE_SYNC_PURE_PYTHON"] = "1"
    done = subprocess.run(
        [sys.executable, str(HERE / "hotframe_child.py"), str(scripts), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_c_build_is_in_use():
    """The install builds the C hot path wherever a compiler and zlib's headers are (the speed
    claims in bench/ rest on it); NEPTUNE_SYNC_PURE_PYTHON=1 is the only way to the Python build."""
    expected = "python" if os.environ.get("NEPTUNE_SYNC_PURE_PYTHON") == "1" else "c"
    assert expected == hotframe.BUILD, "the C hot path was not built: `pip install` needs gcc and zlib1g-dev"


@pytest.mark.skipif(hotframe.BUILD != "c", reason="only the Python build is here")
def test_both_builds_write_the_same_bytes_and_return_the_same_seqs(tmp_path):
    rng = random.Random(20261204)
    scripts = [random_script(rng) for _ in range(40)]
    calls_file = tmp_path / "scripts.json"
    calls_file.write_text(json.dumps(scripts))
    c_out = write_with("c", calls_file, tmp_path / "c")
    py_out = write_with("python", calls_file, tmp_path / "python")
    assert (c_out["build"], py_out["build"]) == ("c", "python")
    assert c_out["seqs"] == py_out["seqs"]
    for n in range(len(scripts)):
        c_files = sorted((tmp_path / "c" / str(n)).iterdir())
        py_files = sorted((tmp_path / "python" / str(n)).iterdir())
        assert [p.name for p in c_files] == [p.name for p in py_files]
        for c_file, py_file in zip(c_files, py_files, strict=True):
            assert c_file.read_bytes() == py_file.read_bytes(), (n, c_file.name)
    rotations = sum(len(list((tmp_path / "c" / str(n)).iterdir())) > 1 for n in range(len(scripts)))
    assert rotations >= 5  # full segments were part of it


def test_a_point_waits_while_another_thread_holds_the_turn(segments):
    """The C build takes no turn (it runs under the GIL, start to end), so it must see a turn held
    by another thread and wait in the general path, not write into a frame being changed."""
    writer = new_writer(segments)
    writer.append_float("loss", 0, 0.5, T0)  # the open frame now takes "loss"
    turn = writer._turn
    del turn[-1]  # this thread holds the turn
    returned: list[int] = []
    other = threading.Thread(target=lambda: returned.append(writer.append_float("loss", 1, 0.25, T0)))
    other.start()
    time.sleep(0.2)
    assert returned == [], "a point was written while another thread held the turn"
    assert writer._seq == 1
    turn.append(True)
    other.join(timeout=10)
    assert returned == [2]
    writer.close()
    ((_, entries),) = read_writers(segments).items()
    assert [(p.step, p.value) for e in entries for p in e.op.points] == [(0, 0.5), (1, 0.25)]


@pytest.mark.skipif(hotframe.BUILD != "c", reason="test_commit_order.py runs here in-process")
def test_the_python_build_stores_each_commit_word_after_its_body():
    env = dict(os.environ, NEPTUNE_SYNC_PURE_PYTHON="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "test_commit_order.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_ops_between_points_close_the_frame_in_both_builds(segments):
    """An op closes the open points frame: the next point opens a new one (no point lands in a
    frame laid before an op, whichever build took it)."""
    writer = new_writer(segments)
    writer.append_float("loss", 0, 0.5, T0)
    writer.append(ops.AssignInt("n", 1), T0)
    writer.append_float("loss", 1, 0.25, T0)
    writer.close()
    ((_, entries),) = read_writers(segments).items()
    assert [type(e.op).__name__ for e in entries] == ["LogFloats", "AssignInt", "LogFloats"]


_DELETED_FIELD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from oplog_helpers import new_writer
from neptune_sync.wire import ops
for attr in ("_turn", "_open_path", "_open_table", "_float_path"):
    writer = new_writer(Path(sys.argv[2]) / attr)
    writer.append_float("loss", 1, 1.0, 1e9)  # a frame open for "loss"
    delattr(writer, attr)
    for call in (
        lambda: writer.append_float("loss", 2, 2.0, 1e9),
        lambda: writer.append_float("acc", 2, 2.0, 1e9),
        lambda: writer.append(ops.AssignInt("n", 1), 1e9),
    ):
        try:
            call()
        except AttributeError:
            pass
    print(attr, "ok", flush=True)
"""


def test_a_deleted_field_raises_attribute_error_in_both_builds(tmp_path):
    """The fields are plain attributes in the Python build: deleting one makes the next call raise
    AttributeError. The C build kept NULL in them and dereferenced it (a segfault)."""
    done = subprocess.run(
        [sys.executable, "-c", _DELETED_FIELD, str(HERE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    assert done.stdout.count(" ok") == 4
