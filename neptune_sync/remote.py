"""``init_run(mode="read-only")``: a run read from the store (neptune_sync.store_client), never written.

Field values come from the store's read API: ``fetch``, ``fetch_last``, ``fetch_values``,
``download``, ``download_last``, ``fetch_hash``, ``fetch_files_list``, ``exists``,
``get_structure``. Every write raises :class:`NeptuneUserError`.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .container import ContainerType
from .exceptions import MetadataContainerNotFound, MissingFieldError, NeptuneUserError, RunNotFound
from .readback import (
    download_target,
    points_frame,
    series_dir,
    series_file_name,
    to_millis,
    write_zip,
    zip_target,
)
from .tables import ProjectTables
from .types.atoms import Artifact
from .types.fileset import FileEntry, list_entries
from .validation import check_path, join_path
from .wire.ops import SERIES_TYPES, ArtifactEntry, FieldType, FileRef
from .wire.protocol import RunRecord

WRITES = frozenset(
    {
        "assign",
        "append",
        "extend",
        "log",
        "upload",
        "upload_files",
        "delete_files",
        "track_files",
        "add",
        "remove",
        "clear",
        "pop",
    }
)


class ReadOnlyRun:
    """A run in the store, opened with ``mode="read-only"``."""

    container_type = ContainerType.RUN
    _not_found: type[MetadataContainerNotFound] = RunNotFound

    def __init__(self, client: Any, project: str, run: str) -> None:
        record = client.find_run(project, run)
        kind = self.container_type.value
        if record is None or record.kind != kind:
            noun = kind.replace("_", " ")
            raise self._not_found(f"the store has no {noun} {run!r} in project {project!r}")
        self._client, self._project, self._run = client, project, record.run_key
        self._identity = record
        self._stopped = False

    def __repr__(self) -> str:
        return f"<ReadOnlyRun {self._identity.run_id} of {self._project}>"

    def __getitem__(self, path: str) -> RemoteHandler:
        return RemoteHandler(self, check_path(path))

    def __setitem__(self, path: str, value: Any) -> None:
        _refuse("assign")

    def __delitem__(self, path: str) -> None:
        _refuse("del")

    def __enter__(self) -> ReadOnlyRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, seconds: float | None = None) -> None:
        """Nothing to flush: a read-only run holds no log."""
        self._stopped = True

    def get_state(self) -> str:
        return "stopped" if self._stopped else "started"

    def ping(self) -> None:
        """Nothing to do: every read is its own request."""

    def wait(self, disk_only: bool = False, timeout: float | None = None) -> None:
        """Nothing to wait for."""

    def sync(self, wait: bool = True) -> None:
        """Nothing to sync: every read goes to the store."""

    def _types(self) -> dict[str, str]:
        return {f.path: f.type for f in self._client.structure(self._project, self._run)}

    def exists(self, path: str) -> bool:
        types = self._types()
        return path in types or any(p.startswith(path + "/") for p in types)

    def get_structure(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        for path, type_ in self._types().items():
            *parents, name = path.split("/")
            node = tree
            for part in parents:
                node = node.setdefault(part, {})
            node[name] = type_
        return tree

    def fetch(self) -> dict[str, Any]:
        return self["_"]._namespace("")


class ReadOnlyProject(ProjectTables, ReadOnlyRun):
    """A project opened with ``init_project(mode="read-only")``: its fields and its tables.

    Project fields live in the store as a container of kind "project"; a project that never logged
    any reads as one without fields.
    """

    container_type = ContainerType.PROJECT

    def __init__(self, client: Any, project: str) -> None:
        record = client.find_run(project, project_run_id(project))
        self._client, self._project = client, project
        self._identity = record or RunRecord(project, "", project_run_id(project), kind="project")
        self._run = self._identity.run_key
        self._stopped = False

    def __repr__(self) -> str:
        return f"<ReadOnlyProject {self._project}>"

    def _tables_source(self) -> tuple[Any, str]:
        return self._client, self._project

    def _types(self) -> dict[str, str]:
        return super()._types() if self._run else {}


def project_run_id(project: str) -> str:
    """The run_id of a project's own fields (the container ``init_project`` writes)."""
    return f"project:{project}"


