"""Pure application of a batch's entries to field state: idempotency by seq and the type rules.

Storage backends load the current state of the fields a batch touches, call :func:`plan_batch`,
then write what the :class:`Plan` says in one transaction. Nothing here does I/O, so the rules
are the same on every backend and are tested without a database.

Rules (docs/sync-protocol.md):
- An entry whose last seq is not above the writer's applied seq changes nothing; a series entry
  straddling it applies only its points above it.
- A field's type is fixed by its first write (``ops.field_type_of``); a write of another type is a
  conflict reported per op, and still advances the applied seq.
- A series keeps points with strictly increasing steps; a point at or below the last step is dropped.
- Delete removes the field and its points; the path may then take another type.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from neptune_sync.oplog import ops
from neptune_sync.oplog.framing import Entry
from neptune_sync.protocol import OpConflict, OpRejection

from .validation import rejection_reason

value_encoder = msgspec.msgpack.Encoder()
value_decoder = msgspec.msgpack.Decoder()
_step = operator.attrgetter("step")

PointRow = tuple[float, float, Any]  # step, ts, then the float value (float series) or msgpack bytes (others)


@dataclass
class FieldState:
    """One field as the store holds it; ``id`` is None for a field this batch creates."""

    type: str
    value: Any = None  # the read API's value: last value for a series
    last_step: float | None = None
    id: int | None = None
    points: list[PointRow] = field(default_factory=list)  # new points to insert
    dirty: bool = False

    def columns(self) -> tuple[bytes | None, float | None, str | None, float | None]:
        """(data, num, txt, last_step) as stored: ``num`` / ``txt`` serve filters and sorting."""
        v = self.value
        num = txt = None
        if isinstance(v, dt.datetime):
            num = v.timestamp()
        elif isinstance(v, (int, float)):
            num = float(v)
        elif isinstance(v, str):
            txt = v
        data = None if v is None else value_encoder.encode(v)
        return data, num, txt, self.last_step


def decode_value(data: bytes | None) -> Any:
    return None if data is None else value_decoder.decode(data)


def file_dict(ref: ops.FileRef) -> dict[str, Any]:
    return {"sha256": ref.sha256, "size": ref.size, "name": ref.name, "extension": ref.extension}


@dataclass
class Plan:
    """What one batch changes, for a backend to write."""

    applied_seq: int
    fields: dict[str, FieldState]
    deleted_ids: list[int] = field(default_factory=list)
    cleared_ids: list[int] = field(default_factory=list)
    conflicts: list[OpConflict] = field(default_factory=list)
    rejected: list[OpRejection] = field(default_factory=list)

    def dirty(self) -> Iterable[tuple[str, FieldState]]:
        return ((p, s) for p, s in self.fields.items() if s.dirty)

    def apply(self, entry: Entry, skip: int) -> None:
        op = entry.op
        reason = rejection_reason(op)
        if reason:
            self.rejected.append(OpRejection(entry.seq, op.path, reason))
            return
        state = self.fields.get(op.path)
        if isinstance(op, ops.DeleteField):
            if state is not None:
                self._drop(op.path, state)
            return
        if isinstance(op, ops.ClearSeries):
            self._clear(entry.seq, op.path, state)
            return
        attempted = ops.field_type_of(op)
        if state is None:
            state = self.fields[op.path] = FieldState(attempted)
        elif state.type != attempted:
            self.conflicts.append(OpConflict(entry.seq, op.path, state.type, attempted))
            return
        _APPLY[type(op)](state, op, skip)
        state.dirty = True

    def _drop(self, path: str, state: FieldState) -> None:
        if state.id is not None:
            self.deleted_ids.append(state.id)
        del self.fields[path]

    def _clear(self, seq: int, path: str, state: FieldState | None) -> None:
        if state is None:
            return
        if state.type not in ops.SERIES_TYPES:
            self.conflicts.append(OpConflict(seq, path, state.type, "series"))
            return
        if state.id is not None:
            self.cleared_ids.append(state.id)
        state.points, state.value, state.last_step, state.dirty = [], None, None, True


def plan_batch(entries: Iterable[Entry], applied_seq: int, fields: dict[str, FieldState]) -> Plan:
    """Apply entries above ``applied_seq`` to ``fields`` (the current state of the touched paths)."""
    plan = Plan(applied_seq, fields)
    for entry in entries:
        last = entry.last_seq
        if last <= plan.applied_seq:
            continue
        skip = plan.applied_seq - entry.seq + 1 if entry.seq <= plan.applied_seq else 0
        plan.apply(entry, skip)
        plan.applied_seq = last
    return plan


def _assign(state: FieldState, op: Any, skip: int) -> None:
    state.value = op.value


def _assign_file(state: FieldState, op: ops.AssignFile, skip: int) -> None:
    state.value = file_dict(op.value)


def _append(state: FieldState, rows: list[PointRow], last_value: Any) -> None:
    if rows:
        state.points.extend(rows)
        state.last_step = rows[-1][0]
        state.value = last_value


def _log_floats(state: FieldState, op: ops.LogFloats, skip: int) -> None:
    points = op.points[skip:] if skip else op.points
    steps = list(map(_step, points))
    if (state.last_step is None or steps[0] > state.last_step) and all(map(operator.lt, steps, steps[1:])):
        rows: list[PointRow] = [(p.step, p.ts, p.value) for p in points]  # the usual case, fast
    else:
        rows, last = [], state.last_step
        for p in points:
            if last is None or p.step > last:
                rows.append((p.step, p.ts, p.value))
                last = p.step
    _append(state, rows, rows[-1][2] if rows else None)


def _log_objects(state: FieldState, points: Iterable[Any], convert: Any) -> None:
    last = state.last_step
    rows: list[PointRow] = []
    value = None
    for p in points:
        if last is None or p.step > last:
            value = convert(p.value)
            rows.append((p.step, p.ts, value_encoder.encode(value)))
            last = p.step
    _append(state, rows, value)


def _log_strings(state: FieldState, op: ops.LogStrings, skip: int) -> None:
    _log_objects(state, op.points[skip:], str)


def _log_files(state: FieldState, op: ops.LogFiles, skip: int) -> None:
    _log_objects(state, op.points[skip:], file_dict)


def _add_strings(state: FieldState, op: ops.AddStrings, skip: int) -> None:
    state.value = sorted(set(state.value or ()) | set(op.values))


def _remove_strings(state: FieldState, op: ops.RemoveStrings, skip: int) -> None:
    state.value = sorted(set(state.value or ()) - set(op.values))


def _clear_strings(state: FieldState, op: ops.ClearStringSet, skip: int) -> None:
    state.value = []


def _upload_file_set(state: FieldState, op: ops.UploadFileSet, skip: int) -> None:
    files = {} if op.reset or state.value is None else dict(state.value)
    files.update((f.relpath, file_dict(f.file)) for f in op.files)
    state.value = dict(sorted(files.items()))


def _delete_file_set_files(state: FieldState, op: ops.DeleteFileSetFiles, skip: int) -> None:
    gone = set(op.relpaths)
    state.value = {k: v for k, v in (state.value or {}).items() if k not in gone}


def _track_artifact(state: FieldState, op: ops.TrackArtifact, skip: int) -> None:
    files = [
        {"relpath": f.relpath, "sha256": f.sha256, "size": f.size, "mtime": f.mtime, "source": f.source}
        for f in op.files
    ]
    state.value = {"sha256": op.sha256, "files": files}


_APPLY = {
    ops.AssignFloat: _assign,
    ops.AssignInt: _assign,
    ops.AssignBool: _assign,
    ops.AssignString: _assign,
    ops.AssignDatetime: _assign,
    ops.AssignFile: _assign_file,
    ops.LogFloats: _log_floats,
    ops.LogStrings: _log_strings,
    ops.LogFiles: _log_files,
    ops.AddStrings: _add_strings,
    ops.RemoveStrings: _remove_strings,
    ops.ClearStringSet: _clear_strings,
    ops.UploadFileSet: _upload_file_set,
    ops.DeleteFileSetFiles: _delete_file_set_files,
    ops.TrackArtifact: _track_artifact,
}
