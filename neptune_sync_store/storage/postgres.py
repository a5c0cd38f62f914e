"""PostgreSQL backend (asyncpg), for a team store shared by many nodes.

Tables live in one schema (``public`` unless given), so tests use a throwaway schema each.
Batches of one run are serialised with a transaction-scoped advisory lock on the run's id;
points go in with COPY, which is what makes ingestion fast.
"""

from __future__ import annotations

import collections
import math
import re
import time
from array import array
from typing import Any

import asyncpg

from neptune_sync import rules
from neptune_sync.wire.ops import FieldType, decode_op, encode_op
from neptune_sync.wire.protocol import (
    BatchRequest,
    BatchResponse,
    FieldInfo,
    FieldValue,
    RunRecord,
    SeriesPage,
)

from ..plan import (
    FULL,
    OPS,
    FieldState,
    Need,
    PathResets,
    Plan,
    Shape,
    decode_key,
    decode_value,
    encode_key,
    key_batch,
    new_paths,
    plan_batch,
    stored_row,
)
from ..query import POSTGRES
from ..series import SeriesWork
from . import access, chunks, schema, summaries, versions
from .aggregate import PG_BUCKET, numbered
from .base import (
    Storage,
    WindowScan,
    dump_runs,
    field_value,
    invert,
    lower_bound,
    point_column,
    series_page,
    set_members,
    state_from_row,
)

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS runs(
  id BIGSERIAL PRIMARY KEY, project TEXT NOT NULL, run_key TEXT NOT NULL, run_id TEXT NOT NULL,
  custom_run_id TEXT NOT NULL, kind TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, UNIQUE(project, run_key));
CREATE INDEX IF NOT EXISTS runs_by_run_id ON runs(project, run_id);
CREATE INDEX IF NOT EXISTS runs_by_custom_id ON runs(project, custom_run_id);
CREATE TABLE IF NOT EXISTS writers(
  run BIGINT NOT NULL, writer_id TEXT NOT NULL, applied_seq BIGINT NOT NULL, num INTEGER NOT NULL,
  order_time DOUBLE PRECISION NOT NULL, PRIMARY KEY(run, writer_id));
CREATE TABLE IF NOT EXISTS fields(
  id BIGSERIAL PRIMARY KEY, run BIGINT NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL,
  data BYTEA, num DOUBLE PRECISION, txt TEXT, last_step DOUBLE PRECISION, key BYTEA, UNIQUE(run, path));
CREATE TABLE IF NOT EXISTS points(
  field BIGINT NOT NULL, step DOUBLE PRECISION NOT NULL, ts DOUBLE PRECISION NOT NULL,
  num DOUBLE PRECISION, raw BYTEA, kts DOUBLE PRECISION, w INTEGER NOT NULL, seq BIGINT NOT NULL,
  PRIMARY KEY(field, step));
CREATE TABLE IF NOT EXISTS series_chunks(
  field BIGINT NOT NULL, first_step DOUBLE PRECISION NOT NULL, last_step DOUBLE PRECISION NOT NULL,
  n INTEGER NOT NULL, vmin DOUBLE PRECISION NOT NULL, vmax DOUBLE PRECISION NOT NULL,
  vlast DOUBLE PRECISION NOT NULL, last_ts DOUBLE PRECISION NOT NULL, data BYTEA NOT NULL,
  PRIMARY KEY(field, first_step));
CREATE TABLE IF NOT EXISTS series_summaries(
  field BIGINT NOT NULL, level INTEGER NOT NULL, first_step DOUBLE PRECISION NOT NULL,
  last_step DOUBLE PRECISION NOT NULL, n BIGINT NOT NULL, vmin DOUBLE PRECISION NOT NULL,
  vmax DOUBLE PRECISION NOT NULL, vlast DOUBLE PRECISION NOT NULL, last_ts DOUBLE PRECISION NOT NULL,
  parts INTEGER NOT NULL, PRIMARY KEY(field, level, first_step));
