"""A disk that fills up under a logging process (a real 8 MiB tmpfs; mounting it needs root).

A child process logs 100,000 points and some file uploads while the disk is nearly full: no
exception reaches it (non-strict mode), the log keeps what fits, and every call is either read
back from the log or counted as dropped, exactly. The count is kept in the run's drop record and
shown by ``verify`` (exit 1), ``ls``, ``show``, ``status`` and ``sync`` (exit 1); once the disk
has room again it is logged as ``sys/dropped_operations/<id>`` and reaches the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from neptune_sync import cli
from neptune_sync.oplog import layout
from neptune_sync.oplog.drops import FIELD_PREFIX, read_drops
from neptune_sync.replay import replay
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to mount a small tmpfs (mount -t tmpfs -o size=8M)"
)
CALLS, UPLOADS = 100_000, 10
CHILD = textwrap.dedent(
    f"""
    import os, sys
    import neptune_sync as neptune
    # only the calls below write: no capture op may be dropped (and counted) during the loop
    run = neptune.init_run(project="team/proj", mode="offline", custom_run_id="full-disk",
                           capture_stdout=False, capture_stderr=False, capture_hardware_metrics=False)
    print("ready", flush=True)
    sys.stdin.readline()
    before = run.dropped_operations
    for i in range({CALLS}):
        run["train/loss"].append(i / 7, step=i)
        if i % ({CALLS} // {UPLOADS}) == 0:
            run[f"files/f{{i}}"].upload(neptune.File.from_content(os.urandom(400_000), extension="bin"))
    print(run.dropped_operations - before, flush=True)
    sys.stdin.readline()  # the disk has room again
    run.stop()
    print(run.dropped_operations, flush=True)
    """
)


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A file that takes all the free space of ``disk`` but ``leave`` bytes."""
    st = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb") as f:
        f.write(bytes(max(0, st.f_bavail * st.f_frsize - leave)))
    return filler


@pytest.mark.asyncio
async def test_a_full_disk_keeps_what_fits_and_counts_every_dropped_call(
    small_disk, monkeypatch, capsys, tmp_path
):
    data = small_disk / "data"
    monkeypatch.setenv("NEPTUNE_SYNC_DIR", str(data))
    filler = fill(small_disk, leave=640 << 10)  # no room for a 16 MiB segment, nor for all the points
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NEPTUNE_SYNC_DIR": str(data), "NEPTUNE_SYNC_HEARTBEAT_PERIOD": "3600"},
    )
    try:
        assert child.stdout.readline() == "ready\n"
        child.stdin.write("\n")
        child.stdin.flush()
        dropped_in_loop = int(child.stdout.readline())
        filler.unlink()
        child.stdin.write("\n")
        child.stdin.flush()
        dropped = int(child.stdout.readline())
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err  # no exception reached the training code
    assert "could not write the operation log" in err and "dropped so far" in err
    assert "the disk is nearly full; log segment" in err

    (run_path,) = layout.iter_run_dirs(data)
    tree = replay(layout.segments_dir(run_path), keep_values=True)
    points = len(tree.get("train/loss").value)
    uploads = len([p for p, _ in tree.under("files")])
    assert 0 < points < CALLS and dropped_in_loop > 0  # the log kept what fit, and it was not everything
    assert points + uploads + dropped_in_loop == CALLS + UPLOADS  # each call persisted or counted
    (record,) = read_drops(run_path)
    assert record.dropped == dropped >= dropped_in_loop and "No space left" in record.reason
    assert tree.get(FIELD_PREFIX + record.id).value == dropped  # logged once the disk had room

    assert cli.main(["verify"]) == 1
    assert f"{dropped} dropped operation(s)" in capsys.readouterr().out
    assert cli.main(["ls"]) == 0
    assert f"({dropped} dropped)" in capsys.readouterr().out
    assert cli.main(["show", "full-disk"]) == 0
    assert f"INCOMPLETE: {dropped} operation(s) dropped" in capsys.readouterr().out
    assert cli.main(["status", "--json"]) == 1  # dropped writes are lost data
    assert json.loads(capsys.readouterr().out)["dropped"] == dropped
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token("team/proj"))
        code = await anyio.to_thread.run_sync(cli.main, ["sync", "-q"])
        out = capsys.readouterr().out
        assert code == 1 and f"{dropped} operation(s) dropped by the client" in out, out
        fields = {f.path: f.value for f in await store.storage.field_values("team/proj", run_path.name, [])}
        assert fields[FIELD_PREFIX + record.id] == dropped
