"""The local read-back of a run's real segments (neptune_sync.replay, what ``show`` and ``fetch*()``
report) equals the store fed those writers' entries in every order, and the independent model.

Three writers log interleaved to one run with the real log writer: one series from all three
(interleaved steps, then the same steps),
points with timestamps stepping back, assigns, set adds and removals, a clear, a delete followed
by a re-creation of the same type, file sets with a reset and deletions. A fourth writer resumes
the run with a causal floor above them all while its clock is far behind: its records still
follow theirs.
"""

from __future__ import annotations

import itertools
import random
import sqlite3

import pytest
from merge_model import content
from store_helpers import dumped_content, request

from neptune_sync.oplog.reader import read_run
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.replay import replay
from neptune_sync.wire import ops as o
from neptune_sync_store.storage.sqlite import SCHEMA, apply_batch, dump_database

REF = o.FileRef("a" * 64, 3, "x.bin", "bin")
REF2 = o.FileRef("b" * 64, 4, "y.bin", "bin")
FLOOR = {"wd": 200.0}  # the resumed writer's: above every other writer's order time


def file_dict(ref: o.FileRef) -> dict:
    return {"sha256": ref.sha256, "size": ref.size, "name": ref.name, "extension": ref.extension}


def log_three_writers(segments) -> dict[str, list[tuple]]:
    """Write the run; returns the same records as merge_model takes them, per writer id."""
    ws = {n: OpLogWriter(segments, project="p/q", run_key="k", writer_id=n) for n in ("wa", "wb", "wc")}
    model: dict[str, list[tuple]] = {n: [] for n in ws}

    def op(n: str, rec: tuple, operation: o.Op, ts: float) -> None:
        ws[n].append(operation, ts=ts)
        model[n].append((*rec, ts))

    def point(n: str, path: str, step: float, value: float, ts: float) -> None:
        ws[n].append_float(path, step, value, ts)
        model[n].append(("points", path, "floatSeries", [(float(step), value, ts)]))

    for i in range(30):  # wa even steps, wb odd ones and then the same as wa's; wc lower steps
        point("wa", "loss", 2 * i, float(i), 100.0 + i)
        point("wb", "loss", 2 * i + 1 if i < 20 else 2 * i, -float(i), 100.5 + i)
        if i >= 10:
            point("wc", "loss", i - 10, 0.5, 100.25 + i)
    op("wa", ("assign", "note", "string", "A"), o.AssignString("note", "A"), 131.0)
    op("wb", ("assign", "note", "string", "B"), o.AssignString("note", "B"), 131.0)  # tie: wb > wa
    op("wc", ("sadd", "tags", ("x", "y")), o.AddStrings("tags", ("x", "y")), 120.0)
    op("wa", ("sremove", "tags", ("x",)), o.RemoveStrings("tags", ("x",)), 132.0)
    op("wb", ("sadd", "tags", ("x",)), o.AddStrings("tags", ("x",)), 131.5)
    for i in range(3):
        point("wb", "loss2", 10 + i, 1.0, 120.0 + i)
    op("wc", ("clear", "loss2", 133.0), o.ClearSeries("loss2"), 133.0)
    point("wc", "loss2", 3, 3.0, 134.0)  # after wa's 80, so dropped
    point("wa", "loss2", 80, 4.0, 133.5)  # after wc's clear: kept
    op("wb", ("delete", "gone", 135.0), o.DeleteField("gone"), 135.0)
    op("wa", ("assign", "gone", "int", 1), o.AssignInt("gone", 1), 134.5)
    op("wc", ("assign", "gone", "int", 2), o.AssignInt("gone", 2), 136.0)  # re-created after the delete
    fs = (("a", file_dict(REF)), ("b", file_dict(REF2)))
    op(
        "wa",
        ("fsup", "files", fs, False),
        o.UploadFileSet("files", (o.FileSetEntry("a", REF), o.FileSetEntry("b", REF2))),
        137.0,
    )
    op("wb", ("fsdel", "files", ("a",)), o.DeleteFileSetFiles("files", ("a",)), 138.0)
    op(
        "wc",
        ("fsup", "files", (("c", file_dict(REF)),), True),
        o.UploadFileSet("files", (o.FileSetEntry("c", REF),), True),
        137.5,
    )
    for i in range(5):  # user-given timestamps stepping back: order follows the log, not ts
        ts = 90.0 - i
        ws["wb"].append(o.LogStrings("text", (o.StringPoint(float(i), f"t{i}", ts),)), ts)
        model["wb"].append(("points", "text", "stringSeries", [(float(i), f"t{i}", ts)]))
    ws["wd"] = OpLogWriter(segments, project="p/q", run_key="k", writer_id="wd", after=FLOOR["wd"])
    model["wd"] = []
    for i in range(3):
        point("wd", "loss", 60 + i, 9.0, 10.0 + i)
    op("wd", ("assign", "note", "string", "D"), o.AssignString("note", "D"), 11.0)
    for w in ws.values():
        w.close()
    return {n: records for n, records in model.items()}


