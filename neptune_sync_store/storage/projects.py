"""Project-level reads for the web app: what a project holds, in SQL both backends run as written.

Queries use ``:name`` parameters (see :func:`.aggregate.numbered`).
"""

from __future__ import annotations

import msgspec


class ProjectSummary(msgspec.Struct, frozen=True):
    project: str
    runs: int  # runs of kind "run" (the project's own fields are not a run)
    last_activity: float | None  # POSIX seconds: the latest run creation or series point; None if empty


class ProjectField(msgspec.Struct, frozen=True):
    """A field path with one type, and how many runs of the project have it so."""

    path: str
    type: str
    runs: int


RUN_COUNT = "SELECT SUM(CASE WHEN kind='run' THEN 1 ELSE 0 END), MAX(created) FROM runs WHERE project=:p"
# the newest point of each series is its last step: one primary-key lookup per series field
LAST_POINT = (
    "SELECT MAX((SELECT p.ts FROM points p WHERE p.field=f.id ORDER BY p.step DESC LIMIT 1))"
    " FROM fields f JOIN runs r ON f.run=r.id WHERE r.project=:p AND f.last_step IS NOT NULL"
)
FIELDS = (
    "SELECT f.path, f.type, COUNT(*) FROM fields f JOIN runs r ON f.run=r.id"
    " WHERE r.project=:p AND r.kind='run' GROUP BY f.path, f.type"
)
# run keys as :k0, :k1, ... (see ``keys_list``)
FIELDS_OF_RUNS = (
    "SELECT r.run_key, f.path, f.type, f.data, f.last_step FROM fields f JOIN runs r ON f.run=r.id"
    " WHERE r.project=:p AND r.run_key IN ({keys})"
)
KEYS_PER_QUERY = 500
FIELD_REF = (
    "SELECT f.id, f.type FROM fields f JOIN runs r ON f.run=r.id"
    " WHERE r.project=:p AND r.run_key=:r AND f.path=:path"
)


def keys_list(keys: list[str]) -> tuple[str, dict[str, str]]:
    """An IN list of named parameters for ``keys``, and their values."""
    names = {f"k{i}": key for i, key in enumerate(keys)}
    return ",".join(f":{n}" for n in names), names


def summary(
    project: str, counted: tuple[int | None, float | None], last_point: float | None
) -> ProjectSummary:
    runs, created = counted
    known = [t for t in (created, last_point) if t is not None]
    return ProjectSummary(project, runs or 0, max(known) if known else None)


def fields(rows: list[tuple[str, str, int]]) -> list[ProjectField]:
    """Sorted by path then type, in code-point order on every backend."""
    return [ProjectField(*r) for r in sorted(rows)]
