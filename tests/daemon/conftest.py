"""Fixtures for the daemon tests: runs with every field type written by the real writer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from neptune_sync.oplog import ops as o
from neptune_sync.oplog.blobs import BlobStore
from neptune_sync.oplog.layout import RunIdentity, blobs_dir, claim_identity, run_dir, run_key_for, segments_dir
from neptune_sync.oplog.reader import read_run
from neptune_sync.oplog.writer import OpLogWriter
from neptune_syncd.config import DaemonConfig
from neptune_syncd.sinks.memory import MemoryStore

PROJECT = "team/proj"


class RunFactory:
    """Creates runs in the test data dir and writes ops through the real log writer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create(self, name: str, project: str = PROJECT) -> Path:
        key = run_key_for(project, custom_run_id=name)
        path = run_dir(key, self.root)
        claim_identity(path, RunIdentity(project, key, f"RUN-{name}", name))
        return path

    def writer(self, run_path: Path, **kw: object) -> OpLogWriter:
        ident = claim_identity(run_path, None)  # type: ignore[arg-type]
        return OpLogWriter(
            segments_dir(run_path),
            project=ident.project,
            run_key=ident.run_key,
            run_id=ident.run_id,
            custom_run_id=ident.custom_run_id,
            **kw,
        )

    def file_ref(self, run_path: Path, data: bytes, name: str = "f.bin") -> o.FileRef:
        sha, size = BlobStore(blobs_dir(run_path)).put_bytes(data)
        return o.FileRef(sha, size, name, name.rpartition(".")[2])

    def all_types(self, run_path: Path, points: int = 300, **kw: object) -> OpLogWriter:
        """Write every op type once (plus a float series of ``points`` points); returns the closed writer."""
        w = self.writer(run_path, **kw)
        ref = self.file_ref(run_path, b"model weights " * 100, "model.pt")
        ref2 = self.file_ref(run_path, b"sample image", "img.png")
        w.append(o.AssignFloat("params/lr", 0.001))
        w.append(o.AssignInt("params/epochs", 10))
        w.append(o.AssignBool("params/shuffle", True))
        w.append(o.AssignString("sys/name", "all types"))
        w.append(o.AssignDatetime("params/start", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)))
        w.append(o.AssignFile("model/weights", ref))
        for i in range(points):
            w.append_float("train/loss", i, 1.0 / (i + 1), 1_700_000_000.0 + i / 1000)
        w.append(o.LogFloats("train/acc", (o.FloatPoint(0.5, 0.9, 1.0), o.FloatPoint(1.5, 0.95, 2.0))))
        w.append(o.LogStrings("train/log", (o.StringPoint(0, "hello", 1.0), o.StringPoint(1, "world", 2.0))))
        w.append(o.LogFiles("train/images", (o.FilePoint(0, ref2, 1.0),)))
        w.append(o.LogFloats("tmp/series", (o.FloatPoint(0, 1.0, 1.0),)))
        w.append(o.ClearSeries("tmp/series"))
        w.append(o.AddStrings("sys/tags", ("a", "b", "c")))
        w.append(o.RemoveStrings("sys/tags", ("b",)))
        w.append(o.AddStrings("tmp/set", ("x",)))
        w.append(o.ClearStringSet("tmp/set"))
        w.append(o.UploadFileSet("source_code/files", (o.FileSetEntry("main.py", ref2),)))
        w.append(o.UploadFileSet("data/files", (o.FileSetEntry("a.txt", ref), o.FileSetEntry("b.txt", ref2))))
        w.append(o.DeleteFileSetFiles("data/files", ("a.txt",)))
        art = o.ArtifactEntry("data/x.csv", "ab" * 32, 10, 1.0, "/tmp/x.csv")
        w.append(o.TrackArtifact("data/artifact", (art,), "cd" * 32))
        w.append(o.AssignString("tmp/gone", "bye"))
        w.append(o.DeleteField("tmp/gone"))
        w.close()
        return w

    @staticmethod
    def expected(run_path: Path) -> dict[str, tuple[str, object]]:
        """What the store should hold for a run: its logs applied in order, writer by writer."""
        store = MemoryStore()
        store.apply_log("x", [entry for _, entry in read_run(segments_dir(run_path))])
        return store.values("x")


@pytest.fixture
def runs(isolated_data_dir: Path) -> RunFactory:
    return RunFactory(isolated_data_dir)


@pytest.fixture
def config(isolated_data_dir: Path) -> DaemonConfig:
    return DaemonConfig(data_dir=str(isolated_data_dir), poll_interval=0.01, backoff_base=0.001, backoff_cap=0.01)
