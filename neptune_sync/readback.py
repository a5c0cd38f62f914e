"""Turning fields of a replayed :class:`FieldTree` into the values ``fetch*`` and ``download*`` return.

Shapes follow neptune 1.x: datetimes are read back in UTC truncated to milliseconds (what 1.x's
server kept); an artifact fetches as an ``Artifact`` value (its hash and files); a file set
downloads as one zip file; a file series downloads as ``<index>.<extension>`` files (index 0 is the
first point) into ``neptune/<field name>`` unless a directory is given.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from .exceptions import MissingFieldError, NeptuneUserError
from .state import Field, FieldTree
from .types.atoms import Artifact
from .wire.ops import SERIES_TYPES, ArtifactEntry, FieldType, FileRef


def atom_value(path: str, field: Field) -> Any:
    """What ``fetch()`` returns for a field: the value, a set, or a series' last value."""
    if field.type in SERIES_TYPES:
        return field.last_value
    if field.type == FieldType.STRING_SET:
        return set(field.value or ())
    if field.type == FieldType.ARTIFACT:
        return Artifact(field.last_value, sorted((field.value or {}).values(), key=lambda e: e.relpath))
    if field.type == FieldType.FILE_SET:
        return sorted(field.value or ())
    if field.type == FieldType.DATETIME:
        return to_millis(field.value)
    return field.value


def to_millis(value: _dt.datetime) -> _dt.datetime:
    """A datetime in UTC, truncated to milliseconds."""
    value = value.astimezone(_dt.timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


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
            {"step": float(step), "value": value, "timestamp": to_millis(_dt.datetime.fromtimestamp(ts, utc))}
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


def field_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def zip_target(path: str, destination: str | None) -> Path:
    """Where a file set's zip goes: ``destination`` (a file, or a directory it goes into) or ./<name>.zip."""
    name = f"{field_name(path)}.zip"
    if destination is None:
        return Path(name)
    dest = Path(destination)
    return dest / name if dest.is_dir() else dest


def write_zip(target: Path, files: dict[str, Any], open_blob: Callable[[str], IO[bytes]]) -> Path:
    """A zip of a file set: each relative path -> the blob with that sha256."""
    import zipfile  # only for downloads: keeps it off the training import path

    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relpath in sorted(files):
            with open_blob(files[relpath]) as src, archive.open(relpath, "w") as dst:
                shutil.copyfileobj(src, dst)
    return target


def series_dir(path: str, destination: str | None) -> Path:
    """The directory a file series downloads into: ``destination`` or ``neptune/<field name>``."""
    root = Path(destination) if destination is not None else Path("neptune") / field_name(path)
    root.mkdir(parents=True, exist_ok=True)
    return root


def series_file_name(index: int, extension: str) -> str:
    return f"{index}.{extension}" if extension else str(index)


def copy_tracked_files(entries: Iterable[ArtifactEntry], destination: str | None) -> Path:
    """An artifact's download: its tracked local files, copied to ``destination`` under their relpaths."""
    root = Path(destination or ".")
    for entry in entries:
        source = Path(entry.source.removeprefix("file://")) if entry.source else None
        if source is None or not source.is_file():
            raise NeptuneUserError(
                f"artifact file {entry.relpath!r}: its source {entry.source!r} is no longer on this machine"
            )
        target = root / entry.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root