CREATE TABLE IF NOT EXISTS dropped(
  field BIGINT NOT NULL, w INTEGER NOT NULL, seq BIGINT NOT NULL, step DOUBLE PRECISION NOT NULL,
  ts DOUBLE PRECISION NOT NULL, num DOUBLE PRECISION, raw BYTEA, kts DOUBLE PRECISION,
  PRIMARY KEY(field, w, seq));
CREATE TABLE IF NOT EXISTS field_ops(
  field BIGINT NOT NULL, w INTEGER NOT NULL, seq BIGINT NOT NULL, kts DOUBLE PRECISION NOT NULL,
  op BYTEA NOT NULL, PRIMARY KEY(field, w, seq));
CREATE TABLE IF NOT EXISTS resets(
  run BIGINT NOT NULL, path TEXT NOT NULL, cleared BYTEA, deleted BYTEA, PRIMARY KEY(run, path));
CREATE TABLE IF NOT EXISTS tokens(
  hash TEXT PRIMARY KEY, project TEXT NOT NULL, scopes TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
  name TEXT NOT NULL DEFAULT '', expires DOUBLE PRECISION, last_used DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS blob_owners(
  project TEXT NOT NULL, sha256 TEXT NOT NULL, touched DOUBLE PRECISION NOT NULL,
  PRIMARY KEY(project, sha256));
CREATE INDEX IF NOT EXISTS blob_owners_by_sha ON blob_owners(sha256);
CREATE INDEX IF NOT EXISTS fields_by_path ON fields(path, run) INCLUDE (type, num);
CREATE INDEX IF NOT EXISTS fields_active ON fields(run)
  WHERE path = 'sys/state' AND type = 'string' AND lower(txt) IN ('active', 'running');
CREATE TABLE IF NOT EXISTS set_members(
  field BIGINT NOT NULL, member TEXT NOT NULL, PRIMARY KEY(field, member));
CREATE TABLE IF NOT EXISTS trash(run BIGINT PRIMARY KEY, trashed DOUBLE PRECISION NOT NULL);
"""
    + versions.SCHEMA
    + ";\n"
)

_RUN_COLUMNS = "project, run_key, run_id, custom_run_id, kind, created"
_FIELD_OF_RUN = (
    "SELECT {cols} FROM fields f JOIN runs r ON f.run = r.id WHERE r.project = $1 AND r.run_key = $2"
)
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresStorage(Storage):
    """Storage in a PostgreSQL database given by a ``postgresql://`` DSN."""

    def __init__(self, dsn: str, *, schema: str = "public", pool_size: int = 4) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema name {schema!r} must match {_SCHEMA_NAME.pattern}")
        self.dsn = dsn
        self.schema = schema
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._under_sql = _UNDER_SQL.format(c=' COLLATE "C"')  # set by open() for the database

    async def open(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:  # store processes starting together: one creates the schema, the others wait for it
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('neptune_sync_store schema'))")
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                await conn.execute(f"SET LOCAL search_path TO {self.schema}")
                await _migrate(conn)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self._pool_size, server_settings={"search_path": self.schema}
        )
        async with self._pool.acquire() as conn:
            self._under_sql = await _under_sql(conn)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "storage is not open"
        return self._pool

    async def drop_schema(self) -> None:
        """Remove this storage's schema and everything in it (tests use a throwaway schema)."""
        await self.pool.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    # --- ingestion ---

    async def apply_batch(self, req: BatchRequest) -> BatchResponse:
        async with self.pool.acquire() as conn, conn.transaction():
            run, run_id = await _run_id(conn, req)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", run)
            writers = {r[0]: tuple(r)[1:] for r in await conn.fetch(_WRITERS_SQL, run)}
            num, applied, order_time = writers.get(req.writer_id) or (len(writers) + 1, 0, rules.NO_TIME)
            batch = key_batch(req.entries, applied, req.writer_id, rules.resume_time(order_time, req.after), num)
            names = {w[0]: writer for writer, w in writers.items()}
            names[num] = req.writer_id
            paths = batch.paths()
            rows = await conn.fetch(
                "SELECT id, path, type, data, last_step, key FROM fields WHERE run=$1 AND path = ANY($2)",
                run,
                paths,
            )
            states = dict(state_from_row(tuple(r)) for r in rows)
            for path, need in batch.needs(states).items():
                await _load_need(conn, states[path], need, names)
            resets = await conn.fetch(
                "SELECT path, cleared, deleted FROM resets WHERE run=$1 AND path = ANY($2)", run, paths
            )
            plan = plan_batch(
                batch,
                fields=states,
                resets={p: PathResets(decode_key(c), decode_key(d)) for p, c, d in resets},
                nums=invert(names),
                shape=await _load_shape(conn, run, new_paths(paths, states), self._under_sql),
            )
            await _write_plan(conn, run, plan)
            await conn.execute(
                "INSERT INTO writers(run, writer_id, applied_seq, num, order_time) VALUES ($1,$2,$3,$4,$5) "
                "ON CONFLICT(run, writer_id) DO UPDATE SET applied_seq=excluded.applied_seq, "
                "order_time=excluded.order_time",
                run,
                req.writer_id,
                plan.applied_seq,
                num,
                batch.order_time,
            )
            if batch.first_time is not None:
                await conn.execute(
                    "UPDATE runs SET created=LEAST(created, $1) WHERE id=$2", batch.first_time, run
                )
        return BatchResponse(plan.applied_seq, plan.conflicts, plan.rejected, run_id)

    async def acked_seq(self, project: str, run_key: str, writer_id: str) -> int:
        value = await self.pool.fetchval(
            "SELECT w.applied_seq FROM writers w JOIN runs r ON w.run = r.id "
            "WHERE r.project=$1 AND r.run_key=$2 AND w.writer_id=$3",
            project,
            run_key,
            writer_id,
        )
        return value or 0

    # --- reads ---

    async def find_run(self, project: str, ident: str) -> RunRecord | None:
        for column in ("run_key", "run_id", "custom_run_id"):
            sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE project=$1 AND {column}=$2 ORDER BY id LIMIT 1"
            row = await self.pool.fetchrow(sql, project, ident)
            if row:
                return RunRecord(*row)
        return None

    async def field_infos(self, project: str, run_key: str) -> list[FieldInfo]:
        rows = await self.pool.fetch(
            _FIELD_OF_RUN.format(cols="f.path, f.type") + ' ORDER BY f.path COLLATE "C"', project, run_key
        )
        return [FieldInfo(*r) for r in rows]

    async def field_values(self, project: str, run_key: str, paths: list[str]) -> list[FieldValue]:
        sql = _FIELD_OF_RUN.format(cols="f.path, f.type, f.data, f.last_step")
        if paths:
            rows = await self.pool.fetch(
                sql + ' AND f.path = ANY($3) ORDER BY f.path COLLATE "C"', project, run_key, paths
            )
        else:
            rows = await self.pool.fetch(sql + ' ORDER BY f.path COLLATE "C"', project, run_key)
        return [field_value(*r) for r in rows]

    async def series(
        self, project: str, run_key: str, path: str, *, start: float, stop: float, after: float, limit: int
    ) -> SeriesPage | None:
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            found = await conn.fetchrow(
                _FIELD_OF_RUN.format(cols="f.id, f.type") + " AND f.path = $3", project, run_key, path
            )
            if found is None:
                return None
            op, low = lower_bound(start, after)
            rows = await conn.fetch(
                f"SELECT step, {point_column(found[1])}, ts FROM points "
                f"WHERE field=$1 AND step{op}$2 AND step<=$3 ORDER BY step LIMIT $4",
                found[0],
                low,
                stop,
                limit,
            )
        return series_page(path, found[1], [tuple(r) for r in rows], limit)

    # --- tokens and dump ---

    async def dump(self) -> bytes:
        queries = (
            f'SELECT id, {_RUN_COLUMNS} FROM runs ORDER BY project COLLATE "C", run_key COLLATE "C"',
            "SELECT run, writer_id, applied_seq FROM writers",
            'SELECT id, run, path, type, data, num, txt, last_step FROM fields ORDER BY path COLLATE "C"',
            "SELECT field, step, ts, num, raw FROM points ORDER BY field, step",
        )
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            results = [[tuple(r) for r in await conn.fetch(q)] for q in queries]
        return dump_runs(*results)

    # --- reads for the web app ---

    bucket_sql = PG_BUCKET
    dialect = POSTGRES
    lock_run_sql = "SELECT pg_advisory_xact_lock(:run)"  # as apply_batch takes it

    async def fetch_named(self, sql: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        query, args = numbered(sql, values)
        return [tuple(r) for r in await self.pool.fetch(query, *args)]

    async def execute_named(self, sql: str, values: dict[str, Any]) -> int:
        query, args = numbered(sql, values)
        status = await self.pool.execute(query, *args)  # e.g. "DELETE 2"
        return int(status.rsplit(" ", 1)[-1])

    async def write_named(self, statements: list[tuple[str, dict[str, Any]]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            for sql, values in statements:
                await conn.execute(*_numbered_args(sql, values))


def _numbered_args(sql: str, values: dict[str, Any]) -> list[Any]:
    query, args = numbered(sql, values)
    return [query, *args]


async def _run_id(conn: asyncpg.Connection, req: BatchRequest) -> tuple[int, str]:
    """(row id, run_id) of the batch's run, created on first sight (a model version numbered)."""
    info = req.run
    sql = "SELECT id, run_id FROM runs WHERE project=$1 AND run_key=$2"
    found = await conn.fetchrow(sql, info.project, info.run_key)
    if found is not None:
        return found[0], found[1]
    created = req.entries[0].ts if req.entries else 0.0
    run = await conn.fetchval(
        f"INSERT INTO runs({_RUN_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (project, run_key) "
        "DO NOTHING RETURNING id",
        info.project,
        info.run_key,
        info.run_id,
        info.custom_run_id,
        info.kind,
        created,
    )
    if run is None:  # another batch of the run created it meanwhile
        found = await conn.fetchrow(sql, info.project, info.run_key)
        return found[0], found[1]
    if info.kind != "model_version":
        return run, info.run_id
    sql, args = numbered(versions.NEXT_NUMBER, {"p": info.project, "m": info.model_id})
    run_id = versions.version_id(info.model_id, await conn.fetchval(sql, *args))
    for sql, args in (
        numbered(versions.SET_RUN_ID, {"i": run_id, "r": run}),
        numbered(versions.ID_FIELD, versions.id_field_values(run, run_id)),
    ):
        await conn.execute(sql, *args)
    return run, run_id


async def _migrate(conn: asyncpg.Connection) -> None:
    """Create the schema, or bring an older database up to it (:mod:`.schema`), in the caller's
    transaction (which holds the lock that keeps store processes opening one database in turn)."""
    has_tables = await conn.fetchval("SELECT to_regclass('runs') IS NOT NULL")
    await conn.execute(schema.VERSION_TABLE)
    found = await conn.fetchval("SELECT version FROM schema_version")
    steps = schema.plan(found, has_tables)
    for n in steps:
        if schema.STEPS[n][1]:
            await conn.execute(schema.STEPS[n][1])
    await conn.execute(SCHEMA)
    for n in steps:
        for fill in FILLS.get(n, ()):
            await fill(conn)
    if found != schema.VERSION:
        await conn.execute("DELETE FROM schema_version")
        await conn.execute(f"INSERT INTO schema_version VALUES ({schema.VERSION})")


async def _fill_set_members(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch("SELECT id, data FROM fields WHERE type = $1", FieldType.STRING_SET)
    await conn.execute("DELETE FROM set_members")
    await conn.executemany(
        "INSERT INTO set_members(field, member) VALUES ($1,$2)",
        [(r[0], m) for r in rows for m in sorted(set(decode_value(r[1]) or ()))],
    )


async def _fill_blob_owners(conn: asyncpg.Connection) -> None:
    rows = [tuple(r) for sql in (access.FILE_VALUES, access.FILE_POINTS) for r in await conn.fetch(sql)]
    await conn.executemany(
        "INSERT INTO blob_owners(project, sha256, touched) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
        [(project, sha, time.time()) for project, sha in sorted(access.referenced_blobs(rows))],
    )


async def _fill_series_chunks(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM series_chunks")
    for fid in [
        r[0] for r in await conn.fetch("SELECT id FROM fields WHERE type = $1", FieldType.FLOAT_SERIES)
    ]:
        rows = await conn.fetch("SELECT step, num, ts FROM points WHERE field=$1 ORDER BY step", fid)
        steps, values, stamps = (array("d", (r[i] for r in rows)) for i in range(3))
        await conn.executemany(
            f"INSERT INTO series_chunks({chunks.COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            [(fid, *row) for row in chunks.chunk_rows(steps, values, stamps)],
        )


async def _fill_series_summaries(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM series_summaries")
    children = _numbered(summaries.children_sql(1, ""))
    for fid in [
        r[0] for r in await conn.fetch("SELECT id FROM fields WHERE type = $1", FieldType.FLOAT_SERIES)
    ]:
        found = [tuple(r) for r in await conn.fetch(children, fid, -math.inf, math.inf)]
        await conn.executemany(
            f"INSERT INTO series_summaries({summaries.COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            summaries.levels_of(fid, found),
        )


def _numbered(sql: str) -> str:
    """``sql`` with its ``:name`` parameters numbered in order of first appearance."""
    return numbered(sql, collections.defaultdict(int))[0]


# schema version -> what fills its new tables from what the database holds (see .schema)
FILLS = {
    2: (_fill_set_members, _fill_series_chunks, _fill_blob_owners),
    3: (_fill_series_summaries,),
}


_WRITERS_SQL = "SELECT writer_id, num, applied_seq, order_time FROM writers WHERE run=$1"
_PAGE = 512  # rows per fetch while scanning a late series' window


# the fields under each path: a range of the (run, path) index, p/ < path < p0 ('0' is the
# character after '/'), exact only in byte order: under another collation the comparison is made
# in "C" (then a scan of the run's fields, not of the range)
_UNDER_SQL = (
    "SELECT p, (SELECT count(*) FROM fields WHERE run=$1 AND path{c} > p || '/' AND path{c} < p || '0') "
    "FROM unnest($2::text[]) AS p"
)
_ORDER_PROBE = ["a", "A", "a/b", "a0", "a-b", "a b", "ab", "aB", "a.b", "a_b", "~", "é", "z", "a/"]


async def _under_sql(conn: asyncpg.Connection) -> str:
    """The query of fields under paths, for this database's collation (byte order or not)."""
    rows = await conn.fetch("SELECT s FROM unnest($1::text[]) AS s ORDER BY s", _ORDER_PROBE)
    bytewise = [r[0] for r in rows] == sorted(_ORDER_PROBE, key=str.encode)
    return _UNDER_SQL.format(c="" if bytewise else ' COLLATE "C"')


async def _load_shape(conn: asyncpg.Connection, run: int, paths: list[str], under_sql: str) -> Shape | None:
    """The run's fields around ``paths`` (plan.Shape): fields under each, fields at their
    parents, and the run's fields that count toward the limit."""
    if not paths:
        return None
    under = {p: n for p, n in await conn.fetch(under_sql, run, paths) if n}
    parents = sorted({q for p in paths for q in rules.parents(p)})
    rows = await conn.fetch("SELECT path, type FROM fields WHERE run=$1 AND path = ANY($2)", run, parents)
    sql = "SELECT count(*) FROM fields WHERE run=$1 AND left(path, length($2)) <> $2"
    count = await conn.fetchval(sql, run, rules.SYNC_NAMESPACE)
    return Shape(under, {p: t for p, t in rows}, count)


async def _load_need(conn: asyncpg.Connection, state: FieldState, need: Need, names: dict[int, str]) -> None:
    """Load what a late field needs (plan.KeyedBatch.needs) into its state."""
    if need.kind == OPS:
        rows = await conn.fetch("SELECT kts, w, seq, op FROM field_ops WHERE field=$1", state.id)
        state.ops = [((t, names[w], seq), decode_op(op)) for t, w, seq, op in rows]
        return
    select = f"SELECT step, ts, {point_column(state.type)}, kts, w, seq FROM {{table}} WHERE field=$1"
    if need.kind == FULL:
        kept = await conn.fetch(select.format(table="points"), state.id)
        dropped = await conn.fetch(select.format(table="dropped"), state.id)
        state.series = SeriesWork(
            [stored_row(*r[:4], names[r[4]], r[5]) for r in kept],
            full=True,
            stored_dropped=[stored_row(*r[:4], names[r[4]], r[5]) for r in dropped],
        )
        return
    base = select.format(table="points")
    scan = WindowScan(need, names)
    await _scan(
        conn, base + " AND step{}$2 ORDER BY step LIMIT $3", (">", ">"), state.id, need.hi, scan.above
    )
    if scan.floor is None:
        await _scan(
            conn,
            base + " AND step{}$2 ORDER BY step DESC LIMIT $3",
            ("<=", "<"),
            state.id,
            need.hi,
            scan.below,
        )
    state.series = scan.work()


async def _scan(
    conn: asyncpg.Connection, sql: str, cmp: tuple[str, str], fid: int, bound: float, feed: Any
) -> None:
    """Feed a window scan page by page until it needs no more rows: the first page from ``bound``
    (``cmp[0]``), each next one past the last step fed (``cmp[1]``)."""
    op = cmp[0]
    while True:
        rows = [tuple(r) for r in await conn.fetch(sql.format(op), fid, bound, _PAGE)]
        if feed(rows) or len(rows) < _PAGE:
            return
        op, bound = cmp[1], rows[-1][0]


async def _write_plan(conn: asyncpg.Connection, run: int, plan: Plan) -> None:
    gone = plan.deleted_ids + plan.cleared_ids
    if gone:
        await conn.execute("DELETE FROM points WHERE field = ANY($1)", gone)
        await conn.execute("DELETE FROM series_chunks WHERE field = ANY($1)", gone)
        await conn.execute("DELETE FROM series_summaries WHERE field = ANY($1)", gone)
        await conn.execute("DELETE FROM dropped WHERE field = ANY($1)", gone)
    if plan.deleted_ids:
        await conn.execute("DELETE FROM field_ops WHERE field = ANY($1)", plan.deleted_ids)
        await conn.execute("DELETE FROM set_members WHERE field = ANY($1)", plan.deleted_ids)
        await conn.execute("DELETE FROM fields WHERE id = ANY($1)", plan.deleted_ids)
    updates = []
    points: dict[str, list[tuple[Any, ...]]] = {"num": [], "raw": []}
    for path, state in plan.dirty():
        columns = state.columns()
        if state.id is None:
            state.id = await conn.fetchval(
                "INSERT INTO fields(run, path, type, data, num, txt, last_step, key) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
                run,
                path,
                state.type,
                *columns,
            )
        else:
            updates.append((*columns, state.id))
        await _write_content(conn, state, plan.nums)
        if state.type == FieldType.STRING_SET:
            await conn.execute("DELETE FROM set_members WHERE field=$1", state.id)
            await conn.executemany(
                "INSERT INTO set_members(field, member) VALUES ($1,$2)",
                [(state.id, m) for m in set_members(state)],
            )
        fid, me = state.id, plan.nums[plan.writer_id]
        records = points[point_column(state.type)]
        records.extend((fid, *row) for row in state.points)
        records.extend((fid, step, ts, value, None, me, seq) for step, ts, value, seq in state.plain)
    await _write_chunks(conn, plan)
    if updates:
        await conn.executemany(
            "UPDATE fields SET data=$1, num=$2, txt=$3, last_step=$4, key=$5 WHERE id=$6", updates
        )
    for column, records in points.items():
        if records:  # one COPY per batch and column: the fast path of ingestion
            await conn.copy_records_to_table(
                "points", records=records, columns=["field", "step", "ts", column, "kts", "w", "seq"]
            )
    resets = [
        (run, p, encode_key(r.cleared), encode_key(r.deleted)) for p, r in plan.resets.items() if r.dirty
    ]
    if resets:
        await conn.executemany(
            "INSERT INTO resets(run, path, cleared, deleted) VALUES ($1,$2,$3,$4) ON CONFLICT(run, path) "
            "DO UPDATE SET cleared=excluded.cleared, deleted=excluded.deleted",
            resets,
        )


async def _write_content(conn: asyncpg.Connection, state: FieldState, nums: dict[str, int]) -> None:
    """Everything of a field but its new kept points (they go in with one COPY per batch)."""
    fid = state.id
    if state.rewrite:
        for table in ("points", "series_chunks", "series_summaries", "dropped", "field_ops"):
            await conn.execute(f"DELETE FROM {table} WHERE field=$1", fid)
    if state.removed_steps:
        await conn.execute("DELETE FROM points WHERE field=$1 AND step = ANY($2)", fid, state.removed_steps)
    if state.dropped:
        column = point_column(state.type)
        await conn.executemany(
            f"INSERT INTO dropped(field, step, ts, {column}, kts, w, seq) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            [(fid, *row) for row in state.dropped],
        )
    set_ops = state.ops if state.rewrite and state.ops is not None else state.new_ops
    if set_ops:
        await conn.executemany(
            "INSERT INTO field_ops(field, kts, w, seq, op) VALUES ($1,$2,$3,$4,$5)",
            [(fid, t, nums[w], seq, encode_op(op)) for (t, w, seq), op in set_ops],
        )


async def _write_chunks(conn: asyncpg.Connection, plan: Plan) -> None:
    """Replace the chunks around what the batch changed in its float series (see .chunks): one
    statement reads the replaced chunks of every field, one deletes and upserts."""
    changes = [c for _, state in plan.dirty() if (c := chunks.change_of(state)) is not None]
    if not changes:
        return
    replaced: dict[int, list[tuple[float, bytes]]] = {}
    for fid, first, data in await conn.fetch(
        _REPLACED,
        [c.fid for c in changes],
        [c.lo for c in changes],
        [c.hi for c in changes],
        chunks.CHUNK_POINTS,
    ):
        replaced.setdefault(fid, []).append((first, data))
    gone, rows, spans = chunks.rewrite(changes, replaced)
    await conn.execute(_REWRITE, *_columns(gone, 2), *_columns(rows, 9))
    await _write_summaries(conn, spans)


async def _write_summaries(conn: asyncpg.Connection, spans: dict[int, tuple[float, float]]) -> None:
    """Regroup the summary levels above the chunks' changed ``spans`` of first steps, level by
    level (see .summaries): one statement reads every field's top level, then per level one reads
    the replaced nodes of every field and their children, one deletes and upserts."""
    if not spans:
        return
    tops = {f: summaries.Top(level, count >= 2) for f, level, count in await conn.fetch(_TOPS, list(spans))}
    upkeep = summaries.Upkeep(spans, tops)
    for level in range(1, summaries.LEVELS + 1):
        todo = upkeep.spans(level)
        if not todo:
            return
        fids = list(todo)
        old: dict[int, list[tuple[float, float]]] = {f: [] for f in fids}
        found: dict[int, list[Any]] = {f: [] for f in fids}
        lows, highs = [todo[f][0] for f in fids], [todo[f][1] for f in fids]
        for child, fid, *row in await conn.fetch(
            _NODES_AT[level == 1], fids, lows, highs, level, summaries.FANOUT
        ):
            if child:
                found[fid].append(tuple(row))
            else:
                old[fid].append((row[0], row[1]))
        gone: list[Any] = []
        rows: list[Any] = []
        for fid in fids:
            g, r, span = summaries.regroup(fid, level, old[fid], found[fid])
            upkeep.done(level, fid, old[fid], r, span)
            gone += g
            rows += r
        await conn.execute(_NODES_REWRITE, *_columns(gone, 3), *_columns(rows, 10))


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as ``width`` column lists (the arrays an ``unnest`` takes)."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


_REPLACED = (
    "SELECT u.f, c.first_step, c.data FROM unnest($1::bigint[], $2::float8[], $3::float8[]) AS u(f, lo, hi)"
    " CROSS JOIN LATERAL ("
    + re.sub(r":(f|lo|hi)\b", r"u.\1", chunks.REPLACED).replace(":full", "$4")
    + ") c ORDER BY u.f, c.first_step"
)
# per field in $1 at level $2: the nodes its span [$3, $4] replaces ($5 is FANOUT); the children
# in its window [$2, $3] (of level $4)
# per field of $1 at level $4: the nodes (child false) that the changed span [$2, $3] of the level
# below replaces ($5 is FANOUT), and the children (child true) they regroup (as summaries.nodes_sql)
_NODES = (
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::float8[], $3::float8[]) AS u(f, lo, hi)),"
    " r AS (SELECT u.f, c.first_step, c.last_step FROM u CROSS JOIN LATERAL ("
    + re.sub(r":(f|lo|hi)\b", r"u.\1", summaries.REPLACED).replace(":full", "$5").replace(":l", "$4::int")
    + ") c),"
    " w AS (SELECT u.f, LEAST(u.lo, MIN(r.first_step)) AS a, GREATEST(u.hi, MAX(r.last_step)) AS b"
    " FROM u LEFT JOIN r ON r.f = u.f GROUP BY u.f, u.lo, u.hi)"
    " SELECT false AS child, r.f, r.first_step, r.last_step, 0::bigint, 0::float8, 0::float8, 0::float8,"
    " 0::float8 FROM r"
    " UNION ALL SELECT true, w.f, c.* FROM w CROSS JOIN LATERAL ({}) c"
    " ORDER BY 1, 2, 3"
)
_TOPS = (
    "SELECT u.f, t.* FROM unnest($1::bigint[]) AS u(f) CROSS JOIN LATERAL ("
    + summaries.TOP.replace(":f", "u.f")
    + ") t"
)
# indexed by "level 1": the children are nodes, or chunks
_NODES_AT = tuple(
    _NODES.format(re.sub(r":(f|a|b)\b", r"w.\1", summaries.children_sql(level, "")).replace(":l", "$4::int"))
    for level in (2, 1)
)
_NODES_REWRITE = (
    "WITH gone AS (DELETE FROM series_summaries c"
    " USING unnest($1::bigint[], $2::int[], $3::float8[]) AS g(f, l, s)"
    " WHERE c.field=g.f AND c.level=g.l AND c.first_step=g.s)"
    f" INSERT INTO series_summaries({summaries.COLUMNS}) SELECT * FROM unnest($4::bigint[], $5::int[],"
    " $6::float8[], $7::float8[], $8::bigint[], $9::float8[], $10::float8[], $11::float8[], $12::float8[],"
    " $13::int[])"
    f" ON CONFLICT(field, level, first_step) DO UPDATE SET {summaries.UPDATE}"
)
_REWRITE = (
    "WITH gone AS (DELETE FROM series_chunks c USING unnest($1::bigint[], $2::float8[]) AS g(f, s)"
    " WHERE c.field=g.f AND c.first_step=g.s)"
    f" INSERT INTO series_chunks({chunks.COLUMNS}) SELECT * FROM unnest($3::bigint[], $4::float8[],"
    " $5::float8[], $6::int[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::bytea[])"
    f" ON CONFLICT(field, first_step) DO UPDATE SET {chunks.UPDATE}"
)
