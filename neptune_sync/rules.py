"""The shape rules of a run's fields, shared by the client's field tree and the store's planner.

Pure: no I/O, no imports of the rest of the package. Callers describe what they hold through two
lookups (the type of the field at a path, if any; whether a path has fields under it), so the
rules read the same over the client's in-memory tree and over the rows a store loaded.

- A field's type is fixed by its first write: a write of another type conflicts.
- A path is a field or a namespace, never both: a write to a path with fields under it conflicts
  as ``(path, "namespace", attempted)``; a write under a field conflicts as
  ``(that field's path, its type, "namespace")``.
- A run holds at most :data:`MAX_FIELDS` fields: the write that would create one more is refused
  (rule ``field-limit``). The sync daemon's own records (under :data:`SYNC_NAMESPACE`) are not
  counted and never refused by it, so recording a refusal always fits.

A conflict is the triple ``(path, existing, attempted)``, the arguments of ``TypeConflictError``
and the fields of the sync protocol's ``OpConflict``.

What the store refused is not part of a run's content: the sync daemon records each refused
record in :data:`REFUSED_FIELD` (one item per record, :func:`refused_item`) from a writer whose
id starts with :data:`RESOLVER_PREFIX`, and the local read-back skips those records, so it shows
what the store holds whichever writer the store received first.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_FIELDS = 9000  # fields in one run
NAMESPACE = "namespace"
FIELD_LIMIT = "field-limit"
REFUSED_FIELD = "sys/sync/refused"
RESOLVER_PREFIX = "syncd"  # writer ids of the sync daemon's own writer (conflict resolutions)
SYNC_NAMESPACE = "sys/sync/"  # fields the sync daemon keeps on a run

Conflict = tuple[str, str, str]  # (path, existing type, attempted type)


def parents(path: str) -> list[str]:
    """The namespaces holding ``path``, outermost first: ``a/b/c`` -> ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def conflict(
    path: str,
    attempted: str,
    type_at: Callable[[str], str | None],
    has_fields_under: Callable[[str], bool],
) -> Conflict | None:
    """Why a write of type ``attempted`` to ``path`` cannot be applied, or None if it can."""
    existing = type_at(path)
    if existing is not None:
        return None if existing == attempted else (path, existing, attempted)
    if has_fields_under(path):
        return (path, NAMESPACE, attempted)
    for parent in parents(path):
        parent_type = type_at(parent)
        if parent_type is not None:
            return (parent, parent_type, NAMESPACE)
    return None


def counted(path: str) -> bool:
    """Whether a field at ``path`` counts toward the field limit."""
    return not path.startswith(SYNC_NAMESPACE)


def over_field_limit(count: int, limit: int = MAX_FIELDS) -> bool:
    """Whether a run holding ``count`` counted fields may not create another."""
    return count >= limit


def field_limit_message(limit: int = MAX_FIELDS) -> str:
    return f"a run holds at most {limit} fields; delete some first"


def refused_item(writer_id: str, first_seq: int, last_seq: int) -> str:
    """The :data:`REFUSED_FIELD` item naming a writer's records ``first_seq..last_seq``."""
    return f"{writer_id}:{first_seq}-{last_seq}"


def parse_refused(item: str) -> tuple[str, int, int] | None:
    """(writer id, first seq, last seq) of a :data:`REFUSED_FIELD` item; None if it is not one."""
    writer, _, seqs = item.rpartition(":")
    first, _, last = seqs.partition("-")
    if not writer or not first.isdigit() or not last.isdigit():
        return None
    return writer, int(first), int(last)
