"""Pure checks of an incoming batch, before anything touches storage.

Anything here is a client bug or an attack (the client validates the same rules), so the whole
batch is refused with 400 and the store is unchanged. Rules a correct client can still break at
run time (non-finite numbers) are per-op rejections instead: see :func:`rejection_reason`.
"""

from __future__ import annotations

import math
import operator
import re

from neptune_sync.oplog import ops
from neptune_sync.oplog.framing import Entry
from neptune_sync.protocol import BatchRequest

from .errors import RequestError

MAX_PATH = 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PROJECT = re.compile(r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+")
_KEY = re.compile(r"[A-Za-z0-9._:@+=-]{1,255}")
_value = operator.attrgetter("value")
_step = operator.attrgetter("step")


def is_sha256(text: str) -> bool:
    return _SHA256.fullmatch(text) is not None


def check_project(project: str) -> None:
    if not _PROJECT.fullmatch(project):
        raise RequestError(f"project {project!r} is not of the form 'workspace/project'")


def check_batch(req: BatchRequest) -> None:
    """Raise :class:`RequestError` naming the first rule the batch breaks."""
    check_project(req.run.project)
    for name, value in (("run_key", req.run.run_key), ("writer_id", req.writer_id)):
        if not _KEY.fullmatch(value):
            raise RequestError(f"{name} {value!r} must be 1-255 characters of [A-Za-z0-9._:@+=-]")
    if req.run.kind not in ("run", "project"):
        raise RequestError(f"run kind {req.run.kind!r} is neither 'run' nor 'project'")
    previous = 0
    for entry in req.entries:
        if entry.seq <= previous:
            raise RequestError(f"entry seq {entry.seq} is not above the previous entry's last seq {previous}")
        previous = entry.last_seq
        _check_entry(entry)


def _check_entry(entry: Entry) -> None:
    op = entry.op
    _check_field_path(entry.seq, op.path)
    if isinstance(op, (ops.LogFloats, ops.LogStrings, ops.LogFiles)) and not op.points:
        raise RequestError(f"seq {entry.seq}: a series entry needs at least one point")
    for ref in ops.blob_refs(op):
        _check_file_ref(entry.seq, ref)
    for relpath in _relpaths(op):
        _check_relpath(entry.seq, relpath)
    if isinstance(op, ops.TrackArtifact):
        for sha in (op.sha256, *(f.sha256 for f in op.files)):
            if not is_sha256(sha):
                raise RequestError(f"seq {entry.seq}: {sha!r} is not a lowercase hex sha256")


def _relpaths(op: ops.Op) -> list[str]:
    if isinstance(op, ops.UploadFileSet):
        return [f.relpath for f in op.files]
    if isinstance(op, ops.DeleteFileSetFiles):
        return list(op.relpaths)
    if isinstance(op, ops.TrackArtifact):
        return [f.relpath for f in op.files]
    return []


def _check_field_path(seq: int, path: str) -> None:
    if not path or len(path) > MAX_PATH or "\0" in path:
        raise RequestError(f"seq {seq}: field path must be 1-{MAX_PATH} characters without NUL")
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise RequestError(f"seq {seq}: field path {path!r} has an empty segment")


def _check_file_ref(seq: int, ref: ops.FileRef) -> None:
    if not is_sha256(ref.sha256):
        raise RequestError(f"seq {seq}: {ref.sha256!r} is not a lowercase hex sha256")
    if ref.size < 0:
        raise RequestError(f"seq {seq}: file size {ref.size} is negative")
    bad = ("/", "\\", "\0")
    if any(c in ref.name for c in bad) or ref.name in (".", ".."):
        raise RequestError(f"seq {seq}: file name {ref.name!r} must be a plain name (no path, no '..')")
    if any(c in ref.extension for c in bad) or ".." in ref.extension:
        raise RequestError(f"seq {seq}: file extension {ref.extension!r} must be a plain suffix")


def _check_relpath(seq: int, relpath: str) -> None:
    parts = relpath.split("/")
    if not relpath or relpath.startswith("/") or "\\" in relpath or "\0" in relpath or ".." in parts:
        raise RequestError(f"seq {seq}: file path {relpath!r} must be relative, without '..' or backslashes")
    if any(p in ("", ".") for p in parts):
        raise RequestError(f"seq {seq}: file path {relpath!r} has an empty or '.' segment")


def rejection_reason(op: ops.Op) -> str | None:
    """Why the store can never apply this op (the daemon quarantines it), or None."""
    if isinstance(op, ops.AssignFloat) and not math.isfinite(op.value):
        return f"non-finite float {op.value!r}"
    is_series = isinstance(op, (ops.LogFloats, ops.LogStrings, ops.LogFiles))
    if isinstance(op, ops.LogFloats) and not all(map(math.isfinite, map(_value, op.points))):
        return "series holds a non-finite value (NaN / inf)"
    if is_series and not all(map(math.isfinite, map(_step, op.points))):
        return "series holds a non-finite step"
    return None
