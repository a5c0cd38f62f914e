"""The read API through neptune_sync.store_client (sync urllib client, run in a thread)."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
import pytest
import pytest_asyncio
from store_helpers import PROJECT, RUN, floats, post_batch, put_blob, request, sample_entries

from neptune_sync.exceptions import AuthError, MissingFieldError, StoreError
from neptune_sync.store_client import StoreClient
from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo

pytestmark = pytest.mark.asyncio


def run_info(n: int) -> RunInfo:
    return RunInfo(PROJECT, f"k{n}", f"R{n}")


@pytest_asyncio.fixture
async def loaded(store):
    """The sample run plus three small runs with lr, acc, tags and state; yields (store, client)."""
    token = await store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        await put_blob(s, store.url, token, b"hello")
        await post_batch(s, store.url, token, request(sample_entries()))
        for n, (lr, acc, tags, state) in enumerate(
            [(0.1, 0.5, ("a",), "Active"), (0.2, 0.9, ("a", "b"), "Inactive"), (0.3, 0.7, (), "Inactive")]
        ):
            entries = [
                Entry(1, 1000.0 + n, ops.AssignFloat("params/lr", lr)),
                Entry(2, 0.0, ops.AssignString("sys/state", state)),
                Entry(3, 0.0, ops.AddStrings("sys/tags", tags)),
                floats("acc", 4, range(1)),
                Entry(5, 0.0, ops.AssignFloat("final/acc", acc)),
            ]
            await post_batch(s, store.url, token, request(entries, run=run_info(n)))
        project_fields = RunInfo(PROJECT, "project-fields", "PROJ", kind="project")
        await post_batch(
            s,
            store.url,
            token,
            request([Entry(1, 5000.0, ops.AssignFloat("params/lr", 0.15))], run=project_fields),
        )
    yield store, StoreClient.from_token(token, timeout=10)


async def call(fn, *args, **kwargs):
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_find_run_structure_and_values(loaded):
    store, client = loaded
    run = await call(client.find_run, PROJECT, RUN.custom_run_id)
    assert run.run_key == RUN.run_key and run.run_id == RUN.run_id
    assert await call(client.find_run, PROJECT, "nope") is None
    structure = {f.path: f.type for f in await call(client.structure, PROJECT, RUN.run_id)}
    assert structure["metrics/m0"] == "floatSeries" and structure["params/when"] == "datetime"
    values = await call(
        client.values, PROJECT, RUN.run_id, ["params/when", "files/readme", "metrics/m1", "params/lr"]
    )
    assert values["params/when"].value == dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert values["files/readme"].value["name"] == "hello.txt"
    assert values["metrics/m1"].value == 24.5 and values["metrics/m1"].last_step == 49.0
    assert values["params/lr"].value == 0.01


async def test_series_pages_through_a_step_range(loaded):
    store, client = loaded
    points = await call(
        lambda: list(client.series(PROJECT, RUN.run_key, "metrics/m0", start=5, stop=44, page=7))
    )
    assert [p[0] for p in points] == [float(s) for s in range(5, 45)]
    assert points[0][1] == 2.5
    text = await call(lambda: list(client.series(PROJECT, RUN.run_key, "logs/text")))
    assert [p[1] for p in text] == ["x", "y"]
    with pytest.raises(MissingFieldError):
        await call(lambda: list(client.series(PROJECT, RUN.run_key, "nope")))
    with pytest.raises(StoreError, match="not a series"):
        await call(lambda: list(client.series(PROJECT, RUN.run_key, "params/lr")))


async def test_file_and_blob_download(loaded, tmp_path):
    store, client = loaded
    out = await call(client.download_file, PROJECT, RUN.run_key, "files/readme", tmp_path / "out" / "r.txt")
    assert out.read_bytes() == b"hello"
    values = await call(client.values, PROJECT, RUN.run_key, ["files/set"])
    ref = values["files/set"].value["d/hello.txt"]
    blob = await call(client.download_blob, ref["sha256"], tmp_path / "set" / "d" / "hello.txt")
    assert blob.read_bytes() == b"hello"
    with pytest.raises(MissingFieldError):
        await call(client.download_file, PROJECT, RUN.run_key, "files/none", tmp_path / "x")


async def test_runs_table_filters_sorts_and_selects_columns(loaded):
    store, client = loaded
    table = await call(
        client.runs_table,
        PROJECT,
        columns=["params/lr"],
        where=["params/lr>=0.1"],
        sort_by="params/lr",
        ascending=True,
    )
    assert [(r.run.run_key, r.fields) for r in table.rows] == [
        ("k0", {"params/lr": 0.1}),
        ("k1", {"params/lr": 0.2}),
        ("k2", {"params/lr": 0.3}),
    ]
    table = await call(client.runs_table, PROJECT, columns=["final/acc"], sort_by="final/acc")
    assert [r.run.run_key for r in table.rows] == [
        "k1",
        "k2",
        "k0",
        RUN.run_key,
    ]  # runs lacking the column last
    table = await call(client.runs_table, PROJECT, tags=["a"], state="inactive", columns=["acc"])
    assert [(r.run.run_key, r.fields) for r in table.rows] == [("k1", {"acc": 0.0})]
    table = await call(client.runs_table, PROJECT, where=["sys/state == 'Active'"], limit=5)
    assert {r.run.run_key for r in table.rows} == {"k0", RUN.run_key}
    table = await call(
        client.runs_table, PROJECT, limit=2
    )  # newest first; the project's own fields are no row
    assert [r.run.run_key for r in table.rows] == ["k2", "k1"]
    assert "params/lr" in table.rows[0].fields and "sys/tags" in table.rows[0].fields
    with pytest.raises(StoreError, match="where"):
        await call(client.runs_table, PROJECT, where=["params/lr ~ 3"])


async def test_client_reports_auth_failures(loaded):
    store, client = loaded
    other = StoreClient(store.url, await store.token("ws/other"), timeout=10)
    with pytest.raises(AuthError, match="403"):
        await call(other.structure, PROJECT, RUN.run_key)
    with pytest.raises(AuthError, match="401"):
        await call(StoreClient(store.url, "nss_wrong", timeout=10).structure, PROJECT, RUN.run_key)


async def test_unreachable_store_is_a_store_error():
    client = StoreClient("http://127.0.0.1:9", "nss_x", timeout=2)
    with pytest.raises(StoreError, match="cannot reach"):
        await call(client.structure, PROJECT, "r")
