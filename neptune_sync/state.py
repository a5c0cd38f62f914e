"""The field tree of a run, built by applying operations with the field rules.

Pure: no I/O. The client keeps one (without values) to check types, steps and the field limit
before it logs; read-back replays the log into one with values. Every decision is one of
:mod:`neptune_sync.rules` (shared with the store); this module keeps the tree:

- a write that breaks a type or path rule raises :class:`TypeConflictError` and changes nothing;
- creating more than ``max_fields`` fields raises :class:`FieldLimitExceededError`;
- series points the step rule drops are left out (the client warns before logging them).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from . import rules
from .exceptions import FieldLimitExceededError, TypeConflictError
from .rules import MAX_FIELDS
from .wire import ops as o

_NO_STEP = float("-inf")


class Field(msgspec.Struct):
    """One field: its type and, when the tree keeps values, its value.

    ``value`` by type: atoms hold the value; series hold a list of points (FloatPoint, ...);
    a string set holds a set; a file set a dict relpath -> FileRef; an artifact a dict
    relpath -> ArtifactEntry. ``last_step`` is the step of a series' last point (-inf if none).
    A msgspec Struct: made in C, a new field costs a third of a class with ``__init__``.
    """

    type: str
    value: Any = None
    last_step: float = _NO_STEP
    last_value: Any = None


class FieldTree:
    """Fields by path, with the type rules of a Neptune run. ``keep_values=False`` tracks types only."""

    def __init__(self, *, keep_values: bool = True, max_fields: int = MAX_FIELDS) -> None:
        self.keep_values = keep_values
        self.max_fields = max_fields
        self.fields: dict[str, Field] = {}
        self._types: dict[str, str] = {}  # path -> type of its field: rules.conflict's lookup, in C
        self._namespaces: dict[str, int] = {}  # namespace path -> fields and namespaces directly in it
        self._uncounted = 0  # fields that do not count toward the field limit (rules.counted)

    # ------------------------------------------------------------------ queries
    def get(self, path: str) -> Field | None:
        return self.fields.get(path)

    def is_namespace(self, path: str) -> bool:
        return path == "" or path in self._namespaces

    def under(self, prefix: str) -> Iterator[tuple[str, Field]]:
        """Fields inside namespace ``prefix`` (all fields for ""), as (path relative to it, field)."""
        start = f"{prefix}/" if prefix else ""
        for path, field in sorted(self.fields.items()):
            if path.startswith(start):
                yield path[len(start) :], field

    def structure(self, prefix: str = "") -> dict[str, Any]:
        """Nested dict of the namespace: names to sub-dicts or to field type names."""
        tree: dict[str, Any] = {}
        for rel, field in self.under(prefix):
            *parents, name = rel.split("/")
            node = tree
            for part in parents:
                node = node.setdefault(part, {})
            node[name] = field.type
        return tree

    # ------------------------------------------------------------------ rules
    def require(self, path: str, type_: str) -> Field:
        """The field at ``path`` of type ``type_``, created if absent; raises on a conflict."""
        fields = self.fields
        field = fields.get(path)
        if field is not None and field.type == type_:
            return field
        # the lookups are dict methods (C calls): a path given to it is never "", the root namespace
        clash = rules.conflict(path, type_, self._types.get, self._namespaces.__contains__)
        if clash is not None:
            raise TypeConflictError(*clash)
        if not rules.counted(path):
            self._uncounted += 1
        elif rules.over_field_limit(len(fields) - self._uncounted, self.max_fields):
            raise FieldLimitExceededError(path, rules.FIELD_LIMIT, rules.field_limit_message(self.max_fields))
        self._enter(path)
        field = fields[path] = Field(type_)
        self._types[path] = type_
        return field

    def _enter(self, path: str) -> None:
        """Count a new field or namespace in the namespace holding it, creating that one (and the
        ones holding it) when it is new. Usually one step: the namespace is there already."""
        namespaces = self._namespaces
        cut = path.rfind("/")
        while cut >= 0:
            parent = path[:cut]
            held = namespaces.get(parent)
            if held is not None:
                namespaces[parent] = held + 1
                return
            namespaces[parent] = 1
            cut = path.rfind("/", 0, cut)

    def _leave(self, path: str) -> None:
        """Uncount a deleted field or emptied namespace; a namespace left empty goes too."""
        namespaces = self._namespaces
        cut = path.rfind("/")
        while cut >= 0:
            parent = path[:cut]
            left = namespaces[parent] - 1
            if left:
                namespaces[parent] = left
                return
            del namespaces[parent]
            cut = path.rfind("/", 0, cut)

    def delete(self, path: str) -> None:
        """Remove a field, or every field of a namespace. Missing paths are ignored."""
        if path in self._namespaces:
            for rel, _ in list(self.under(path)):
                self.delete(f"{path}/{rel}")
            return
        if self.fields.pop(path, None) is None:
            return
        del self._types[path]
        if not rules.counted(path):
            self._uncounted -= 1
        self._leave(path)

    # ------------------------------------------------------------------ applying ops
    def apply(self, op: o.Op) -> None:
        """Apply one operation; raises TypeConflictError / FieldLimitExceededError and then changes nothing."""
        kind = type(op)
        if kind is o.DeleteField:
            self.delete(op.path)
            return
        if kind is o.ClearSeries:
            field = self.fields.get(op.path)
            clash = rules.clear_conflict(op.path, None if field is None else field.type)
            if clash is not None:
                raise TypeConflictError(*clash)
            if field is not None:
                field.value, field.last_value, field.last_step = None, None, _NO_STEP
            return
        field = self.require(op.path, o.FIELD_TYPE_OF_OP[kind])
        handler = _APPLY.get(kind)
        if handler is not None:
            handler(self, field, op)
        elif self.keep_values:
            field.value = op.value

    def apply_all(self, operations: Iterable[o.Op]) -> None:
        for op in operations:
            self.apply(op)


def _apply_points(tree: FieldTree, field: Field, op: Any) -> None:
    points = op.points
    if not points:
        return
    last = field.last_step
    if rules.all_kept([p.step for p in points], last):  # the usual case, without a call per point
        kept, last = list(points), points[-1].step
    else:
        kept = []
        for point in points:
            if rules.step_kept(point.step, last):
                last = point.step
                kept.append(point)
    if not kept:
        return
    field.last_step = last
    if tree.keep_values:
        if field.value is None:
            field.value = []
        field.value.extend(kept)
        field.last_value = kept[-1].value


def _apply_set(tree: FieldTree, field: Field, op: Any) -> None:
    if not tree.keep_values:
        return
    current = field.value if field.value is not None else set()
    if type(op) is o.AddStrings:
        current.update(op.values)
    elif type(op) is o.RemoveStrings:
        current.difference_update(op.values)
    else:
        current.clear()
    field.value = current


def _apply_file_set(tree: FieldTree, field: Field, op: Any) -> None:
    if not tree.keep_values:
        return
    files = {} if field.value is None or getattr(op, "reset", False) else field.value
    if type(op) is o.UploadFileSet:
        files.update((entry.relpath, entry.file) for entry in op.files)
    else:
        gone = set(op.relpaths)
        files = {rel: ref for rel, ref in files.items() if rel not in gone}
    field.value = files


def matching_relpaths(relpaths: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The relpaths a ``delete_files`` pattern names: exactly, by glob, or as a directory prefix.

    The client resolves patterns with this before logging, so the operation carries exact paths.
    """
    patterns = tuple(patterns)
    return sorted(
        rel
        for rel in relpaths
        if any(fnmatch.fnmatchcase(rel, p) or rel.startswith(p.rstrip("/") + "/") for p in patterns)
    )


def _apply_artifact(tree: FieldTree, field: Field, op: Any) -> None:
    """An artifact op carries the artifact's whole file list (the client merges before logging)."""
    if not tree.keep_values:
        return
    field.value = {entry.relpath: entry for entry in op.files}
    field.last_value = op.sha256


def artifact_hash(entries: Iterable[o.ArtifactEntry]) -> str:
    """An artifact's identity: sha256 over its sorted (relpath, sha256, size) list."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.relpath):
        digest.update(f"{entry.relpath}\0{entry.sha256}\0{entry.size}\n".encode())
    return digest.hexdigest()


_APPLY = {
    o.LogFloats: _apply_points,
    o.LogStrings: _apply_points,
    o.LogFiles: _apply_points,
    o.AddStrings: _apply_set,
    o.RemoveStrings: _apply_set,
    o.ClearStringSet: _apply_set,
    o.UploadFileSet: _apply_file_set,
    o.DeleteFileSetFiles: _apply_file_set,
    o.TrackArtifact: _apply_artifact,
}
