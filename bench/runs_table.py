"""The runs table of a big project over HTTP: filtered and sorted pages vs unfiltered ones.

    nice .venv/bin/python bench/runs_table.py [--runs 10000] [--fields 500] [--pg DSN] [--repeat 5]

Fills a project of ``--runs`` runs x ``--fields`` fields on SQLite and on PostgreSQL (a throwaway
schema, dropped afterwards; skipped when no server answers), then times ``GET /v1/table`` pages of
100 rows with 20 columns: with an NQL filter and a sort by a field (a selective filter and one that
keeps 90% of the runs, first and fifth page), beside the same page unfiltered and unsorted (the
baseline, measured in the same run), and beside reading the filter and sort fields of every run,
which is what selecting in Python after loading columns has to do first. Prints the median of
``--repeat`` requests each.

The project is written with bulk inserts of the rows the store's own write path makes
(``FieldState.columns()``, string-set members), not through ``POST /v1/batches``: ingestion has
its own benchmark (bench/store_ingest.py) and 5M fields through it would take most of an hour.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from neptune_sync_store.plan import FieldState
from neptune_sync_store.storage.base import set_members
from neptune_sync_store.testing import reachable_postgres, running_store

PROJECT = "bench/table"
PAGE = 100
COLUMNS = (
    ["sys/id", "sys/name"] + [f"params/p{i:03d}" for i in range(10)] + [f"metrics/m{i:03d}" for i in range(8)]
)
QUERIES = {
    "selective (~5%)": '(sys/tags:stringSet CONTAINS "tag3") AND (params/p007:float > 0.5)',
    "broad (~90%)": '(params/p007:float > 0.1) AND NOT (sys/state:experimentState = "active")',
}
SORT = "metrics/m010"


def project_fields(runs: int, fields: int, seed: int = 7) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(runs rows, fields rows, set_members rows) with explicit ids."""
    rng = random.Random(seed)
    per_kind = (fields - 6) // 3
    run_rows, field_rows, members = [], [], []
    fid = 0
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for r in range(1, runs + 1):
        created = start + dt.timedelta(minutes=r)
        run_id = f"TABLE-{r}"
        run_rows.append((r, PROJECT, f"key-{r}", run_id, "", "run", created.timestamp()))
        values: list[tuple[str, str, object, float | None]] = [
            ("sys/id", "string", run_id, None),
            ("sys/name", "string", f"run {r}", None),
            ("sys/creation_time", "datetime", created, None),
            ("sys/state", "string", "Active" if rng.random() < 0.05 else "Inactive", None),
            ("sys/failed", "bool", rng.random() < 0.1, None),
            ("sys/tags", "stringSet", sorted({f"tag{rng.randrange(10)}", f"tag{rng.randrange(10)}"}), None),
        ]
        values += [(f"params/p{i:03d}", "float", rng.random(), None) for i in range(per_kind)]
        values += [(f"metrics/m{i:03d}", "floatSeries", rng.random(), 99.0) for i in range(per_kind)]
        values += [
            (f"config/c{i:03d}", "string", f"value-{rng.randrange(100)}", None)
            for i in range(fields - 6 - 2 * per_kind)
        ]
        for path, ftype, value, last_step in values:
            fid += 1
            state = FieldState(ftype, value, last_step)
            field_rows.append((fid, r, path, ftype, *state.columns()))
            if ftype == "stringSet":
                members += [(fid, m) for m in set_members(state)]
    return run_rows, field_rows, members


