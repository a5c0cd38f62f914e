"""The storage interface every backend implements, and the pieces all backends share.

Invariants every backend keeps (the contract suite in tests/store checks them on each backend):
- ``apply_batch`` is atomic: the run, writer position, fields and points change together or not at all.
- Batches of one run are applied one at a time (a lock per run), so concurrent writers never race
  on a field's type.
- Nothing depends on server time or on insertion order beyond seq order, so replaying the same
  entries in any batching leaves the same ``dump()``.
"""

from __future__ import annotations

import abc
from typing import Any

import msgspec

from neptune_sync.protocol import BatchRequest, BatchResponse, FieldInfo, FieldValue, RunRecord, SeriesPage

from ..plan import FieldState, Need, decode_key, decode_value, stored_row
from ..series import Row, SeriesWork
from . import access
from . import projects as project_sql
from .access import TOKEN_ID_CHARS, TokenRow
from .aggregate import SeriesBuckets, group_sql, group_values, read_buckets
from .projects import ProjectField, ProjectSummary

DEFAULT_PAGE = 10_000
MAX_PAGE = 1_000_000

_dump_encoder = msgspec.msgpack.Encoder()


class Storage(abc.ABC):
    """Where the store keeps runs, fields, series points and tokens."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if missing."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def apply_batch(self, req: BatchRequest) -> BatchResponse:
        """Apply a validated batch atomically (creating the run on first sight)."""

    @abc.abstractmethod
    async def acked_seq(self, project: str, run_key: str, writer_id: str) -> int:
        """The highest seq applied for this writer, 0 when nothing was."""

    @abc.abstractmethod
    async def find_run(self, project: str, ident: str) -> RunRecord | None:
        """A run of ``project`` whose run_key, run_id or custom_run_id is ``ident`` (in that order)."""

    @abc.abstractmethod
    async def field_infos(self, project: str, run_key: str) -> list[FieldInfo]:
        """Every field of a run, sorted by path."""

    @abc.abstractmethod
    async def field_values(self, project: str, run_key: str, paths: list[str]) -> list[FieldValue]:
        """Values of the given paths that exist (all fields when ``paths`` is empty), sorted by path."""

    @abc.abstractmethod
    async def series(
        self, project: str, run_key: str, path: str, *, start: float, stop: float, after: float, limit: int
    ) -> SeriesPage | None:
        """Points with ``start <= step <= stop`` and ``step > after``, at most ``limit``; None if no field."""

    @abc.abstractmethod
    async def runs_with_fields(
        self, project: str, paths: list[str]
    ) -> list[tuple[RunRecord, dict[str, Any]]]:
        """Every run of a project with the values of ``paths`` it has (all its fields if none given)."""

    @abc.abstractmethod
    async def dump(self) -> bytes:
        """A canonical serialisation of all run data (not tokens), for equality checks in tests."""

    # --- reads for the web app: shared SQL over ``fetch_named`` ---

    bucket_sql: str  # the backend's bucket-number expression (see .aggregate)

    @abc.abstractmethod
    async def fetch_named(self, sql: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a read-only query written with ``:name`` parameters."""

    @abc.abstractmethod
    async def execute_named(self, sql: str, values: dict[str, Any]) -> int:
        """Run one writing statement written with ``:name`` parameters; returns the rows it changed."""

    # --- access control: shared SQL over ``fetch_named`` / ``execute_named`` (see .access) ---

    async def add_token(
        self,
        token_hash: str,
        projects: str,
        scopes: str,
        created: float,
        *,
        name: str = "",
        expires: float | None = None,
    ) -> None:
        values = {"h": token_hash, "p": projects, "s": scopes, "c": created, "n": name, "e": expires}
        await self.execute_named(access.ADD_TOKEN, values)

    async def token(self, token_hash: str) -> tuple[str, str, float | None, float | None] | None:
        """(projects, scopes, expires, last_used) of a token hash, or None (unknown or revoked)."""
        rows = await self.fetch_named(access.TOKEN, {"h": token_hash})
        return tuple(rows[0]) if rows else None  # type: ignore[return-value]

    async def token_used(self, token_hash: str, when: float) -> None:
        await self.execute_named(access.USED, {"h": token_hash, "t": when})

    async def tokens(self) -> list[TokenRow]:
        rows = await self.fetch_named(access.TOKENS, {})
        return [TokenRow(h[:TOKEN_ID_CHARS], *rest) for h, *rest in rows]

    async def revoke_tokens(self, name_or_id: str) -> int:
        """Delete the tokens with this name or id (``TokenRow.id``); how many there were."""
        values = {"n": name_or_id, "k": TOKEN_ID_CHARS, "i": name_or_id}
        return await self.execute_named(access.REVOKE, values)

    async def tokens_named(self, name_or_id: str) -> int:
        values = {"n": name_or_id, "k": TOKEN_ID_CHARS, "i": name_or_id}
        return len(await self.fetch_named(access.MATCHING, values))

    async def own_blob(self, project: str, sha256: str, when: float) -> None:
        """Record (or refresh) that ``project`` holds the blob."""
        await self.execute_named(access.OWN_BLOB, {"p": project, "s": sha256, "t": when})

    async def owns_blob(self, project: str, sha256: str) -> bool:
        return bool(await self.fetch_named(access.OWNS_BLOB, {"p": project, "s": sha256}))

    async def blob_owners(self) -> list[tuple[str, str, float]]:
        """Every (sha256, project, touched)."""
        return [tuple(r) for r in await self.fetch_named(access.BLOB_OWNERS, {})]  # type: ignore[misc]

    async def disown_stale_blob(self, sha256: str, cutoff: float) -> bool:
        """Drop a blob's owners unless one was touched at or after ``cutoff``; True if none remain."""
        await self.execute_named(access.DISOWN_STALE, {"s": sha256, "cutoff": cutoff})
        ((count,),) = await self.fetch_named(access.OWNER_COUNT, {"s": sha256})
        return count == 0

    async def projects(self) -> list[str]:
        """Every project holding a run."""
        return sorted(r[0] for r in await self.fetch_named(access.PROJECTS, {}))

    async def file_refs(self) -> set[str]:
        """sha256 of every file a run references (trashed runs included)."""
        shas: set[str] = set()
        for ftype, data in await self.fetch_named(access.FILE_VALUES, {}):
            value = decode_value(data)
            refs = [value] if ftype == "file" else list((value or {}).values())
            shas.update(r["sha256"] for r in refs if isinstance(r, dict) and "sha256" in r)
        for (raw,) in await self.fetch_named(access.FILE_POINTS, {}):
            ref = decode_value(raw)
            if isinstance(ref, dict) and "sha256" in ref:
                shas.add(ref["sha256"])
        return shas

    async def project_summary(self, project: str) -> ProjectSummary:
        """Run count and last activity of a project (zero runs if it holds nothing)."""
        (counted,) = await self.fetch_named(project_sql.RUN_COUNT, {"p": project})
        ((last_point,),) = await self.fetch_named(project_sql.LAST_POINT, {"p": project})
        return project_sql.summary(project, counted, last_point)

    async def project_fields(self, project: str) -> list[ProjectField]:
        """Every (path, type) among the project's runs, with how many runs have it."""
        return project_sql.fields(await self.fetch_named(project_sql.FIELDS, {"p": project}))

    async def fields_of_runs(
        self, project: str, run_keys: list[str], paths: list[str]
    ) -> dict[str, dict[str, FieldValue]]:
        """run_key -> path -> value for the given runs, only ``paths`` (every field if empty)."""
        wanted = set(paths)
        out: dict[str, dict[str, FieldValue]] = {}
        for i in range(0, len(run_keys), project_sql.KEYS_PER_QUERY):
            keys, names = project_sql.keys_list(run_keys[i : i + project_sql.KEYS_PER_QUERY])
            rows = await self.fetch_named(
                project_sql.FIELDS_OF_RUNS.format(keys=keys), {"p": project, **names}
            )
            for run_key, path, ftype, data, last_step in rows:
                if not wanted or path in wanted:
                    out.setdefault(run_key, {})[path] = field_value(path, ftype, data, last_step)
        return out

    async def series_buckets(
        self,
        project: str,
        run_key: str,
        path: str,
        *,
        x: str,
        start: float,
        stop: float,
        buckets: int,
        sample: bool = False,
    ) -> SeriesBuckets | str | None:
        """Bucketed float series (see .aggregate); the field's type if it is another; None if absent."""
        found = await self.fetch_named(project_sql.FIELD_REF, {"p": project, "r": run_key, "path": path})
        if not found:
            return None
        fid, ftype = found[0]
        if ftype != "floatSeries":
            return ftype
        key = (run_key, path, fid)
        return await read_buckets(self.fetch_named, self.bucket_rows, key, x, start, stop, buckets, sample)

    async def bucket_rows(self, fid: int, x: str, lo: float, hi: float, n: int) -> list[Any]:
        """Non-empty buckets of a field over [lo, hi] (see .aggregate), by one GROUP BY."""
        return await self.fetch_named(group_sql(x, self.bucket_sql), group_values(fid, lo, hi, n))


