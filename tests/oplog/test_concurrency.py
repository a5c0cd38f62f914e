"""Several writers at once: processes sharing a run directory, threads sharing a writer, and a
fork while the parent is writing.

Findings (fork): a forked child cannot write through its parent's writer; every call raises
LoggingDisabledError at once, even when another thread of the parent held the writer's lock at
fork time, and flush/fsync/close in the child leave the parent's segment alone. The child logs
through a new OpLogWriter of its own in the same run directory; both logs read back complete.
"""

from __future__ import annotations

import faulthandler
import os
import select
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from oplog_helpers import new_writer, read_writers, records_of
from oplog_strategies import T0
from oplog_workload import check_records

from neptune_sync.exceptions import LoggingDisabledError
from neptune_sync.oplog.reader import SegmentReader, segment_files
from neptune_sync.wire import ops

HERE = Path(__file__).parent

_WORKLOAD_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from oplog_helpers import new_writer
from oplog_workload import BLOCK, log_block
writer = new_writer(sys.argv[2], segment_size=32 << 10)
for block in range(int(sys.argv[3]) // BLOCK):
    log_block(writer, block)
writer.close()
"""


def test_processes_sharing_a_run_each_write_their_own_segments(segments):
    count, procs = 20_032, []  # whole blocks of 64
    for _ in range(4):
        args = [sys.executable, "-c", _WORKLOAD_CHILD, str(HERE), str(segments), str(count)]
        procs.append(subprocess.Popen(args, stderr=subprocess.PIPE))
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    runs = read_writers(segments)
    assert len(runs) == 4
    for entries in runs.values():
        assert check_records(entries) >= count
    for path in segment_files(segments):
        with SegmentReader(path) as reader:
            assert path.name.startswith(reader.header.writer_id + "-")


@pytest.fixture(params=["default", "at almost every bytecode"])
def thread_switches(request) -> Iterator[None]:
    """Thread switches at the interpreter's default interval, or forced so often that a section
    the writer fails to guard is all but sure to be cut by another thread."""
    before = sys.getswitchinterval()
    if request.param != "default":
        sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_threads_sharing_a_writer_get_contiguous_seqs_and_keep_their_order(
    writer_factory, segments, thread_switches
):
    writer = writer_factory(segment_size=64 << 10)
    per_thread, threads = 5000, 4

    def log(t: int) -> None:
        for i in range(per_thread):
            writer.append_float(f"t{t}", i, t * 1e6 + i, T0 + i * 1e-3)
            if i % 97 == 0:
                writer.append(ops.AssignInt(f"progress/t{t}", i), T0)

    workers = [threading.Thread(target=log, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert not worker.is_alive()
    writer.close()
    ((_, entries),) = read_writers(segments).items()  # the default on_damage raises
    read = records_of(entries)
    assert [seq for seq, _ in read] == list(range(1, len(read) + 1))
    for t in range(threads):
        values = [p.value for _, (path, p) in read if path == f"t{t}"]
        assert values == [t * 1e6 + i for i in range(per_thread)]
        assert len([1 for _, (_, op) in read if getattr(op, "path", "") == f"progress/t{t}"]) == 52


def _fork(child: Callable[[], None]) -> int:
    """Fork; the child runs ``child`` and exits 0, or prints its error and exits 1."""
    with warnings.catch_warnings():  # Python >= 3.12 warns about fork with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        return pid
    try:
        faulthandler.dump_traceback_later(15, exit=True)  # a hang shows where, then ends the child
        child()
        code = 0
    except BaseException:
        os.write(2, traceback.format_exc().encode())
        code = 1
    os._exit(code)


def _wait(pid: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail(f"forked child {pid} hung (deadlocked on the parent's writer?)")


def _child_logs_through_a_new_writer(parent_writer, segments: Path) -> Callable[[], None]:
    def child() -> None:
        for call in (
            lambda: parent_writer.append_float("loss", 10**6, 1.0, T0 + 1),  # the open frame
            lambda: parent_writer.append_float("other", 1, 1.0, T0),
            lambda: parent_writer.append(ops.AssignInt("forked", 1)),
        ):
            try:
                call()
            except LoggingDisabledError:
                continue
            raise AssertionError("the child wrote through its parent's writer")
        parent_writer.flush()
        parent_writer.fsync()
        parent_writer.close()
        own = new_writer(segments, segment_size=64 << 10)
        for i in range(1000):
            own.append_float("child/loss", i, -i, T0 + i)
        own.close()

    return child


@pytest.mark.parametrize("durability", ["mmap", "buffered"])
def test_a_forked_child_writes_through_its_own_writer_and_the_parents_log_stays_whole(segments, durability):
    parent = new_writer(segments, durability=durability, segment_size=32 << 10)
    for i in range(3000):
        parent.append_float("loss", i, i * 0.5, T0 + i * 1e-3)
        if i == 1500:
            parent.flush()
            pid = _fork(_child_logs_through_a_new_writer(parent, segments))
    assert _wait(pid) == 0
    parent.close()
    runs = read_writers(segments)
    assert len(runs) == 2
    parents = records_of(runs.pop(parent.writer_id))
    assert [(seq, p.step, p.value) for seq, (_, p) in parents] == [(i + 1, i, i * 0.5) for i in range(3000)]
    ((_, child_entries),) = runs.items()
    assert [(p.step, p.value) for _, (_, p) in records_of(child_entries)] == [(i, -i) for i in range(1000)]


def test_fork_while_another_thread_holds_the_writer_never_deadlocks_the_child(segments):
    writer = new_writer(segments, segment_size=32 << 10)
    stop = threading.Event()

    def hammer() -> None:
        i = 0
        while not stop.is_set():
            writer.append_float("loss", i, float(i), T0 + i * 1e-3)
            i += 1

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        for _ in range(20):
            assert _wait(_fork(_child_logs_through_a_new_writer(writer, segments))) == 0
    finally:
        stop.set()
        thread.join(timeout=10)
    writer.close()
    runs = read_writers(segments)
    parents = records_of(runs.pop(writer.writer_id))
    assert [p.step for _, (_, p) in parents] == list(range(len(parents)))
    assert len(runs) == 20 and all(len(records_of(e)) == 1000 for e in runs.values())


def test_a_forked_child_does_not_keep_the_parents_segment_locked(segments):
    writer = new_writer(segments)
    writer.append_float("loss", 0, 1.0, T0)
    (path,) = segment_files(segments)
    ready_r, ready_w = os.pipe()

    def child() -> None:  # runs after the child's at-fork handlers: then it says so, and lives on
        os.write(ready_w, b"x")
        time.sleep(1.0)  # alive while the parent finishes its segment

    pid = _fork(child)
    try:
        assert select.select([ready_r], [], [], 20)[0], "forked child did not start"
        with SegmentReader(path) as reader:
            assert reader.writer_alive()
            writer.close()
            assert not reader.writer_alive(), "the child's copy of the descriptor still holds the flock"
    finally:
        os.close(ready_r)
        os.close(ready_w)
        assert _wait(pid) == 0
