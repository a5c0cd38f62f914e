"""A run whose log lost a segment: `neptune-sync sync` and the daemon deliver everything else and
report the gap (file, seq range, count); `sync` exits 1; `status` and the daemon's state keep it."""

from __future__ import annotations

import json

import anyio
import pytest
from store_model import MemoryStore

from neptune_sync.cli import main
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.layout import segments_dir
from neptune_sync.oplog.reader import read_run, segment_files
from neptune_sync.wire.sync_state import read_state
from neptune_sync_store.testing import running_store
from neptune_syncd.notify import Notifier
from neptune_syncd.service import Service
from neptune_syncd.sinks.http import HttpSink

PROJECT = "team/proj"


def remaining(run_path) -> dict:
    """What the store should hold: the log that is left, applied in order."""
    store = MemoryStore()
    store.apply_log("x", [e for _, e in read_run(segments_dir(run_path), on_damage=lambda err: None)])
    return store.values("x")


@pytest.mark.asyncio
@pytest.mark.parametrize("damage", ["delete", "truncate"])
async def test_sync_delivers_around_a_missing_segment_reports_it_and_exits_1(
    runs, tmp_path, monkeypatch, capsys, damage
):
    run = runs.create("gappy")
    runs.all_types(run, points=6000, segment_size=16 << 10)
    files = segment_files(segments_dir(run))
    assert len(files) >= 5
    first = [fr.decode_segment_header(p.read_bytes())[0].first_seq for p in files]
    if damage == "delete":
        files[2].unlink()
        lost = (first[2], first[3] - 1)
    else:  # cut the segment just after its first frame: the rest of it is lost
        with open(files[2], "r+b") as f:
            f.truncate(fr.decode_segment_header(files[2].read_bytes())[1] + 64)
        lost = None
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        code = await anyio.to_thread.run_sync(main, ["sync", "-q"])
        captured = capsys.readouterr()
        assert code == 1, captured.out
        assert "0/1 runs fully synced" in captured.out and "log incomplete" in captured.out
        assert files[3 if damage == "delete" else 2].name in captured.err
        if lost is not None:
            assert f"seq {lost[0]}..{lost[1]} lost ({lost[1] - lost[0] + 1} records)" in captured.err
        got = await runs.store_view(store.storage, run.name)
        assert got == runs.normalized(remaining(run))
        assert 4000 < len(got["train/loss"][1]) < 6000
    assert main(["status", "--json"]) == 1  # the run lost data
    (report,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert report["damaged"] >= 1 and report["pending_ops"] == 0
    assert report["lost_records"] == 6000 - len(got["train/loss"][1])


@pytest.mark.asyncio
async def test_the_daemon_delivers_around_a_deleted_segment_and_status_reports_the_range(
    runs, config, tmp_path, capsys
):
    run = runs.create("gappy-daemon")
    runs.all_types(run, points=6000, segment_size=16 << 10)
    files = segment_files(segments_dir(run))
    first = [fr.decode_segment_header(p.read_bytes())[0].first_seq for p in files]
    files[1].unlink()
    lost = first[2] - first[1]
    async with running_store(tmp_path / "store") as store:
        service = Service(config, HttpSink(store.url, await store.token(PROJECT)), Notifier({}))
        async with anyio.create_task_group() as tg:
            await tg.start(service.run)
            with anyio.fail_after(30):
                while not (
                    service.replicators
                    and all(r.state.updated and not r.state.pending_ops for r in service.replicators.values())
                ):
                    await anyio.sleep(0.02)
            await service.stop()
        assert await runs.store_view(store.storage, run.name) == runs.normalized(remaining(run))
    assert main(["status", "--json"]) == 1  # the run lost data
    (report,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert (report["damaged"], report["lost_records"], report["pending_ops"]) == (1, lost, 0)
    (problem,) = read_state(run).damaged
    assert f"seq {first[1]}..{first[2] - 1} lost ({lost} records)" in problem and files[0].name in problem
