"""``run["a/b"]``: a handler for one path, with the Neptune 1.x field methods.

A handler is cached per path by its run. For a float series it caches the series' field, so
``append(float, step=int)`` checks two types and one step, then calls the op-log writer directly.
Everything else takes the general path: conversion, the type rules, then an operation.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from time import time as _now
from typing import TYPE_CHECKING, Any

from . import copying, rules
from .exceptions import (
    FileNotFound,
    LoggingDisabledError,
    NeptuneUserError,
    TypeConflictError,
    ValueRuleError,
)
from .oplog.blobs import sha256_of_file
from .readback import (
    atom_value,
    copy_blob,
    copy_tracked_files,
    download_target,
    namespace_values,
    require,
    series_dir,
    series_file_name,
    series_values,
    write_zip,
    zip_target,
)
from .state import Field, artifact_hash, matching_relpaths
from .types.atoms import Artifact
from .types.file import File
from .types.fileset import FileEntry, list_entries
from .types.series import SERIES_VALUES, FileSet, StringSet
from .validation import (
    check_no_nul,
    check_relpath,
    check_set_item,
    check_step,
    check_timestamp,
    finite_or_warn,
    join_path,
    warn,
)
from .values import PLAIN_ATOMS, assignable, dict_key, plain, series_kind
from .wire import ops as o

if TYPE_CHECKING:
    from .container import Container

_NO_STEP = float("-inf")
# The fast path of ``append`` takes steps in [0, 2**30): within the step rule (|step| <= MAX_STEP)
# and small enough for the interpreter's specialized int comparisons. Others take the general path.
_QUICK_STEP_MAX = (1 << 30) - 1
_SERIES_OP = {
    o.FieldType.STRING_SERIES: (o.LogStrings, o.StringPoint),
    o.FieldType.FILE_SERIES: (o.LogFiles, o.FilePoint),
}


class Handler:
    """The field or namespace at one path of a run (``run["path"]``)."""

    __slots__ = ("_run", "_runlog", "_path", "_fseries")

    def __init__(self, run: Container, path: str) -> None:
        self._run = run
        self._runlog = run._runlog
        self._path = path
        self._fseries: Field | None = None
        self._refresh()

    def __repr__(self) -> str:
        return f"<Handler {self._path!r}>"

    def _refresh(self) -> None:
        """Re-read the cached float-series field (after a delete or a re-read of the run's types)."""
        field = self._run._tree.get(self._path)
        self._fseries = field if field is not None and field.type == o.FieldType.FLOAT_SERIES else None

    def __getitem__(self, path: str) -> Handler:
        return self._run[join_path(self._path, path)]

    def __setitem__(self, path: str, value: Any) -> None:
        self[path].assign(value)

    def __delitem__(self, path: str) -> None:
        self._run.pop(join_path(self._path, path))

    def get_root_object(self) -> Container:
        return self._run

    # ------------------------------------------------------------------ series
    def append(
        self,
        value: Any,
        step: float | None = None,
        timestamp: float | None = None,
        wait: bool = False,
        **kwargs: Any,
    ) -> None:
        """Add one point to a series (float, string or file; a dict appends to one series per key).

        ``step`` must increase (a point with a repeated or lower step is dropped with a warning);
        without it the step is the last step + 1. ``timestamp`` is seconds since the epoch or a
        datetime. ``wait``, ``name`` and ``description`` are accepted and ignored.
        """
        f = self._fseries
        # NaN and inf fail ``value - value == 0.0`` and take the general path, which warns.
        if f is not None and type(value) is float and timestamp is None and value - value == 0.0:
            last = f.last_step
            quick = step if type(step) is int else _quick_step(step, last)
            # after a first, fully validated point (the general path took it), a step that rises
            # (rules.step_kept, inlined on this hot path);
            # these bounds are single-digit ints, whose comparisons the interpreter specializes
            if -1 < last < quick <= _QUICK_STEP_MAX:
                f.last_step = quick
                append_float = self._runlog.append_float  # an attribute load the interpreter specializes
                try:
                    append_float(self._path, quick, value, _now())
                except LoggingDisabledError as exc:
                    self._runlog.failed(exc)
                return
        self._append(value, step, timestamp)

    def extend(
        self,
        values: Iterable[Any] | Mapping[str, Iterable[Any]],
        steps: Iterable[float] | None = None,
        timestamps: Iterable[float] | None = None,
        wait: bool = False,
        **kwargs: Any,
    ) -> None:
        """Append many points; ``steps`` / ``timestamps`` pair up with ``values``. A dict extends per key."""
        if isinstance(values, Mapping):
            for key, items in values.items():
                self[dict_key(self._path, key)].extend(items, steps, timestamps)
            return
        values = list(values)
        steps_ = list(steps) if steps is not None else [None] * len(values)
        stamps = list(timestamps) if timestamps is not None else [None] * len(values)
        if not len(values) == len(steps_) == len(stamps):
            raise ValueRuleError(
                self._path, "extend-lengths", "values, steps and timestamps differ in length"
            )
        for value, step, stamp in zip(values, steps_, stamps, strict=True):
            self.append(value, step=step, timestamp=stamp)

    def log(
        self,
        value: Any,
        step: float | None = None,
        timestamp: float | None = None,
        wait: bool = False,
        **kwargs: Any,
    ) -> None:
        """Neptune's older name: ``extend`` for a list or tuple, else ``append``.

        ``name`` and ``description`` (of a file series item) are accepted and ignored, as by ``append``.
        """
        if isinstance(value, (list, tuple)):
            self.extend(value, steps=None if step is None else [step] * len(value))
        else:
            self.append(value, step=step, timestamp=timestamp)

    def _append(self, value: Any, step: Any, timestamp: Any) -> None:
        path, run = self._path, self._run
        if isinstance(value, Mapping):
            for key, item in value.items():
                self[dict_key(path, key)].append(item, step=step, timestamp=timestamp)
            return
        run._check_active()
        type_, value = series_kind(path, value)
        if type_ is None:
            return
        field = run._tree.get(path)
        if field is not None and field.type != type_:
            raise TypeConflictError(path, field.type, type_)
        ts = _now() if timestamp is None else check_timestamp(path, timestamp)
        last = field.last_step if field is not None else _NO_STEP
        if step is None:
            step = last + 1 if last != _NO_STEP else 0
        elif not rules.step_kept(step := check_step(path, plain(step)), last):
            warn(path, "step-increasing", f"step {step} is not above the last step {last}; point not logged")
            return
        if type_ == o.FieldType.FLOAT_SERIES and not finite_or_warn(path, value):
            return
        field = run._tree.require(path, type_)
        if type_ == o.FieldType.FLOAT_SERIES:
            field.last_step = step
            self._fseries = field
            try:
                self._runlog.append_float(path, step, value, ts)
            except LoggingDisabledError as exc:
                self._runlog.failed(exc)
            return
        if type_ == o.FieldType.FILE_SERIES:
            value = self._stored(value)
            if value is None:
                return
        field.last_step = step
        op_type, point_type = _SERIES_OP[type_]
        self._runlog.append(op_type(path, (point_type(float(step), value, ts),)), ts)

    # ------------------------------------------------------------------ atoms, files, sets
    def assign(self, value: Any, wait: bool = False) -> None:
        """Set a field (int, float, bool, str, datetime, File, anything ``float()`` takes, a figure);
        a dict or ``argparse.Namespace`` assigns a namespace; another handler (``run["b"] = run["a"]``)
        copies what it holds."""
        if type(value) not in PLAIN_ATOMS:  # those need no conversion: straight to their operation
            if isinstance(value, Handler):
                self._copy_from(value)
                return
            value = assignable(value)
            if isinstance(value, Artifact):
                self._assign_artifact(value)
                return
            if isinstance(value, Mapping):
                for key, item in value.items():
                    self[dict_key(self._path, key)].assign(item)
                return
            if isinstance(value, File):
                self.upload(value)
                return
            if isinstance(value, (*SERIES_VALUES, StringSet, FileSet)):
                self._replace(value)
                return
        self._run._assign_atom(self._path, value)

    def _copy_from(self, source: Handler) -> None:
        run = self._run
        run._check_active()
        ops = copying.copy_ops(source._run._snapshot(), source._path, run._tree, self._path)
        copying.copy_blobs(copying.file_refs(ops), source._run._blobs, run._blobs)
        for op in ops:
            run._log(op)
        for handler in run._handlers.values():
            handler._refresh()

    def _assign_artifact(self, value: Artifact) -> None:
        if not value.files:
            raise NeptuneUserError(
                f"{self._path!r}: an Artifact value needs its files; assign what fetch() of an artifact "
                "field returns, or use track_files()"
            )
        self._check_type(o.FieldType.ARTIFACT)
        entries = tuple(sorted(value.files, key=lambda e: e.relpath))
        self._run._log(o.TrackArtifact(self._path, entries, value.hash))

    def _replace(self, value: Any) -> None:
        """Assign a whole series, string set or file set: the field's old content goes."""
        if isinstance(value, FileSet):
            self._check_type(o.FieldType.FILE_SET)
            entries = self._file_set_entries(value.paths)
            if entries is not None:
                self._run._log(o.UploadFileSet(self._path, entries, reset=True))
            return
        self.clear()
        if isinstance(value, StringSet):
            self.add(value.values)
        else:
            self.extend(value.values, steps=value.steps, timestamps=value.timestamps)

    def upload(self, value: Any, wait: bool = False, include_plotlyjs: bool | str | None = None) -> None:
        """Upload one file (a path, a File, an image or a chart); its content is copied into the run
        at call time. ``include_plotlyjs`` is passed to plotly for a plotly figure (default True)."""
        file = File.create_from(value, True if include_plotlyjs is None else include_plotlyjs)
        self._check_type(o.FieldType.FILE)
        ref = self._stored(file)
        if ref is not None:
            self._run._log(o.AssignFile(self._path, ref))

    def upload_files(self, value: str | Iterable[str], wait: bool = False) -> None:
        """Add files to a FileSet: paths, directories (recursively) or glob patterns."""
        self._check_type(o.FieldType.FILE_SET)
        paths = [value] if isinstance(value, str) else list(value)
        entries = self._file_set_entries(paths)
        if entries is not None:
            self._run._log(o.UploadFileSet(self._path, entries))

    def _file_set_entries(self, paths: list[str]) -> tuple[o.FileSetEntry, ...] | None:
        entries = []
        for rel, source in _expand_globs(self._path, paths):
            relpath = check_relpath(self._path, rel)
            ref = self._stored(File(source))
            if ref is None:
                return None
            entries.append(o.FileSetEntry(relpath, ref))
        return tuple(entries)

    def _stored(self, file: File) -> o.FileRef | None:
        """The file copied into the run's blobs; None when that fails (disk full, I/O error): the
        write is counted as dropped and reported, never raised into training unless strict."""
        try:
            return file.store(self._run._blobs, self._path)
        except OSError as exc:
            self._runlog.failed(LoggingDisabledError(f"cannot store the file of {self._path!r}: {exc}"))
            return None

    def delete_files(self, paths: str | Iterable[str], wait: bool = False) -> None:
        """Remove files from a FileSet by relative path, directory or glob pattern."""
        self._check_type(o.FieldType.FILE_SET)
        patterns = (paths,) if isinstance(paths, str) else tuple(paths)
        field = self._run._snapshot().get(self._path)
        gone = matching_relpaths(field.value or () if field is not None else (), patterns)
        if gone:
            self._run._log(o.DeleteFileSetFiles(self._path, tuple(gone)))

    def track_files(self, path: str, destination: str | None = None, wait: bool = False) -> None:
        """Add the hashes and metadata (never the content) of a local file or directory to an Artifact."""
        self._check_type(o.FieldType.ARTIFACT)
        field = self._run._snapshot().get(self._path)
        files = dict(field.value or {}) if field is not None else {}
        files.update((entry.relpath, entry) for entry in _artifact_entries(self._path, path, destination))
        entries = tuple(sorted(files.values(), key=lambda e: e.relpath))
        self._run._log(o.TrackArtifact(self._path, entries, artifact_hash(entries)))

    def add(self, values: str | Iterable[str], wait: bool = False) -> None:
        """Add strings to a StringSet (e.g. ``run["sys/tags"].add(["a", "b"])``)."""
        self._run._log(o.AddStrings(self._path, self._set_items(values)))

    def remove(self, values: str | Iterable[str], wait: bool = False) -> None:
        """Remove strings from a StringSet."""
        self._run._log(o.RemoveStrings(self._path, self._set_items(values)))

    def clear(self, wait: bool = False) -> None:
        """Empty a StringSet, or remove every point of a series."""
        field = self._run._tree.get(self._path)
        if field is None:
            return
        if field.type == o.FieldType.STRING_SET:
            self._run._log(o.ClearStringSet(self._path))
        else:
            self._run._log(o.ClearSeries(self._path))

    def pop(self, path: str | None = None, wait: bool = False) -> None:
        """Delete this field (or namespace), or the one at ``path`` relative to it."""
        self._run.pop(self._path if path is None else join_path(self._path, path))

    def _set_items(self, values: str | Iterable[str]) -> tuple[str, ...]:
        items = (values,) if isinstance(values, str) else tuple(values)
        return tuple(check_set_item(self._path, v) for v in items)

    def _check_type(self, type_: str) -> None:
        field = self._run._tree.get(self._path)
        if field is not None and field.type != type_:
            raise TypeConflictError(self._path, field.type, type_)

    # ------------------------------------------------------------------ read-back (local log)
    def fetch(self) -> Any:
        """The value (a series: its last value; a namespace: a dict of values) from the local log."""
        tree = self._run._snapshot()
        if tree.get(self._path) is None and tree.is_namespace(self._path):
            return namespace_values(tree, self._path)
        return atom_value(self._path, require(tree, self._path))

    def fetch_last(self) -> Any:
        """The last value of a series."""
        return require(self._run._snapshot(), self._path, *o.SERIES_TYPES).last_value

    def fetch_values(self, include_timestamp: bool = True, progress_bar: Any = None) -> Any:
        """All points of a series: a pandas DataFrame if pandas is installed, else a list of dicts."""
        return series_values(require(self._run._snapshot(), self._path, *o.SERIES_TYPES), include_timestamp)

    def fetch_extension(self) -> str:
        """A File's extension (without the dot)."""
        return require(self._run._snapshot(), self._path, o.FieldType.FILE).value.extension

    def list_fileset_files(self, path: str | None = None) -> list[FileEntry]:
        """The files and directories directly inside ``path`` (default: the top) of a FileSet."""
        field = require(self._run._snapshot(), self._path, o.FieldType.FILE_SET)
        return list_entries(field.value or {}, path)

    def fetch_hash(self) -> str:
        """An Artifact's hash."""
        return require(self._run._snapshot(), self._path, o.FieldType.ARTIFACT).last_value

    def fetch_files_list(self) -> list[o.ArtifactEntry]:
        """An Artifact's files (relpath, sha256, size, mtime, source)."""
        field = require(self._run._snapshot(), self._path, o.FieldType.ARTIFACT)
        return sorted(field.value.values(), key=lambda e: e.relpath)

    def download(self, destination: str | None = None, wait: bool = True, progress_bar: Any = None) -> Path:
        """Write a File (to ``destination``: a file or a directory), a FileSet as a zip, a FileSeries as
        ``<index>.<ext>`` files into a directory, or an Artifact's tracked files (see readback)."""
        field = require(
            self._run._snapshot(),
            self._path,
            o.FieldType.FILE,
            o.FieldType.FILE_SET,
            o.FieldType.FILE_SERIES,
            o.FieldType.ARTIFACT,
        )
        blobs = self._run._blobs
        if field.type == o.FieldType.FILE:
            return copy_blob(blobs, field.value, download_target(self._path, field.value, destination))
        if field.type == o.FieldType.FILE_SET:
            files = {rel: ref.sha256 for rel, ref in (field.value or {}).items()}
            return write_zip(zip_target(self._path, destination), files, blobs.open)
        if field.type == o.FieldType.ARTIFACT:
            return copy_tracked_files((field.value or {}).values(), destination)
        root = series_dir(self._path, destination)
        for index, point in enumerate(field.value or ()):
            copy_blob(blobs, point.value, root / series_file_name(index, point.value.extension))
        return root

    def download_last(self, destination: str | None = None, progress_bar: Any = None) -> Path:
        """Write the last file of a FileSeries, as ``<index>.<ext>`` into a directory (as ``download``)."""
        field = require(self._run._snapshot(), self._path, o.FieldType.FILE_SERIES)
        if not field.value:
            raise NeptuneUserError(f"{self._path!r}: the file series is empty")
        ref = field.value[-1].value
        target = series_dir(self._path, destination) / series_file_name(len(field.value) - 1, ref.extension)
        return copy_blob(self._run._blobs, ref, target)


def _quick_step(step: Any, last: float) -> float:
    """The step of a float point for the fast path of ``append``, given one that is not an int:
    the last step + 1 for None, a whole float as an int (for the compact integer-step frames), a
    float as it is; ``_NO_STEP`` (the general path, which validates and explains) for anything else."""
    if step is None:
        return last + 1
    if type(step) is float:
        return int(step) if step.is_integer() else step
    return _NO_STEP


def _expand_globs(field: str, patterns: Iterable[str]) -> Iterable[tuple[str, str]]:
    """(relative path in the set, source path): relative to cwd when under it, else the name."""
    cwd = os.getcwd()
    for pattern in patterns:
        matches = sorted(glob.glob(check_no_nul(field, os.fspath(pattern), "file pattern"), recursive=True))
        if not matches:
            raise FileNotFound(field, "file-exists", f"no file matches {pattern!r}")
        for match in matches:
            for source in _files_under(match):
                absolute = os.path.abspath(source)
                under_cwd = absolute.startswith(cwd + os.sep)
                yield (os.path.relpath(absolute, cwd) if under_cwd else os.path.basename(absolute)), absolute


def _files_under(path: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    return sorted(os.path.join(d, n) for d, _, names in os.walk(path) for n in names)


def _artifact_entries(field: str, source: str, destination: str | None) -> Iterable[o.ArtifactEntry]:
    check_no_nul(field, source, "artifact path")
    local = source[len("file://") :] if source.startswith("file://") else source
    if "://" in local:
        raise ValueRuleError(
            field, "artifact-local", f"only local files can be tracked offline, not {source!r}"
        )
    root = Path(local).resolve()
    if not root.exists():
        raise FileNotFound(field, "file-exists", f"no such file or directory: {source}")
    files = [Path(p) for p in _files_under(str(root))]
    for path in files:
        rel = path.relative_to(root).as_posix() if root.is_dir() else path.name
        sha, size = sha256_of_file(path)
        relpath = check_relpath(field, f"{destination.rstrip('/')}/{rel}" if destination else rel)
        yield o.ArtifactEntry(relpath, sha, size, path.stat().st_mtime, str(path))
