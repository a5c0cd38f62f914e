"""Property: several writers' batches applied in any interleaving -- split anywhere (also inside a
series entry), re-sent, overlapping, or applied with the answer lost and sent again -- leave the
store holding exactly what an independent model (merge_model) computes from all records in key
order. SQLite in memory (the planner and SQL for real), and PostgreSQL with fewer examples."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from merge_model import content
from store_helpers import dumped_content, request, require_pg

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync_store.storage import make_storage
from neptune_sync_store.storage.sqlite import SCHEMA, apply_batch, dump_database

WRITERS = ["w-a", "w-b", "w-c", "w-d"]
ATOMS = {"p/f": "float", "p/i": "int", "p/b": "bool", "p/s": "string", "p/d": "datetime", "p/fi": "file"}
SERIES = {"m/loss": "floatSeries", "m/loss2": "floatSeries", "m/text": "stringSeries", "m/img": "fileSeries"}
SHAS = [c * 64 for c in "abc"]


def file_of(i: int) -> dict:
    return {"sha256": SHAS[i], "size": i + 1, "name": f"f{i}.bin", "extension": "bin"}


def ref_of(d: dict) -> ops.FileRef:
    return ops.FileRef(d["sha256"], d["size"], d["name"], d["extension"])


ATOM_VALUES = {
    "float": st.floats(-10, 10, allow_nan=False),
    "int": st.integers(-5, 5),
    "bool": st.booleans(),
    "string": st.sampled_from(["A", "B", "C"]),
    "datetime": st.integers(0, 3).map(lambda h: dt.datetime(2026, 1, 1, h, tzinfo=dt.timezone.utc)),
    "file": st.integers(0, 2).map(file_of),
}
SERIES_VALUES = {
    "floatSeries": st.floats(-10, 10, allow_nan=False),
    "stringSeries": st.sampled_from(["x", "y"]),
    "fileSeries": st.integers(0, 2).map(file_of),
}


@st.composite
def record(draw: st.DrawFn) -> tuple:
    """One record without its timestamp(s): ("kind", path, ...)."""
    kind = draw(st.sampled_from(["assign", "points", "points", "clear", "delete", "set", "fset", "art"]))
    if kind == "assign":
        path = draw(st.sampled_from(sorted(ATOMS)))
        return ("assign", path, ATOMS[path], draw(ATOM_VALUES[ATOMS[path]]))
    if kind == "points":
        path = draw(st.sampled_from(sorted(SERIES)))
        steps = draw(st.lists(st.integers(0, 12).map(float), min_size=1, max_size=5))
        values = [draw(SERIES_VALUES[SERIES[path]]) for _ in steps]
        return ("points", path, SERIES[path], list(zip(steps, values, strict=True)))
    if kind in ("clear", "delete"):
        pool = sorted(SERIES) if kind == "clear" else [*sorted(SERIES), *sorted(ATOMS), "t/set", "t/fset"]
        return (kind, draw(st.sampled_from(pool)))
    if kind == "set":
        op = draw(st.sampled_from(["sadd", "sadd", "sremove", "sclear"]))
        if op == "sclear":
            return ("sclear", "t/set")
        return (op, "t/set", tuple(draw(st.lists(st.sampled_from("xyz"), min_size=1, max_size=2))))
    if kind == "fset":
        if draw(st.booleans()):
            rels = draw(st.lists(st.sampled_from(["a", "b/c", "d"]), min_size=1, max_size=2, unique=True))
            return (
                "fsup",
                "t/fset",
                tuple((r, file_of(draw(st.integers(0, 2)))) for r in rels),
                draw(st.booleans()),
            )
        return (
            "fsdel",
            "t/fset",
            tuple(draw(st.lists(st.sampled_from(["a", "b/c"]), min_size=1, max_size=2))),
        )
    files = draw(st.lists(st.sampled_from(["x.csv", "y.csv"]), min_size=1, max_size=2, unique=True))
    entries = tuple({"relpath": r, "sha256": SHAS[0], "size": 3, "mtime": 1.0, "source": ""} for r in files)
    return ("art", "t/art", draw(st.sampled_from(SHAS)), entries)


@st.composite
def writer_log(draw: st.DrawFn) -> list[tuple]:
    """A writer's records with timestamps: mostly rising from a random start, sometimes equal to
    another writer's, sometimes stepping back (a user-given or a set-back clock's timestamp)."""
    t = float(draw(st.integers(0, 6)))
    out = []
    for rec in draw(st.lists(record(), min_size=1, max_size=10)):
        t += draw(st.sampled_from([0.0, 0.0, 1.0, 1.0, 2.0, -3.0]))
        if rec[0] == "points":
            points = []
            for step, value in rec[3]:
                points.append((step, value, t))
                t += draw(st.sampled_from([0.0, 0.5, 1.0]))
            out.append((*rec[:3], points))
        else:
            out.append((*rec, t))
    return out


def to_op(rec: tuple) -> tuple[float, ops.Op]:
    """(entry ts, op) of a model record."""
    kind, path = rec[0], rec[1]
    if kind == "assign":
        value = rec[3]
        op_type = {
            "float": ops.AssignFloat,
            "int": ops.AssignInt,
            "bool": ops.AssignBool,
            "string": ops.AssignString,
            "datetime": ops.AssignDatetime,
        }.get(rec[2])
        return rec[4], (op_type(path, value) if op_type else ops.AssignFile(path, ref_of(value)))
    if kind == "points":
        if rec[2] == "floatSeries":
            op = ops.LogFloats(path, tuple(ops.FloatPoint(s, v, ts) for s, v, ts in rec[3]))
        elif rec[2] == "stringSeries":
            op = ops.LogStrings(path, tuple(ops.StringPoint(s, v, ts) for s, v, ts in rec[3]))
        else:
            op = ops.LogFiles(path, tuple(ops.FilePoint(s, ref_of(v), ts) for s, v, ts in rec[3]))
        return rec[3][0][2], op
    simple = {"clear": ops.ClearSeries, "delete": ops.DeleteField, "sclear": ops.ClearStringSet}
    if kind in simple:
        return rec[2], simple[kind](path)
    if kind == "sadd":
        return rec[3], ops.AddStrings(path, rec[2])
    if kind == "sremove":
        return rec[3], ops.RemoveStrings(path, rec[2])
    if kind == "fsup":
        files = tuple(ops.FileSetEntry(r, ref_of(f)) for r, f in rec[2])
        return rec[4], ops.UploadFileSet(path, files, rec[3])
    if kind == "fsdel":
        return rec[3], ops.DeleteFileSetFiles(path, rec[2])
    art = tuple(ops.ArtifactEntry(**f) for f in rec[3])
    return rec[4], ops.TrackArtifact(path, art, rec[2])


def entries_of(records: list[tuple]) -> list[Entry]:
    entries, seq = [], 1
    for rec in records:
        ts, op = to_op(rec)
        entries.append(Entry(seq, ts, op))
        seq += ops.op_point_count(op)
    return entries


def cut(entry: Entry, start: int, stop: int | None = None) -> Entry:
    """Points ``start:stop`` of a series entry, as a daemon that splits or trims one sends them."""
    points = entry.op.points[start:stop]  # type: ignore[union-attr]
    return Entry(entry.seq + start, points[0].ts, type(entry.op)(entry.op.path, points))


@st.composite
def delivery(draw: st.DrawFn, logs: dict[str, list[Entry]]) -> list[tuple[str, list[Entry]]]:
    """Batches of all writers in one arbitrary interleaving. Per writer: consecutive windows that
    may re-send what came before, end inside a series entry, or be sent again (answer lost)."""
    pos = {w: 0 for w in logs}  # index of the first entry not yet acknowledged
    out = []
    while any(pos[w] < len(logs[w]) for w in logs):
        writer = draw(st.sampled_from([w for w in logs if pos[w] < len(logs[w])]))
        entries, start = logs[writer], pos[writer]
        end = draw(st.integers(start + 1, min(len(entries), start + 4)))
        back = draw(st.integers(max(0, start - 2), start))
        batch = list(entries[back:end])
        last_points = len(getattr(batch[-1].op, "points", ()))
        split = last_points > 1 and draw(st.booleans())
        if split:  # the batch ends inside a series entry; the next batch sends all of it again
            batch[-1] = cut(batch[-1], 0, draw(st.integers(1, last_points - 1)))
        out.append((writer, batch))
        if draw(st.integers(0, 4)) == 0:
            out.append((writer, batch))  # applied, but the answer was lost: sent again
        pos[writer] = end - 1 if split else end
    return out


def fresh() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    return conn


def floors_st(writers: dict[str, list[tuple]]):
    """Causal floors for some writers (resumed ones), within and above the timestamps' range."""
    return st.dictionaries(st.sampled_from(sorted(writers)), st.integers(0, 30).map(float))


