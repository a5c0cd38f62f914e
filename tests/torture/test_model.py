"""The model itself: it must see a lost, a duplicated, a resurrected and an invented value, and
accept what a kill may legitimately leave (the call in flight, either way)."""

from __future__ import annotations

import copy

from torture_journal import Journal, read_journal
from torture_model import build, compare


def journal_of(tmp_path, calls, killed=False):
    journal = Journal(tmp_path / "j")
    for call in calls:
        journal.call(*call)
    if not killed:
        journal.call("end")
    journal.close()
    return read_journal(tmp_path / "j")


CALLS = [
    ("init", "r"),
    ("a", "params/note", "p0"),
    ("p", "series/p0", 0, 0.5),
    ("p", "series/p0", 1, 1.5),
    ("tag", "p0-1"),
    ("tag", "p0-2"),
    ("untag", "p0-1"),
    ("p", "scratch/p0", 0, 7.0),
    ("del", "scratch/p0"),
    ("p", "scratch/p0", 0, 1e6),
    ("stop",),
]
STORE = {
    "params/note": ("string", "p0"),
    "series/p0": ("floatSeries", [[0, 0.5, None], [1, 1.5, None]]),
    "scratch/p0": ("floatSeries", [[0, 1e6, None]]),
    "sys/tags": ("stringSet", ["p0-2"]),
    "sys/state": ("string", "Inactive"),
    "sys/custom_run_id": ("string", "r"),
}


def with_times(view, calls):
    """The store view with each point's ts inside its call's window."""
    view = copy.deepcopy(view)
    for c in calls:
        if c.kind == "p":
            for point in view[c.args[0]][1]:
                if point[0] == c.args[1] and point[1] == c.args[2]:
                    point[2] = c.t0
    return view


def test_the_model_accepts_an_equal_store(tmp_path):
    calls = journal_of(tmp_path, CALLS)
    report = compare(build([calls])["r"], with_times(STORE, calls))
    assert report.ok, report.problems


def test_the_model_counts_lost_duplicated_resurrected_and_invented(tmp_path):
    calls = journal_of(tmp_path, CALLS)
    model = build([calls])["r"]
    base = with_times(STORE, calls)
    cases = {
        "lost": lambda v: v["series/p0"][1].pop(),
        "duplicated": lambda v: v["series/p0"][1].append(list(v["series/p0"][1][-1])),
        "invented": lambda v: v["series/p0"][1].append([5, 9.0, v["series/p0"][1][0][2]]),
    }
    for kind, damage in cases.items():
        view = copy.deepcopy(base)
        damage(view)
        assert getattr(compare(model, view), kind) == 1, kind
    resurrected = copy.deepcopy(base)
    resurrected["scratch/p0"] = ("floatSeries", [[0, 7.0, base["scratch/p0"][1][0][2]]])
    assert "deleted, yet served" in " ".join(compare(model, resurrected).problems)
    for path, value in [("sys/tags", ["p0-1", "p0-2"]), ("params/note", "A"), ("sys/state", "Active")]:
        view = copy.deepcopy(base)
        view[path] = (view[path][0], value)
        assert not compare(model, view).ok, path


def test_the_call_in_flight_may_or_may_not_be_in_the_store(tmp_path):
    calls = journal_of(tmp_path, [*CALLS[:4], ("p", "series/p0", 2, 2.5)], killed=True)
    model = build([calls])["r"]
    view = {"series/p0": ("floatSeries", [[0, 0.5, calls[2].t0], [1, 1.5, calls[3].t0]]),
            "params/note": ("string", "p0"), "sys/state": ("string", "Active")}
    assert compare(model, view).ok
    view["series/p0"][1].append([2, 2.5, calls[4].t0])
    assert compare(model, view).ok
    view["series/p0"][1][2][1] = 3.5
    assert compare(model, view).invented == 1
