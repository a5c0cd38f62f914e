"""One contract suite, run against every storage backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import math

import msgspec
import pytest
from store_helpers import PROJECT, RUN, floats, request, sample_entries, split_overlapping

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import OpConflict, RunInfo
from neptune_sync_store.query import TableQuery

pytestmark = pytest.mark.asyncio

INF = math.inf


async def test_batch_creates_run_findable_by_every_id(storage):
    resp = await storage.apply_batch(request(sample_entries()))
    assert resp.conflicts == [] and resp.rejected == []
    for ident in (RUN.run_key, RUN.run_id, RUN.custom_run_id):
        found = await storage.find_run(PROJECT, ident)
        assert found is not None and found.run_key == RUN.run_key, ident
    assert await storage.find_run(PROJECT, "nope") is None
    assert await storage.find_run("other/proj", RUN.run_id) is None


async def test_applied_seq_is_kept_per_writer(storage):
    entries = sample_entries()
    resp = await storage.apply_batch(request(entries, writer="w1"))
    assert resp.applied_seq == entries[-1].last_seq
    assert await storage.acked_seq(PROJECT, RUN.run_key, "w1") == entries[-1].last_seq
    assert await storage.acked_seq(PROJECT, RUN.run_key, "w2") == 0
    assert await storage.acked_seq(PROJECT, "no-run", "w1") == 0


async def test_replaying_a_batch_twice_leaves_an_identical_store(storage):
    req = request(sample_entries())
    await storage.apply_batch(req)
    once = await storage.dump()
    again = await storage.apply_batch(req)
    assert again.conflicts == [] and again.applied_seq == req.entries[-1].last_seq
    assert await storage.dump() == once


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_overlapping_batches_leave_the_same_store_as_one_replay(storage, seed):
    entries = sample_entries()
    other = RunInfo(PROJECT, "run-key-2", "RUN-2")
    await storage.apply_batch(request(entries, run=other))  # reference: one batch, in run 2
    for batch in split_overlapping(entries, seed):
        await storage.apply_batch(request(batch))
    dump = msgspec.msgpack.decode(await storage.dump())
    one, split = dump[0], dump[1]
    assert one[1] == "run-key-1" and split[1] == "run-key-2"
    assert one[4:] == split[4:]  # kind, created, writers, fields+points all equal


async def test_straddling_series_batch_applies_only_new_points(storage):
    await storage.apply_batch(request([floats("s", 1, range(0, 10))]))
    resp = await storage.apply_batch(request([floats("s", 6, range(5, 20))]))  # seqs 6..20, 6..10 applied
    assert resp.applied_seq == 20
    page = await storage.series(PROJECT, RUN.run_key, "s", start=-INF, stop=INF, after=-INF, limit=100)
    assert [p[0] for p in page.points] == [float(s) for s in range(0, 20)]


async def test_conflict_is_reported_per_op_and_the_rest_of_the_batch_applies(storage):
    await storage.apply_batch(request([Entry(1, 0.0, ops.AssignFloat("a", 1.0))]))
    batch = [
        Entry(2, 0.0, ops.AssignString("a", "text")),
        Entry(3, 0.0, ops.AssignInt("b", 7)),
        floats("a", 4, range(3)),
        Entry(7, 0.0, ops.AssignString("c", "ok")),
    ]
    resp = await storage.apply_batch(request(batch))
    assert resp.conflicts == [
        OpConflict(2, "a", "float", "string"),
        OpConflict(4, "a", "float", "floatSeries"),
    ]
    assert resp.applied_seq == 7
    values = {v.path: v.value for v in await storage.field_values(PROJECT, RUN.run_key, [])}
    assert values == {"a": 1.0, "b": 7, "c": "ok"}


async def test_field_values_and_structure_round_trip_every_type(storage):
    await storage.apply_batch(request(sample_entries()))
    infos = {f.path: f.type for f in await storage.field_infos(PROJECT, RUN.run_key)}
    assert (
        infos["sys/tags"] == "stringSet"
        and infos["files/set"] == "fileSet"
        and infos["data/art"] == "artifact"
    )
    values = {
        v.path: v
        for v in await storage.field_values(
            PROJECT, RUN.run_key, ["sys/tags", "params/batch", "metrics/m2", "x"]
        )
    }
    assert set(values) == {"sys/tags", "params/batch", "metrics/m2"}
    assert values["sys/tags"].value == ["a"]
    assert values["params/batch"].value == 64 and isinstance(values["params/batch"].value, int)
    assert values["metrics/m2"].value == 9.5 and values["metrics/m2"].last_step == 19.0
    when = (await storage.field_values(PROJECT, RUN.run_key, ["params/when"]))[0].value
    assert when.isoformat() == "2024-05-01T12:00:00+00:00"


async def test_series_range_and_pagination(storage):
    await storage.apply_batch(
        request([floats("s", 1, range(0, 1050))])
    )  # whole and partial multi-row inserts
    page = await storage.series(PROJECT, RUN.run_key, "s", start=100, stop=199, after=-INF, limit=60)
    assert [p[0] for p in page.points] == [float(s) for s in range(100, 160)]
    assert page.next_after == 159.0
    rest = await storage.series(
        PROJECT, RUN.run_key, "s", start=100, stop=199, after=page.next_after, limit=60
    )
    assert [p[0] for p in rest.points] == [float(s) for s in range(160, 200)]
    assert rest.next_after is None
    everything = await storage.series(PROJECT, RUN.run_key, "s", start=-INF, stop=INF, after=-INF, limit=5000)
    assert [p[0] for p in everything.points] == [float(s) for s in range(1050)]
    assert everything.points[1049][1] == 1049 * 0.5
    assert (
        await storage.series(PROJECT, RUN.run_key, "missing", start=-INF, stop=INF, after=-INF, limit=1)
        is None
    )


async def test_delete_field_removes_its_points(storage):
    await storage.apply_batch(request([floats("s", 1, range(0, 10))]))
    await storage.apply_batch(
        request([Entry(11, 0.0, ops.DeleteField("s")), Entry(12, 0.0, ops.AssignString("s", "x"))])
    )
    values = await storage.field_values(PROJECT, RUN.run_key, [])
    assert [(v.path, v.type, v.value) for v in values] == [("s", "string", "x")]
    assert b"floatSeries" not in await storage.dump()


async def test_a_failing_batch_changes_nothing(storage):
    await storage.apply_batch(request([Entry(1, 0.0, ops.AssignFloat("a", 1.0))]))
    before = await storage.dump()

    class Unknown(ops.AssignFloat, tag="zz"):  # an op the planner has no rule for: fails mid-batch
        pass

    bad = [
        Entry(2, 0.0, ops.AssignFloat("b", 2.0)),
        floats("s", 3, range(5)),
        Entry(8, 0.0, Unknown("c", 1.0)),
    ]
    with pytest.raises(KeyError):
        await storage.apply_batch(request(bad))
    with pytest.raises(KeyError):
        await storage.apply_batch(request(bad, run=RunInfo(PROJECT, "fresh", "F")))
    assert await storage.dump() == before
    assert await storage.find_run(PROJECT, "fresh") is None


async def test_table_page_holds_every_run_of_the_project_with_the_asked_columns(storage):
    await storage.apply_batch(request(sample_entries()))
    await storage.apply_batch(
        request([Entry(1, 5.0, ops.AssignFloat("params/lr", 0.1))], run=RunInfo(PROJECT, "k2", "R2"))
    )
    await storage.apply_batch(
        request([Entry(1, 5.0, ops.AssignFloat("params/lr", 9.0))], run=RunInfo("ws/other", "k3", "R3"))
    )
    rows, total = await storage.table_page(TableQuery(PROJECT, columns=["params/lr"]))
    assert total == 2
    assert sorted((r.run.run_key, [(v.path, v.value) for v in r.fields]) for r in rows) == [
        ("k2", [("params/lr", 0.1)]),
        ("run-key-1", [("params/lr", 0.01)]),
    ]
    everything, _ = await storage.table_page(TableQuery(PROJECT))
    mine = next(r for r in everything if r.run.run_key == RUN.run_key)
    assert mine.fields == await storage.field_values(PROJECT, RUN.run_key, [])


async def test_tokens_are_found_by_hash(storage):
    await storage.add_token("h" * 64, PROJECT, "read,write", 1.0)
    assert await storage.token("h" * 64) == (PROJECT, "read,write", None, None)
    assert await storage.token("x" * 64) is None


async def test_tokens_are_listed_used_and_revoked_by_name_or_id(storage):
    await storage.add_token("a" * 64, "ws/a ws/*", "read", 1.0, name="ci", expires=99.0)
    await storage.add_token("b" * 64, PROJECT, "write", 2.0, name="ci")
    await storage.add_token("c" * 64, PROJECT, "write", 3.0)
    await storage.token_used("a" * 64, 50.0)
    listed = await storage.tokens()
    assert [(t.id, t.name, t.projects, t.expires, t.last_used) for t in listed] == [
        ("a" * 12, "ci", "ws/a ws/*", 99.0, 50.0),
        ("b" * 12, "ci", PROJECT, None, None),
        ("c" * 12, "", PROJECT, None, None),
    ]
    assert await storage.tokens_named("ci") == 2
    assert await storage.revoke_tokens("c" * 12) == 1
    assert await storage.token("c" * 64) is None
    assert await storage.revoke_tokens("c" * 11) == 0  # an id is the whole listed prefix
    assert await storage.revoke_tokens("ci") == 2
    assert await storage.tokens() == []


async def test_blob_owners_are_per_project_and_stale_ones_are_dropped_atomically(storage):
    sha = "ab" * 32
    await storage.own_blob(PROJECT, sha, 10.0)
    await storage.own_blob(PROJECT, sha, 20.0)  # touched again: one row, the later time
    await storage.own_blob("ws/other", sha, 5.0)
    assert await storage.owns_blob(PROJECT, sha) and not await storage.owns_blob("ws/third", sha)
    assert sorted(await storage.blob_owners()) == sorted([(sha, PROJECT, 20.0), (sha, "ws/other", 5.0)])
    assert not await storage.disown_stale_blob(sha, 15.0)  # one owner touched it at 20: nothing dropped
    assert len(await storage.blob_owners()) == 2
    assert await storage.disown_stale_blob(sha, 21.0)
    assert await storage.blob_owners() == [] and not await storage.owns_blob(PROJECT, sha)


@pytest.mark.parametrize(("start", "after"), [(0.0, -INF), (-INF, 5.0), (3.0, 5.0), (5.0, 3.0)])
async def test_series_reads_are_index_range_scans(tmp_path, start, after):
    """A step range or a page deep in a series is answered from the (field, step) key, not by a scan."""
    import sqlite3

    from neptune_sync_store.storage.base import lower_bound
    from neptune_sync_store.storage.sqlite import SERIES_SQL, SQLiteStorage

    opened = SQLiteStorage(tmp_path / "s.sqlite3")
    await opened.open()
    await opened.close()
    op, low = lower_bound(start, after)
    assert low == max(start, after)
    with sqlite3.connect(tmp_path / "s.sqlite3") as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + SERIES_SQL.format(column="num", op=op),
            (1, low, 10.0, 10),
        ).fetchall()
    detail = " ".join(row[-1] for row in plan)
    assert "SEARCH points USING PRIMARY KEY (field=? AND step>? AND step<?)" in detail, detail
    assert "TEMP B-TREE" not in detail


async def test_a_page_deep_in_a_long_series_reads_only_that_page():
    """Count SQLite VM work: paging after step 99,990 of 100k points must not walk the series."""
    import sqlite3

    from neptune_sync_store.storage.base import lower_bound
    from neptune_sync_store.storage.sqlite import SCHEMA, SERIES_SQL, apply_batch

    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    apply_batch(conn, request([floats("s", 1, range(100_000))]))
    ticks = []
    conn.set_progress_handler(lambda: ticks.append(1), 100)
    op, low = lower_bound(-INF, 99_990.0)
    rows = conn.execute(SERIES_SQL.format(column="num", op=op), (1, low, INF, 100)).fetchall()
    assert [r[0] for r in rows] == [float(s) for s in range(99_991, 100_000)]
    assert len(ticks) < 20, f"{len(ticks) * 100} VM steps: the read walked the series"


async def test_model_versions_are_numbered_per_model_once(storage):
    """The store numbers a model version when it creates it (docs/models.md): per model and
    project, 1, 2, ... in arrival order, the same number for every later batch, and the number
    is the run's run_id and its sys/id field."""
    import asyncio

    def version(project: str, model: str, n: int) -> RunInfo:
        return RunInfo(project, f"{model}-local-{n}", f"{model}-local-{n}", kind="model_version", model_id=model)

    arrivals = [("team/a", "A-M", 1), ("team/a", "A-M", 2), ("team/a", "A-N", 3), ("team/b", "A-M", 4)]
    want = {"A-M-local-1": "A-M-1", "A-M-local-2": "A-M-2", "A-N-local-3": "A-N-1", "A-M-local-4": "A-M-1"}
    for project, model, n in arrivals:
        resp = await storage.apply_batch(request(sample_entries(), run=version(project, model, n)))
        assert resp.run_id == want[f"{model}-local-{n}"]
    for project, model, n in arrivals:  # a later batch of each: nothing renumbered
        info = version(project, model, n)
        later = [Entry(10_000, 5.0, ops.AssignFloat("late", 1.0))]
        assert (await storage.apply_batch(request(later, run=info))).run_id == want[info.run_id]
        found = await storage.find_run(project, want[info.run_id])
        assert found is not None and found.run_key == info.run_key and found.kind == "model_version"
        (sys_id,) = await storage.field_values(project, info.run_key, ["sys/id"])
        assert (sys_id.type, sys_id.value) == ("string", want[info.run_id])
    # versions arriving together get distinct numbers
    many = [version("team/c", "C-M", n) for n in range(8)]
    got = await asyncio.gather(*(storage.apply_batch(request(sample_entries(), run=v)) for v in many))
    assert sorted(r.run_id for r in got) == sorted(f"C-M-{n}" for n in range(1, 9))
    plain = await storage.apply_batch(request(sample_entries()))
    assert plain.run_id == RUN.run_id  # other kinds keep the id they were sent with