def field_value(path: str, ftype: str, data: bytes | None, last_step: float | None) -> FieldValue:
    return FieldValue(path, ftype, decode_value(data), last_step)


def state_from_row(row: Any) -> tuple[str, FieldState]:
    """(path, state) from a ``(id, path, type, data, last_step, key)`` row."""
    fid, path, ftype, data, last_step, key = row
    return path, FieldState(ftype, decode_value(data), last_step, fid, decode_key(key))


def invert(names: dict[int, str]) -> dict[str, int]:
    return {w: n for n, w in names.items()}


class WindowScan:
    """Collects a late series' window (plan.Need) from two scans of its kept points.

    Kept points rise in key with their step. :meth:`above` takes the points above the batch's
    largest step in ascending order: those keyed below the batch set the floor, those keyed within
    it join the window, the first keyed above it ends the scan. Only if none was keyed below does
    :meth:`below` take the points from that step down, in descending order, until the first keyed
    below the batch (the floor). Rows are ``(step, ts, value, kts, writer number, seq)``.
    """

    def __init__(self, need: Need, names: dict[int, str]) -> None:
        self.need = need
        self.names = names
        self.rows: list[Row] = []
        self.floor: float | None = None

    def _row(self, r: Any) -> Row:
        return stored_row(r[0], r[1], r[2], r[3], self.names[r[4]], r[5])

    def above(self, rows: Any) -> bool:
        """Feed ascending rows above the batch's steps; True once no further row matters."""
        for r in rows:
            row = self._row(r)
            if row[0] > self.need.kmax:
                return True
            if row[0] < self.need.kmin:
                self.floor = row[1]
            else:
                self.rows.append(row)
        return False

    def below(self, rows: Any) -> bool:
        """Feed descending rows from the batch's largest step down; True once the floor was met."""
        for r in rows:
            row = self._row(r)
            if row[0] < self.need.kmin:
                self.floor = row[1]
                return True
            self.rows.append(row)
        return False

    def work(self) -> SeriesWork:
        return SeriesWork(self.rows, self.floor)


