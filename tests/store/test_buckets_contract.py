"""Bucketed series and project reads, on every storage backend, against an independent model.

The model buckets a plain list of points in Python with the documented rule (docs/openapi.yaml,
``/v1/series/buckets``); it shares no code with the store.
"""

from __future__ import annotations

import math
import random

import pytest
from store_helpers import PROJECT, RUN, request, sample_entries

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.query import TableQuery

pytestmark = pytest.mark.asyncio
INF = math.inf


def model(points: list[tuple[float, float, float]], x: str, start: float, stop: float, n: int) -> dict:
    """(step, value, ts) points -> the expected columns, written from the documented rule."""
    pick = 0 if x == "step" else 2
    inside = sorted(p for p in points if start <= p[pick] <= stop)
    if not inside:
        return {"raw": True, "lo": None, "hi": None, "step": []}
    lo, hi = min(p[pick] for p in inside), max(p[pick] for p in inside)
    if len(inside) <= n:
        return {
            "raw": True,
            "lo": lo,
            "hi": hi,
            "step": [p[0] for p in inside],
            "min": [p[1] for p in inside],
            "max": [p[1] for p in inside],
            "last": [p[1] for p in inside],
            "count": [1] * len(inside),
            "ts": [p[2] for p in inside],
            "first_step": [p[0] for p in inside],
        }
    per = n / (hi - lo) if hi > lo else 0.0
    groups: dict[int, list] = {}
    for p in inside:
        groups.setdefault(min(math.floor((p[pick] - lo) * per), n - 1), []).append(p)
    cols: dict = {
        "raw": False,
        "lo": lo,
        "hi": hi,
        "first_step": [],
        "step": [],
        "min": [],
        "max": [],
        "last": [],
        "count": [],
        "ts": [],
    }
    for k in sorted(groups):
        g = groups[k]
        last = max(g)
        cols["first_step"].append(min(g)[0])
        cols["step"].append(last[0])
        cols["min"].append(min(p[1] for p in g))
        cols["max"].append(max(p[1] for p in g))
        cols["last"].append(last[1])
        cols["count"].append(len(g))
        cols["ts"].append(last[2])
    return cols


def as_dict(b) -> dict:
    if b.lo is None:
        return {"raw": b.raw, "lo": None, "hi": None, "step": b.step}
    return {
        k: getattr(b, k)
        for k in ("raw", "lo", "hi", "first_step", "step", "min", "max", "last", "count", "ts")
    }


def random_points(seed: int, count: int) -> list[tuple[float, float, float]]:
    rng = random.Random(seed)
    steps = sorted(rng.sample(range(0, count * 5), count))
    pts = []
    for s in steps:
        value = rng.gauss(0, 1) if rng.random() > 0.01 else rng.choice([-1e6, 1e6])  # spikes
        pts.append((float(s), value, 1000.0 + rng.uniform(0, 50) + s * 0.1))  # ts not monotone in step
    return pts


async def log(storage, path: str, points, run: RunInfo = RUN) -> None:
    fp = tuple(ops.FloatPoint(s, v, t) for s, v, t in points)
    await storage.apply_batch(request([Entry(1, 1.0, ops.LogFloats(path, fp))], run=run))


@pytest.mark.parametrize("seed", [1, 2])
async def test_buckets_match_the_model_over_ranges_and_axes(storage, seed):
    points = random_points(seed, 3000)
    await log(storage, "m/loss", points)
    rng = random.Random(seed)
    cases = [("step", -INF, INF, 37), ("step", -INF, INF, 1), ("time", -INF, INF, 50)]
    for _ in range(6):
        a, b = sorted(rng.uniform(-100, 16000) for _ in range(2))
        cases.append(("step", a, b, rng.randint(1, 400)))
        ta, tb = sorted(rng.uniform(990, 2600) for _ in range(2))
        cases.append(("time", ta, tb, rng.randint(1, 400)))
    for x, start, stop, n in cases:
        got = await storage.series_buckets(
            PROJECT, RUN.run_key, "m/loss", x=x, start=start, stop=stop, buckets=n
        )
        assert as_dict(got) == model(points, x, start, stop, n), (x, start, stop, n)


