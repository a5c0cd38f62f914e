"""SIGKILL a child logging at full speed, then read its log back: no call that returned is lost
(docs/oplog-format.md, "Growing frames and the crash promise").

Each child runs the deterministic workload of oplog_workload; after the kill the log must read
back without an exception, contiguous from seq 1, every record equal to what the workload logs at
that seq, and at least up to the last seq the child reported as returned (mmap) or flushed
(buffered) before it died.
"""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from oplog_helpers import read_writers
from oplog_workload import check_records

from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.reader import SegmentReader, segment_files

CHILD = Path(__file__).with_name("oplog_child.py")
SEGMENT_SIZES = (16 << 10, 64 << 10)  # small, so a run of a few hundred ms rotates many times
ONE_CALL = 120  # bytes: the biggest frame one workload call writes is 107 (+ alignment)


def _wait_for_progress(progress: Path, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while struct.unpack("<Q", progress.read_bytes())[0] == 0:
        assert proc.poll() is None, f"child exited early with {proc.returncode}: {proc.stderr.read()!r}"
        assert time.monotonic() < deadline, "child made no progress"
        time.sleep(0.002)


def _unread_bytes(segments: Path) -> int:
    """Non-zero bytes past the last frame that reads back, in the writer's last segment.

    The call in flight at the kill may leave at most its own bytes there; more means a frame
    that held returned calls was lost (say, a torn commit word of a growing points frame).
    """
    paths = segment_files(segments) if segments.exists() else []
    if not paths:
        return 0
    data = paths[-1].read_bytes()
    with SegmentReader(paths[-1]) as reader:
        end = reader.data_start
        for offset, _ in reader.entries():
            end = offset + 8 + fr.COMMIT.unpack_from(data, offset)[0]
    return max(0, len(data.rstrip(b"\0")) - end)


def _kill_once(base: Path, rng: random.Random, durability: str) -> tuple[int, int]:
    """Start a child, SIGKILL it at a random moment; returns (last seq it reported, last seq read)."""
    base.mkdir()
    segments, progress = base / "segments", base / "progress"
    progress.write_bytes(bytes(8))
    size = rng.choice(SEGMENT_SIZES)
    cmd = [sys.executable, str(CHILD), str(segments), str(progress), durability, str(size)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        if rng.random() < 0.1:  # now and then, somewhere in start-up and the first segment
            time.sleep(rng.uniform(0.0, 0.15))
        else:
            _wait_for_progress(progress, proc)
            time.sleep(rng.uniform(0.0, 0.12))
        assert proc.poll() is None, f"child died on its own: {proc.stderr.read()!r}"
    finally:
        proc.kill()  # SIGKILL
        proc.wait(timeout=10)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    reported = struct.unpack("<Q", progress.read_bytes())[0]
    runs = read_writers(segments) if segments.exists() else {}
    assert len(runs) <= 1
    last = check_records(next(iter(runs.values()), []))
    if durability == "mmap":
        assert _unread_bytes(segments) <= ONE_CALL, f"returned calls lost after seq {last}"
    return reported, last


@pytest.mark.slow
@pytest.mark.parametrize(("durability", "kills"), [("mmap", 50), ("buffered", 10)])
def test_sigkill_loses_no_returned_call(tmp_path, durability, kills):
    seed = int(os.environ.get("OPLOG_KILL_SEED", random.randrange(1 << 32)))
    print(f"kill test seed: {seed} (rerun with OPLOG_KILL_SEED={seed})")
    rng = random.Random(seed)
    total = 0
    for i in range(kills):
        reported, last = _kill_once(tmp_path / f"kill{i}", rng, durability)
        assert last >= reported, f"seed {seed}, kill {i}: read up to seq {last}, child had {reported}"
        total += last
    print(f"{kills} kills, {total} records read back and checked")
    assert total > kills * 1000, f"seed {seed}: the children logged too little to mean anything"


def test_pages_given_back_to_the_kernel_survive_a_kill(tmp_path):
    """The writer drops finished pages of a big segment from its RSS (MADV_DONTNEED) every 2 MiB;
    they must still be in the file after a SIGKILL."""
    segments, progress = tmp_path / "segments", tmp_path / "progress"
    progress.write_bytes(bytes(8))
    cmd = [sys.executable, str(CHILD), str(segments), str(progress), "mmap", str(8 << 20)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while struct.unpack("<Q", progress.read_bytes())[0] < 700_000:  # 1 + 2 + 4 MiB, then 8 MiB
            assert proc.poll() is None and time.monotonic() < deadline, "the child fell short"
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stderr.close()
    reported = struct.unpack("<Q", progress.read_bytes())[0]
    ((_, entries),) = read_writers(segments).items()
    assert check_records(entries) >= reported
    sizes = [p.stat().st_size for p in sorted(segments.glob("*.seg"))]
    assert len(sizes) >= 4 and sizes[-1] == 8 << 20, sizes  # the killed one: still preallocated
