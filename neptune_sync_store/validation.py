"""Pure checks of an incoming batch, before anything touches storage.

Every field of every struct of a decoded batch is checked here, so storage only ever sees values
both backends hold exactly (a batch that decodes never makes the store fail):

- :func:`check_batch`: what only a broken client or an attacker sends (bad names, paths, seqs out
  of order or beyond 64 bits, timestamps that are no time, negative sizes). The whole batch is
  refused with 400 and the store is unchanged; the daemon isolates the entry by splitting.
- :func:`rejection_reason`: a value the store can never hold, in an op an older client or an
  importer may have logged (non-finite numbers, steps beyond ±2**53, ints beyond 64 bits, strings
  with NUL, naive datetimes). That op is reported as an ``OpRejection`` and the rest applies.

The limits are the client's (:mod:`neptune_sync.validation`): one place for each rule.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterator

from neptune_sync.validation import (
    INT_MAX,
    INT_MIN,
    MAX_PATH_LENGTH,
    MAX_RUN_ID,
    MAX_STEP,
    MAX_TIMESTAMP,
    MODEL_ID,
    file_name_problem,
    project_problem,
    relpath_problem,
)
from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import CONTAINER_KINDS, BatchRequest

from .errors import RequestError

MAX_SEQ = 2**63 - 1  # both backends keep sequence numbers in a signed 64-bit column
MAX_SIZE = 2**63 - 1
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[A-Za-z0-9._:@+=-]{1,255}")
_SERIES = (ops.LogFloats, ops.LogStrings, ops.LogFiles)
_step = operator.attrgetter("step")
_ts = operator.attrgetter("ts")
_value = operator.attrgetter("value")


def is_sha256(text: str) -> bool:
    return _SHA256.fullmatch(text) is not None


def check_project(project: str) -> None:
    problem = project_problem(project)
    if problem:
        raise RequestError(problem)


def check_batch(req: BatchRequest) -> None:
    """Raise :class:`RequestError` naming the first rule the batch breaks."""
    check_project(req.run.project)
    for name, value in (("run_key", req.run.run_key), ("writer_id", req.writer_id)):
        if not _KEY.fullmatch(value):
            raise RequestError(f"{name} {value!r} must be 1-255 characters of [A-Za-z0-9._:@+=-]")
    for name, value in (("run_id", req.run.run_id), ("custom_run_id", req.run.custom_run_id)):
        if len(value) > MAX_RUN_ID or "\0" in value:
            raise RequestError(f"{name} must be at most {MAX_RUN_ID} characters without NUL")
    if req.run.kind not in CONTAINER_KINDS:
        raise RequestError(f"run kind {req.run.kind!r} is not one of {', '.join(CONTAINER_KINDS)}")
    if (req.run.kind == "model_version") != bool(req.run.model_id):
        raise RequestError("model_id is required for a model_version and only for one")
    if req.run.model_id and not MODEL_ID.fullmatch(req.run.model_id):
        raise RequestError(f"model_id {req.run.model_id!r} is not of the form 'PROJECTKEY-MODELKEY'")
    if req.after is not None and not 0.0 <= req.after <= MAX_TIMESTAMP:  # also false for NaN
        raise RequestError(f"after {req.after!r} is not seconds since the epoch in [0, 1e11]")
    previous = 0
    for entry in req.entries:
        if entry.seq <= previous:
            raise RequestError(f"entry seq {entry.seq} is not above the previous entry's last seq {previous}")
        previous = entry.last_seq
        if previous > MAX_SEQ:
            raise RequestError(f"entry seq {previous} is beyond 2**63 - 1")
        _check_entry(entry)


def _check_entry(entry: Entry) -> None:
    op = entry.op
    seq = entry.seq
    _check_field_path(seq, op.path)
    _check_ts(seq, entry.ts)
    if isinstance(op, _SERIES):
        if not op.points:
            raise RequestError(f"seq {seq}: a series entry needs at least one point")
        if not _within(list(map(_ts, op.points)), 0.0, MAX_TIMESTAMP):
            raise RequestError(f"seq {seq}: a point's timestamp is not seconds since the epoch in [0, 1e11)")
    for ref in ops.blob_refs(op):
        _check_file_ref(seq, ref)
    for relpath in _relpaths(op):
        _check_relpath(seq, relpath)
    if isinstance(op, ops.TrackArtifact):
        for sha in (op.sha256, *(f.sha256 for f in op.files)):
            if not is_sha256(sha):
                raise RequestError(f"seq {seq}: {sha!r} is not a lowercase hex sha256")
        for f in op.files:
            _check_size(seq, f.size)


def _within(values: list[float], low: float, high: float) -> bool:
    """All values finite with ``low <= v < high``. Three C loops (series entries hold thousands):
    a NaN makes the sum NaN, an infinity fails a bound, and bounded values cannot overflow it."""
    return low <= min(values) and max(values) < high and math.isfinite(sum(values))


def _check_ts(seq: int, ts: float) -> None:
    if not 0.0 <= ts < MAX_TIMESTAMP:  # also false for NaN
        raise RequestError(f"seq {seq}: timestamp {ts!r} is not seconds since the epoch in [0, 1e11)")


def _relpaths(op: ops.Op) -> list[str]:
    if isinstance(op, ops.UploadFileSet):
        return [f.relpath for f in op.files]
    if isinstance(op, ops.DeleteFileSetFiles):
        return list(op.relpaths)
    if isinstance(op, ops.TrackArtifact):
        return [f.relpath for f in op.files]
    return []


def _check_field_path(seq: int, path: str) -> None:
    if not path or len(path) > MAX_PATH_LENGTH or "\0" in path:
        raise RequestError(f"seq {seq}: field path must be 1-{MAX_PATH_LENGTH} characters without NUL")
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise RequestError(f"seq {seq}: field path {path!r} has an empty segment")


def _check_size(seq: int, size: int) -> None:
    if not 0 <= size <= MAX_SIZE:
        raise RequestError(f"seq {seq}: file size {size} is not within 0..2**63-1")


def _check_file_ref(seq: int, ref: ops.FileRef) -> None:
    if not is_sha256(ref.sha256):
        raise RequestError(f"seq {seq}: {ref.sha256!r} is not a lowercase hex sha256")
    _check_size(seq, ref.size)
    problem = file_name_problem(ref.name, ref.extension)
    if problem:
        raise RequestError(f"seq {seq}: {problem}")


def _check_relpath(seq: int, relpath: str) -> None:
    problem = relpath_problem(relpath)
    if problem:
        raise RequestError(f"seq {seq}: {problem}")


def rejection_reason(op: ops.Op) -> str | None:
    """Why the store can never apply this op (the daemon quarantines it), or None."""
    check = _REJECTIONS.get(type(op))
    return check(op) if check is not None else None


def _float_value(op: ops.AssignFloat) -> str | None:
    return None if math.isfinite(op.value) else f"non-finite float {op.value!r} [rule: float-finite]"


def _int_value(op: ops.AssignInt) -> str | None:
    if INT_MIN <= op.value <= INT_MAX:
        return None
    return f"integer {op.value} does not fit in 64 bits [rule: int-range]"


def _datetime_value(op: ops.AssignDatetime) -> str | None:
    return None if op.value.tzinfo is not None else "datetime without a timezone [rule: datetime-aware]"


def _series(op: ops.LogFloats | ops.LogStrings | ops.LogFiles) -> str | None:
    if not _within(list(map(_step, op.points)), -MAX_STEP, MAX_STEP + 1):
        return "series holds a step that is not finite within ±2**53 [rule: step-range]"
    if isinstance(op, ops.LogFloats) and not all(map(math.isfinite, map(_value, op.points))):
        return "series holds a non-finite value (NaN / inf) [rule: float-finite]"
    return _nul_in(op)


def _nul_in(op: ops.Op) -> str | None:
    for text in _strings(op):
        if "\0" in text:
            return f"string {text[:64]!r} holds a NUL character [rule: string-nul]"
    return None


def _strings(op: ops.Op) -> Iterator[str]:
    """The user strings an op stores as values (names and paths are checked by ``check_batch``)."""
    if isinstance(op, ops.AssignString):
        yield op.value
    elif isinstance(op, ops.LogStrings):
        yield from (p.value for p in op.points)
    elif isinstance(op, (ops.AddStrings, ops.RemoveStrings)):
        yield from op.values
    elif isinstance(op, ops.TrackArtifact):
        yield from (f.source for f in op.files)


def _artifact(op: ops.TrackArtifact) -> str | None:
    if not all(math.isfinite(f.mtime) for f in op.files):
        return "artifact file with a non-finite mtime [rule: float-finite]"
    return _nul_in(op)


_REJECTIONS = {
    ops.AssignFloat: _float_value,
    ops.AssignInt: _int_value,
    ops.AssignDatetime: _datetime_value,
    ops.AssignString: _nul_in,
    ops.LogFloats: _series,
    ops.LogStrings: _series,
    ops.LogFiles: _series,
    ops.AddStrings: _nul_in,
    ops.RemoveStrings: _nul_in,
    ops.TrackArtifact: _artifact,
}
