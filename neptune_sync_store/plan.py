"""Pure application of a batch's entries to field state: idempotency by seq, merge order, type rules.

Storage backends load the state of the fields a batch touches, key the batch (:func:`key_batch`),
load what :meth:`KeyedBatch.needs` asks for late fields, call :func:`plan_batch`, then write what
the :class:`Plan` says in one transaction. Nothing here does I/O, so the rules are the same on
every backend and are tested without a database.

Rules (docs/sync-protocol.md, "Batches" and "Merge of writers"); every field rule (types, paths,
field limit, steps, order times) is decided by :mod:`neptune_sync.rules`, which the client's field
tree and the local read-back call too; this module keeps the store's bookkeeping around them:
- An entry whose last seq is not above the writer's applied seq changes nothing; a series entry
  straddling it applies only its points above it.
- Every record has the key ``(order time, writer id, seq)``. The content is that of applying all
  records of all writers in key order, whatever order batches arrive in: atoms, files and
  artifacts keep the value with the largest key; series keep points by the step rule in key order
  (neptune_sync_store.series); string and file sets keep their ops and replay them in key order
  when one arrives late; a clear or delete removes what has a smaller key, and a record with a key
  below the path's last delete is dropped.
- A write the type or path rules refuse is a conflict reported per op, and still advances the
  applied seq; one over the field limit a rejection (rule ``field-limit``). These depend on
  arrival order. Backends load the :class:`Shape` around the paths a batch may create
  (:func:`new_paths`).
- Delete removes the field and its points; the path may then take another type.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from neptune_sync import rules
from neptune_sync.rules import NO_TIME, Key
from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import OpConflict, OpRejection

from .series import Row, SeriesWork
from .validation import rejection_reason

value_encoder = msgspec.msgpack.Encoder()
value_decoder = msgspec.msgpack.Decoder()
_key_decoder = msgspec.msgpack.Decoder(tuple[float, str, int])
_step = operator.attrgetter("step")
_ts = operator.attrgetter("ts")
_value = operator.attrgetter("value")

# step, ts, value (float for a float series, msgpack bytes for the others), order time if not ts,
# writer number, seq
PointRow = tuple[float, float, Any, float | None, int, int]

WINDOW, FULL, OPS = "window", "full", "ops"  # what a late field needs loaded (KeyedBatch.needs)
SET_TYPES = frozenset({ops.FieldType.STRING_SET, ops.FieldType.FILE_SET})
_LOADED_TYPES = SET_TYPES | ops.SERIES_TYPES
_RESETS = (ops.ClearSeries, ops.DeleteField)


def encode_key(key: Key | None) -> bytes | None:
    return None if key is None else value_encoder.encode(key)


def decode_key(data: bytes | None) -> Key | None:
    return None if data is None else _key_decoder.decode(data)


@dataclass
class FieldState:
    """One field as the store holds it; ``id`` is None for a field this batch creates.

    ``key`` is the largest key of a write the field holds (None: older than any key). For a late
    field the backend loads ``series`` (kept points around the batch) or ``ops`` (a set's ops).
    """

    type: str
    value: Any = None  # the read API's value: last value for a series
    last_step: float | None = None
    id: int | None = None
    key: Key | None = None
    points: list[PointRow] = field(default_factory=list)  # new points to insert
    # new points of the batch's writer whose timestamps are their order times: step, ts, value, seq
    plain: list[tuple[float, float, Any, int]] = field(default_factory=list)
    dropped: list[PointRow] = field(default_factory=list)  # new points the record rule drops
    removed_steps: list[float] = field(default_factory=list)  # stored kept points now dropped
    series: SeriesWork | None = None
    ops: list[tuple[Key, ops.Op]] | None = None
    new_ops: list[tuple[Key, ops.Op]] = field(default_factory=list)
    rewrite: bool = False  # every point (or op) of the field is written anew
    dirty: bool = False

    def columns(self) -> tuple[bytes | None, float | None, str | None, float | None, bytes | None]:
        """(data, num, txt, last_step, key) as stored: ``num`` / ``txt`` serve filters and sorting."""
        v = self.value
        num = txt = None
        if isinstance(v, dt.datetime):
            num = v.timestamp()
        elif isinstance(v, (int, float)):
            num = float(v)
        elif isinstance(v, str):
            txt = v
        data = None if v is None else value_encoder.encode(v)
        return data, num, txt, self.last_step, encode_key(self.key)


@dataclass
class PathResets:
    """The keys of a path's latest clear and delete (kept even when the path holds no field)."""

    cleared: Key | None = None
    deleted: Key | None = None
    dirty: bool = False

    def floor(self) -> Key | None:
        """The key below which a series point has no effect."""
        if self.cleared is None or self.deleted is None:
            return self.cleared or self.deleted
        return max(self.cleared, self.deleted)

    def record(self, op: ops.Op, key: Key) -> None:
        name = "deleted" if isinstance(op, ops.DeleteField) else "cleared"
        old = getattr(self, name)
        if old is None or key > old:
            setattr(self, name, key)
            self.dirty = True


def decode_value(data: bytes | None) -> Any:
    return None if data is None else value_decoder.decode(data)


def file_dict(ref: ops.FileRef) -> dict[str, Any]:
    return {"sha256": ref.sha256, "size": ref.size, "name": ref.name, "extension": ref.extension}


@dataclass
class Item:
    """An entry above the applied seq with its keys: ``times`` per point for a series entry;
    ``own`` when those are the points' own timestamps (the usual case: they do not step back)."""

    entry: Entry
    skip: int
    time: float
    times: list[float] | None = None
    own: bool = False


@dataclass
class KeyedBatch:
    """A batch's entries above the writer's applied seq, each with its order time(s)."""

    writer_id: str
    items: list[Item]
    applied_seq: int
    order_time: float  # the writer's order time after the batch
    writer_num: int = 1  # the writer's number within the run, as point rows store it

    @property
    def first_time(self) -> float | None:
        return self.items[0].time if self.items else None

    def paths(self) -> list[str]:
        return sorted({i.entry.op.path for i in self.items})

    def needs(self, fields: dict[str, FieldState]) -> dict[str, Need]:
        """What to load for each late field: one that holds a write keyed above a record of
        this batch on it (atoms need nothing)."""
        out: dict[str, Need] = {}
        for item in self.items:
            op = item.entry.op
            state = fields.get(op.path)
            if state is None or state.key is None or state.type not in _LOADED_TYPES:
                continue
            key = (item.time, self.writer_id, item.entry.seq + item.skip)
            need = out.get(op.path)
            if need is None and key > state.key:
                continue
            kind = OPS if state.type in SET_TYPES else FULL if isinstance(op, _RESETS) else WINDOW
            hi = max(map(_step, op.points[item.skip :])) if isinstance(op, _POINT_OPS) else -1.0
            if need is None:
                need = out[op.path] = Need(kind, hi, key, key)
            elif kind == FULL:
                need.kind = FULL
            need.hi, need.kmax = max(hi, need.hi), _last_key(item, key)
        return out


@dataclass
class Need:
    """What a late field needs loaded: ``kind`` (WINDOW, FULL or OPS) and, for a window, the
    largest step and the smallest and largest key of the batch's records on it."""

    kind: str
    hi: float
    kmin: Key
    kmax: Key


def key_batch(
    entries: Iterable[Entry], applied_seq: int, writer_id: str, order_time: float, writer_num: int = 1
) -> KeyedBatch:
    """Key the entries above ``applied_seq``; ``order_time`` is the writer's before them."""
    items = []
    t = order_time
    for entry in entries:
        last = entry.last_seq
        if last <= applied_seq:
            continue
        skip = applied_seq - entry.seq + 1 if entry.seq <= applied_seq else 0
        points = getattr(entry.op, "points", None)
        if points:
            stamps = list(map(_ts, points[skip:] if skip else points))
            times = rules.point_times(t, stamps)
            items.append(Item(entry, skip, times[0], times, times is stamps))
            t = times[-1]
        else:
            t = rules.later(t, entry.ts)
            items.append(Item(entry, 0, t))
        applied_seq = last
    return KeyedBatch(writer_id, items, applied_seq, t, writer_num)


@dataclass
class Shape:
    """The run's fields around the paths a batch creates, as far as the batch's own states do not
    tell: ``under`` counts the fields under a path, ``types`` holds the fields at their parents,
    ``count`` the run's fields that count toward the limit (None: not loaded, the batch creates
    no path the store lacks).
    The plan keeps them up to date as the batch creates and deletes fields."""

    under: dict[str, int] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    count: int | None = None
    limit: int = rules.MAX_FIELDS


def new_paths(paths: Iterable[str], fields: dict[str, FieldState]) -> list[str]:
    """The batch's paths the store holds no field at: the ones a :class:`Shape` is loaded for."""
    return [p for p in paths if p not in fields]


@dataclass
class Plan:
    """What one batch changes, for a backend to write."""

    applied_seq: int
    fields: dict[str, FieldState]
    resets: dict[str, PathResets]
    writer_id: str = ""
    nums: dict[str, int] = field(default_factory=dict)  # writer id -> its number in point rows
    deleted_ids: list[int] = field(default_factory=list)
    cleared_ids: list[int] = field(default_factory=list)
    conflicts: list[OpConflict] = field(default_factory=list)
    rejected: list[OpRejection] = field(default_factory=list)
    shape: Shape = field(default_factory=Shape)

    def dirty(self) -> Iterable[tuple[str, FieldState]]:
        return ((p, s) for p, s in self.fields.items() if s.dirty)

    def apply(self, item: Item) -> None:
        entry = item.entry
        op = entry.op
        reason = rejection_reason(op)
        if reason:
            self.rejected.append(OpRejection(entry.seq, op.path, reason))
            return
        key = (item.time, self.writer_id, entry.seq + item.skip)
        resets = self.resets.setdefault(op.path, PathResets())
        state = self.fields.get(op.path)
        if isinstance(op, _RESETS):
            self._reset(entry.seq, op, key, state, resets)
            return
        if resets.deleted is not None and _last_key(item, key) < resets.deleted:
            return  # written before the path's last delete
        attempted = ops.field_type_of(op)
        if state is None or state.type != attempted:
            state = self._create(entry.seq, op.path, attempted)
            if state is None:
                return
        state.dirty = True
        if isinstance(op, _POINT_OPS):
            _log_points(state, op, item, key, resets.floor(), self.nums[self.writer_id])
        elif state.type in SET_TYPES:
            _set_op(state, op, key, resets.deleted)
        elif state.key is None or key > state.key:
            state.key = key
            _APPLY[type(op)](state, op)

    def _create(self, seq: int, path: str, type_: str) -> FieldState | None:
        """A new field of type ``type_`` at ``path``, which holds no field of that type; or None
        after reporting why the path cannot take one (another type, a namespace, the field limit)."""
        shape = self.shape
        clash = rules.conflict(path, type_, self._type_at, lambda p: shape.under.get(p, 0) > 0)
        if clash is not None:
            self.conflicts.append(OpConflict(seq, *clash))
            return None
        if shape.count is not None and rules.counted(path):
            if rules.over_field_limit(shape.count, shape.limit):
                reason = f"{rules.field_limit_message(shape.limit)} [rule: {rules.FIELD_LIMIT}]"
                self.rejected.append(OpRejection(seq, path, reason))
                return None
            shape.count += 1
        for parent in rules.parents(path):
            shape.under[parent] = shape.under.get(parent, 0) + 1
        state = self.fields[path] = FieldState(type_)
        return state

    def _type_at(self, path: str) -> str | None:
        state = self.fields.get(path)
        return state.type if state is not None else self.shape.types.get(path)

    def _reset(self, seq: int, op: ops.Op, key: Key, state: FieldState | None, resets: PathResets) -> None:
        clear = isinstance(op, ops.ClearSeries)
        clash = rules.clear_conflict(op.path, state.type if clear and state is not None else None)
        if clash is not None:
            self.conflicts.append(OpConflict(seq, *clash))
            return
        resets.record(op, key)
        if state is None:
            return
        if state.key is None or key > state.key:  # everything the field holds is older
            if clear:
                self._clear(state)
            else:
                self._drop(op.path, state)
            return
        state.dirty = True  # a late reset: what the field holds after it stays
        if state.series is not None:
            state.series.apply_reset(key)
        elif state.ops is not None:
            state.ops = [(k, o) for k, o in state.ops if k > key]
            _replay_set(state, resets.deleted)

    def _drop(self, path: str, state: FieldState) -> None:
        if state.id is not None:
            self.deleted_ids.append(state.id)
        del self.fields[path]
        shape = self.shape
        shape.types.pop(path, None)
        if shape.count is not None and rules.counted(path):
            shape.count -= 1
        for parent in rules.parents(path):
            if parent in shape.under:
                shape.under[parent] -= 1

    def _clear(self, state: FieldState) -> None:
        if state.id is not None:
            self.cleared_ids.append(state.id)
        state.points, state.plain, state.dropped = [], [], []
        state.value, state.last_step, state.dirty = None, None, True
        if state.series is not None:
            state.series = SeriesWork([], full=True)


def plan_batch(
    batch: KeyedBatch | Iterable[Entry],
    applied_seq: int = 0,
    fields: dict[str, FieldState] | None = None,
    resets: dict[str, PathResets] | None = None,
    nums: dict[str, int] | None = None,
    shape: Shape | None = None,
) -> Plan:
    """Apply a keyed batch to ``fields`` (the current state of the touched paths, late ones with
    what :meth:`KeyedBatch.needs` asked loaded), ``resets`` (the paths' clears and deletes) and
    ``shape`` (the run's fields around the paths the batch creates).

    Given plain entries, keys them as the first batch of writer ``"w"`` above ``applied_seq``.
    """
    if not isinstance(batch, KeyedBatch):
        batch = key_batch(batch, applied_seq, "w", NO_TIME)
    nums = {batch.writer_id: batch.writer_num, **(nums or {})}
    plan = Plan(batch.applied_seq, fields if fields is not None else {}, resets or {}, batch.writer_id, nums)
    if shape is not None:
        plan.shape = shape
    for item in batch.items:
        plan.apply(item)
    for state in plan.fields.values():
        if state.series is not None:
            _finish_series(state, nums)
        if state.ops is not None and state.dirty:
            state.rewrite = True
    return plan


def _last_key(item: Item, key: Key) -> Key:
    """The key of an item's last record."""
    if item.times is None:
        return key
    return (item.times[-1], key[1], key[2] + len(item.times) - 1)


# ---------------------------------------------------------------- series


def _point_value(state: FieldState, value: Any) -> Any:
    """(stored column, read-API value) of a point."""
    if state.type == ops.FieldType.FLOAT_SERIES:
        return value, value
    converted = str(value) if state.type == ops.FieldType.STRING_SERIES else file_dict(value)
    return value_encoder.encode(converted), converted


def _log_points(state: FieldState, op: Any, item: Item, key: Key, floor: Key | None, num: int) -> None:
    points = op.points[item.skip :] if item.skip else op.points
    times = item.times
    assert times is not None
    writer, seq = key[1], key[2]
    if floor is not None and (times[0], writer, seq) < floor:  # points logged before a reset
        keep = [i for i, t in enumerate(times) if (t, writer, seq + i) > floor]
        if not keep:
            last_key = (times[-1], writer, seq + len(times) - 1)
            state.key = last_key if state.key is None else max(state.key, last_key)
            return
        points, times, seq = points[keep[0] :], times[keep[0] :], seq + keep[0]
    if state.series is not None:
        state.series.add(
            [
                ((t, writer, seq + i), p.step, p.ts, _point_value(state, p.value)[0])
                for i, (p, t) in enumerate(zip(points, times, strict=True))
            ]
        )
        return
    last_key = (times[-1], writer, seq + len(points) - 1)
    if state.key is not None and (times[0], writer, seq) < state.key:
        raise AssertionError(f"late points on {op.path!r} without their window loaded")
    state.key = last_key
    if state.type == ops.FieldType.FLOAT_SERIES:
        _log_floats(state, points, times, item.own, num, seq)
    else:
        _log_objects(state, points, times, num, seq)


def _log_floats(state: FieldState, points: Any, times: list[float], own: bool, writer: int, seq: int) -> None:
    """``own``: the points' timestamps are their order times (no row needs one of its own)."""
    steps = list(map(_step, points))
    if rules.all_kept(steps, state.last_step):
        n = len(steps)  # the usual case, fast
        values = list(map(_value, points))
        if own:
            state.plain.extend(zip(steps, times, values, range(seq, seq + n), strict=True))
        else:
            stamps = list(map(_ts, points))
            kts = [None if t == s else t for t, s in zip(times, stamps, strict=True)]
            rows = zip(
                steps, stamps, values, kts, itertools.repeat(writer, n), range(seq, seq + n), strict=True
            )
            state.points.extend(rows)
        state.last_step = steps[-1]
        state.value = values[-1]
        return
    _log_objects(state, points, times, writer, seq)


def _log_objects(state: FieldState, points: Any, times: list[float], writer: int, seq: int) -> None:
    last = state.last_step
    for i, (p, t) in enumerate(zip(points, times, strict=True)):
        stored, value = _point_value(state, p.value)
        row = (p.step, p.ts, stored, None if t == p.ts else t, writer, seq + i)
        if rules.step_kept(p.step, last):
            state.points.append(row)
            state.value = value
            last = p.step
        else:
            state.dropped.append(row)
    state.last_step = last


def _finish_series(state: FieldState, nums: dict[str, int]) -> None:
    """Turn a late series' recomputed points into rows to write and its new last point."""
    work = state.series
    assert work is not None
    kept, dropped = work.result()
    new = {r[0] for r in work.new}

    def as_row(row: Row) -> PointRow:
        (t, writer, seq), step, ts, value = row
        return (step, ts, value, None if t == ts else t, nums[writer], seq)

    if work.full:
        state.rewrite = True
        state.points = [as_row(r) for r in kept]
        state.dropped = [as_row(r) for r in dropped]
        top = kept[-1] if kept else None
    else:
        state.points = [as_row(r) for r in kept if r[0] in new]
        state.dropped = [as_row(r) for r in dropped if r[0] in new]
        state.removed_steps = [r[1] for r in dropped if r[0] not in new]
        state.dropped += [as_row(r) for r in dropped if r[0] not in new]
        top = kept[-1] if kept and (state.last_step is None or kept[-1][1] >= state.last_step) else None
        if (
            top is None
            and state.last_step is not None
            and any(s == state.last_step for s in state.removed_steps)
        ):
            raise AssertionError("the series' last point was dropped without a point above it")
    if top is not None:
        state.last_step = top[1]
        state.value = top[3] if state.type == ops.FieldType.FLOAT_SERIES else decode_value(top[3])
    elif work.full:
        state.last_step = state.value = None
    keys = [r[0] for r in (*kept, *dropped)]
    if keys:
        state.key = max(keys) if state.key is None else max(state.key, *keys)


def stored_row(step: float, ts: float, value: Any, kts: float | None, writer: str, seq: int) -> Row:
    """A row of :mod:`.series` from a stored point."""
    return ((ts if kts is None else kts, writer, seq), step, ts, value)


# ---------------------------------------------------------------- sets and atoms


def _set_op(state: FieldState, op: ops.Op, key: Key, deleted: Key | None) -> None:
    state.new_ops.append((key, op))
    if state.ops is not None:
        state.ops.append((key, op))
        if state.key is not None and key < state.key:
            state.ops.sort(key=lambda ko: ko[0])
            _replay_set(state, deleted)
            return
    state.key = key
    _APPLY[type(op)](state, op)


def _replay_set(state: FieldState, deleted: Key | None) -> None:
    """A set's value from its ops in key order (after a late op or a late delete)."""
    assert state.ops is not None
    state.ops.sort(key=lambda ko: ko[0])
    state.value = None
    for key, op in state.ops:
        if deleted is None or key > deleted:
            _APPLY[type(op)](state, op)
    if state.ops:
        state.key = max(state.key, state.ops[-1][0]) if state.key is not None else state.ops[-1][0]


def _assign(state: FieldState, op: Any) -> None:
    state.value = op.value


def _assign_file(state: FieldState, op: ops.AssignFile) -> None:
    state.value = file_dict(op.value)


def _add_strings(state: FieldState, op: ops.AddStrings) -> None:
    state.value = sorted(set(state.value or ()) | set(op.values))


def _remove_strings(state: FieldState, op: ops.RemoveStrings) -> None:
    state.value = sorted(set(state.value or ()) - set(op.values))


def _clear_strings(state: FieldState, op: ops.ClearStringSet) -> None:
    state.value = []


def _upload_file_set(state: FieldState, op: ops.UploadFileSet) -> None:
    files = {} if op.reset or state.value is None else dict(state.value)
    files.update((f.relpath, file_dict(f.file)) for f in op.files)
    state.value = dict(sorted(files.items()))


def _delete_file_set_files(state: FieldState, op: ops.DeleteFileSetFiles) -> None:
    gone = set(op.relpaths)
    state.value = {k: v for k, v in (state.value or {}).items() if k not in gone}


def _track_artifact(state: FieldState, op: ops.TrackArtifact) -> None:
    files = [
        {"relpath": f.relpath, "sha256": f.sha256, "size": f.size, "mtime": f.mtime, "source": f.source}
        for f in op.files
    ]
    state.value = {"sha256": op.sha256, "files": files}


_POINT_OPS = (ops.LogFloats, ops.LogStrings, ops.LogFiles)
_APPLY = {
    ops.AssignFloat: _assign,
    ops.AssignInt: _assign,
    ops.AssignBool: _assign,
    ops.AssignString: _assign,
    ops.AssignDatetime: _assign,
    ops.AssignFile: _assign_file,
    ops.AddStrings: _add_strings,
    ops.RemoveStrings: _remove_strings,
    ops.ClearStringSet: _clear_strings,
    ops.UploadFileSet: _upload_file_set,
    ops.DeleteFileSetFiles: _delete_file_set_files,
    ops.TrackArtifact: _track_artifact,
}
