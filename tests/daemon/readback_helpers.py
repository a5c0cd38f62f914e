"""Helpers for tests that sync a run of several writers and compare the store with the local
read-back (on sys.path via this folder's conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio

from neptune_sync.cli import main
from neptune_sync.oplog import layout
from neptune_sync.replay import replay
from neptune_sync.wire import ops as o


def file_dict(ref: o.FileRef) -> dict:
    return {"sha256": ref.sha256, "size": ref.size, "name": ref.name, "extension": ref.extension}


def read_back(run_path: Path) -> dict:
    """The local read-back (what ``neptune-sync show`` and ``fetch*()`` report) in the store's shapes."""
    out = {}
    for path, field in replay(layout.segments_dir(run_path), keep_values=True).under(""):
        value = field.value
        if field.type in o.SERIES_TYPES:
            value = [
                (p.step, file_dict(p.value) if isinstance(p.value, o.FileRef) else p.value, p.ts)
                for p in value or []
            ]
        elif field.type == o.FieldType.STRING_SET:
            value = sorted(value)
        elif field.type == o.FieldType.FILE_SET:
            value = {rel: file_dict(ref) for rel, ref in sorted(value.items())}
        elif field.type == o.FieldType.FILE:
            value = file_dict(value)
        out[path] = (field.type, value)
    return out


class Hidden:
    """Moves one writer's segments out of the run while a sync runs, then back."""

    def __init__(self, run_path: Path, writer_id: str, tmp: Path) -> None:
        self.files = sorted(layout.segments_dir(run_path).glob(f"{writer_id}-*.seg"))
        self.aside = tmp / "aside"

    def __enter__(self) -> None:
        self.aside.mkdir()
        for f in self.files:
            shutil.move(f, self.aside / f.name)

    def __exit__(self, *exc: object) -> None:
        for f in self.files:
            shutil.move(self.aside / f.name, f)
        self.aside.rmdir()


async def sync() -> None:
    assert await anyio.to_thread.run_sync(main, ["sync", "-q"]) == 0
