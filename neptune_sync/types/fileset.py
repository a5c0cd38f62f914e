"""``list_fileset_files()``: the entries of one directory of a FileSet, as neptune 1.x's ``FileEntry``."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FileEntry:
    """A file or directory in a FileSet. ``size`` is None for a directory; ``mtime`` is None: the
    log keeps a file's content, not the source file's modification time."""

    name: str
    size: int | None
    mtime: _dt.datetime | None
    file_type: str  # "file" or "directory"


def list_entries(files: dict[str, Any], path: str | None = None) -> list[FileEntry]:
    """The entries directly inside directory ``path`` ("" or None: the top) of ``relpath -> FileRef``."""
    prefix = f"{path.strip('/')}/" if path and path.strip("/") else ""
    entries: dict[str, FileEntry] = {}
    for relpath, ref in files.items():
        if not relpath.startswith(prefix):
            continue
        name, _, rest = relpath[len(prefix) :].partition("/")
        if rest:
            entries.setdefault(name, FileEntry(name, None, None, "directory"))
        else:
            entries[name] = FileEntry(name, ref.size, None, "file")
    return [entries[name] for name in sorted(entries)]
