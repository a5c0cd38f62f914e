"""SQLite backend: one database file in WAL mode, the embedded default.

All writes go through one thread with one connection (SQLite has one writer anyway), so batches
are serialised without further locking; reads use a small pool of threads, each with its own
connection, and see the last committed batch (WAL readers never block the writer).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import os
import re
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

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
from ..query import SQLITE
from ..series import SeriesWork
from . import access, chunks, schema, summaries, versions
from .aggregate import SQLITE_BUCKET
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

T = TypeVar("T")

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY, project TEXT NOT NULL, run_key TEXT NOT NULL, run_id TEXT NOT NULL,
  custom_run_id TEXT NOT NULL, kind TEXT NOT NULL, created REAL NOT NULL, UNIQUE(project, run_key));
CREATE INDEX IF NOT EXISTS runs_by_run_id ON runs(project, run_id);
CREATE INDEX IF NOT EXISTS runs_by_custom_id ON runs(project, custom_run_id);
CREATE TABLE IF NOT EXISTS writers(
  run INTEGER NOT NULL, writer_id TEXT NOT NULL, applied_seq INTEGER NOT NULL,
  num INTEGER NOT NULL, order_time REAL NOT NULL, PRIMARY KEY(run, writer_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fields(
  id INTEGER PRIMARY KEY, run INTEGER NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL,
  data BLOB, num REAL, txt TEXT, last_step REAL, key BLOB, UNIQUE(run, path));
CREATE TABLE IF NOT EXISTS points(
  field INTEGER NOT NULL, step REAL NOT NULL, ts REAL NOT NULL, num REAL, raw BLOB,
  kts REAL, w INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(field, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series_chunks(
  field INTEGER NOT NULL, first_step REAL NOT NULL, last_step REAL NOT NULL, n INTEGER NOT NULL,
  vmin REAL NOT NULL, vmax REAL NOT NULL, vlast REAL NOT NULL, last_ts REAL NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY(field, first_step)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS series_chunk_summaries
  ON series_chunks(field, first_step, last_step, n, vmin, vmax, vlast, last_ts);
CREATE TABLE IF NOT EXISTS series_summaries(
  field INTEGER NOT NULL, level INTEGER NOT NULL, first_step REAL NOT NULL, last_step REAL NOT NULL,
  n INTEGER NOT NULL, vmin REAL NOT NULL, vmax REAL NOT NULL, vlast REAL NOT NULL, last_ts REAL NOT NULL,
  parts INTEGER NOT NULL, PRIMARY KEY(field, level, first_step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dropped(
  field INTEGER NOT NULL, w INTEGER NOT NULL, seq INTEGER NOT NULL, step REAL NOT NULL,
  ts REAL NOT NULL, num REAL, raw BLOB, kts REAL, PRIMARY KEY(field, w, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS field_ops(
  field INTEGER NOT NULL, w INTEGER NOT NULL, seq INTEGER NOT NULL, kts REAL NOT NULL,
  op BLOB NOT NULL, PRIMARY KEY(field, w, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resets(
  run INTEGER NOT NULL, path TEXT NOT NULL, cleared BLOB, deleted BLOB,
  PRIMARY KEY(run, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens(
  hash TEXT PRIMARY KEY, project TEXT NOT NULL, scopes TEXT NOT NULL, created REAL NOT NULL,
  name TEXT NOT NULL DEFAULT '', expires REAL, last_used REAL);
CREATE TABLE IF NOT EXISTS blob_owners(
  project TEXT NOT NULL, sha256 TEXT NOT NULL, touched REAL NOT NULL,
  PRIMARY KEY(project, sha256)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_owners_by_sha ON blob_owners(sha256);
CREATE INDEX IF NOT EXISTS fields_by_path ON fields(path, run, type, num);
CREATE INDEX IF NOT EXISTS fields_active ON fields(run)
  WHERE path = 'sys/state' AND type = 'string' AND lower(txt) IN ('active', 'running');
CREATE TABLE IF NOT EXISTS set_members(
  field INTEGER NOT NULL, member TEXT NOT NULL, PRIMARY KEY(field, member)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trash(run INTEGER PRIMARY KEY, trashed REAL NOT NULL);
"""
    + versions.SCHEMA
    + ";\n"
)

