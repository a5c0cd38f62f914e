"""Converting neptune 1.x queue operations (``neptune/internal/operation.py``) to ours.

One neptune operation becomes zero or more of our operations. What cannot be converted raises
:class:`KeptAside` with the reason: the caller keeps the original record in the run directory and
reports it, so nothing is dropped silently. ``ConfigFloatSeries`` (min/max/unit of a chart) has
no equivalent and is counted as ignored.

Files: neptune 1.x copied only in-memory files into the queue (``upload_path/``); ``upload()`` of
a path, ``upload_files()`` globs and ``track_files()`` kept only the path, so those are read from
the disk now, at import time, if they still exist there.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import glob
import math
import os
from collections.abc import Callable
from pathlib import Path

from ..oplog.blobs import RunBlobs, sha256_of_file
from ..state import artifact_hash
from ..wire import ops as o
from .neptune1_queue import QueueDir
from .rules import KeptAside, field_path, finite, int64

IGNORED = {"ConfigFloatSeries": "chart settings (min/max/unit) have no equivalent"}


class Converter:
    """Stateful converter for one queue: it numbers series points logged without a step the
    way the neptune service did (previous step + 1, from 0)."""

    def __init__(self, blobs: RunBlobs, queue: QueueDir) -> None:
        self._blobs = blobs
        self._queue = queue
        self._last_step: dict[str, float] = {}
        self._handlers: dict[str, Callable[[str, dict], list[o.Op]]] = {
            "AssignFloat": lambda p, d: [o.AssignFloat(p, finite(d["value"]))],
            "AssignInt": lambda p, d: [o.AssignInt(p, _int(d["value"]))],
            "AssignBool": lambda p, d: [o.AssignBool(p, _bool(d["value"]))],
            "AssignString": lambda p, d: [o.AssignString(p, _str(d["value"]))],
            "AssignDatetime": lambda p, d: [o.AssignDatetime(p, _datetime(d["value"]))],
            "AssignArtifact": lambda p, d: [o.TrackArtifact(p, (), _str(d["hash"]))],
            "UploadFile": self._upload_file,
            "UploadFileContent": self._upload_file_content,
            "UploadFileSet": self._upload_file_set,
            "LogFloats": self._log_floats,
            "LogStrings": self._log_strings,
            "LogImages": self._log_images,
            "ClearFloatLog": self._clear_series,
            "ClearStringLog": self._clear_series,
            "ClearImageLog": self._clear_series,
            "AddStrings": lambda p, d: [o.AddStrings(p, _strings(d["values"]))],
            "RemoveStrings": lambda p, d: [o.RemoveStrings(p, _strings(d["values"]))],
            "ClearStringSet": lambda p, d: [o.ClearStringSet(p)],
            "DeleteFiles": lambda p, d: [o.DeleteFileSetFiles(p, _strings(d["file_paths"]))],
            "DeleteAttribute": lambda p, d: [o.DeleteField(p)],
            "TrackFilesToArtifact": self._track_files,
        }

    def convert(self, obj: dict) -> list[o.Op]:
        """Our operations for one neptune operation ``obj`` (the ``"obj"`` of a queue line).

        Returns ``[]`` for an ignored type; raises :class:`KeptAside` for anything it cannot
        convert (unknown type, malformed record, a file that no longer exists).
        """
        kind = obj.get("type")
        if kind in IGNORED:
            return []
        handler = self._handlers.get(kind)
        if handler is None:
            raise KeptAside(f"no conversion for neptune operation type {kind!r}")
        try:
            return handler(_path(obj.get("path")), obj)
        except (KeyError, TypeError, ValueError, binascii.Error, OSError) as exc:
            raise KeptAside(f"malformed {kind}: {type(exc).__name__}: {exc}") from None

    # ------------------------------------------------------------------ series
    def _steps(self, path: str, values: list) -> list[tuple[float, object, float]]:
        out = []
        last = self._last_step.get(path)
        for v in values:
            step = v.get("step")
            step = (0.0 if last is None else last + 1.0) if step is None else finite(step, "step")
            out.append((step, v["value"], float(v["ts"])))
            last = step
        if out:
            self._last_step[path] = last
        return out

    def _log_floats(self, path: str, d: dict) -> list[o.Op]:
        for v in d["values"]:
            finite(v["value"])
        points = tuple(o.FloatPoint(s, float(v), ts) for s, v, ts in self._steps(path, d["values"]))
        return [o.LogFloats(path, points)]

    def _log_strings(self, path: str, d: dict) -> list[o.Op]:
        points = tuple(o.StringPoint(s, _str(v), ts) for s, v, ts in self._steps(path, d["values"]))
        return [o.LogStrings(path, points)]

    def _log_images(self, path: str, d: dict) -> list[o.Op]:
        points = []
        for step, value, ts in self._steps(path, d["values"]):
            image = value if isinstance(value, dict) else {"data": value}
            if not isinstance(image.get("data"), str):
                raise ValueError("image without data")
            sha, size = self._blobs.put_bytes(base64.b64decode(image["data"], validate=True))
            name = image.get("name") or ""
            points.append(o.FilePoint(step, o.FileRef(sha, size, name, "png"), ts))
        return [o.LogFiles(path, tuple(points))]

    def _clear_series(self, path: str, d: dict) -> list[o.Op]:
        self._last_step.pop(path, None)
        return [o.ClearSeries(path)]

    # ------------------------------------------------------------------ files
    def _upload_file(self, path: str, d: dict) -> list[o.Op]:
        ext = _str(d.get("ext") or "")
        if d.get("tmp_file_name"):
            name = _str(d["tmp_file_name"])
            source = self._existing([self._queue.path / "upload_path" / name, self._queue.path / name])
            shown = f"{path.rsplit('/', 1)[-1]}.{ext}" if ext else path.rsplit("/", 1)[-1]
        else:
            source = self._uploaded_path(_str(d["file_path"]), bool(d.get("clean_after_upload")))
            shown = source.name
        sha, size = self._blobs.put_file(source)
        return [o.AssignFile(path, o.FileRef(sha, size, shown, ext))]

    def _uploaded_path(self, file_path: str, is_copy: bool) -> Path:
        """The file of an upload by path; older clients put in-memory files in ``upload_path/``
        and recorded the absolute path of that copy (``clean_after_upload``), which moves with
        the queue directory."""
        try:
            return self._resolve(file_path)
        except KeptAside:
            if not is_copy:
                raise
            return self._existing([self._queue.path / "upload_path" / Path(file_path).name])

    def _upload_file_content(self, path: str, d: dict) -> list[o.Op]:
        ext = _str(d.get("ext") or "")
        sha, size = self._blobs.put_bytes(base64.b64decode(d["file_content"]))
        name = f"{path.rsplit('/', 1)[-1]}.{ext}" if ext else path.rsplit("/", 1)[-1]
        return [o.AssignFile(path, o.FileRef(sha, size, name, ext))]

    def _upload_file_set(self, path: str, d: dict) -> list[o.Op]:
        reset = str(d.get("reset")) not in ("False", "false", "0")
        globs = [_str(g) for g in d["file_globs"]]
        files = sorted({f for g in globs for f in self._expand(g)})
        if globs and not files:
            raise KeptAside(f"none of the files {globs} exists any more")
        base = os.path.commonpath([str(f.parent) for f in files]) if files else ""
        entries = []
        for f in files:
            sha, size = self._blobs.put_file(f)
            entries.append(o.FileSetEntry(os.path.relpath(f, base), o.FileRef(sha, size, f.name, _ext(f))))
        return [o.UploadFileSet(path, tuple(entries), reset)]

    def _track_files(self, path: str, d: dict) -> list[o.Op]:
        entries = []
        for source, destination in d["entries"]:
            source = _str(source).removeprefix("file://")
            if "://" in source:
                raise KeptAside(f"artifact source {source!r} is remote; only local files can be hashed")
            root = self._resolve(source)
            prefix = _str(destination or "")
            files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
            for f in files:
                rel = f.relative_to(root).as_posix() if root.is_dir() else f.name
                sha, size = sha256_of_file(f)
                relpath = f"{prefix.rstrip('/')}/{rel}" if prefix else rel
                entries.append(o.ArtifactEntry(relpath, sha, size, f.stat().st_mtime, str(f)))
        return [o.TrackArtifact(path, tuple(entries), artifact_hash(entries))]

    def _resolve(self, name: str) -> Path:
        p = Path(name)
        if p.is_absolute():
            return self._existing([p])
        return self._existing([base / p for base in self._queue.base_dirs])

    def _expand(self, pattern: str) -> list[Path]:
        candidates = (
            [pattern] if os.path.isabs(pattern) else [str(b / pattern) for b in self._queue.base_dirs]
        )
        for candidate in candidates:
            found = []
            for match in glob.glob(candidate, recursive=True):
                p = Path(match)
                found.extend(sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p])
            if found:
                return found
        return []

    @staticmethod
    def _existing(candidates: list[Path]) -> Path:
        for c in candidates:
            if c.is_file() or c.is_dir():
                return c
        raise KeptAside(f"file not found any more: {', '.join(map(str, candidates))}")


def _path(value: object) -> str:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) and s for s in value):
        raise KeptAside(f"malformed attribute path {value!r}")
    return field_path("/".join(value))


def _ext(p: Path) -> str:
    return p.suffix[1:]


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _strings(values: object) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise TypeError(f"expected a list of strings, got {type(values).__name__}")
    return tuple(sorted(_str(v) for v in values))


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, got {value!r}")
    return int64(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a bool, got {value!r}")
    return value


def _datetime(ms: object) -> _dt.datetime:
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms):
        raise TypeError(f"expected milliseconds since the epoch, got {ms!r}")
    return _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