def read_back(segments) -> dict:
    out = {}
    for path, field in replay(segments, keep_values=True).under(""):
        value = field.value
        if field.type in o.SERIES_TYPES:
            value = [(p.step, p.value, p.ts) for p in value or []]
        elif field.type == o.FieldType.STRING_SET:
            value = sorted(value)
        elif field.type == o.FieldType.FILE_SET:
            value = {rel: file_dict(ref) for rel, ref in sorted(value.items())}
        out[path] = (field.type, value)
    return out


def store_content(by_writer: dict[str, list], order: list[tuple[str, list]]) -> dict:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA)
    for writer, batch in order:
        apply_batch(conn, request(batch, writer=writer, after=FLOOR.get(writer)))
    return dumped_content(dump_database(conn))


def batches(entries: list, rng: random.Random) -> list[list]:
    out, start = [], 0
    while start < len(entries):
        end = min(len(entries), start + rng.randint(1, 4))
        out.append(entries[max(0, start - rng.randint(0, 1)) : end])
        start = end
    return out


@pytest.fixture
def run(tmp_path):
    segments = tmp_path / "segments"
    model = log_three_writers(segments)
    by_writer: dict[str, list] = {}
    for header, entry in read_run(segments):
        by_writer.setdefault(header.writer_id, []).append(entry)
    return segments, model, by_writer


def test_read_back_equals_the_model(run):
    segments, model, _ = run
    local = read_back(segments)
    assert local == content(model, FLOOR)
    assert local["note"] == ("string", "D") and local["gone"] == ("int", 2)
    assert [p[0] for p in local["loss"][1]] == list(range(40)) + [40 + 2 * i for i in range(10)] + [60, 61, 62]
    assert [p[0] for p in local["loss2"][1]] == [80]
    assert [p[0] for p in local["text"][1]] == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("order", list(itertools.permutations(["wa", "wb", "wc", "wd"])))
def test_store_equals_read_back_for_every_writer_order(run, order):
    segments, _, by_writer = run
    whole = store_content(by_writer, [(w, by_writer[w]) for w in order])
    assert whole == read_back(segments)


@pytest.mark.parametrize("seed", range(20))
def test_store_equals_read_back_for_interleaved_batches(run, seed):
    segments, _, by_writer = run
    rng = random.Random(seed)
    queues = {w: batches(entries, rng) for w, entries in by_writer.items()}
    order = []
    while any(queues.values()):
        w = rng.choice([w for w, q in queues.items() if q])
        order.append((w, queues[w].pop(0)))
    assert store_content(by_writer, order) == read_back(segments), f"seed {seed}"


def test_follower_updated_after_every_write_equals_a_fresh_read_back(tmp_path):
    """A follower (``fetch*()`` of a live run) stays equal to a full read-back when a second
    writer appears and when a writer logs records that sort before ones already applied."""
    from neptune_sync.replay import LogFollower

    segments = tmp_path / "segments"
    follower = LogFollower(segments, keep_values=True)
    wa = OpLogWriter(segments, project="p/q", run_key="k", writer_id="wa")
    wb = None
    rng = random.Random(5)
    for i in range(60):
        if i == 20:
            wb = OpLogWriter(segments, project="p/q", run_key="k", writer_id="wb")
        w = wa if wb is None or rng.random() < 0.5 else wb
        ts = 100.0 + i + rng.choice([-30.0, 0.0, 0.5])  # wb's records may sort before wa's
        if i == 19:
            ts = 500.0  # wa's later records have this order time, whatever their timestamps
        if i in (20, 21):  # wa's assign stamped 120 sorts after wb's stamped 121
            w, ts = (wa, 120.0) if i == 20 else (wb, 121.0)
        if rng.random() < 0.3 or i in (20, 21):
            w.append(o.AssignInt("n", i), ts=ts)
        else:
            w.append_float("s", rng.randint(0, 40), float(i), ts)
        follower.update()
        fresh = read_back(segments)
        tree = follower.tree
        assert {
            p: (
                f.type,
                f.value if f.type not in o.SERIES_TYPES else [(q.step, q.value, q.ts) for q in f.value or []],
            )
            for p, f in tree.under("")
        } == fresh, i
    for w in (wa, wb):
        w.close()
