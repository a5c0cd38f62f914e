"""The store model (tests/daemon/store_model.py) on hand-written cases from docs/sync-protocol.md:
the oracle of the daemon's tests is itself checked against the protocol's examples."""

from __future__ import annotations

from store_model import MemoryStore

from neptune_sync.wire import ops as o
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import OpConflict, RunInfo

RUN = RunInfo("team/proj", "r", "RUN-1")


def floats(path: str, *steps: float) -> o.LogFloats:
    return o.LogFloats(path, tuple(o.FloatPoint(s, s * 10, 1.0) for s in steps))


def entries(*ops: o.Op) -> list[Entry]:
    out, seq = [], 1
    for op in ops:
        out.append(Entry(seq, 1.0, op))
        seq += len(getattr(op, "points", ())) or 1
    return out


def test_type_and_path_conflicts_are_reported_and_the_applied_seq_advances():
    store = MemoryStore()
    batch = entries(
        o.AssignInt("a", 1),
        o.AssignString("a", "x"),  # rule 4: another type
        o.AssignInt("a/b", 2),  # under the field a
        o.AssignInt("n/x", 3),
        o.AssignInt("n", 4),  # at a path with fields under it
        o.ClearSeries("a"),  # a clear on a non-series field
    )
    response = store.write_batch(RUN, "w", batch)
    assert response.applied_seq == 6
    assert response.conflicts == [
        OpConflict(2, "a", "int", "string"),
        OpConflict(3, "a", "int", "namespace"),
        OpConflict(5, "n", "namespace", "int"),
        OpConflict(6, "a", "int", "series"),
    ]
    assert store.values("r") == {"a": ("int", 1), "n/x": ("int", 3)}


def test_a_delete_frees_the_path_for_another_type():
    store = MemoryStore()
    store.write_batch(RUN, "w", entries(o.AssignInt("a", 1), o.DeleteField("a"), o.AssignString("a", "x")))
    assert store.values("r") == {"a": ("string", "x")}


def test_points_whose_step_is_not_above_the_last_kept_one_are_dropped_until_a_clear():
    store = MemoryStore()
    store.write_batch(
        RUN, "w", entries(floats("s", 1, 3, 2, 3, 4), floats("s", 4, 0), o.ClearSeries("s"), floats("s", 0))
    )
    assert store.values("r") == {"s": ("floatSeries", [(0, 0, 1.0)])}
    store.write_batch(RUN, "v", entries(floats("t", 1, 3, 2, 3, 4)))
    assert [p[0] for p in store.values("r")["t"][1]] == [1, 3, 4]


def test_a_resent_batch_applies_only_the_points_above_the_applied_seq():
    store = MemoryStore()
    store.write_batch(RUN, "w", entries(floats("s", 1, 2)))
    response = store.write_batch(RUN, "w", entries(floats("s", 1, 2, 5)))  # seqs 1-3, 1-2 applied
    assert response.applied_seq == 3
    assert [p[0] for p in store.values("r")["s"][1]] == [1, 2, 5]
    assert store.write_batch(RUN, "w", entries(floats("s", 1, 2, 5))).applied_seq == 3


def test_the_field_limit_refuses_new_fields_but_not_the_daemons_records():
    store = MemoryStore(max_fields=2)
    response = store.write_batch(
        RUN,
        "w",
        entries(o.AssignInt("a", 1), o.AssignInt("b", 2), o.AssignInt("c", 3), o.AssignInt("sys/sync/x", 4)),
    )
    assert [(r.seq, r.path) for r in response.rejected] == [(3, "c")]
    assert "field-limit" in response.rejected[0].reason
    assert set(store.values("r")) == {"a", "b", "sys/sync/x"}