def lower_bound(start: float, after: float) -> tuple[str, float]:
    """The one lower bound on step for a series read: ``(">", after)`` or ``(">=", start)``.

    Given two lower bounds on one column, SQLite range-scans the index from one and filters the
    other, so paging deep into a 10M-point series would scan from its start; one bound avoids that.
    """
    return (">", after) if after >= start else (">=", start)


def point_column(field_type: str) -> str:
    """Where a series' point values live: ``num`` for floats, msgpack ``raw`` for the others."""
    return "num" if field_type == "floatSeries" else "raw"


def series_page(path: str, ftype: str, rows: list[Any], limit: int) -> SeriesPage:
    """A page from ``(step, value, ts)`` rows selected with :func:`point_column` (msgpack for non-floats)."""
    if ftype == "floatSeries":
        points: list[Any] = rows  # already [step, value, ts] rows: encoded as they are
    else:
        points = [(r[0], decode_value(r[1]), r[2]) for r in rows]
    next_after = rows[-1][0] if len(rows) == limit and rows else None
    return SeriesPage(path, ftype, points, next_after)


def dump_runs(
    run_rows: list[Any], writer_rows: list[Any], field_rows: list[Any], point_rows: list[Any]
) -> bytes:
    """Assemble the canonical dump from ordered rows keyed by internal ids.

    run_rows: (id, project, run_key, run_id, custom_run_id, kind, created) ordered by (project, run_key);
    writer_rows: (run, writer_id, applied_seq); field_rows: (id, run, path, type, data, num, txt, last_step)
    ordered by path; point_rows: (field, step, ts, num, raw) ordered by (field, step).
    """
    points: dict[int, list[Any]] = {}
    for fid, *rest in point_rows:
        points.setdefault(fid, []).append(rest)
    fields: dict[int, list[Any]] = {}
    for fid, run, *rest in field_rows:
        fields.setdefault(run, []).append([*rest, points.get(fid, [])])
    writers: dict[int, list[Any]] = {}
    for run, *rest in writer_rows:
        writers.setdefault(run, []).append(rest)
    out = [[*rest, sorted(writers.get(rid, [])), fields.get(rid, [])] for rid, *rest in run_rows]
    return _dump_encoder.encode(out)
