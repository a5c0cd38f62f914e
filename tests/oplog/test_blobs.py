"""The content-addressed blob store: stored once per content, never a blob under a wrong name."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neptune_sync.oplog.blobs import RunBlobs


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_identical_content_is_stored_once_under_its_sha256(tmp_path):
    store = RunBlobs(tmp_path / "blobs")
    data = b"weights" * 1000
    first = store.put_bytes(data)
    assert store.put_stream(io.BytesIO(data)) == first == (hashlib.sha256(data).hexdigest(), len(data))
    assert _files(store.root) == [store.path_of(first[0])]
    with store.open(first[0]) as f:
        assert f.read() == data


def test_a_stream_larger_than_a_chunk_is_hashed_whole(tmp_path):
    store = RunBlobs(tmp_path / "blobs")
    data = bytes(range(256)) * (3 * 4096 + 7)  # about 3 MiB: several chunks
    sha, size = store.put_stream(io.BytesIO(data))
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.path_of(sha).read_bytes() == data


def test_a_failing_stream_leaves_neither_a_blob_nor_a_temporary_file(tmp_path):
    store = RunBlobs(tmp_path / "blobs")

    def chunks():
        yield b"partial content"
        raise OSError("the source file went away")

    with pytest.raises(OSError, match="went away"):
        store.put_chunks(chunks())
    assert _files(store.root) == []


_SLOW_PUT = """
import sys, time
from neptune_sync.oplog.blobs import RunBlobs
def chunks():
    while True:
        yield b"x" * 4096
        time.sleep(0.001)
RunBlobs(sys.argv[1]).put_chunks(chunks())
"""


def test_a_put_killed_midway_leaves_at_most_a_temporary_file(tmp_path):
    root = tmp_path / "blobs"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_PUT, str(root)])
    try:
        deadline = time.monotonic() + 20
        while not any(p.stat().st_size > 0 for p in _files(root)):
            assert time.monotonic() < deadline and proc.poll() is None, "the put never started"
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    left = _files(root)
    assert len(left) == 1 and left[0].name.startswith(".") and left[0].name.endswith(".tmp")
    store = RunBlobs(root)
    sha, _ = store.put_bytes(b"after the crash")
    assert store.has(sha) and store.path_of(sha).read_bytes() == b"after the crash"


_PUT = """
import sys
from neptune_sync.oplog.blobs import RunBlobs
for _ in range(50):
    RunBlobs(sys.argv[1]).put_bytes(bytes(range(256)) * 4000)
"""


def test_processes_storing_the_same_content_at_once_leave_one_whole_blob(tmp_path):
    root = tmp_path / "blobs"
    procs = [subprocess.Popen([sys.executable, "-c", _PUT, str(root)]) for _ in range(4)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    data = bytes(range(256)) * 4000
    assert _files(root) == [RunBlobs(root).path_of(hashlib.sha256(data).hexdigest())]
    assert _files(root)[0].read_bytes() == data