class RemoteHandler:
    """A path of a read-only run."""

    def __init__(self, run: ReadOnlyRun, path: str) -> None:
        self._run, self._path = run, path
        self._client, self._args = run._client, (run._project, run._run)

    def __getitem__(self, path: str) -> RemoteHandler:
        return RemoteHandler(self._run, check_path(join_path(self._path, path)))

    def __getattr__(self, name: str) -> Any:
        if name in WRITES:
            _refuse(name)
        raise AttributeError(name)

    def _value(self) -> Any:
        found = self._client.values(*self._args, [self._path])
        if self._path not in found:
            raise MissingFieldError(self._path)
        return found[self._path]

    def _namespace(self, prefix: str) -> dict[str, Any]:
        start = f"{prefix}/" if prefix else ""
        result: dict[str, Any] = {}
        for path, field in sorted(self._client.values(*self._args).items()):
            if not path.startswith(start) or field.type in (FieldType.FILE, FieldType.FILE_SERIES):
                continue
            *parents, name = path[len(start) :].split("/")
            node = result
            for part in parents:
                node = node.setdefault(part, {})
            node[name] = _plain(field)
        return result

    def fetch(self) -> Any:
        """The field's value (a series: its last value; a namespace: a dict of values)."""
        try:
            return _plain(self._value())
        except MissingFieldError:
            if self._run.exists(self._path):
                return self._namespace(self._path)
            raise

    def fetch_last(self) -> Any:
        field = self._value()
        if field.type not in SERIES_TYPES:
            raise NeptuneUserError(f"{self._path!r} is a {field.type} field; fetch_last() needs a series")
        return field.value

    def fetch_values(self, include_timestamp: bool = True, progress_bar: Any = None) -> Any:
        """All points: a pandas DataFrame if pandas is installed, else a list of dicts (see points_frame)."""
        return points_frame(self._client.series(*self._args, self._path), include_timestamp)

    def fetch_hash(self) -> str:
        return self._value().value["sha256"]

    def fetch_files_list(self) -> list[ArtifactEntry]:
        return _artifact_files(self._value().value)

    def fetch_extension(self) -> str:
        field = self._value()
        if field.type != FieldType.FILE:
            raise NeptuneUserError(f"{self._path!r} is a {field.type} field; fetch_extension() needs a file")
        return field.value["extension"]

    def list_fileset_files(self, path: str | None = None) -> list[FileEntry]:
        field = self._value()
        if field.type != FieldType.FILE_SET:
            raise NeptuneUserError(f"{self._path!r} is a {field.type} field; it is not a file set")
        return list_entries({rel: FileRef(**f) for rel, f in field.value.items()}, path)

    def download(self, destination: str | None = None, wait: bool = True, progress_bar: Any = None) -> Path:
        """As the local handler's ``download`` (readback): a File, a FileSet as a zip, a FileSeries as
        ``<index>.<ext>`` files."""
        field = self._value()
        if field.type == FieldType.FILE:
            target = download_target(self._path, FileRef(**field.value), destination)
            return self._client.download_file(*self._args, self._path, target)
        if field.type == FieldType.FILE_SET:
            files = {rel: f["sha256"] for rel, f in field.value.items()}
            return write_zip(zip_target(self._path, destination), files, self._open_blob)
        if field.type == FieldType.FILE_SERIES:
            root = series_dir(self._path, destination)
            for index, (_, file, _) in enumerate(self._client.series(*self._args, self._path)):
                self._client.download_blob(
                    file["sha256"], root / series_file_name(index, file["extension"]), self._args[0]
                )
            return root
        raise NeptuneUserError(f"{self._path!r} is a {field.type} field; download() needs a file")

    def download_last(self, destination: str | None = None, progress_bar: Any = None) -> Path:
        points = list(self._client.series(*self._args, self._path))
        if not points or not isinstance(points[-1][1], dict):
            raise NeptuneUserError(f"{self._path!r}: download_last() needs a non-empty file series")
        file = points[-1][1]
        target = series_dir(self._path, destination) / series_file_name(len(points) - 1, file["extension"])
        return self._client.download_blob(file["sha256"], target, self._args[0])

    @contextlib.contextmanager
    def _open_blob(self, sha256: str) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "blob"
            self._client.download_blob(sha256, target, self._args[0])
            with open(target, "rb") as f:
                yield f


def _plain(field: Any) -> Any:
    if field.type == FieldType.STRING_SET:
        return set(field.value or ())
    if field.type == FieldType.FILE_SET:
        return sorted(field.value or ())
    if field.type == FieldType.ARTIFACT:
        value = field.value or {}
        return Artifact(value.get("sha256", ""), _artifact_files(value))
    if field.type == FieldType.DATETIME and field.value is not None:
        return to_millis(field.value)
    return field.value


def _artifact_files(value: dict[str, Any]) -> list[ArtifactEntry]:
    return sorted((ArtifactEntry(**f) for f in value.get("files", ())), key=lambda e: e.relpath)


def _refuse(call: str) -> None:
    raise NeptuneUserError(
        f"{call}: the container was opened with mode='read-only'; open it in another mode to write"
    )
