"""Property: any batching of a writer's entries — re-sent, overlapping, split or trimmed mid-series, or a
stale copy arriving last — leaves the store byte-for-byte as one replay of all entries (SQLite in
memory, the planner and SQL for real). Set removals, clears and file-set resets make a second
application of an op visible, so the store's idempotency by seq is what this checks."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import request

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync_store.storage.sqlite import SCHEMA, apply_batch, dump_database

PATHS = st.sampled_from(["a", "b", "s/x"])
STEPS = st.lists(st.integers(0, 30).map(float), min_size=1, max_size=6)

OPS = st.one_of(
    st.builds(ops.AssignFloat, PATHS, st.floats(-1e6, 1e6)),
    st.builds(ops.AssignInt, PATHS, st.integers(-(2**40), 2**40)),
    st.builds(ops.AssignString, PATHS, st.text(max_size=5)),
    st.builds(
        lambda p, steps: ops.LogFloats(p, tuple(ops.FloatPoint(s, s * 2, s) for s in steps)), PATHS, STEPS
    ),
    st.builds(
        lambda p, steps: ops.LogStrings(p, tuple(ops.StringPoint(s, str(s), s) for s in steps)), PATHS, STEPS
    ),
    st.builds(ops.AddStrings, PATHS, st.lists(st.sampled_from("xyz"), max_size=3).map(tuple)),
    st.builds(ops.RemoveStrings, PATHS, st.lists(st.sampled_from("xyz"), min_size=1, max_size=2).map(tuple)),
    st.builds(ops.ClearStringSet, PATHS),
    st.builds(
        ops.DeleteFileSetFiles, PATHS, st.lists(st.sampled_from("pq"), min_size=1, max_size=2).map(tuple)
    ),
    st.builds(
        lambda p, rels, reset: ops.UploadFileSet(
            p, tuple(ops.FileSetEntry(r, ops.FileRef("e" * 64, 1)) for r in rels), reset
        ),
        PATHS,
        st.lists(st.sampled_from("pq"), min_size=1, max_size=2, unique=True),
        st.booleans(),
    ),
    st.builds(ops.ClearSeries, PATHS),
    st.builds(ops.DeleteField, PATHS),
)


def with_seqs(items: list[ops.Op]) -> list[Entry]:
    entries, seq = [], 1
    for i, op in enumerate(items):
        entries.append(Entry(seq, float(i), op))  # the points' own timestamps step back and forth
        seq += ops.op_point_count(op)
    return entries


def trimmed(entry: Entry, k: int) -> Entry:
    """The entry as a daemon re-sends it after the store acked its first k points."""
    points = getattr(entry.op, "points", None)
    if not points or k <= 0 or k >= len(points):
        return entry
    return Entry(entry.seq + k, entry.ts, type(entry.op)(entry.op.path, points[k:]))


def head(entry: Entry, k: int) -> Entry:
    """The first k points of a series entry, as a daemon that splits a long entry sends them."""
    return Entry(entry.seq, entry.ts, type(entry.op)(entry.op.path, entry.op.points[:k]))


def fresh() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    return conn


@settings(max_examples=150, deadline=None)
@given(items=st.lists(OPS, min_size=1, max_size=25), data=st.data())
def test_any_overlapping_batching_equals_one_replay(items, data):
    entries = with_seqs(items)
    one = fresh()
    single = apply_batch(one, request(entries))
    many = fresh()
    start = applied = 0
    while start < len(entries):
        end = data.draw(st.integers(start + 1, len(entries)), label="end")
        back = data.draw(st.integers(0, start), label="back")
        batch = entries[back:end]
        acked_points = applied - batch[0].seq + 1  # only what the store already has may be trimmed
        batch[0] = trimmed(batch[0], min(acked_points, data.draw(st.integers(0, 5), label="trim")))
        cut = data.draw(st.integers(0, 5), label="cut")
        split = 0 < cut < len(getattr(batch[-1].op, "points", ()))
        if split:  # the batch ends inside a series entry; the next one re-sends that entry
            batch[-1] = head(batch[-1], cut)
        last = apply_batch(many, request(batch))
        start, applied = (end - 1 if split else end), last.applied_seq
    assert last.applied_seq == single.applied_seq == entries[-1].last_seq
    assert dump_database(many) == dump_database(one)
    apply_batch(one, request(entries))  # and a full re-send changes nothing
    assert dump_database(one) == dump_database(many)
    stale = data.draw(st.integers(0, len(entries) - 1), label="stale")
    apply_batch(many, request(entries[stale : stale + 3]))  # nor a late copy of an old batch
    assert dump_database(many) == dump_database(one)
