"""The field rules of a run: one place for each, shared by the client, the read-back and the store.

Pure: stdlib only, no I/O, no imports of the rest of the package. The client's field tree
(:mod:`neptune_sync.state`), the local read-back (:mod:`neptune_sync.replay`,
:mod:`neptune_sync.merge`) and the store's planner (``neptune_sync_store.plan``,
``neptune_sync_store.series``) call these functions for every decision below; they keep only the
bookkeeping of their own data (a tree in memory, rows loaded from a database). Callers describe
what they hold through two lookups (the type of the field at a path, if any; whether a path has
fields under it), so the rules read the same over both. docs/sync-protocol.md states the rules.

- **Types.** A field's type is fixed by its first write: a write of another type conflicts
  (:func:`conflict`). A delete fits every field; a clear fits every series type and conflicts
  with any other as ``(path, existing, "series")`` (:func:`clear_conflict`).
- **Paths.** A path is a field or a namespace, never both: a write to a path with fields under it
  conflicts as ``(path, "namespace", attempted)``; a write under a field conflicts as
  ``(that field's path, its type, "namespace")``.
- **Field limit.** A run holds at most :data:`MAX_FIELDS` fields: the write that would create one
  more is refused (rule ``field-limit``). The sync daemon's own records (under
  :data:`SYNC_NAMESPACE`) are not counted and never refused by it, so recording a refusal always fits.
- **Steps.** In a series a point is kept iff its step is above the step of the last kept point
  since the series' last clear or delete (:func:`step_kept`); other points are dropped.
- **Merge order.** Every record (an operation, or one point of a series operation) has the key
  ``(order time, writer id, seq)`` (:data:`Key`); a run's content is every record applied in
  ascending key. The order time is the largest timestamp among the writer's records so far
  (:func:`later`, :func:`point_times`), starting at the writer's causal floor if it has one
  (:func:`start`, :func:`resume_time`); a writer that resumes a run takes as its floor the next
  float above everything it read (:func:`floor_above`).

A conflict is the triple ``(path, existing, attempted)``, the arguments of ``TypeConflictError``
and the fields of the sync protocol's ``OpConflict``.

What the store refused is not part of a run's content: the sync daemon records each refused
record in :data:`REFUSED_FIELD` (one item per record, :func:`refused_item`) from a writer whose
id starts with :data:`RESOLVER_PREFIX`, and the local read-back skips those records, so it shows
what the store holds whichever writer the store received first.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable

MAX_FIELDS = 9000  # fields in one run
NAMESPACE = "namespace"  # the type a conflict names for a namespace
SERIES = "series"  # the type a conflict names for a clear (it fits any series type)
SERIES_TYPES = frozenset({"floatSeries", "stringSeries", "fileSeries"})
FIELD_LIMIT = "field-limit"
REFUSED_FIELD = "sys/sync/refused"
RESOLVER_PREFIX = "syncd"  # writer ids of the sync daemon's own writer (conflict resolutions)
SYNC_NAMESPACE = "sys/sync/"  # fields the sync daemon keeps on a run

Conflict = tuple[str, str, str]  # (path, existing type, attempted type)
Key = tuple[float, str, int]  # (order time, writer id, seq)
NO_TIME = float("-inf")  # the order time before a writer's first record


# ---------------------------------------------------------------- types and paths


def parents(path: str) -> list[str]:
    """The namespaces holding ``path``, outermost first: ``a/b/c`` -> ``["a", "a/b"]``."""
    found = []
    cut = path.find("/")
    while cut >= 0:
        found.append(path[:cut])
        cut = path.find("/", cut + 1)
    return found


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
    cut = path.rfind("/")
    while cut >= 0:  # the parents, innermost first
        parent = path[:cut]
        if has_fields_under(parent):
            return None  # a namespace, so are the ones holding it: none of them is a field
        parent_type = type_at(parent)
        if parent_type is not None:
            return (parent, parent_type, NAMESPACE)
        cut = path.rfind("/", 0, cut)
    return None


def clear_conflict(path: str, existing: str | None) -> Conflict | None:
    """Why a clear of ``path`` (holding a field of type ``existing``, or None) cannot be applied."""
    if existing is None or existing in SERIES_TYPES:
        return None
    return (path, existing, SERIES)


# ---------------------------------------------------------------- field limit


def counted(path: str) -> bool:
    """Whether a field at ``path`` counts toward the field limit."""
    return not path.startswith(SYNC_NAMESPACE)


def over_field_limit(count: int, limit: int = MAX_FIELDS) -> bool:
    """Whether a run holding ``count`` counted fields may not create another."""
    return count >= limit


def field_limit_message(limit: int = MAX_FIELDS) -> str:
    return f"a run holds at most {limit} fields; delete some first"


# ---------------------------------------------------------------- steps

step_follows = operator.lt  # step_follows(last, step): a point at ``step`` may follow one at ``last``


def step_kept(step: float, last: float | None) -> bool:
    """Whether a point at ``step`` is kept after the last kept point's step ``last`` (None or
    -inf: no point since the series' last clear or delete)."""
    return last is None or step_follows(last, step)


def all_kept(steps: list[float], last: float | None) -> bool:
    """Whether every point of ``steps`` is kept after ``last``: the usual case, checked without a
    Python call per point."""
    return not steps or (step_kept(steps[0], last) and all(map(step_follows, steps, steps[1:])))


# ---------------------------------------------------------------- merge order


def start(floor: float | None) -> float:
    """The order time before a writer's first record: its floor, if it has one."""
    return NO_TIME if floor is None else floor


def resume_time(t: float, floor: float | None) -> float:
    """A writer's order time before its next record: ``t`` so far, raised to its floor."""
    return max(t, start(floor))


def floor_above(t: float) -> float | None:
    """The floor of a writer that follows records up to order time ``t``: the next float above it."""
    return None if t == NO_TIME else math.nextafter(t, math.inf)


def later(t: float, ts: float) -> float:
    """The order time of a record stamped ``ts`` that follows a record of order time ``t``.

    A NaN timestamp never advances it (``ts > t`` is false), so keys stay totally ordered.
    """
    return ts if ts > t else t


def point_times(t: float, stamps: list[float]) -> list[float]:
    """Order times of consecutive records stamped ``stamps`` following order time ``t``.

    Timestamps that do not step back (the usual case) are their own order times: then ``stamps``
    itself is returned, which a caller may test with ``is`` (a NaN fails both comparisons).
    """
    if stamps and stamps[0] >= t and all(map(operator.le, stamps, stamps[1:])):
        return stamps
    return list(itertools.accumulate(stamps, later, initial=t))[1:]


# ---------------------------------------------------------------- refused records


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
