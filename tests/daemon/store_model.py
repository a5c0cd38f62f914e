"""An independent model of the store, and a daemon sink that writes into it, for tests.

Written from docs/sync-protocol.md ("Batches", rules 1, 2, 4, 5, 6) and imports nothing it
checks: only the wire's data types (``Entry``, the op structs, the protocol's response structs)
and the daemon's sink interface. Its own small implementation of each rule lives here, so a bug
in ``neptune_sync.rules``, the daemon's batching or the store's planner is not shared with it.

:class:`MemoryStore` applies batches in arrival order, one writer after another: idempotent per
writer by seq (a series entry straddling the applied seq applies only its points above it),
atomic, a field's type fixed by its first write after the last delete, a path a field or a
namespace, at most ``max_fields`` counted fields, series points kept only if their step is above
the last kept one. ``reject`` is a fault seam: a function naming why the store refuses an entry
for good (or None); with ``reject_whole_batch`` such an entry refuses its whole batch (HTTP 422).

Values are plain Python: a series is ``[(step, value, ts)]``, a string set a ``set``, a file set
``{relpath: FileRef}``, an artifact ``(sha256, files)``, other fields their value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neptune_sync.exceptions import BatchRejectedError
from neptune_sync.wire import ops as o
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchResponse, OpConflict, OpRejection, RunInfo
from neptune_syncd.sinks.base import Sink

Rejector = Callable[[Entry], "str | None"]

MAX_FIELDS = 9000  # rule 6: fields one run holds, those under "sys/sync/" not counted
UNCOUNTED = "sys/sync/"

# rule 4: the type each op writes; None for the ops that write no type (clear, delete)
WRITES = {
    o.AssignFloat: "float",
    o.AssignInt: "int",
    o.AssignBool: "bool",
    o.AssignString: "string",
    o.AssignDatetime: "datetime",
    o.AssignFile: "file",
    o.LogFloats: "floatSeries",
    o.LogStrings: "stringSeries",
    o.LogFiles: "fileSeries",
    o.AddStrings: "stringSet",
    o.RemoveStrings: "stringSet",
    o.ClearStringSet: "stringSet",
    o.UploadFileSet: "fileSet",
    o.DeleteFileSetFiles: "fileSet",
    o.TrackArtifact: "artifact",
    o.ClearSeries: None,
    o.DeleteField: None,
}
SERIES = {"floatSeries", "stringSeries", "fileSeries"}


def unacked(entry: Entry, applied: int) -> Entry | None:
    """Rule 1: the part of ``entry`` above seq ``applied`` (None: nothing)."""
    points = getattr(entry.op, "points", None)
    first = max(entry.seq, applied + 1)
    last = entry.seq + (len(points) if points else 1) - 1
    if first > last:
        return None
    if first == entry.seq:
        return entry
    rest = points[first - entry.seq :]
    return Entry(first, rest[0].ts, type(entry.op)(entry.op.path, rest))


def last_seq(entry: Entry) -> int:
    points = getattr(entry.op, "points", None)
    return entry.seq + (len(points) if points else 1) - 1


class Run:
    """One run's fields: ``{path: [type, value]}``."""

    def __init__(self, max_fields: int) -> None:
        self.fields: dict[str, list] = {}
        self.max_fields = max_fields

    def refusal(self, entry: Entry) -> OpConflict | OpRejection | None:
        """Why rules 4 and 6 refuse the entry's op (None: it applies)."""
        op = entry.op
        attempted = WRITES[type(op)]
        field = self.fields.get(op.path)
        if isinstance(op, o.ClearSeries):
            if field is not None and field[0] not in SERIES:
                return OpConflict(entry.seq, op.path, field[0], "series")
            return None
        if attempted is None:
            return None
        if field is not None:
            return None if field[0] == attempted else OpConflict(entry.seq, op.path, field[0], attempted)
        if any(p.startswith(op.path + "/") for p in self.fields):
            return OpConflict(entry.seq, op.path, "namespace", attempted)
        parts = op.path.split("/")
        for n in range(1, len(parts)):
            holder = self.fields.get("/".join(parts[:n]))
            if holder is not None:
                return OpConflict(entry.seq, "/".join(parts[:n]), holder[0], "namespace")
        counted = sum(not p.startswith(UNCOUNTED) for p in self.fields)
        if not op.path.startswith(UNCOUNTED) and counted >= self.max_fields:
            return OpRejection(entry.seq, op.path, f"at most {self.max_fields} fields [rule: field-limit]")
        return None

    def apply(self, op: o.Op) -> None:
        """Apply an op the rules let through."""
        fields, path = self.fields, op.path
        if isinstance(op, o.DeleteField):
            fields.pop(path, None)
        elif isinstance(op, o.ClearSeries):
            if path in fields:
                fields[path][1] = []
        elif isinstance(op, (o.LogFloats, o.LogStrings, o.LogFiles)):
            points = fields.setdefault(path, [WRITES[type(op)], []])[1]
            for p in op.points:  # rule 5: a step not above the last kept step is dropped
                if not points or p.step > points[-1][0]:
                    points.append((p.step, p.value, p.ts))
        elif isinstance(op, (o.AddStrings, o.RemoveStrings, o.ClearStringSet)):
            values = fields.setdefault(path, ["stringSet", set()])[1]
            if isinstance(op, o.AddStrings):
                values.update(op.values)
            elif isinstance(op, o.RemoveStrings):
                values.difference_update(op.values)
            else:
                values.clear()
        elif isinstance(op, (o.UploadFileSet, o.DeleteFileSetFiles)):
            files = fields.setdefault(path, ["fileSet", {}])[1]
            if isinstance(op, o.DeleteFileSetFiles):
                for rel in op.relpaths:
                    files.pop(rel, None)
            else:
                if op.reset:
                    files.clear()
                files.update((f.relpath, f.file) for f in op.files)
        elif isinstance(op, o.TrackArtifact):
            fields[path] = ["artifact", (op.sha256, op.files)]
        else:
            fields[path] = [WRITES[type(op)], op.value]