def sample_model(points, start: float, stop: float, n: int) -> dict:
    inside = sorted(p for p in points if start <= p[0] <= stop)
    if len(inside) <= n:
        return model(points, "step", start, stop, n) | {"sampled": False}
    lo, hi = inside[0][0], inside[-1][0]
    width = (hi - lo) / n
    picked = sorted({next(p for p in inside if p[0] >= lo + k * width) for k in range(n)})
    values = [p[1] for p in picked]
    return {
        "raw": False,
        "sampled": True,
        "lo": lo,
        "hi": hi,
        "first_step": [p[0] for p in picked],
        "step": [p[0] for p in picked],
        "min": values,
        "max": values,
        "last": values,
        "count": [1] * len(picked),
        "ts": [p[2] for p in picked],
    }


async def test_samples_are_the_first_point_at_each_bucket_start(storage):
    points = random_points(3, 3000)
    await log(storage, "m/loss", points)
    for start, stop, n in [
        (-INF, INF, 100),
        (-INF, INF, 2999),
        (-INF, INF, 3000),
        (500.0, 9000.0, 37),
        (3.5, 3.6, 5),
    ]:
        got = await storage.series_buckets(
            PROJECT, RUN.run_key, "m/loss", x="step", start=start, stop=stop, buckets=n, sample=True
        )
        assert as_dict(got) | {"sampled": got.sampled} == sample_model(points, start, stop, n), (
            start,
            stop,
            n,
        )


@pytest.mark.parametrize("grid", [1.0, 0.1, 1 / 3, 7.25])
async def test_buckets_whose_edges_fall_on_points_match_the_model(storage, grid):
    points = [(k * grid, float((k * 7919) % 101), 50.0 + k) for k in range(1000)]
    await log(storage, "m", points)
    for start, stop, n in [
        (-INF, INF, 10),
        (-INF, INF, 999),
        (-INF, INF, 333),
        (3 * grid, 901 * grid, 7),
        (0.0, 500 * grid, 250),
    ]:
        got = await storage.series_buckets(
            PROJECT, RUN.run_key, "m", x="step", start=start, stop=stop, buckets=n
        )
        assert as_dict(got) == model(points, "step", start, stop, n), (grid, start, stop, n)


async def test_exactly_n_points_are_raw_and_one_more_is_bucketed(storage):
    points = [(float(s), float(s % 7), 10.0 + s) for s in range(101)]
    await log(storage, "m", points)
    raw = await storage.series_buckets(PROJECT, RUN.run_key, "m", x="step", start=0, stop=99, buckets=100)
    assert (
        raw.raw
        and raw.step == [float(s) for s in range(100)]
        and raw.last == [float(s % 7) for s in range(100)]
    )
    grouped = await storage.series_buckets(
        PROJECT, RUN.run_key, "m", x="step", start=0, stop=100, buckets=100
    )
    assert not grouped.raw and sum(grouped.count) == 101 and len(grouped.count) == 100
    assert as_dict(grouped) == model(points, "step", 0, 100, 100)


async def test_one_timestamp_puts_every_point_in_one_bucket(storage):
    points = [(float(s), float(-s), 500.0) for s in range(20)]
    await log(storage, "m", points)
    got = await storage.series_buckets(PROJECT, RUN.run_key, "m", x="time", start=-INF, stop=INF, buckets=3)
    assert (got.raw, got.count, got.min, got.max, got.last, got.step) == (
        False,
        [20],
        [-19.0],
        [0.0],
        [-19.0],
        [19.0],
    )


async def test_empty_range_missing_field_and_other_types(storage):
    await storage.apply_batch(request(sample_entries()))
    empty = await storage.series_buckets(
        PROJECT, RUN.run_key, "metrics/m0", x="step", start=1e6, stop=2e6, buckets=10
    )
    assert (empty.raw, empty.lo, empty.step, empty.count) == (True, None, [], [])
    assert (
        await storage.series_buckets(PROJECT, RUN.run_key, "nope", x="step", start=-INF, stop=INF, buckets=10)
        is None
    )
    assert (
        await storage.series_buckets(
            PROJECT, "no-run", "metrics/m0", x="step", start=-INF, stop=INF, buckets=9
        )
        is None
    )
    kind = await storage.series_buckets(
        PROJECT, RUN.run_key, "logs/text", x="step", start=-INF, stop=INF, buckets=9
    )
    assert kind == "stringSeries"
    cleared = await storage.series_buckets(
        PROJECT, RUN.run_key, "metrics/m2", x="step", start=-INF, stop=INF, buckets=5
    )
    assert (
        not cleared.raw and cleared.first_step[0] == 10.0 and sum(cleared.count) == 10
    )  # only after the clear


