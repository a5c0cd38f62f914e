"""Turning fields of a replayed :class:`FieldTree` into the values ``fetch*`` and ``download*`` return."""

from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .exceptions import MissingFieldError, NeptuneUserError
from .oplog.ops import SERIES_TYPES, FieldType, FileRef
from .state import Field, FieldTree


def atom_value(path: str, field: Field) -> Any:
    """What ``fetch()`` returns for a field: the value, a set, or a series' last value."""
    if field.type in SERIES_TYPES:
        return field.last_value
    if field.type == FieldType.STRING_SET:
        return set(field.value or ())
    if field.type == FieldType.ARTIFACT:
        return field.last_value
    if field.type == FieldType.FILE_SET:
        return sorted(field.value or ())
    return field.value


def namespace_values(tree: FieldTree, prefix: str) -> dict[str, Any]:
    """Nested dict of every field under ``prefix``; files are left out (use download())."""
    result: dict[str, Any] = {}
    for rel, field in tree.under(prefix):
        if field.type in (FieldType.FILE, FieldType.FILE_SERIES):
            continue
        *parents, name = rel.split("/")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = atom_value(rel, field)
    return result


def series_values(field: Field, include_timestamp: bool) -> Any:
    """A series' points as :func:`points_frame` gives them."""
    return points_frame(((p.step, p.value, p.ts) for p in field.value or ()), include_timestamp)


def points_frame(points: Iterable[tuple[float, Any, float]], include_timestamp: bool) -> Any:
    """``(step, value, ts)`` points as ``fetch_values()`` returns them.

    A pandas DataFrame with columns step (float, as neptune 1.x), value and, with
    ``include_timestamp``, timestamp (timezone-aware UTC) when pandas is installed; otherwise a
    list of dicts with those keys (plain Python values).
    """
    utc = _dt.timezone.utc
    if include_timestamp:
        rows = [
            {"step": float(step), "value": value, "timestamp": _dt.datetime.fromtimestamp(ts, utc)}
            for step, value, ts in points
        ]
    else:
        rows = [{"step": float(step), "value": value} for step, value, _ in points]
    try:
        import pandas
    except ImportError:
        return rows
    columns = ["step", "value", "timestamp"] if include_timestamp else ["step", "value"]
    return pandas.DataFrame(rows, columns=columns)


def require(tree: FieldTree, path: str, *types: str) -> Field:
    field = tree.get(path)
    if field is None:
        raise MissingFieldError(path)
    if types and field.type not in types:
        raise NeptuneUserError(
            f"{path!r} is a {field.type} field; this call needs a {' or '.join(sorted(types))}"
        )
    return field


def copy_blob(blobs: Any, ref: FileRef, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with blobs.open(ref.sha256) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def download_target(path: str, ref: FileRef, destination: str | None) -> Path:
    """Where a download goes: ``destination`` (a file, or a directory it goes into) or ./<name>."""
    name = ref.name or f"{path.rsplit('/', 1)[-1]}.{ref.extension}".rstrip(".")
    if destination is None:
        return Path(name)
    dest = Path(destination)
    return dest / name if dest.is_dir() else dest


def download_many(blobs: Any, files: dict[str, FileRef], destination: str | None) -> Path:
    """Write each (relative path -> file) into the directory ``destination`` (default: cwd)."""
    root = Path(destination or ".")
    for relpath, ref in files.items():
        copy_blob(blobs, ref, root / relpath)
    return root
