"""Reading the disk queues the neptune 1.x client left under ``.neptune/``.

The layout (neptune-client 1.x, observed with 1.14 and read from its source; see
docs/migrating-from-neptune.md)::

    .neptune/{offline,async}/<type>__<container id>[__<pid>[__<random>]]/   (structure v2, v3)
    .neptune/{offline,async}/<type>__<container id>/exec-<...>/            (structure v1)
        data-<first version>.log   one JSON object a line: {"obj": {"type", "path", ...},
                                   "version": n, "at": unix seconds}
        last_put_version           text integer: last version the client wrote (may run ahead
                                   of the data after a SIGKILL: we trust the lines, not this)
        last_ack_version           text integer: last version the old service acknowledged
        metadata.json              mode, containerId, containerType, createdAt, client version
        upload_path/               copies of in-memory files passed to upload()

A damaged line (torn by a crash, or garbage) loses only itself: it is reported with its file and
byte offset and reading goes on. A record glued to a torn line (the client appends after a crash
without a newline) is recovered.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MODE_DIRS = ("offline", "async")
CONTAINER_TYPES = ("run", "project", "model", "model_version")
_CONTAINER_DIR = re.compile(r"^(run|project|model|model_version)__(.+?)(?:__\d+(?:__[a-z0-9]+)?)?$")
_DATA_FILE = re.compile(r"^data-(\d+)\.log$")
_RECORD_START = b'{"obj"'
_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class QueueDir:
    """One neptune disk queue: the operations of one container written by one process."""

    path: Path
    source_key: str  # stable name of this queue, independent of where it lives
    container_id: str
    container_type: str
    mode: str
    created: float
    client_version: str
    put_marker: int | None
    ack_marker: int | None
    base_dirs: tuple[Path, ...]  # where relative file paths of the run may still resolve


@dataclass(frozen=True)
class QueuedOp:
    version: int
    at: float | None
    obj: dict
    file: Path
    offset: int


@dataclass(frozen=True)
class Damage:
    file: Path
    offset: int
    detail: str

    def __str__(self) -> str:
        return f"{self.file} @ byte {self.offset}: {self.detail}"


DamageHandler = Callable[[Damage], None]


def find_queues(root: Path) -> list[QueueDir]:
    """Every neptune 1.x queue directory under ``root`` (``root`` itself included), sorted."""
    root = Path(root).resolve()  # source keys must not depend on how DIR was spelled
    dirs = {p.parent for p in root.rglob("data-*.log") if _DATA_FILE.match(p.name)}
    return [describe_queue(d) for d in sorted(dirs)]


def describe_queue(path: Path) -> QueueDir:
    """Identify a queue directory from its metadata.json, falling back to directory names."""
    meta = _metadata(path)
    ctype, cid = _identity_from_names(path)
    mode_dir = next((p for p in path.parents if p.name in MODE_DIRS), None)
    # the directory's own name is unique (container id, pid, random key); structure v1 needs the
    # container directory too. Where the tree lives, or was moved to, does not matter.
    key = path.name if _CONTAINER_DIR.match(path.name) else f"{path.parent.name}/{path.name}"
    dot_neptune = mode_dir.parent if mode_dir is not None else path.parent
    return QueueDir(
        path=path,
        source_key=key,
        container_id=str(meta.get("containerId") or meta.get("customId") or cid),
        container_type=_container_type(meta.get("containerType"), ctype),
        mode=str(meta.get("mode") or (mode_dir.name if mode_dir is not None else "offline")),
        created=_parse_time(meta.get("createdAt")) or _oldest_mtime(path),
        client_version=str(meta.get("neptuneClientVersion") or ""),
        put_marker=_read_marker(path / "last_put_version"),
        ack_marker=_read_marker(path / "last_ack_version"),
        base_dirs=tuple(dict.fromkeys([dot_neptune.parent.resolve(), Path.cwd()])),
    )


def data_files(path: Path) -> list[Path]:
    """The queue's ``data-<n>.log`` files in version order."""
    found = [(int(m.group(1)), p) for p in path.iterdir() if (m := _DATA_FILE.match(p.name))]
    return [p for _, p in sorted(found)]


