"""Conflict policy: what to do with an op the store refused because of what its path holds.

Pure: no I/O. Nothing is ever dropped silently. A conflict (neptune_sync.rules) is a write of
another type to a field, a write to a namespace (``existing_type`` "namespace"), or a write under
a field (``attempted_type`` "namespace", ``path`` the field's). Policies (``conflict_policy``):

- ``coerce`` (default): convert losslessly where the value survives exactly (an int into a float
  field, an integral float into an int field); otherwise ``rename``.
- ``rename``: write the op to the sibling ``<path>__conflict_<attempted type>``: for a write
  under a field ``a`` (``a/b/c``), to ``a__conflict_namespace/b/c``.
- ``quarantine``: write nothing; the op goes to the run's quarantine file.

A renamed op that conflicts again is quarantined, so resolution never loops. Every resolution is
recorded on the run in the string set :data:`CONFLICTS_FIELD`, and in the run's sync state
(``neptune-sync status``). When the store's answer to a batch was lost, :func:`audit` finds the
conflicts it must have reported from the field types it holds now.
"""

from __future__ import annotations

import msgspec

from neptune_sync import rules
from neptune_sync.wire.ops import (
    AddStrings,
    AssignFloat,
    AssignInt,
    DeleteField,
    Entry,
    FieldType,
    Op,
    field_type_of,
)
from neptune_sync.wire.protocol import OpConflict

POLICIES = ("coerce", "rename", "quarantine")
CONFLICTS_FIELD = "sys/sync/conflicts"
SUFFIX = "__conflict_"
MAX_EXACT_INT = 2**53


class Resolution(msgspec.Struct, frozen=True):
    """The ops to write instead of the refused one, and a one-line account of it."""

    ops: tuple[Op, ...]
    action: str
    quarantine: bool = False


def sibling_path(path: str, attempted_type: str) -> str:
    return f"{path}{SUFFIX}{attempted_type}"


def coerce(op: Op, existing_type: str) -> Op | None:
    """The op converted to ``existing_type`` if that loses nothing, else None."""
    if isinstance(op, AssignInt) and existing_type == FieldType.FLOAT and abs(op.value) <= MAX_EXACT_INT:
        return AssignFloat(op.path, float(op.value))
    if (
        isinstance(op, AssignFloat)
        and existing_type == FieldType.INT
        and op.value.is_integer()
        and abs(op.value) <= MAX_EXACT_INT
    ):
        return AssignInt(op.path, int(op.value))
    return None


def resolve(op: Op, conflict: OpConflict, policy: str = "coerce") -> Resolution:
    """Decide what replaces ``op`` after ``conflict``. Raises ValueError for an unknown policy."""
    if policy not in POLICIES:
        raise ValueError(f"conflict_policy must be one of {POLICIES}, not {policy!r}")
    note = _note(op, conflict)
    if policy == "quarantine" or SUFFIX in conflict.path:
        # a sibling that conflicts again is not renamed a second time
        return Resolution((record(note, "quarantined"),), "quarantined", quarantine=True)
    if policy == "coerce":
        coerced = coerce(op, conflict.existing_type)
        if coerced is not None:
            return Resolution((coerced, record(note, "coerced")), "coerced")
    target = sibling_path(conflict.path, conflict.attempted_type) + op.path[len(conflict.path) :]
    renamed = msgspec.structs.replace(op, path=target)
    action = f"renamed to {target}"
    return Resolution((renamed, record(note, action)), action)


def _note(op: Op, conflict: OpConflict) -> str:
    if conflict.existing_type == rules.NAMESPACE:
        return f"{op.path}: {conflict.attempted_type} written to a namespace"
    if conflict.attempted_type == rules.NAMESPACE:
        return f"{op.path}: written under the {conflict.existing_type} field {conflict.path}"
    return f"{op.path}: {conflict.attempted_type} written to a {conflict.existing_type} field"


def record(note: str, action: str) -> AddStrings:
    """The op that records a conflict on the run."""
    return AddStrings(CONFLICTS_FIELD, (f"{note}; {action}",))


def audit(entries: list[Entry], store_types: dict[str, str], known: set[int]) -> list[OpConflict]:
    """Conflicts the store must have met applying ``entries`` when its answer was lost.

    An entry conflicted if the store holds its path with another type, holds fields under it, or
    holds a field at one of its parents -- unless a later entry of the batch deleted that path or
    field (what the store holds may then legitimately differ). ``known`` are seqs already
    reported as conflicts.
    """
    namespaces = {parent for path in store_types for parent in rules.parents(path)}
    deleted_after: set[str] = set()

    def type_at(path: str) -> str | None:
        return None if path in deleted_after else store_types.get(path)

    found = []
    for entry in reversed(entries):
        op = entry.op
        if isinstance(op, DeleteField):
            deleted_after.add(op.path)
            continue
        attempted = field_type_of(op)
        if attempted is None or op.path in deleted_after or entry.seq in known:
            continue
        clash = rules.conflict(op.path, attempted, type_at, namespaces.__contains__)
        if clash is not None:
            found.append(OpConflict(entry.seq, *clash))
    return found[::-1]