async def test_project_summary_counts_runs_and_sees_the_newest_point(storage):
    assert (await storage.project_summary(PROJECT)).runs == 0
    assert (await storage.project_summary(PROJECT)).last_activity is None
    await storage.apply_batch(
        request([Entry(1, 50.0, ops.AssignFloat("a", 1.0))], run=RunInfo(PROJECT, "k1", "R1"))
    )
    await storage.apply_batch(
        request([Entry(1, 60.0, ops.AssignFloat("a", 2.0))], run=RunInfo(PROJECT, "k2", "R2"))
    )
    await storage.apply_batch(
        request([Entry(1, 70.0, ops.AssignFloat("a", 3.0))], run=RunInfo(PROJECT, "p", "P", kind="project"))
    )
    summary = await storage.project_summary(PROJECT)
    assert (summary.project, summary.runs, summary.last_activity) == (PROJECT, 2, 70.0)
    await log(storage, "m", [(1.0, 1.0, 900.0), (2.0, 2.0, 950.0)], run=RunInfo(PROJECT, "k1", "R1"))
    assert (await storage.project_summary(PROJECT)).last_activity == 950.0
    assert (await storage.project_summary("other/proj")).runs == 0


async def test_project_fields_are_distinct_paths_with_types_and_run_counts(storage):
    await storage.apply_batch(request(sample_entries()))
    other = RunInfo(PROJECT, "k2", "R2")
    await storage.apply_batch(
        request(
            [
                Entry(1, 1.0, ops.AssignString("params/lr", "fast")),
                Entry(2, 1.0, ops.AssignFloat("zeta", 1.0)),
            ],
            run=other,
        )
    )
    await storage.apply_batch(
        request(
            [Entry(1, 1.0, ops.AssignFloat("proj/only", 1.0))], run=RunInfo(PROJECT, "p", "P", kind="project")
        )
    )
    got = [(f.path, f.type, f.runs) for f in await storage.project_fields(PROJECT)]
    assert got == sorted(got)
    assert ("params/lr", "float", 1) in got and ("params/lr", "string", 1) in got
    assert ("zeta", "float", 1) in got and ("sys/tags", "stringSet", 1) in got
    assert all(path != "proj/only" for path, _, _ in got)  # the project's own fields are not a run's
    structure = {(f.path, f.type) for f in await storage.field_infos(PROJECT, RUN.run_key)}
    assert structure <= {(p, t) for p, t, _ in got}


async def test_table_columns_agree_with_each_runs_own_values(storage):
    await storage.apply_batch(request(sample_entries()))
    keys = [RUN.run_key]
    for n in range(501):  # more rows than one IN list of a page
        run = RunInfo(PROJECT, f"k{n:03d}", f"R{n}")
        await storage.apply_batch(
            request(
                [Entry(1, 1.0, ops.AssignFloat("p/x", n)), Entry(2, 1.0, ops.AssignString("s", "v"))], run=run
            )
        )
        keys.append(run.run_key)
    rows, total = await storage.table_page(TableQuery(PROJECT, limit=1000))
    every = {r.run.run_key: r.fields for r in rows}
    assert total == len(keys) and set(every) == set(keys)
    for key in (RUN.run_key, "k000", "k500"):
        assert every[key] == await storage.field_values(PROJECT, key, [])
    rows, _ = await storage.table_page(TableQuery(PROJECT, columns=["p/x", "params/lr"], limit=1000))
    some = {r.run.run_key: r.fields for r in rows}
    assert some[RUN.run_key] == await storage.field_values(PROJECT, RUN.run_key, ["params/lr"])
    assert [some[f"k{n:03d}"][0].value for n in range(501)] == [float(n) for n in range(501)]
    assert await storage.table_page(TableQuery("other/proj")) == ([], 0)
