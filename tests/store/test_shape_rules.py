"""The store keeps a path a field or a namespace, never both, and a run within the field limit
(neptune_sync.rules), on every backend and whatever batches the writes arrive in."""

from __future__ import annotations

import uuid

import pytest
from store_helpers import PROJECT, RUN, floats, request

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import OpConflict
from neptune_sync_store.plan import Shape, plan_batch


def assign(seq: int, path: str, value: int = 1, ts: float = 100.0) -> Entry:
    return Entry(seq, ts, ops.AssignInt(path, value))


async def paths(storage) -> dict[str, str]:
    return {f.path: f.type for f in await storage.field_infos(PROJECT, RUN.run_key)}


# ---------------------------------------------------------------- the planner alone


def test_a_field_and_a_namespace_at_one_path_conflict_within_one_batch():
    plan = plan_batch([assign(1, "ns"), assign(2, "ns/child"), assign(3, "a/b"), assign(4, "a")])
    assert plan.conflicts == [OpConflict(2, "ns", "int", "namespace"), OpConflict(4, "a", "namespace", "int")]
    assert sorted(plan.fields) == ["a/b", "ns"] and plan.applied_seq == 4


def test_a_delete_in_the_batch_frees_the_path_for_the_other_kind():
    entries = [assign(1, "ns"), Entry(2, 100.0, ops.DeleteField("ns")), assign(3, "ns/child")]
    entries += [Entry(4, 100.0, ops.DeleteField("ns/child")), assign(5, "ns")]
    plan = plan_batch(entries)
    assert plan.conflicts == [] and sorted(plan.fields) == ["ns"]


def test_the_store_shape_counts_fields_under_and_at_parents():
    shape = Shape(under={"ns": 2}, types={"p": "float"}, count=10)
    plan = plan_batch([assign(1, "ns"), assign(2, "p/q/r"), assign(3, "fresh")], shape=shape)
    assert plan.conflicts == [
        OpConflict(1, "ns", "namespace", "int"),
        OpConflict(2, "p", "float", "namespace"),
    ]
    assert sorted(plan.fields) == ["fresh"] and shape.count == 11


def test_the_field_limit_is_a_rejection_and_a_delete_makes_room():
    shape = Shape(count=2, limit=3)
    plan = plan_batch(
        [assign(1, "a"), assign(2, "b"), Entry(3, 100.0, ops.DeleteField("a")), assign(4, "b")], shape=shape
    )
    [rejection] = plan.rejected
    assert (rejection.seq, rejection.path) == (2, "b") and rejection.reason.endswith("[rule: field-limit]")
    assert "at most 3 fields" in rejection.reason and sorted(plan.fields) == ["b"] and shape.count == 3


# ---------------------------------------------------------------- every backend


@pytest.mark.asyncio
async def test_a_write_to_a_namespace_is_a_conflict_across_batches_and_writers(storage):
    await storage.apply_batch(request([assign(1, "ns/a/b"), assign(2, "ns/c")], writer="w1"))
    resp = await storage.apply_batch(
        request([assign(1, "ns"), assign(2, "ns/a"), assign(3, "ok")], writer="w2")
    )
    assert resp.conflicts == [
        OpConflict(1, "ns", "namespace", "int"),
        OpConflict(2, "ns/a", "namespace", "int"),
    ]
    assert resp.applied_seq == 3
    assert await paths(storage) == {"ns/a/b": "int", "ns/c": "int", "ok": "int"}


@pytest.mark.asyncio
async def test_a_write_under_a_field_is_a_conflict_naming_the_field(storage):
    await storage.apply_batch(request([floats("loss", 1, range(3)), assign(4, "nsx")], writer="w1"))
    resp = await storage.apply_batch(
        request([assign(1, "loss/x"), floats("loss/a/b", 2, range(2)), assign(4, "ns/x")], writer="w2")
    )
    assert resp.conflicts == [
        OpConflict(1, "loss", "floatSeries", "namespace"),
        OpConflict(2, "loss", "floatSeries", "namespace"),
    ]
    # "nsx" sorts between "ns/" and "ns0" only by its prefix: it is not under "ns"
    assert await paths(storage) == {"loss": "floatSeries", "ns/x": "int", "nsx": "int"}


