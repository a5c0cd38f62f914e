"""Fixture code that writes neptune 1.x disk queues the way the 1.x client does, and a replay of
our operation log into plain values so tests can compare what was logged with what was imported.

Queue format (neptune-client 1.x ``DiskQueue`` + ``LogFile``, see neptune1_queue.py): one JSON
object a line, ``{"obj": {...operation.to_dict()...}, "version": n, "at": seconds}``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from neptune_sync.oplog import layout
from neptune_sync.oplog.blobs import RunBlobs
from neptune_sync.oplog.reader import read_run
from neptune_sync.wire import ops as o

T0 = 1_790_000_000.0


class Neptune1Queue:
    """Writes one neptune 1.x queue directory, line by line."""

    def __init__(
        self,
        root: Path,
        *,
        mode: str = "offline",
        container_id: str | None = None,
        container_type: str = "run",
        subdir: str | None = None,
        metadata: bool = True,
        timestamps: bool = True,
    ) -> None:
        self.container_id = container_id or str(uuid.uuid4())
        name = subdir or f"{container_type}__{self.container_id}__4242__k3y5abcd"
        self.path = Path(root) / ".neptune" / mode / name
        (self.path / "upload_path").mkdir(parents=True, exist_ok=True)
        self.version = 0
        self._timestamps = timestamps  # clients before ~1.9 wrote no "at"
        self._file = self.path / "data-1.log"
        self._file.touch()
        if metadata:
            meta = {
                "mode": mode,
                "containerId": self.container_id,
                "containerType": container_type,
                "structureVersion": 3,
                "neptuneClientVersion": "1.14.0.post2",
                "createdAt": "2026-01-01T00:00:00+00:00",
            }
            (self.path / "metadata.json").write_text(json.dumps(meta))

    def op(self, kind: str, path: str, **fields: object) -> int:
        """Append one operation; returns its version."""
        self.version += 1
        record = {"obj": {"type": kind, "path": path.split("/"), **fields}, "version": self.version}
        if self._timestamps:
            record["at"] = T0 + self.version
        with open(self._file, "a") as f:
            f.write(json.dumps(record) + "\n")
        return self.version

    def floats(self, path: str, points: list[tuple[float | None, float]]) -> int:
        values = [{"value": v, "step": s, "ts": T0 + i / 8} for i, (s, v) in enumerate(points)]
        return self.op("LogFloats", path, values=values)

    def upload_bytes(self, path: str, data: bytes, ext: str) -> int:
        tmp = f"{path.replace('/', '_')}-{self.version}.{ext}"
        (self.path / "upload_path" / tmp).write_bytes(data)
        return self.op(
            "UploadFile", path, ext=ext, file_path=None, tmp_file_name=tmp, clean_after_upload=False
        )

    def roll(self) -> None:
        """Start a new segment file, as the client does at 64 MiB."""
        self._file = self.path / f"data-{self.version + 1}.log"
        self._file.touch()

    def markers(self, put: int | None = None, ack: int = 0) -> None:
        (self.path / "last_put_version").write_text(str(self.version if put is None else put))
        (self.path / "last_ack_version").write_text(str(ack))

    def data_file(self) -> Path:
        return self._file


@pytest.fixture
def neptune_root(tmp_path: Path) -> Path:
    root = tmp_path / "training-dir"
    root.mkdir()
    return root


@pytest.fixture
def make_queue(neptune_root: Path):
    """``make_queue(**kw)`` -> a new :class:`Neptune1Queue` under ``neptune_root``."""
    return lambda **kw: Neptune1Queue(neptune_root, **kw)


class LogView:
    """Read back what an import wrote into the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def runs(self) -> list[Path]:
        return layout.iter_run_dirs(self.data_dir)

    def run(self) -> Path:
        runs = self.runs()
        assert len(runs) == 1, runs
        return runs[0]

    def entries(self, run_path: Path | None = None) -> list:
        return [e for _, e in read_run(layout.segments_dir(run_path or self.run()))]

    def state(self, run_path: Path | None = None) -> dict[str, object]:
        return replay(run_path or self.run(), self.entries(run_path))


@pytest.fixture
def log_view(isolated_data_dir: Path) -> LogView:
    return LogView(isolated_data_dir)


def replay(run_path: Path, log: list) -> dict[str, object]:
    """The state a log describes: path -> value (series: list of (step, value); files: bytes)."""
    blobs = RunBlobs(layout.blobs_dir(run_path))
    state: dict[str, object] = {}

    def content(ref: o.FileRef) -> bytes:
        data = blobs.path_of(ref.sha256).read_bytes()
        assert len(data) == ref.size
        return data

    for entry in log:
        op = entry.op
        if isinstance(op, (o.AssignFloat, o.AssignInt, o.AssignBool, o.AssignString, o.AssignDatetime)):
            state[op.path] = op.value
        elif isinstance(op, o.AssignFile):
            state[op.path] = (op.value.name, content(op.value))
        elif isinstance(op, (o.LogFloats, o.LogStrings)):
            state.setdefault(op.path, []).extend((p.step, p.value) for p in op.points)
        elif isinstance(op, o.LogFiles):
            state.setdefault(op.path, []).extend((p.step, content(p.value)) for p in op.points)
        elif isinstance(op, o.ClearSeries):
            state[op.path] = []
        elif isinstance(op, o.AddStrings):
            state[op.path] = set(state.get(op.path, set())) | set(op.values)
        elif isinstance(op, o.RemoveStrings):
            state[op.path] = set(state.get(op.path, set())) - set(op.values)
        elif isinstance(op, o.ClearStringSet):
            state[op.path] = set()
        elif isinstance(op, o.UploadFileSet):
            files = {} if op.reset else dict(state.get(op.path, {}))
            files.update({f.relpath: content(f.file) for f in op.files})
            state[op.path] = files
        elif isinstance(op, o.DeleteFileSetFiles):
            state[op.path] = {k: v for k, v in state.get(op.path, {}).items() if k not in op.relpaths}
        elif isinstance(op, o.TrackArtifact):
            state[op.path] = {f.relpath: f.sha256 for f in op.files} or op.sha256
        elif isinstance(op, o.DeleteField):
            state.pop(op.path, None)
    return state


def read_store_state(client, project: str, run: str, tmp: Path) -> dict[str, object]:
    """What a store holds for a run, in the shape of :func:`replay` (files as their bytes)."""

    def content(ref: dict) -> bytes:
        return client.download_blob(ref["sha256"], tmp / ref["sha256"]).read_bytes()

    state: dict[str, object] = {}
    for path, field in client.values(project, run).items():
        kind, value = field.type, field.value
        if kind in ("floatSeries", "stringSeries"):
            state[path] = [(s, v) for s, v, _ in client.series(project, run, path)]
        elif kind == "fileSeries":
            state[path] = [(s, content(v)) for s, v, _ in client.series(project, run, path)]
        elif kind == "file":
            state[path] = (value["name"], content(value))
        elif kind == "fileSet":
            state[path] = {rel: content(ref) for rel, ref in value.items()}
        elif kind == "stringSet":
            state[path] = set(value)
        elif kind == "artifact":
            state[path] = {f["relpath"]: f["sha256"] for f in value["files"]} or value["sha256"]
        else:
            state[path] = value
    return state


@pytest.fixture
def store_state():
    """``store_state(client, project, run, tmp_dir)``: a run's state as a store holds it."""
    return read_store_state
