"""The drop record: every write the log could not take is counted on disk, per process (a forked
child in its own record), without root or a real full disk (a writer factory that fails)."""

from __future__ import annotations

import os

import neptune_sync as neptune
from neptune_sync.oplog.drops import read_drops
from neptune_sync.oplog.writer import OpLogWriter


class FlakyDisk:
    """A writer factory whose opens fail while ``full`` is set (as on ENOSPC)."""

    def __init__(self) -> None:
        self.full = False

    def __call__(self, *args, **kwargs) -> OpLogWriter:
        if self.full:
            raise OSError(28, "No space left on device")
        return OpLogWriter(*args, **kwargs)


def test_dropped_writes_are_counted_per_process_and_on_disk(monkeypatch):
    monkeypatch.setattr("neptune_sync.runlog.RETRY_INTERVAL", 0.0)
    disk = FlakyDisk()
    run = neptune.init_run(project="w/drops", mode="offline", custom_run_id="d", writer_factory=disk)
    run._runlog.writer.close()  # the disk fills up: the next write needs a new segment
    disk.full = True
    for i in range(50):
        run["loss"].append(float(i), step=i)
    assert run.dropped_operations == 50
    ((record,),) = [read_drops(run.run_path)]
    assert record.dropped == 50 and record.pid == os.getpid() and "No space left" in record.reason

    pid = os.fork()
    if pid == 0:  # the child: its drops go to its own record, the parent's stays as it was
        code = 1
        try:
            for i in range(7):
                run["child"].append(float(i), step=i)
            code = 0 if run.dropped_operations == 7 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted((r.pid, r.dropped) for r in read_drops(run.run_path)) == sorted(
        [(os.getpid(), 50), (pid, 7)]
    )

    disk.full = False
    run["after"] = 1  # the log takes writes again: the count goes into the log itself
    run.stop()
    fields = run.fetch()
    assert fields["sys"]["dropped_operations"][record.id] == 50
    assert fields["after"] == 1
