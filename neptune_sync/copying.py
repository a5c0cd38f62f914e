"""Copy by assignment: ``run["b"] = run["a"]`` (also across runs) re-logs what ``a`` holds at ``b``.

neptune 1.x copies an atom's value on the server; neptune-sync reads the source from its log (the
value as of the assignment, like 1.x) and logs operations that rebuild it at the target, for every
field type: atoms, series (every point with its step and timestamp), string sets, files, file sets
and artifacts. A namespace copies each field under it. Assignment replaces: a series or string set
at the target is cleared first, a file set is reset. Files from another run are copied into this
run's blob store, so the target run stays self-contained.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .exceptions import MissingFieldError
from .state import Field, FieldTree
from .validation import join_path
from .wire import ops as o

_ATOM_OPS = {
    o.FieldType.FLOAT: o.AssignFloat,
    o.FieldType.INT: o.AssignInt,
    o.FieldType.BOOL: o.AssignBool,
    o.FieldType.STRING: o.AssignString,
    o.FieldType.DATETIME: o.AssignDatetime,
}
_SERIES_OPS = {
    o.FieldType.FLOAT_SERIES: (o.LogFloats, o.FloatPoint),
    o.FieldType.STRING_SERIES: (o.LogStrings, o.StringPoint),
    o.FieldType.FILE_SERIES: (o.LogFiles, o.FilePoint),
}


def copy_ops(source: FieldTree, source_path: str, target: FieldTree, target_path: str) -> list[o.Op]:
    """Operations that make ``target_path`` hold what ``source_path`` holds (a field or namespace)."""
    field = source.get(source_path)
    if field is not None:
        return list(_field_ops(field, target, target_path))
    if source_path and source.is_namespace(source_path):
        ops: list[o.Op] = []
        for rel, sub in source.under(source_path):
            ops.extend(_field_ops(sub, target, join_path(target_path, rel)))
        return ops
    raise MissingFieldError(source_path)


def file_refs(ops: list[o.Op]) -> Iterator[o.FileRef]:
    """Every blob the copied operations reference (they must be in the target's blob store)."""
    for op in ops:
        yield from o.blob_refs(op)


def copy_blobs(refs: Iterator[o.FileRef], source_blobs: Any, target_blobs: Any) -> None:
    """Put each referenced blob into ``target_blobs`` (a no-op for the same store)."""
    if source_blobs is target_blobs:
        return
    for ref in refs:
        with source_blobs.open(ref.sha256) as src:
            target_blobs.put_chunks(iter(lambda src=src: src.read(1 << 20), b""))


def _field_ops(field: Field, target: FieldTree, path: str) -> Iterator[o.Op]:
    kind = field.type
    existing = target.get(path)
    if kind in _ATOM_OPS:
        yield _ATOM_OPS[kind](path, field.value)
    elif kind == o.FieldType.FILE:
        yield o.AssignFile(path, field.value)
    elif kind in _SERIES_OPS:
        if existing is not None:
            yield o.ClearSeries(path)
        op_type, point_type = _SERIES_OPS[kind]
        points = tuple(point_type(p.step, p.value, p.ts) for p in field.value or ())
        if points:
            yield op_type(path, points)
    elif kind == o.FieldType.STRING_SET:
        if existing is not None:
            yield o.ClearStringSet(path)
        yield o.AddStrings(path, tuple(sorted(field.value or ())))
    elif kind == o.FieldType.FILE_SET:
        entries = tuple(o.FileSetEntry(rel, ref) for rel, ref in sorted((field.value or {}).items()))
        yield o.UploadFileSet(path, entries, reset=True)
    elif kind == o.FieldType.ARTIFACT:
        entries = tuple(sorted((field.value or {}).values(), key=lambda e: e.relpath))
        yield o.TrackArtifact(path, entries, field.last_value)
