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
import dataclasses
from typing import Any

import msgspec

from neptune_sync.wire.protocol import (
    BatchRequest,
    BatchResponse,
    FieldInfo,
    FieldValue,
    RunRecord,
    SeriesPage,
    TableRow,
)

from ..plan import FieldState, Need, decode_key, decode_value, stored_row
from ..query import Dialect, Selection, TableQuery, columns_sql
from ..series import Row, SeriesWork
from . import access
from . import projects as project_sql
from .access import TOKEN_ID_CHARS, TokenRow
from .aggregate import SeriesBuckets, chunk_bucket_rows, group_sql, group_values, read_buckets
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
    async def dump(self) -> bytes:
        """A canonical serialisation of all run data (not tokens), for equality checks in tests."""

    # --- reads for the web app: shared SQL over ``fetch_named`` ---

    bucket_sql: str  # the backend's bucket-number expression (see .aggregate)
    chunk_summaries = ""  # the clause after series_chunks that reads summaries without points (.aggregate)

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
        rows = await self.fetch_named(access.FILE_VALUES, {}) + await self.fetch_named(access.FILE_POINTS, {})
        return {sha for _, sha in access.referenced_blobs(rows)}

    async def project_summary(self, project: str) -> ProjectSummary:
        """Run count and last activity of a project (zero runs if it holds nothing)."""
        (counted,) = await self.fetch_named(project_sql.RUN_COUNT, {"p": project})
        ((last_point,),) = await self.fetch_named(project_sql.LAST_POINT, {"p": project})
        return project_sql.summary(project, counted, last_point)

    async def project_fields(self, project: str) -> list[ProjectField]:
        """Every (path, type) among the project's runs, with how many runs have it."""
        return project_sql.fields(await self.fetch_named(project_sql.FIELDS, {"p": project}))

    # --- tables (runs, models, ...) and the trash: shared SQL over ``fetch_named`` / ``write_named`` ---

    dialect: Dialect  # what differs in the backend's SQL (see ..query)
    lock_run_sql: str | None = None  # a statement taking the per-run ingestion lock, ``:run`` its id

    @abc.abstractmethod
    async def write_named(self, statements: list[tuple[str, dict[str, Any]]]) -> None:
        """Run write statements (``:name`` parameters) in one transaction."""

    async def table_page(self, query: TableQuery) -> tuple[list[TableRow], int]:
        """One page of a table (filter, sort and page in SQL), and how many rows match in all."""
        sort_text = False
        if query.sort_by:
            probe = Selection(query, self.dialect)
            sort_text = bool(await self.fetch_named(probe.sort_text_sql(), probe.params))
        selection = Selection(query, self.dialect, sort_text=sort_text)
        rows = await self.fetch_named(selection.page_sql(), selection.params)
        total = rows[0][-1] if rows else 0
        if not rows and query.offset:
            selection = Selection(
                dataclasses.replace(query, limit=1, offset=0), self.dialect, sort_text=sort_text
            )
            first = await self.fetch_named(selection.page_sql(), selection.params)
            total = first[0][-1] if first else 0
        ids = [r[0] for r in rows]
        fields: dict[int, list[FieldValue]] = {}
        if ids:
            sql, values = columns_sql(ids, query.columns)
            for run, path, ftype, data, last_step in await self.fetch_named(sql, values):
                fields.setdefault(run, []).append(field_value(path, ftype, data, last_step))
        page = [
            TableRow(RunRecord(*r[1:7]), sorted(fields.get(r[0], []), key=lambda v: v.path)) for r in rows
        ]
        return page, total

    async def trash(self, project: str, idents: list[str], now: float) -> list[RunRecord]:
        """Move the runs (any kind) whose run_id or run_key is in ``idents`` to the trash; returns them."""
        found = await self._runs_named(project, idents)
        statements = [
            (
                "INSERT INTO trash(run, trashed) VALUES (:run, :t) ON CONFLICT (run) DO NOTHING",
                {"run": rid, "t": now},
            )
            for rid, _ in found
        ]
        if statements:
            await self.write_named(statements)
        return [record for _, record in found]

    async def restore(self, project: str, idents: list[str]) -> list[RunRecord]:
        """Take runs out of the trash; returns those found (trashed or not)."""
        found = await self._runs_named(project, idents)
        if found:
            await self.write_named([("DELETE FROM trash WHERE run = :run", {"run": rid}) for rid, _ in found])
        return [record for _, record in found]

    async def clear_trash(self, project: str, idents: list[str] | None = None) -> int:
        """Delete the project's trashed runs (those of ``idents`` only, if given) and everything
        they hold; returns how many."""
        sql = "SELECT t.run FROM trash t JOIN runs r ON r.id = t.run WHERE r.project = :p"
        ids = [r[0] for r in await self.fetch_named(sql, {"p": project})]
        if idents is not None:
            named = {rid for rid, _ in await self._runs_named(project, idents)}
            ids = [rid for rid in ids if rid in named]
        for i in range(0, len(ids), project_sql.KEYS_PER_QUERY):
            chunk = ids[i : i + project_sql.KEYS_PER_QUERY]
            await self.write_named(purge_statements(chunk, self.lock_run_sql))
        return len(ids)

    async def _runs_named(self, project: str, idents: list[str]) -> list[tuple[int, RunRecord]]:
        found: list[tuple[int, RunRecord]] = []
        for i in range(0, len(idents), project_sql.KEYS_PER_QUERY):
            keys, names = project_sql.keys_list(idents[i : i + project_sql.KEYS_PER_QUERY])
            sql = (
                "SELECT id, project, run_key, run_id, custom_run_id, kind, created FROM runs"
                f" WHERE project = :p AND (run_id IN ({keys}) OR run_key IN ({keys})) ORDER BY id"
            )
            found += [(r[0], RunRecord(*r[1:])) for r in await self.fetch_named(sql, {"p": project, **names})]
        return found

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
        snap: bool = False,
    ) -> SeriesBuckets | str | None:
        """Bucketed float series (see .aggregate); the field's type if it is another; None if absent."""
        found = await self.fetch_named(project_sql.FIELD_REF, {"p": project, "r": run_key, "path": path})
        if not found:
            return None
        fid, ftype = found[0]
        if ftype != "floatSeries":
            return ftype
        key = (run_key, path, fid)
        return await read_buckets(
            self.fetch_named,
            self.bucket_rows,
            key,
            x,
            start,
            stop,
            buckets,
            sample,
            snap,
            self.chunk_summaries,
        )

    async def bucket_rows(self, fid: int, x: str, lo: float, hi: float, n: int, snap: bool) -> list[Any]:
        """Non-empty buckets of a field over [lo, hi], snapped when ``snap`` (see .aggregate)."""
        if x == "step":
            return await chunk_bucket_rows(
                self.fetch_named, self.bucket_sql, self.chunk_summaries, fid, lo, hi, n, snap
            )
        return await self.fetch_named(group_sql(x, self.bucket_sql), group_values(fid, lo, hi, n))


def purge_statements(run_ids: list[int], lock_sql: str | None) -> list[tuple[str, dict[str, Any]]]:
    """Statements deleting runs and all they hold (their fields' points, ops, members, ...)."""
    names = {f"r{i}": rid for i, rid in enumerate(run_ids)}
    runs = ",".join(f":{n}" for n in names)
    fields = f"SELECT id FROM fields WHERE run IN ({runs})"
    locks = [(lock_sql, {"run": rid}) for rid in run_ids] if lock_sql else []
    by_field = [(f"DELETE FROM {t} WHERE field IN ({fields})", names) for t in FIELD_TABLES]
    by_run = [
        (f"DELETE FROM {t} WHERE run IN ({runs})", names) for t in ("fields", "resets", "writers", "trash")
    ]
    return [*locks, *by_field, *by_run, (f"DELETE FROM runs WHERE id IN ({runs})", names)]


FIELD_TABLES = (  # rows keyed by a field id
    "points",
    "series_chunks",
    "series_summaries",
    "dropped",
    "field_ops",
    "set_members",
)


def set_members(state: FieldState) -> list[str]:
    """The members of a string set field (kept in ``set_members`` for CONTAINS filters)."""
    return sorted(set(state.value or ()))


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