async def fill(storage, rows: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
    run_rows, field_rows, members = rows
    tables = (
        ("runs", ["id", "project", "run_key", "run_id", "custom_run_id", "kind", "created"], run_rows),
        ("fields", ["id", "run", "path", "type", "data", "num", "txt", "last_step", "key"], field_rows),
        ("set_members", ["field", "member"], members),
    )
    if hasattr(storage, "pool"):  # PostgreSQL: COPY, then what autovacuum does to a settled table
        async with storage.pool.acquire() as conn:
            for table, columns, records in tables:
                await conn.copy_records_to_table(table, records=records, columns=columns)
            await conn.execute("VACUUM ANALYZE")
        return

    def insert(c) -> None:
        c.execute("BEGIN")
        for table, columns, records in tables:
            marks = ",".join("?" * len(columns))
            c.executemany(f"INSERT INTO {table}({','.join(columns)}) VALUES ({marks})", records)
        c.execute("COMMIT")

    await storage._write(insert)


async def median_ms(
    session: aiohttp.ClientSession, url: str, params: list[tuple[str, str]], repeat: int
) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        async with session.get(f"{url}/v1/table", params=params) as resp:
            assert resp.status == 200, await resp.text()
            body = await resp.json()
        times.append((time.perf_counter() - t0) * 1000)
        rows = body["total"]
    return statistics.median(times), rows


async def read_filter_fields(storage, paths: list[str]) -> float:
    marks = ",".join(f":p{i}" for i in range(len(paths)))
    sql = (
        "SELECT f.run, f.path, f.type, f.data, f.last_step FROM fields f JOIN runs r ON f.run = r.id"
        f" WHERE r.project = :project AND f.path IN ({marks})"
    )
    from neptune_sync_store.storage.base import field_value

    t0 = time.perf_counter()
    rows = await storage.fetch_named(sql, {"project": PROJECT, **{f"p{i}": p for i, p in enumerate(paths)}})
    [field_value(*r[1:]) for r in rows]
    return (time.perf_counter() - t0) * 1000


async def bench_backend(
    name: str, data_dir: Path, rows, repeat: int, db: str | None = None, schema: str = "public"
) -> None:
    async with running_store(data_dir, db=db, pg_schema=schema) as store:
        t0 = time.perf_counter()
        await fill(store.storage, rows)
        print(
            f"\n{name}: filled {len(rows[0])} runs x {len(rows[1]) // len(rows[0])} fields in {time.perf_counter() - t0:.0f} s"
        )
        token = await store.token(PROJECT)
        headers = {"Authorization": f"Bearer {token}"}
        columns = [("column", c) for c in COLUMNS]
        async with aiohttp.ClientSession(headers=headers) as session:
            base = [("project", PROJECT), ("limit", str(PAGE)), *columns]
            await median_ms(session, store.url, base, 1)  # warm the caches
            baseline, total = await median_ms(session, store.url, base, repeat)
            print(
                f"  unfiltered, unsorted page of {PAGE} x {len(COLUMNS)} columns (baseline): {baseline:7.1f} ms ({total} runs)"
            )
            python_side = await read_filter_fields(
                store.storage, ["sys/tags", "params/p007", "sys/state", SORT]
            )
            print(
                f"  reading the filter and sort fields of every run (Python-side selection's first step): {python_side:7.1f} ms"
            )
            for label, nql in QUERIES.items():
                for page in (0, 4):
                    params = [*base, ("query", nql), ("sort_by", SORT), ("offset", str(page * PAGE))]
                    took, matched = await median_ms(session, store.url, params, repeat)
                    verdict = "ok" if took < 300 else "OVER 300 ms"
                    print(
                        f"  {label}, sorted by {SORT}, page {page + 1}: {took:7.1f} ms"
                        f" = {took / baseline:4.1f}x baseline ({matched} match) {verdict}"
                    )
        if db is not None:
            await store.storage.drop_schema()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--fields", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--pg", default=None, help="PostgreSQL DSN (default: the test server on 127.0.0.1:5432)"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = project_fields(args.runs, args.fields)
    print(f"generated {len(rows[1])} field rows in {time.perf_counter() - t0:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        await bench_backend("SQLite", Path(tmp) / "sqlite", rows, args.repeat)
    dsn = args.pg or (await reachable_postgres())[0]
    if dsn is None:
        print("\nPostgreSQL: no server answers; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_table_{uuid.uuid4().hex[:8]}"
        await bench_backend("PostgreSQL", Path(tmp) / "pg", rows, args.repeat, db=dsn, schema=schema)


if __name__ == "__main__":
    asyncio.run(main())
