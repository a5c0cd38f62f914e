"""The pure planner: idempotency by seq, straddling series, type rules, deletes and clears."""

from __future__ import annotations

import math

from store_helpers import floats

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import OpConflict
from neptune_sync_store.plan import FieldState, plan_batch


def steps_of(state: FieldState) -> list[float]:
    """Steps of the points a plan inserts for a field."""
    return sorted(p[0] for p in [*state.plain, *state.points])


def test_entries_at_or_below_applied_seq_change_nothing():
    plan = plan_batch([Entry(1, 0.0, ops.AssignFloat("a", 1.0)), Entry(2, 0.0, ops.AssignInt("b", 2))], 2, {})
    assert plan.applied_seq == 2
    assert list(plan.dirty()) == []


def test_straddling_series_entry_applies_only_points_above_applied_seq():
    plan = plan_batch([floats("s", 5, range(10))], 7, {})  # seqs 5..14, 5..7 already applied
    state = plan.fields["s"]
    assert steps_of(state) == [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert plan.applied_seq == 14
    assert state.value == 4.5 and state.last_step == 9.0


def test_type_conflict_is_reported_per_op_and_advances_applied_seq():
    existing = {"a": FieldState("float", 1.0, id=3)}
    plan = plan_batch(
        [Entry(1, 0.0, ops.AssignString("a", "x")), Entry(2, 0.0, ops.AssignFloat("a", 2.0))], 0, existing
    )
    assert plan.conflicts == [OpConflict(1, "a", "float", "string")]
    assert plan.fields["a"].value == 2.0
    assert plan.applied_seq == 2


def test_delete_then_write_another_type_drops_the_old_field():
    existing = {"a": FieldState("floatSeries", 1.0, 4.0, id=7)}
    entries = [Entry(1, 0.0, ops.DeleteField("a")), Entry(2, 0.0, ops.AssignString("a", "now a string"))]
    plan = plan_batch(entries, 0, existing)
    assert plan.deleted_ids == [7]
    assert plan.fields["a"].id is None and plan.fields["a"].type == "string"
    assert plan.conflicts == []


def test_clear_series_wipes_stored_and_pending_points_then_accepts_lower_steps():
    existing = {"s": FieldState("floatSeries", 1.0, 100.0, id=2)}
    entries = [
        floats("s", 1, range(101, 103)),
        Entry(3, 0.0, ops.ClearSeries("s")),
        floats("s", 4, range(0, 2)),
    ]
    plan = plan_batch(entries, 0, existing)
    assert plan.cleared_ids == [2]
    assert steps_of(plan.fields["s"]) == [0.0, 1.0]


def test_clear_on_a_non_series_field_is_a_conflict():
    plan = plan_batch([Entry(1, 0.0, ops.ClearSeries("a"))], 0, {"a": FieldState("int", 3, id=1)})
    assert plan.conflicts == [OpConflict(1, "a", "int", "series")]


def test_points_at_or_below_the_last_step_are_dropped():
    existing = {"s": FieldState("floatSeries", 1.0, 5.0, id=2)}
    plan = plan_batch([floats("s", 1, range(3, 8))], 0, existing)
    assert steps_of(plan.fields["s"]) == [6.0, 7.0]


def test_non_finite_values_are_rejected_per_op_and_the_rest_applies():
    bad = Entry(1, 0.0, ops.LogFloats("s", (ops.FloatPoint(0.0, math.nan, 0.0),)))
    plan = plan_batch(
        [bad, Entry(2, 0.0, ops.AssignFloat("a", math.inf)), Entry(3, 0.0, ops.AssignInt("b", 1))], 0, {}
    )
    assert [(r.seq, r.path) for r in plan.rejected] == [(1, "s"), (2, "a")]
    assert set(plan.fields) == {"b"}
    assert plan.applied_seq == 3


def test_string_set_and_file_set_operations_compose():
    ref = ops.FileRef("a" * 64, 1, "x.bin", "bin")
    entries = [
        Entry(1, 0.0, ops.AddStrings("t", ("b", "a", "c"))),
        Entry(2, 0.0, ops.RemoveStrings("t", ("c",))),
        Entry(3, 0.0, ops.UploadFileSet("f", (ops.FileSetEntry("x/1", ref), ops.FileSetEntry("x/2", ref)))),
        Entry(4, 0.0, ops.DeleteFileSetFiles("f", ("x/1",))),
    ]
    plan = plan_batch(entries, 0, {})
    assert plan.fields["t"].value == ["a", "b"]
    assert list(plan.fields["f"].value) == ["x/2"]
    plan = plan_batch(
        [Entry(5, 0.0, ops.UploadFileSet("f", (ops.FileSetEntry("y", ref),), reset=True))], 4, plan.fields
    )
    assert list(plan.fields["f"].value) == ["y"]


def test_a_step_going_back_inside_an_entry_drops_only_that_point():
    entry = Entry(1, 0.0, ops.LogFloats("s", tuple(ops.FloatPoint(s, s, 0.0) for s in (0.0, 2.0, 1.0, 3.0))))
    plan = plan_batch([entry], 0, {})
    assert steps_of(plan.fields["s"]) == [0.0, 2.0, 3.0]
    assert plan.fields["s"].value == 3.0