@pytest.mark.asyncio
async def test_paths_that_share_a_prefix_are_not_a_namespace(storage):
    await storage.apply_batch(
        request([assign(1, "a-b"), assign(2, "a.b"), assign(3, "a0"), assign(4, "ab/c")])
    )
    resp = await storage.apply_batch(request([assign(1, "a")], writer="w2"))
    assert resp.conflicts == [] and "a" in await paths(storage)


@pytest.mark.asyncio
async def test_deleting_every_field_under_a_namespace_frees_the_path(storage):
    await storage.apply_batch(request([assign(1, "ns/a"), assign(2, "ns/b")], writer="w1"))
    deletes = [Entry(3, 101.0, ops.DeleteField("ns/a")), Entry(4, 101.0, ops.DeleteField("ns/b"))]
    resp = await storage.apply_batch(request([*deletes, assign(5, "ns", ts=102.0)], writer="w1"))
    assert resp.conflicts == [] and await paths(storage) == {"ns": "int"}
    resp = await storage.apply_batch(request([assign(1, "ns/a", ts=103.0)], writer="w2"))
    assert resp.conflicts == [OpConflict(1, "ns", "int", "namespace")]


@pytest.mark.asyncio
async def test_a_batch_that_would_pass_the_field_limit_is_refused_op_by_op(storage):
    from neptune_sync.rules import MAX_FIELDS

    first = [assign(i + 1, f"f/{i}") for i in range(MAX_FIELDS - 1)]
    assert (await storage.apply_batch(request(first, writer="w1"))).rejected == []
    n = MAX_FIELDS - 1
    resp = await storage.apply_batch(
        request([assign(1, "f/0", 7), assign(2, "last"), assign(3, "over"), assign(4, "f/1", 8)], writer="w2")
    )
    assert [(r.seq, r.path) for r in resp.rejected] == [(3, "over")]
    assert resp.rejected[0].reason.endswith("[rule: field-limit]") and resp.applied_seq == 4
    held = await paths(storage)
    assert len(held) == n + 1 == MAX_FIELDS and "over" not in held
    deleted = [Entry(5, 200.0, ops.DeleteField("last")), assign(6, "over", ts=200.0)]
    assert (await storage.apply_batch(request(deleted, writer="w2"))).rejected == []
    assert "over" in await paths(storage)


@pytest.mark.asyncio
async def test_deleting_a_field_in_the_batch_frees_its_path_for_a_namespace(storage):
    await storage.apply_batch(request([assign(1, "p")], writer="w1"))
    resp = await storage.apply_batch(
        request([Entry(1, 101.0, ops.DeleteField("p")), assign(2, "p/x")], writer="w2")
    )
    assert resp.conflicts == [] and await paths(storage) == {"p/x": "int"}


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_a_database_whose_collation_is_not_byte_order_finds_namespaces_exactly(tmp_path):
    """Under a linguistic collation ``a/`` < ``A/x`` < ``a0`` and ``a/`` < ``a+b`` < ``a0``: the
    range of the (run, path) index would take them for fields under ``a``."""
    import asyncpg
    from store_helpers import require_pg

    from neptune_sync_store.storage import make_storage

    dsn = await require_pg()
    name = f"nss_test_icu_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    except asyncpg.PostgresError as exc:
        await admin.close()
        pytest.skip(f"no ICU collation to test with: {exc}")
    storage = make_storage(dsn.rsplit("/", 1)[0] + "/" + name, tmp_path)
    try:
        await storage.open()
        await storage.apply_batch(request([assign(1, "A/x"), assign(2, "a+b"), assign(3, "b/c")]))
        resp = await storage.apply_batch(request([assign(1, "a"), assign(2, "b")], writer="w2"))
        assert resp.conflicts == [OpConflict(2, "b", "namespace", "int")]
        await storage.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
