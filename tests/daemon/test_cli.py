"""``neptune-sync sync`` and ``neptune-sync status`` against the real store."""

from __future__ import annotations

import json

import anyio
import pytest

from neptune_sync.cli import main
from neptune_sync.wire import ops as o
from neptune_sync_store.testing import running_store

PROJECT = "team/proj"


def status(capsys) -> dict:
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    return {r["run_key"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}


@pytest.mark.asyncio
async def test_sync_uploads_everything_and_status_shows_nothing_pending(runs, tmp_path, monkeypatch, capsys):
    paths = [runs.create(f"cli{i}") for i in range(2)]
    last = {p.name: runs.all_types(p, points=2000).last_seq for p in paths}
    before = status(capsys)
    assert {k: r["pending_ops"] for k, r in before.items()} == last
    assert not any(r["synced_before"] for r in before.values())
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        code = await anyio.to_thread.run_sync(main, ["sync", "-q", str(paths[0]), "cli1"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "2/2 runs fully synced" in out
        for p in paths:  # each synced run's page in the store's web app
            run_id = json.loads((p / "run.json").read_text())["run_id"]
            assert f"  {store.url}/#/p/team%2Fproj/run/{run_id}\n" in out
            assert await runs.store_view(store.storage, p.name) == runs.normalized(runs.expected(p))
    after = status(capsys)
    assert all(r["pending_ops"] == 0 and r["synced_before"] for r in after.values())


@pytest.mark.asyncio
async def test_sync_exits_non_zero_when_something_is_quarantined(runs, tmp_path, monkeypatch, capsys):
    run = runs.create("quarantined")
    w = runs.writer(run)
    w.append(o.AssignString("ok", "fine"))
    w.append(o.AssignString("bad//path", "the store refuses this path"))
    w.close()
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        code = await anyio.to_thread.run_sync(main, ["sync", "-q"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "1 quarantined" in out and "0/1 runs fully synced" in out
    assert status(capsys)[run.name]["quarantined"] == 1


def test_sync_of_unknown_run_and_missing_token_exit_2(runs, capsys, monkeypatch):
    monkeypatch.setenv("NEPTUNE_API_TOKEN", "not a token")
    assert main(["sync", "nope"]) == 2
    monkeypatch.delenv("NEPTUNE_API_TOKEN")
    assert main(["sync"]) == 2
    assert "NEPTUNE_API_TOKEN" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_sync_with_the_store_down_gives_up_after_timeout_and_exits_1(runs, monkeypatch, capsys):
    from neptune_sync.wire.token import ApiToken

    run = runs.create("offline")
    runs.all_types(run, points=10)
    monkeypatch.setenv(
        "NEPTUNE_API_TOKEN", ApiToken("http://127.0.0.1:9", "nss_x").format()
    )  # nothing listens
    with anyio.fail_after(20):
        code = await anyio.to_thread.run_sync(main, ["sync", "-q", "--timeout", "0.5"])
    out = capsys.readouterr().out
    assert code == 1 and "ops left" in out and "store unavailable" in out
    assert main(["status"]) == 0
    assert "daemon not running" in capsys.readouterr().out