_RUN_COLUMNS = "project, run_key, run_id, custom_run_id, kind, created"
_FIELD_OF_RUN = (
    "SELECT f.{cols} FROM fields f JOIN runs r ON f.run = r.id WHERE r.project = ? AND r.run_key = ?"
)
_CHUNK = 500  # paths per IN (...) list
SERIES_SQL = (
    "SELECT step, {column}, ts FROM points WHERE field=? AND step{op}? AND step<=? ORDER BY step LIMIT ?"
)


class SQLiteStorage(Storage):
    """Storage in one SQLite file (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # readable by its owner only (SQLite gives -wal / -shm the same mode)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-sqlite-write")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="store-sqlite-read")
        try:
            await self._write(_migrate)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        for pool in (self._writer, self._readers):
            if pool is not None:
                pool.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.create_function("regexp", 2, _regexp, deterministic=True)  # NQL MATCHES
            conn.execute(
                "PRAGMA synchronous=FULL"
            )  # an acked batch survives power loss: the daemon may then drop it
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute(
                "PRAGMA wal_autocheckpoint=16384"
            )  # fewer checkpoints (fsyncs) during bulk ingestion
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def _run(self, pool: ThreadPoolExecutor | None, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert pool is not None, "storage is not open"
        return await asyncio.get_running_loop().run_in_executor(pool, lambda: fn(self._conn()))

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(self._writer, fn)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(self._readers, fn)

    # --- ingestion ---

    async def apply_batch(self, req: BatchRequest) -> BatchResponse:
        return await self._write(partial(apply_batch, req=req))

    async def acked_seq(self, project: str, run_key: str, writer_id: str) -> int:
        sql = "SELECT w.applied_seq FROM writers w JOIN runs r ON w.run = r.id WHERE r.project=? AND r.run_key=? AND w.writer_id=?"
        row = await self._read(lambda c: c.execute(sql, (project, run_key, writer_id)).fetchone())
        return row[0] if row else 0

    # --- reads ---

    async def find_run(self, project: str, ident: str) -> RunRecord | None:
        def find(c: sqlite3.Connection) -> Any:
            for column in ("run_key", "run_id", "custom_run_id"):
                sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE project=? AND {column}=? ORDER BY id LIMIT 1"
                row = c.execute(sql, (project, ident)).fetchone()
                if row:
                    return row
            return None

        row = await self._read(find)
        return RunRecord(*row) if row else None

    async def field_infos(self, project: str, run_key: str) -> list[FieldInfo]:
        sql = _FIELD_OF_RUN.format(cols="path, f.type") + " ORDER BY f.path"
        rows = await self._read(lambda c: c.execute(sql, (project, run_key)).fetchall())
        return [FieldInfo(*r) for r in rows]

    async def field_values(self, project: str, run_key: str, paths: list[str]) -> list[FieldValue]:
        def read(c: sqlite3.Connection) -> list[Any]:
            base = _FIELD_OF_RUN.format(cols="path, f.type, f.data, f.last_step")
            if not paths:
                return c.execute(base, (project, run_key)).fetchall()
            rows = []
            for i in range(0, len(paths), _CHUNK):
                chunk = paths[i : i + _CHUNK]
                sql = f"{base} AND f.path IN ({','.join('?' * len(chunk))})"
                rows += c.execute(sql, (project, run_key, *chunk)).fetchall()
            return rows

        rows = await self._read(read)
        return sorted((field_value(*r) for r in rows), key=lambda v: v.path)

    async def series(
        self, project: str, run_key: str, path: str, *, start: float, stop: float, after: float, limit: int
    ) -> SeriesPage | None:
        def read(c: sqlite3.Connection) -> tuple[Any, list[Any]]:
            sql = _FIELD_OF_RUN.format(cols="id, f.type") + " AND f.path = ?"
            found = c.execute(sql, (project, run_key, path)).fetchone()
            if found is None:
                return None, []
            op, low = lower_bound(start, after)
            rows = c.execute(
                SERIES_SQL.format(column=point_column(found[1]), op=op),
                (found[0], low, stop, limit),
            ).fetchall()
            return found[1], rows

        ftype, rows = await self._read(read)
        return None if ftype is None else series_page(path, ftype, rows, limit)

    # --- tokens and dump ---

    async def dump(self) -> bytes:
        return await self._read(dump_database)

    # --- reads for the web app ---

    bucket_sql = SQLITE_BUCKET
    dialect = SQLITE
    # the covering index: the table's own rows carry the packed points (overflow pages)
    chunk_summaries = "INDEXED BY series_chunk_summaries"

    async def fetch_named(self, sql: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        return await self._read(lambda c: c.execute(sql, values).fetchall())

    async def execute_named(self, sql: str, values: dict[str, Any]) -> int:
        return await self._write(lambda c: c.execute(sql, values).rowcount)

    async def write_named(self, statements: list[tuple[str, dict[str, Any]]]) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute("BEGIN IMMEDIATE")
            try:
                for sql, values in statements:
                    c.execute(sql, values)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

        await self._write(write)


def _regexp(pattern: str, text: str | None) -> bool:
    return text is not None and re.search(pattern, text) is not None


def dump_database(c: sqlite3.Connection) -> bytes:
    """The canonical dump (``Storage.dump``) of a SQLite store, read in one transaction."""
    c.execute("BEGIN")
    try:
        return dump_runs(
            c.execute(f"SELECT id, {_RUN_COLUMNS} FROM runs ORDER BY project, run_key").fetchall(),
            c.execute("SELECT run, writer_id, applied_seq FROM writers").fetchall(),
            c.execute(
                "SELECT id, run, path, type, data, num, txt, last_step FROM fields ORDER BY path"
            ).fetchall(),
            c.execute("SELECT field, step, ts, num, raw FROM points ORDER BY field, step").fetchall(),
        )
    finally:
        c.execute("COMMIT")


def apply_batch(conn: sqlite3.Connection, req: BatchRequest) -> BatchResponse:
    """Apply one validated batch in one transaction (called on the storage's writer thread)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        run, run_id = _run_id(conn, req)
        writers = {r[0]: r[1:] for r in conn.execute(_WRITERS_SQL, (run,))}
        num, applied, order_time = writers.get(req.writer_id) or (len(writers) + 1, 0, rules.NO_TIME)
        batch = key_batch(req.entries, applied, req.writer_id, rules.resume_time(order_time, req.after), num)
        names = {w[0]: writer for writer, w in writers.items()}
        names[num] = req.writer_id
        paths = batch.paths()
        states = _load_states(conn, run, paths)
        for path, need in batch.needs(states).items():
            _load_need(conn, states[path], need, names)
        plan = plan_batch(
            batch,
            fields=states,
            resets=_load_resets(conn, run, paths),
            nums=invert(names),
            shape=_load_shape(conn, run, new_paths(paths, states)),
        )
        _write_plan(conn, run, plan)
        conn.execute(
            "INSERT INTO writers(run, writer_id, applied_seq, num, order_time) VALUES (?,?,?,?,?) "
            "ON CONFLICT(run, writer_id) DO UPDATE SET applied_seq=excluded.applied_seq, "
            "order_time=excluded.order_time",
            (run, req.writer_id, plan.applied_seq, num, batch.order_time),
        )
        if batch.first_time is not None:
            conn.execute("UPDATE runs SET created=min(created, ?) WHERE id=?", (batch.first_time, run))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return BatchResponse(plan.applied_seq, plan.conflicts, plan.rejected, run_id)


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or bring an older database up to it (:mod:`.schema`), in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        has_tables = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone() is not None
        conn.execute(schema.VERSION_TABLE)
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        steps = schema.plan(row[0] if row else None, has_tables)
        for n in steps:
            _script(conn, schema.STEPS[n][0])
        _script(conn, SCHEMA)  # IF NOT EXISTS throughout: creates what a version adds
        for n in steps:
            for fill in FILLS.get(n, ()):
                fill(conn)
        if row is None or steps:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (?)", (schema.VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _script(conn: sqlite3.Connection, script: str) -> None:
    """Run a script's statements in the open transaction (``executescript`` would commit it)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)


def _fill_set_members(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT id, data FROM fields WHERE type = ?", (FieldType.STRING_SET,)).fetchall()
    conn.execute("DELETE FROM set_members")
    conn.executemany(
        "INSERT INTO set_members(field, member) VALUES (?,?)",
        [(fid, m) for fid, data in rows for m in sorted(set(decode_value(data) or ()))],
    )


def _fill_blob_owners(conn: sqlite3.Connection) -> None:
    rows = conn.execute(access.FILE_VALUES).fetchall() + conn.execute(access.FILE_POINTS).fetchall()
    conn.executemany(
        "INSERT OR IGNORE INTO blob_owners(project, sha256, touched) VALUES (?,?,?)",
        [(project, sha, time.time()) for project, sha in sorted(access.referenced_blobs(rows))],
    )


def _fill_series_chunks(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM series_chunks")
    for (fid,) in conn.execute("SELECT id FROM fields WHERE type = ?", (FieldType.FLOAT_SERIES,)).fetchall():
        steps, values, stamps = array("d"), array("d"), array("d")
        for step, num, ts in conn.execute(
            "SELECT step, num, ts FROM points WHERE field=? ORDER BY step", (fid,)
        ):
            steps.append(step), values.append(num), stamps.append(ts)
        conn.executemany(
            f"INSERT INTO series_chunks({chunks.COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
            [(fid, *row) for row in chunks.chunk_rows(steps, values, stamps)],
        )


def _fill_series_summaries(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM series_summaries")
    for (fid,) in conn.execute("SELECT id FROM fields WHERE type = ?", (FieldType.FLOAT_SERIES,)).fetchall():
        sql = summaries.children_sql(1, SQLiteStorage.chunk_summaries)
        found = conn.execute(sql, {"f": fid, "a": -math.inf, "b": math.inf}).fetchall()
        conn.executemany(
            f"INSERT INTO series_summaries({summaries.COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            summaries.levels_of(fid, found),
        )


# schema version -> what fills its new tables from what the database holds (see .schema)
FILLS = {
    2: (_fill_set_members, _fill_series_chunks, _fill_blob_owners),
    3: (_fill_series_summaries,),
}


_WRITERS_SQL = "SELECT writer_id, num, applied_seq, order_time FROM writers WHERE run=?"


def _run_id(conn: sqlite3.Connection, req: BatchRequest) -> tuple[int, str]:
    """(row id, run_id) of the batch's run, created on first sight (a model version numbered)."""
    info = req.run
    row = conn.execute(
        "SELECT id, run_id FROM runs WHERE project=? AND run_key=?", (info.project, info.run_key)
    ).fetchone()
    if row:
        return row[0], row[1]
    created = req.entries[0].ts if req.entries else 0.0
    cur = conn.execute(
        f"INSERT INTO runs({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?)",
        (info.project, info.run_key, info.run_id, info.custom_run_id, info.kind, created),
    )
    run: int = cur.lastrowid  # type: ignore[assignment]
    if info.kind != "model_version":
        return run, info.run_id
    (number,) = conn.execute(versions.NEXT_NUMBER, {"p": info.project, "m": info.model_id}).fetchone()
    run_id = versions.version_id(info.model_id, number)
    conn.execute(versions.SET_RUN_ID, {"i": run_id, "r": run})
    conn.execute(versions.ID_FIELD, versions.id_field_values(run, run_id))
    return run, run_id


def _in_chunks(conn: sqlite3.Connection, sql: str, run: int, paths: list[str]) -> list[Any]:
    rows = []
    for i in range(0, len(paths), _CHUNK):
        chunk = paths[i : i + _CHUNK]
        rows += conn.execute(sql.format(marks=",".join("?" * len(chunk))), (run, *chunk)).fetchall()
    return rows


def _load_states(conn: sqlite3.Connection, run: int, paths: list[str]) -> dict[str, Any]:
    sql = "SELECT id, path, type, data, last_step, key FROM fields WHERE run=? AND path IN ({marks})"
    return dict(state_from_row(r) for r in _in_chunks(conn, sql, run, paths))


def _load_resets(conn: sqlite3.Connection, run: int, paths: list[str]) -> dict[str, PathResets]:
    sql = "SELECT path, cleared, deleted FROM resets WHERE run=? AND path IN ({marks})"
    return {p: PathResets(decode_key(c), decode_key(d)) for p, c, d in _in_chunks(conn, sql, run, paths)}


def _load_shape(conn: sqlite3.Connection, run: int, paths: list[str]) -> Shape | None:
    """The run's fields around ``paths`` (plan.Shape): fields under each (a range of the (run, path)
    index: ``p/`` < path < ``p0``, '0' being the character after '/'), fields at their parents,
    and the run's fields that count toward the limit."""
    if not paths:
        return None
    under = {}
    for path in paths:
        sql = "SELECT count(*) FROM fields WHERE run=? AND path>? AND path<?"
        (n,) = conn.execute(sql, (run, f"{path}/", f"{path}0")).fetchone()
        if n:
            under[path] = n
    parents = sorted({q for p in paths for q in rules.parents(p)})
    sql = "SELECT path, type FROM fields WHERE run=? AND path IN ({marks})"
    types = dict(_in_chunks(conn, sql, run, parents))
    sql = "SELECT count(*) FROM fields WHERE run=?1 AND substr(path, 1, length(?2)) <> ?2"
    (count,) = conn.execute(sql, (run, rules.SYNC_NAMESPACE)).fetchone()
    return Shape(under, types, count)


def _load_need(conn: sqlite3.Connection, state: FieldState, need: Need, names: dict[int, str]) -> None:
    """Load what a late field needs (plan.KeyedBatch.needs) into its state."""
    if need.kind == OPS:
        rows = conn.execute("SELECT kts, w, seq, op FROM field_ops WHERE field=?", (state.id,))
        state.ops = [((t, names[w], seq), decode_op(op)) for t, w, seq, op in rows]
        return
    column = point_column(state.type)
    select = f"SELECT step, ts, {column}, kts, w, seq FROM {{table}} WHERE field=?"
    if need.kind == FULL:
        kept = conn.execute(select.format(table="points"), (state.id,))
        dropped = conn.execute(select.format(table="dropped"), (state.id,))
        state.series = SeriesWork(
            [stored_row(*r[:4], names[r[4]], r[5]) for r in kept],
            full=True,
            stored_dropped=[stored_row(*r[:4], names[r[4]], r[5]) for r in dropped],
        )
        return
    base = select.format(table="points")
    scan = WindowScan(need, names)
    scan.above(conn.execute(base + " AND step>? ORDER BY step", (state.id, need.hi)))
    if scan.floor is None:
        scan.below(conn.execute(base + " AND step<=? ORDER BY step DESC", (state.id, need.hi)))
    state.series = scan.work()


# what a clear empties: a field's points and what is derived from them
_SERIES_TABLES = ("points", "series_chunks", "series_summaries", "dropped")


def _write_plan(conn: sqlite3.Connection, run: int, plan: Plan) -> None:
    for ids, tables in (
        (plan.deleted_ids, (*_SERIES_TABLES, "field_ops", "set_members", "fields")),
        (plan.cleared_ids, _SERIES_TABLES),
    ):
        for table in tables:
            column = "id" if table == "fields" else "field"
            conn.executemany(f"DELETE FROM {table} WHERE {column}=?", [(i,) for i in ids])
    for path, state in plan.dirty():
        columns = state.columns()
        if state.id is None:
            cur = conn.execute(
                "INSERT INTO fields(run, path, type, data, num, txt, last_step, key) VALUES (?,?,?,?,?,?,?,?)",
                (run, path, state.type, *columns),
            )
            state.id = cur.lastrowid
        else:
            conn.execute(
                "UPDATE fields SET data=?, num=?, txt=?, last_step=?, key=? WHERE id=?", (*columns, state.id)
            )
        _write_content(conn, state, plan)
        if state.type == FieldType.STRING_SET:
            conn.execute("DELETE FROM set_members WHERE field=?", (state.id,))
            conn.executemany(
                "INSERT INTO set_members(field, member) VALUES (?,?)",
                [(state.id, m) for m in set_members(state)],
            )
    _write_chunks(conn, plan)
    conn.executemany(
        "INSERT INTO resets(run, path, cleared, deleted) VALUES (?,?,?,?) ON CONFLICT(run, path) "
        "DO UPDATE SET cleared=excluded.cleared, deleted=excluded.deleted",
        [(run, p, encode_key(r.cleared), encode_key(r.deleted)) for p, r in plan.resets.items() if r.dirty],
    )


def _write_content(conn: sqlite3.Connection, state: FieldState, plan: Plan) -> None:
    fid = state.id
    column = point_column(state.type)
    if state.rewrite:
        for table in (*_SERIES_TABLES, "field_ops"):
            conn.execute(f"DELETE FROM {table} WHERE field=?", (fid,))
    if state.removed_steps:
        conn.executemany(
            "DELETE FROM points WHERE field=? AND step=?", [(fid, s) for s in state.removed_steps]
        )
    if state.points:
        _insert_points(conn, [fid], column, False, state.points)
    if state.plain:
        _insert_points(conn, [fid, plan.nums[plan.writer_id]], column, True, state.plain)
    if state.dropped:
        conn.executemany(
            f"INSERT INTO dropped(field, step, ts, {column}, kts, w, seq) VALUES (?,?,?,?,?,?,?)",
            [(fid, *row) for row in state.dropped],
        )
    set_ops = state.ops if state.rewrite and state.ops is not None else state.new_ops
    if set_ops:
        conn.executemany(
            "INSERT INTO field_ops(field, kts, w, seq, op) VALUES (?,?,?,?,?)",
            [(fid, t, plan.nums[w], seq, encode_op(op)) for (t, w, seq), op in set_ops],
        )


def _write_chunks(conn: sqlite3.Connection, plan: Plan) -> None:
    """Replace the chunks around what the batch changed in its float series (see .chunks)."""
    changes = [c for _, state in plan.dirty() if (c := chunks.change_of(state)) is not None]
    if not changes:
        return
    replaced = {
        c.fid: conn.execute(
            chunks.REPLACED, {"f": c.fid, "lo": c.lo, "hi": c.hi, "full": chunks.CHUNK_POINTS}
        ).fetchall()
        for c in changes
    }
    gone, rows, spans = chunks.rewrite(changes, replaced)
    conn.executemany("DELETE FROM series_chunks WHERE field=? AND first_step=?", gone)
    conn.executemany(
        f"INSERT INTO series_chunks({chunks.COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)"
        f" ON CONFLICT(field, first_step) DO UPDATE SET {chunks.UPDATE}",
        rows,
    )
    _write_summaries(conn, spans)


def _write_summaries(conn: sqlite3.Connection, spans: dict[int, tuple[float, float]]) -> None:
    """Regroup the summary levels above the chunks' changed ``spans`` of first steps, level by
    level (see .summaries)."""
    tops = {}
    for fid in spans:
        level, count = conn.execute(summaries.TOP, {"f": fid}).fetchone()
        tops[fid] = summaries.Top(level, count >= 2)
    upkeep = summaries.Upkeep(spans, tops)
    for level in range(1, summaries.LEVELS + 1):
        todo = upkeep.spans(level)
        if not todo:
            return
        gone: list[Any] = []
        rows: list[Any] = []
        sql = summaries.nodes_sql(level, SQLiteStorage.chunk_summaries)
        for fid, (lo, hi) in todo.items():
            read = conn.execute(sql, {"f": fid, "l": level, "lo": lo, "hi": hi, "full": summaries.FANOUT})
            old: list[Any] = []
            found: list[Any] = []
            for child, *row in read:
                if child:
                    found.append(row)
                else:
                    old.append(row[:2])
            g, r, span = summaries.regroup(fid, level, old, found)
            upkeep.done(level, fid, old, r, span)
            gone += g
            rows += r
        conn.executemany("DELETE FROM series_summaries WHERE field=? AND level=? AND first_step=?", gone)
        conn.executemany(
            f"INSERT INTO series_summaries({summaries.COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
            f" ON CONFLICT(field, level, first_step) DO UPDATE SET {summaries.UPDATE}",
            rows,
        )


ROWS_PER_INSERT = 100


@functools.lru_cache(maxsize=256)
def _insert_sql(column: str, plain: bool, rows: int) -> str:
    """A multi-row INSERT whose ``?1`` is the field id shared by all rows (one statement, many rows:
    binding once per statement instead of per row makes ingestion ~40% cheaper in CPU). Plain rows
    (step, ts, value, seq) share the writer number ``?2`` and have no order time of their own;
    the others are (step, ts, value, kts, w, seq)."""
    if plain:
        rows_sql = (f"(?1,?{3 + 4 * k},?{4 + 4 * k},?{5 + 4 * k},NULL,?2,?{6 + 4 * k})" for k in range(rows))
    else:
        rows_sql = ("(?1," + ",".join(f"?{2 + 6 * k + j}" for j in range(6)) + ")" for k in range(rows))
    return f"INSERT INTO points(field, step, ts, {column}, kts, w, seq) VALUES {','.join(rows_sql)}"


def _insert_points(
    conn: sqlite3.Connection, shared: list[Any], column: str, plain: bool, points: list[Any]
) -> None:
    width = 4 if plain else 6
    flat = list(itertools.chain.from_iterable(points))
    per = width * ROWS_PER_INSERT
    whole = len(flat) - len(flat) % per
    if whole:
        sql = _insert_sql(column, plain, ROWS_PER_INSERT)
        conn.executemany(sql, ([*shared, *flat[i : i + per]] for i in range(0, whole, per)))
    if whole < len(flat):
        conn.execute(_insert_sql(column, plain, (len(flat) - whole) // width), [*shared, *flat[whole:]])
