"""Values the store can never hold exactly, on both backends: a malformed batch is a 400 that
changes nothing, an op that holds such a value is rejected alone (``OpRejection``) while the rest
of its batch applies; never a 5xx, and never a value stored differently from what was sent."""

from __future__ import annotations

import datetime as dt
import math

import aiohttp
import pytest
from store_helpers import PROJECT, RUN, encode, post_raw, put_blob, request, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchResponse, RunInfo

pytestmark = pytest.mark.asyncio

NAN, INF = math.nan, math.inf
ART = ops.ArtifactEntry("a.csv", sha(b"a"), 1, NAN, "/tmp/a.csv")

REJECTED_OPS = {
    "NUL in a string field": (ops.AssignString("p/s", "a\x00b"), "string-nul"),
    "NUL in a string series": (ops.LogStrings("p/s", (ops.StringPoint(0, "a\x00", 1.0),)), "string-nul"),
    "NUL in a tag": (ops.AddStrings("sys/tags", ("ok", "\x00")), "string-nul"),
    "NUL in a removed tag": (ops.RemoveStrings("sys/tags", ("\x00",)), "string-nul"),
    "NUL in an artifact source": (
        ops.TrackArtifact("p/a", (ops.ArtifactEntry("a", sha(b"a"), 1, 1.0, "/x\x00"),), sha(b"x")),
        "string-nul",
    ),
    "int beyond 64 bits": (ops.AssignInt("p/i", 2**63), "int-range"),
    "naive datetime": (ops.AssignDatetime("p/d", dt.datetime(2024, 1, 1)), "datetime-aware"),
    "step beyond 2**53": (ops.LogFloats("p/f", (ops.FloatPoint(2.0**53 + 2, 1.0, 1.0),)), "step-range"),
    "NaN step": (ops.LogStrings("p/s", (ops.StringPoint(NAN, "a", 1.0),)), "step-range"),
    "NaN artifact mtime": (ops.TrackArtifact("p/a", (ART,), sha(b"x")), "float-finite"),
    "inf float": (ops.AssignFloat("p/x", INF), "float-finite"),
}

MALFORMED = {
    "seq 2**63": ([Entry(2**63, 1.0, ops.AssignInt("a", 1))], RUN, "beyond 2**63"),
    "series ending beyond 2**63": (
        [Entry(2**63 - 1, 1.0, ops.LogFloats("f", (ops.FloatPoint(0, 1, 1), ops.FloatPoint(1, 1, 1))))],
        RUN,
        "beyond 2**63",
    ),
    "entry ts inf": ([Entry(1, INF, ops.AssignInt("a", 1))], RUN, "timestamp"),
    "entry ts NaN": ([Entry(1, NAN, ops.AssignInt("a", 1))], RUN, "timestamp"),
    "entry ts negative": ([Entry(1, -1.0, ops.AssignInt("a", 1))], RUN, "timestamp"),
    "point ts NaN": ([Entry(1, 1.0, ops.LogFloats("f", (ops.FloatPoint(0, 1, NAN),)))], RUN, "timestamp"),
    "point ts 1e12": ([Entry(1, 1.0, ops.LogFloats("f", (ops.FloatPoint(0, 1, 1e12),)))], RUN, "timestamp"),
    "NUL in run id": ([Entry(1, 1.0, ops.AssignInt("a", 1))], RunInfo(PROJECT, "k-nul", "R\x00"), "run_id"),
    "NUL in custom run id": (
        [Entry(1, 1.0, ops.AssignInt("a", 1))],
        RunInfo(PROJECT, "k-nul", "R", custom_run_id="c\x00"),
        "custom_run_id",
    ),
    "negative file size": (
        [Entry(1, 1.0, ops.TrackArtifact("p/a", (ops.ArtifactEntry("a", sha(b"a"), -1, 1.0),), sha(b"x")))],
        RUN,
        "file size",
    ),
}


async def values(store, run_key=RUN.run_key):
    return {v.path: v.value for v in await store.storage.field_values(PROJECT, run_key, [])}


