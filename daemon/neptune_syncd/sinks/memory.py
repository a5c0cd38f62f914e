"""An in-memory store and its sink: a real implementation of the store's semantics, for tests.

:class:`MemoryStore` applies operations the way the store does (idempotent per writer by sequence
number, atomic batches, a field's type fixed by its first write, series steps strictly increasing) and keeps the result as plain
Python values, so tests compare it with what the logs say. ``reject`` is a fault seam: a function
naming why the store refuses an entry for good (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from neptune_sync.exceptions import BatchRejectedError
from neptune_sync.wire import ops as o
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchResponse, OpConflict, OpRejection, RunInfo

from ..batching import trim
from .base import Sink

Rejector = Callable[[Entry], "str | None"]


class Field:
    __slots__ = ("type", "value")

    def __init__(self, type_: str, value: object) -> None:
        self.type = type_
        self.value = value

    def __repr__(self) -> str:
        return f"Field({self.type!r}, {self.value!r})"


def _apply(fields: dict[str, Field], op: o.Op) -> None:
    """Apply one type-checked op to a run's fields."""
    kind = o.field_type_of(op)
    field = fields.get(op.path)
    if isinstance(op, o.DeleteField):
        fields.pop(op.path, None)
    elif isinstance(op, o.ClearSeries):
        if field is not None and field.type in o.SERIES_TYPES:
            field.value = []
    elif isinstance(op, (o.LogFloats, o.LogStrings, o.LogFiles)):
        points = fields.setdefault(op.path, Field(kind, [])).value
        for p in op.points:  # steps strictly increase: a point at or below the last step is dropped
            if not points or p.step > points[-1][0]:
                points.append((p.step, p.value, p.ts))
    elif isinstance(op, (o.AddStrings, o.RemoveStrings, o.ClearStringSet)):
        values = fields.setdefault(op.path, Field(kind, set())).value
        if isinstance(op, o.AddStrings):
            values.update(op.values)
        elif isinstance(op, o.RemoveStrings):
            values.difference_update(op.values)
        else:
            values.clear()
    elif isinstance(op, (o.UploadFileSet, o.DeleteFileSetFiles)):
        files = fields.setdefault(op.path, Field(kind, {})).value
        if isinstance(op, o.DeleteFileSetFiles):
            for rel in op.relpaths:
                files.pop(rel, None)
        else:
            if op.reset:
                files.clear()
            files.update((f.relpath, f.file) for f in op.files)
    elif isinstance(op, o.TrackArtifact):
        fields[op.path] = Field(kind, (op.sha256, op.files))
    else:
        fields[op.path] = Field(kind, op.value)  # type: ignore[union-attr]


class MemoryStore:
    """Runs, per-writer applied sequence numbers and blobs, in memory."""

    def __init__(self, reject: Rejector | None = None, reject_whole_batch: bool = False) -> None:
        self.runs: dict[str, dict[str, Field]] = {}
        self.applied: dict[tuple[str, str], int] = {}
        self.blobs: dict[str, bytes] = {}
        self.batches = 0
        self._reject = reject
        self._reject_whole_batch = reject_whole_batch

    def conflict_of(self, fields: dict[str, Field], entry: Entry) -> OpConflict | None:
        kind = o.field_type_of(entry.op)
        field = fields.get(entry.op.path)
        if kind is None or field is None or field.type == kind:
            return None
        return OpConflict(entry.seq, entry.op.path, field.type, kind)

    def write_batch(self, run: RunInfo, writer_id: str, entries: list[Entry]) -> BatchResponse:
        """Apply a batch atomically; raises BatchRejectedError in whole-batch rejection mode."""
        key = (run.run_key, writer_id)
        applied = self.applied.get(key, 0)
        fresh = [e for e in (trim(e, applied) for e in entries) if e is not None]
        reasons = {e.seq: self._reject(e) for e in fresh} if self._reject else {}
        if self._reject_whole_batch and any(reasons.values()):
            raise BatchRejectedError("batch refused: " + "; ".join(r for r in reasons.values() if r), 422)
        fields = self.runs.setdefault(run.run_key, {})
        conflicts, rejected = [], []
        for entry in fresh:
            reason = reasons.get(entry.seq)
            conflict = None if reason else self.conflict_of(fields, entry)
            if reason:
                rejected.append(OpRejection(entry.seq, entry.op.path, reason))
            elif conflict:
                conflicts.append(conflict)
            else:
                _apply(fields, entry.op)
            applied = entry.last_seq
        self.applied[key] = applied
        self.batches += 1
        return BatchResponse(applied, conflicts, rejected)

    def apply_log(self, run_key: str, entries: list[Entry]) -> None:
        """Apply entries straight from a log (the expected result in tests), conflicts skipped."""
        fields = self.runs.setdefault(run_key, {})
        for entry in entries:
            if self.conflict_of(fields, entry) is None:
                _apply(fields, entry.op)

    def values(self, run_key: str) -> dict[str, tuple[str, object]]:
        """A run's fields as ``{path: (type, value)}``."""
        return {path: (f.type, f.value) for path, f in self.runs.get(run_key, {}).items()}


class MemorySink(Sink):
    """A sink writing straight into a :class:`MemoryStore`."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    async def acked_seq(self, run: RunInfo, writer_id: str) -> int:
        return self.store.applied.get((run.run_key, writer_id), 0)

    async def write_batch(
        self, run: RunInfo, writer_id: str, entries: list[Entry], after: float | None = None
    ) -> BatchResponse:
        # The memory store applies batches in arrival order (a one-writer model): no floor to apply.
        return self.store.write_batch(run, writer_id, entries)

    async def field_types(self, run: RunInfo) -> dict[str, str] | None:
        return {path: f.type for path, f in self.store.runs.get(run.run_key, {}).items()}

    async def has_blob(self, run: RunInfo, ref: o.FileRef) -> bool:
        return ref.sha256 in self.store.blobs

    async def put_blob(self, run: RunInfo, ref: o.FileRef, path: Path) -> None:
        self.store.blobs[ref.sha256] = path.read_bytes()