def writers_st():
    return st.lists(writer_log(), min_size=2, max_size=4).map(
        lambda logs: dict(zip(WRITERS, logs, strict=False))
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writers=writers_st(), data=st.data())
def test_any_delivery_of_several_writers_equals_the_model(writers, data):
    logs = {w: entries_of(records) for w, records in writers.items()}
    floors = data.draw(floors_st(writers), label="floors")
    conn = fresh()
    for writer, batch in data.draw(delivery(logs), label="delivery"):
        apply_batch(conn, request(batch, writer=writer, after=floors.get(writer)))
    assert dumped_content(dump_database(conn)) == content(writers, floors)
    before = dump_database(conn)
    for writer, entries in logs.items():  # a full re-send of every writer changes nothing
        apply_batch(conn, request(entries, writer=writer, after=floors.get(writer)))
    assert dump_database(conn) == before


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_any_delivery_of_several_writers_equals_the_model_on_postgres(tmp_path):
    dsn = await require_pg()
    storage = make_storage(dsn, tmp_path, pg_schema=f"nss_test_{uuid.uuid4().hex[:12]}")
    await storage.open()
    seen = []

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(writers=writers_st(), data=st.data())
    def collect(writers, data):
        logs = {w: entries_of(records) for w, records in writers.items()}
        floors = data.draw(floors_st(writers), label="floors")
        seen.append((writers, floors, data.draw(delivery(logs), label="delivery")))

    collect()
    try:
        for i, (writers, floors, batches) in enumerate(seen):
            run = msgspec.structs.replace(request([]).run, run_key=f"run-{i}")
            for writer, batch in batches:
                await storage.apply_batch(request(batch, run=run, writer=writer, after=floors.get(writer)))
            runs = msgspec.msgpack.decode(await storage.dump())
            [mine] = [r for r in runs if r[1] == f"run-{i}"]
            assert dumped_content(msgspec.msgpack.encode([mine])) == content(writers, floors), i
    finally:
        await storage.drop_schema()
        await storage.close()
