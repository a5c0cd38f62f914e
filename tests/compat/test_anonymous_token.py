"""``api_token=neptune.ANONYMOUS_API_TOKEN`` means "no token given": the run falls back to
NEPTUNE_API_TOKEN. A read-only reopen against a real store then reads back in 1.x shapes."""

from __future__ import annotations

import asyncio
import datetime as dt
import zipfile

import neptune
import numpy as np
import pytest
from neptune.exceptions import RunNotFound
from neptune.types import Artifact, File

from neptune_sync import cli
from neptune_sync.config import resolve_token

pytest.importorskip("neptune_sync_store")
from neptune_sync_store.testing import running_store  # noqa: E402

PROJECT = "common/examples"


def test_anonymous_token_counts_as_not_given(monkeypatch):
    assert resolve_token(neptune.ANONYMOUS_API_TOKEN) is None
    monkeypatch.setenv("NEPTUNE_API_TOKEN", "real-token")
    assert resolve_token(neptune.ANONYMOUS_API_TOKEN) == "real-token"
    assert resolve_token("explicit") == "explicit"
    monkeypatch.setenv("NEPTUNE_API_TOKEN", neptune.ANONYMOUS_API_TOKEN)
    assert resolve_token(None) is None


def log_offline_and_sync(workdir) -> str:
    (workdir / "data").mkdir()
    (workdir / "data" / "train.csv").write_text("x\n1\n")
    (workdir / "src").mkdir()
    (workdir / "src" / "a.py").write_text("a = 1\n")
    run = neptune.init_run(project=PROJECT, mode="offline", api_token=neptune.ANONYMOUS_API_TOKEN)
    run["when"] = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)
    run["data"].track_files("data")
    run["code"].upload_files("src")
    for step in (4, 9):
        run["preds"].append(File.as_image(np.full((2, 2), step / 10)), step=step)
    run["model"].upload(File.from_content(b"w", extension="pt"))
    run.stop()
    assert cli.main(["sync", "-q"]) == 0
    return run["sys/id"].fetch()


def read_back(run_id: str, workdir) -> None:
    ro = neptune.init_run(
        with_id=run_id, project=PROJECT, mode="read-only", api_token=neptune.ANONYMOUS_API_TOKEN
    )
    assert ro["when"].fetch() == dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    artifact = ro["data"].fetch()
    assert isinstance(artifact, Artifact) and artifact.hash == ro["data"].fetch_hash()
    assert [f.relpath for f in artifact.files] == ["train.csv"]
    assert ro["model"].fetch_extension() == "pt"
    assert [(e.name, e.file_type) for e in ro["code"].list_fileset_files()] == [("src", "directory")]
    archive = ro["code"].download(str(workdir / "code.zip"), progress_bar=False)
    assert zipfile.ZipFile(archive).read("src/a.py") == b"a = 1\n"
    folder = ro["preds"].download(str(workdir / "preds"))
    assert sorted(p.name for p in folder.iterdir()) == ["0.png", "1.png"]
    assert ro["preds"].download_last(str(workdir / "last")).name == "1.png"
    assert ro.container_type == "run" and ro.get_state() == "started"
    ro.ping()
    ro.stop()
    assert ro.get_state() == "stopped"
    with pytest.raises(RunNotFound):
        neptune.init_run(with_id="EXAMPL-404", project=PROJECT, mode="read-only")


@pytest.mark.asyncio
async def test_read_only_reopen_with_the_anonymous_token_uses_neptune_api_token(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with running_store(tmp_path / "store") as store:
        monkeypatch.setenv("NEPTUNE_API_TOKEN", await store.token(PROJECT))
        run_id = await asyncio.wait_for(asyncio.to_thread(log_offline_and_sync, tmp_path), 60)
        await asyncio.wait_for(asyncio.to_thread(read_back, run_id, tmp_path), 60)
