"""Pure policies: retry/backoff, batching and trimming, conflict resolution. No I/O, no event loop."""

from __future__ import annotations

import email.utils

import pytest

from neptune_sync.wire import ops as o
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import OpConflict
from neptune_syncd.batching import Batch, BatchPolicy, entry_bytes, split, trim
from neptune_syncd.conflicts import CONFLICTS_FIELD, audit, coerce, resolve
from neptune_syncd.retry import Backoff, classify_status, parse_retry_after, suspects_batch


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "ok"), (201, "ok"), (401, "auth"), (403, "auth"), (408, "transient"), (429, "transient")]
    + [(500, "transient"), (502, "transient"), (503, "transient"), (599, "transient")]
    + [(400, "permanent"), (404, "permanent"), (409, "permanent"), (413, "permanent"), (422, "permanent")],
)
def test_status_classification(status, kind):
    assert classify_status(status) == kind


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("3", now=0) == 3.0
    assert parse_retry_after(" 0.5 ", now=0) == 0.5
    assert parse_retry_after("-4", now=0) == 0.0
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(10.0)
    for bad in (None, "", "soon", "nan"):
        assert parse_retry_after(bad, now=0) is None


def test_backoff_doubles_to_cap_with_full_jitter():
    top = Backoff(base=0.1, cap=1.0, rand=lambda: 1.0)
    assert [round(top.next_delay(), 3) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    bottom = Backoff(base=0.1, cap=1.0, rand=lambda: 0.0)
    assert [bottom.next_delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    top.reset()
    assert top.next_delay() == pytest.approx(0.1)


def test_backoff_honours_retry_after_up_to_a_limit():
    b = Backoff(base=0.1, cap=1.0, max_retry_after=30.0, rand=lambda: 0.5)
    assert b.next_delay(retry_after=5.0) == 5.0  # more than the jittered backoff: the store's word
    assert b.next_delay(retry_after=0.0) == pytest.approx(0.1)  # never less than backoff
    assert b.next_delay(retry_after=1e9) == 30.0
    many = Backoff(base=0.1, cap=2.0, rand=lambda: 1.0)
    for _ in range(200):  # no overflow after a long outage
        assert many.next_delay() <= 2.0


def floats(seq, n, path="m"):
    return Entry(seq, 1.0, o.LogFloats(path, tuple(o.FloatPoint(i, float(i), 1.0 + i) for i in range(n))))


def test_trim_drops_acknowledged_points_of_a_grown_frame():
    e = floats(10, 5)  # seqs 10..14
    assert trim(e, 9) is e
    assert trim(e, 14) is None
    assert trim(e, 100) is None
    rest = trim(e, 11)
    assert (rest.seq, rest.last_seq) == (12, 14)
    assert [p.step for p in rest.op.points] == [2, 3, 4]
    assert rest.ts == rest.op.points[0].ts
    single = Entry(7, 1.0, o.AssignInt("x", 1))
    assert trim(single, 6) is single and trim(single, 7) is None


def test_batch_full_by_ops_or_bytes_and_due_by_latency():
    batch = Batch(BatchPolicy(max_ops=10, max_bytes=10_000, max_latency=0.5))
    assert not batch.due(now=100.0, writer_alive=False)  # empty: nothing to send
    batch.add(floats(1, 4))
    assert not batch.full() and batch.ops == 4 and batch.last_seq == 4
    assert batch.due(now=1.2, writer_alive=True) is False  # oldest op 0.2 s old
    assert batch.due(now=1.5, writer_alive=True) is True
    assert batch.due(now=1.0, writer_alive=False) is True  # a finished writer waits for nothing
    batch.add(floats(5, 6))
    assert batch.full()
    by_bytes = Batch(BatchPolicy(max_ops=10**9, max_bytes=200))
    by_bytes.add(floats(1, 5))
    assert not by_bytes.full()
    by_bytes.add(floats(6, 5))
    assert by_bytes.full() and by_bytes.bytes == 2 * entry_bytes(floats(1, 5))


def test_split_halves_until_one_entry():
    entries = [Entry(i, 1.0, o.AssignInt("x", i)) for i in range(1, 6)]
    left, right = split(entries)
    assert left + right == entries and len(left) == 2
    assert split(entries[:1]) == (entries[:1], [])


def conflict(path, existing, attempted):
    return OpConflict(5, path, existing, attempted)


def test_coercion_is_lossless_only():
    assert coerce(o.AssignInt("x", 3), "float") == o.AssignFloat("x", 3.0)
    assert coerce(o.AssignFloat("x", 4.0), "int") == o.AssignInt("x", 4)
    assert coerce(o.AssignFloat("x", 4.5), "int") is None
    assert coerce(o.AssignInt("x", 2**60 + 1), "float") is None  # would round
    assert coerce(o.AssignString("x", "3"), "float") is None


def test_default_policy_coerces_else_renames_and_always_records():
    res = resolve(o.AssignInt("lr", 1), conflict("lr", "float", "int"))
    assert res.action == "coerced" and res.ops[0] == o.AssignFloat("lr", 1.0)
    assert res.ops[1].path == CONFLICTS_FIELD and "lr" in res.ops[1].values[0]
    res = resolve(o.AssignString("lr", "high"), conflict("lr", "float", "string"))
    assert res.ops[0] == o.AssignString("lr__conflict_string", "high")
    assert res.action == "renamed to lr__conflict_string" and not res.quarantine
    series = o.LogFloats("acc", (o.FloatPoint(0, 1.0, 1.0),))
    assert resolve(series, conflict("acc", "float", "floatSeries")).ops[0].path == "acc__conflict_floatSeries"


def test_rename_and_quarantine_policies_and_no_second_rename():
    assert (
        resolve(o.AssignInt("lr", 1), conflict("lr", "float", "int"), "rename").ops[0].path
        == "lr__conflict_int"
    )
    q = resolve(o.AssignInt("lr", 1), conflict("lr", "float", "int"), "quarantine")
    assert q.quarantine and [op.path for op in q.ops] == [CONFLICTS_FIELD]
    again = resolve(o.AssignInt("lr__conflict_int", 1), conflict("lr__conflict_int", "string", "int"))
    assert again.quarantine
    with pytest.raises(ValueError, match="conflict_policy"):
        resolve(o.AssignInt("x", 1), conflict("x", "float", "int"), "drop")


def test_audit_finds_conflicts_a_lost_answer_would_have_reported():
    entries = [
        Entry(1, 1.0, o.AssignInt("lr", 3)),  # store holds a float: conflict
        Entry(2, 1.0, o.AssignFloat("ok", 1.0)),  # same type: fine
        Entry(3, 1.0, o.AssignString("gone", "x")),  # deleted below: its type may differ now
        Entry(4, 1.0, o.DeleteField("gone")),
        Entry(5, 1.0, o.ClearSeries("s")),  # type-agnostic
        Entry(6, 1.0, o.AssignBool("new", True)),  # deleted later by someone: not in the store
        Entry(7, 1.0, o.AssignString("known", "y")),  # already reported in the answer
    ]
    types = {"lr": "float", "ok": "float", "gone": "int", "s": "string", "known": "int"}
    assert audit(entries, types, known={7}) == [OpConflict(1, "lr", "float", "int")]
    assert audit(entries, {}, known=set()) == []


def test_only_repeated_500s_suspect_the_batch_not_a_store_that_is_down_or_busy():
    assert [s for s in (0, 200, 400, 408, 429, 500, 501, 502, 503, 504, 507) if suspects_batch(s)] == [
        500,
        501,
        507,
    ]


def test_namespace_conflicts_rename_beside_or_move_under_the_field_and_never_loop():
    res = resolve(o.AssignInt("ns", 1), conflict("ns", "namespace", "int"))
    assert res.ops[0] == o.AssignInt("ns__conflict_int", 1) and not res.quarantine
    assert res.ops[1].values == ("ns: int written to a namespace; renamed to ns__conflict_int",)
    series = o.LogFloats("loss/a/b", (o.FloatPoint(0, 1.0, 1.0),))
    res = resolve(series, conflict("loss", "floatSeries", "namespace"))
    assert res.ops[0] == o.LogFloats("loss__conflict_namespace/a/b", series.points)
    assert "written under the floatSeries field loss" in res.ops[1].values[0]
    moved = resolve(res.ops[0], conflict("loss__conflict_namespace", "int", "namespace"))
    renamed = resolve(o.AssignInt("ns__conflict_int", 1), conflict("ns__conflict_int", "namespace", "int"))
    assert moved.quarantine and renamed.quarantine


def test_audit_finds_namespace_conflicts_a_lost_answer_would_have_reported():
    entries = [
        Entry(1, 1.0, o.AssignInt("ns", 1)),  # the store holds ns/child: ns is a namespace
        Entry(2, 1.0, o.AssignInt("f/x", 2)),  # the store holds the field f
        Entry(3, 1.0, o.AssignInt("g/x", 3)),  # g is deleted below: its x may have applied
        Entry(4, 1.0, o.DeleteField("g")),
        Entry(5, 1.0, o.AssignInt("ok/y", 4)),
    ]
    types = {"ns/child": "int", "f": "string", "g": "int", "ok/y": "int", "ok/z": "int"}
    assert audit(entries, types, known=set()) == [
        OpConflict(1, "ns", "namespace", "int"),
        OpConflict(2, "f", "string", "namespace"),
    ]