def read_queue(queue: QueueDir, on_damage: DamageHandler) -> Iterator[QueuedOp]:
    """Every operation on disk, in version order; damage goes to ``on_damage``.

    A version that does not increase (a repeated line) is reported and skipped; so is the rest of
    a file that cannot be read (I/O error), and reading goes on with the next file.
    """
    last = 0
    for file in data_files(queue.path):
        offset = 0
        try:
            for op in _read_file(file, on_damage):
                offset = op.offset
                if op.version <= last:
                    on_damage(
                        Damage(file, op.offset, f"version {op.version} does not follow {last}; skipped")
                    )
                    continue
                last = op.version
                yield op
        except OSError as exc:
            on_damage(Damage(file, offset, f"cannot read the rest of the file: {exc}"))


def _read_file(file: Path, on_damage: DamageHandler) -> Iterator[QueuedOp]:
    offset = 0
    with open(file, "rb") as f:
        for line in f:
            start, offset = offset, offset + len(line)
            if not line.strip():
                continue
            torn = not line.endswith(b"\n")
            op = _parse(line, file, start)
            if op is not None:
                yield op
                continue
            recovered, at = _recover(line, file, start)
            if torn and recovered is None:
                on_damage(Damage(file, start, "torn last line (the writer stopped mid-record); skipped"))
            else:
                on_damage(Damage(file, start, f"{at} undecodable bytes; skipped"))
            if recovered is not None:
                yield recovered


def _parse(raw: bytes, file: Path, offset: int) -> QueuedOp | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return _record(data, file, offset)


def _record(data: object, file: Path, offset: int) -> QueuedOp | None:
    if not isinstance(data, dict):
        return None
    obj, version, at = data.get("obj"), data.get("version"), data.get("at")
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return QueuedOp(version, float(at) if isinstance(at, (int, float)) else None, obj, file, offset)


def _recover(line: bytes, file: Path, offset: int) -> tuple[QueuedOp | None, int]:
    """A whole record after garbage on the same line, and how many bytes were lost before it."""
    pos = line.find(_RECORD_START, 1)
    while pos > 0:
        try:
            text = line[pos:].decode("utf-8")
            data, end = _decoder.raw_decode(text)
        except (ValueError, RecursionError):
            pos = line.find(_RECORD_START, pos + 1)
            continue
        if not text[end:].strip():
            op = _record(data, file, offset + pos)
            if op is not None:
                return op, pos
        pos = line.find(_RECORD_START, pos + 1)
    return None, len(line)


def _metadata(path: Path) -> dict:
    for candidate in (path / "metadata.json", path.parent / "metadata.json"):
        try:
            data = json.loads(candidate.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return data
    return {}


def _identity_from_names(path: Path) -> tuple[str, str]:
    for p in (path, path.parent):
        m = _CONTAINER_DIR.match(p.name)
        if m:
            return m.group(1), m.group(2)
    return "run", path.name


def _container_type(value: object, fallback: str) -> str:
    text = str(value or "").lower().replace("containertype.", "")
    return text if text in CONTAINER_TYPES else fallback


def _parse_time(value: object) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        return 0.0
    if parsed.tzinfo is None:  # 1.x before 1.10 wrote naive UTC (datetime.utcnow())
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.timestamp()


def _oldest_mtime(path: Path) -> float:
    """When the oldest data file was last written: the best time we have without metadata.json
    (old clients wrote records without ``at``)."""
    times = [p.stat().st_mtime for p in data_files(path)]
    return min(times) if times else 0.0


def _read_marker(path: Path) -> int | None:
    try:
        return int(path.read_text("ascii").strip())
    except (OSError, ValueError):
        return None