@pytest.mark.parametrize("case", sorted(REJECTED_OPS))
async def test_an_op_with_an_unstorable_value_is_rejected_alone(any_store, case):
    op, rule = REJECTED_OPS[case]
    token = await any_store.token(PROJECT)
    entries = [Entry(1, 5.0, ops.AssignInt("before", 1))]
    entries.append(Entry(2, 6.0, op))
    entries.append(Entry(2 + ops.op_point_count(op), 7.0, ops.AssignInt("after", 2)))
    async with aiohttp.ClientSession() as session:
        status, answer, _ = await post_raw(session, any_store.url, token, encode(request(entries)))
    assert status == 200, answer
    assert isinstance(answer, BatchResponse)
    assert answer.applied_seq == entries[-1].seq
    assert [(r.seq, r.path) for r in answer.rejected] == [(2, op.path)]
    assert f"[rule: {rule}]" in answer.rejected[0].reason
    assert await values(any_store) == {"before": 1, "after": 2}
    run = await any_store.storage.find_run(PROJECT, RUN.run_key)
    assert run.created == 5.0


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_a_malformed_batch_is_400_and_changes_nothing(any_store, case):
    entries, run, fragment = MALFORMED[case]
    token = await any_store.token(PROJECT)
    before = await any_store.storage.dump()
    async with aiohttp.ClientSession() as session:
        status, answer, _ = await post_raw(session, any_store.url, token, encode(request(entries, run=run)))
        assert status == 400, answer
        assert fragment in answer["message"], answer
        async with session.get(
            f"{any_store.url}/v1/runs",
            params={"project": PROJECT},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 200
    assert await any_store.storage.dump() == before


async def test_the_largest_seq_and_timestamps_at_the_limits_are_stored_exactly(any_store):
    token = await any_store.token(PROJECT)
    top = 2**63 - 1
    entries = [
        Entry(1, 0.0, ops.AssignInt("i", -(2**63))),
        Entry(2, 99_999_999_999.0, ops.LogFloats("f", (ops.FloatPoint(-(2.0**53), 1.5, 0.0),))),
        Entry(top, 1.0, ops.AssignString("s", "last")),
    ]
    async with aiohttp.ClientSession() as session:
        status, answer, _ = await post_raw(session, any_store.url, token, encode(request(entries)))
    assert status == 200 and answer.applied_seq == top and not answer.rejected, answer
    assert await any_store.storage.acked_seq(PROJECT, RUN.run_key, "w1") == top
    assert await values(any_store) == {"i": -(2**63), "f": 1.5, "s": "last"}
    page = await any_store.storage.series(
        PROJECT, RUN.run_key, "f", start=-INF, stop=INF, after=-INF, limit=9
    )
    assert [tuple(p) for p in page.points] == [(-(2.0**53), 1.5, 0.0)]


async def test_negative_zero_is_stored_as_zero_on_both_backends(any_store):
    """SQLite cannot keep the sign of -0.0 in a numeric column; both backends store 0.0."""
    token = await any_store.token(PROJECT)
    entries = [
        Entry(1, -0.0, ops.AssignFloat("f", -0.0)),
        Entry(2, 1.0, ops.LogFloats("s", (ops.FloatPoint(-0.0, -0.0, -0.0),))),
        Entry(3, 1.0, ops.LogStrings("t", (ops.StringPoint(-0.0, "x", -0.0),))),
    ]
    async with aiohttp.ClientSession() as session:
        status, answer, _ = await post_raw(session, any_store.url, token, encode(request(entries)))
    assert status == 200 and not answer.rejected, answer
    storage = any_store.storage
    served = [(await storage.find_run(PROJECT, RUN.run_key)).created]
    for fv in await storage.field_values(PROJECT, RUN.run_key, []):
        served += [fv.value] if fv.type == "float" else [fv.last_step]
        if fv.type != "float":
            page = await storage.series(
                PROJECT, RUN.run_key, fv.path, start=-INF, stop=INF, after=-INF, limit=9
            )
            served += [x for p in page.points for x in p if isinstance(x, float)]
    assert len(served) == 9 and all(x == 0.0 and math.copysign(1.0, x) == 1.0 for x in served), served
    assert b"\xcb\x80" + b"\x00" * 7 not in await storage.dump()  # no -0.0 anywhere


async def test_a_file_reference_whose_size_is_not_the_blobs_is_400(any_store):
    token = await any_store.token(PROJECT)
    data = b"hello"
    wrong = ops.FileRef(sha(data), 999, "hello.txt", "txt")
    async with aiohttp.ClientSession() as session:
        assert await put_blob(session, any_store.url, token, data) == 201
        before = await any_store.storage.dump()
        body = encode(request([Entry(1, 1.0, ops.AssignFile("f", wrong))]))
        status, answer, _ = await post_raw(session, any_store.url, token, body)
    assert status == 400 and "file size 999 is not the 5 bytes" in answer["message"], answer
    assert await any_store.storage.dump() == before