class MemoryStore:
    """Runs, per-writer applied seqs and blobs, in memory."""

    def __init__(
        self, reject: Rejector | None = None, reject_whole_batch: bool = False, max_fields: int = MAX_FIELDS
    ) -> None:
        self.runs: dict[str, Run] = {}
        self.applied: dict[tuple[str, str], int] = {}
        self.blobs: dict[str, bytes] = {}
        self.batches = 0
        self._reject = reject
        self._reject_whole_batch = reject_whole_batch
        self._max_fields = max_fields

    def _run(self, run_key: str) -> Run:
        return self.runs.setdefault(run_key, Run(self._max_fields))

    def write_batch(self, run: RunInfo, writer_id: str, entries: list[Entry]) -> BatchResponse:
        """Apply a batch atomically; raises BatchRejectedError in whole-batch rejection mode."""
        key = (run.run_key, writer_id)
        applied = self.applied.get(key, 0)
        fresh = [e for e in (unacked(e, applied) for e in entries) if e is not None]
        reasons = {e.seq: self._reject(e) for e in fresh} if self._reject else {}
        if self._reject_whole_batch and any(reasons.values()):
            raise BatchRejectedError("batch refused: " + "; ".join(r for r in reasons.values() if r), 422)
        state = self._run(run.run_key)
        conflicts, rejected = [], []
        for entry in fresh:
            reason = reasons.get(entry.seq)
            refusal = OpRejection(entry.seq, entry.op.path, reason) if reason else state.refusal(entry)
            if isinstance(refusal, OpConflict):
                conflicts.append(refusal)
            elif refusal is not None:
                rejected.append(refusal)
            else:
                state.apply(entry.op)
            applied = last_seq(entry)
        self.applied[key] = applied
        self.batches += 1
        return BatchResponse(applied, conflicts, rejected)

    def apply_log(self, run_key: str, entries: list[Entry]) -> None:
        """Apply entries straight from a log (the expected result in tests), refused ones skipped."""
        state = self._run(run_key)
        for entry in entries:
            if state.refusal(entry) is None:
                state.apply(entry.op)

    def values(self, run_key: str) -> dict[str, tuple[str, Any]]:
        """A run's fields as ``{path: (type, value)}``."""
        run = self.runs.get(run_key)
        return {} if run is None else {path: (t, v) for path, (t, v) in run.fields.items()}


class MemorySink(Sink):
    """A daemon sink writing straight into a :class:`MemoryStore`; batches apply in arrival order,
    so a writer's floor (``after``) plays no part."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    async def acked_seq(self, run: RunInfo, writer_id: str) -> int:
        return self.store.applied.get((run.run_key, writer_id), 0)

    async def write_batch(
        self, run: RunInfo, writer_id: str, entries: list[Entry], after: float | None = None
    ) -> BatchResponse:
        return self.store.write_batch(run, writer_id, entries)

    async def field_types(self, run: RunInfo) -> dict[str, str] | None:
        return {path: t for path, (t, _) in self.store.values(run.run_key).items()}

    async def has_blob(self, run: RunInfo, ref: o.FileRef) -> bool:
        return ref.sha256 in self.store.blobs

    async def put_blob(self, run: RunInfo, ref: o.FileRef, path: Path) -> None:
        self.store.blobs[ref.sha256] = path.read_bytes()
