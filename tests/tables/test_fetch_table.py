"""``init_project(mode="read-only")``, ``fetch_runs_table`` / ``fetch_models_table``, the trash and
``neptune-sync trash`` against a live store on SQLite and PostgreSQL, checked against neptune 1.x's
table behaviour: column names and order, dtypes, values, sort order, limit, empty results."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import aiohttp
import pandas as pd
import pytest
import pytest_asyncio
from store_helpers import PROJECT, post_batch, put_blob, request, sha

import neptune_sync as neptune
from neptune_sync import cli, management
from neptune_sync.exceptions import MetadataInconsistency, NeptuneInvalidQueryException
from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo

pytestmark = pytest.mark.asyncio
UTC = dt.timezone.utc

# (run_id, created, lr, epochs, tags, state, failed, owner)
RUNS = [
    ("PROJ-1", dt.datetime(2024, 1, 1, tzinfo=UTC), 0.1, 10, ("a",), "Inactive", False, "ann"),
    ("PROJ-2", dt.datetime(2024, 1, 3, tzinfo=UTC), 0.3, 20, ("a", "b"), "Inactive", True, "bob"),
    ("PROJ-3", dt.datetime(2024, 1, 2, tzinfo=UTC), 0.2, 30, (), "Active", False, "ann"),
    ("PROJ-4", dt.datetime(2024, 1, 4, tzinfo=UTC), 0.4, 40, ("b",), "Inactive", True, "bob"),
]


def run_entries(run_id, created, lr, epochs, tags, state, failed, owner) -> list[Entry]:
    ts = created.timestamp()
    items = [
        ops.AssignString("sys/id", run_id),
        ops.AssignString("sys/name", f"name-{run_id}"),
        ops.AssignDatetime("sys/creation_time", created),
        ops.AssignString("sys/owner", owner),
        ops.AssignBool("sys/failed", failed),
        ops.AssignString("sys/state", state),
        ops.AddStrings("sys/tags", tags),
        ops.AssignFloat("params/lr", lr),
        ops.AssignInt("params/epochs", epochs),
        ops.AssignFile("model/weights", ops.FileRef(sha(run_id.encode()), len(run_id), "w.bin", "bin")),
        ops.LogFloats("train/loss", tuple(ops.FloatPoint(float(s), lr * s, ts + s) for s in range(3))),
        ops.LogFloats("monitoring/cpu", (ops.FloatPoint(0.0, 50.0, ts),)),
    ]
    entries, seq = [], 1
    for op in items:
        entries.append(Entry(seq, ts, op))
        seq += ops.op_point_count(op)
    return entries


@pytest_asyncio.fixture
async def project(any_store, monkeypatch):
    """The four runs and the project's own fields in a live store; yields a read-only project."""
    token = await any_store.token(PROJECT)
    async with aiohttp.ClientSession() as s:
        for run in RUNS:
            await put_blob(s, any_store.url, token, run[0].encode())
            key = f"key-{run[0]}"
            await post_batch(
                s, any_store.url, token, request(run_entries(*run), run=RunInfo(PROJECT, key, run[0]))
            )
        own = RunInfo(PROJECT, "key-project", f"project:{PROJECT}", kind="project")
        await post_batch(
            s, any_store.url, token, request([Entry(1, 1.0, ops.AssignFloat("best/acc", 0.9))], run=own)
        )
    monkeypatch.setenv("NEPTUNE_API_TOKEN", token)
    yield await asyncio.to_thread(neptune.init_project, project=PROJECT, mode="read-only")


def call(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


async def test_the_runs_table_as_1x_built_it(project):
    frame = await call(lambda: project.fetch_runs_table().to_pandas())
    # newest first (sort_by="sys/creation_time", ascending=False); sys/* columns first, monitoring/* last
    assert list(frame["sys/id"]) == ["PROJ-4", "PROJ-2", "PROJ-3", "PROJ-1"]
    assert list(frame.index) == [0, 1, 2, 3]
    assert list(frame.columns) == [
        "sys/creation_time", "sys/failed", "sys/id", "sys/name", "sys/owner", "sys/state", "sys/tags",
        "params/epochs", "params/lr", "train/loss", "monitoring/cpu",
    ]  # fmt: skip
    assert str(frame["params/lr"].dtype) == "float64" and str(frame["params/epochs"].dtype) == "int64"
    assert str(frame["sys/failed"].dtype) == "bool"
    assert isinstance(frame["sys/creation_time"].dtype, pd.DatetimeTZDtype)
    assert frame["sys/creation_time"][0] == pd.Timestamp("2024-01-04", tz="UTC")
    assert list(frame["sys/tags"]) == ["b", "a,b", "", "a"]
    assert list(frame["train/loss"]) == [0.8, 0.6, 0.4, 0.2]  # a series: its last value
    assert list(frame["sys/state"]) == ["Inactive", "Inactive", "Active", "Inactive"]


async def test_columns_sort_limit_and_empty_results(project):
    frame = await call(
        lambda: project.fetch_runs_table(
            columns=["params/lr"], sort_by="params/lr", ascending=True
        ).to_pandas()
    )
    assert list(frame.columns) == ["sys/id", "params/lr"]  # sys/id and the sort column come along
    assert list(frame["params/lr"]) == [0.1, 0.2, 0.3, 0.4]
    top = await call(lambda: project.fetch_runs_table(sort_by="params/epochs", limit=2).to_rows())
    assert [r.get_attribute_value("sys/id") for r in top] == ["PROJ-4", "PROJ-3"]
    empty = await call(lambda: project.fetch_runs_table(query="params/lr:float > 5").to_pandas())
    assert isinstance(empty, pd.DataFrame) and empty.empty and list(empty.columns) == []
    assert await call(lambda: project.fetch_runs_table(query="params/lr:float > 5").to_rows()) == []
    with pytest.raises(ValueError, match="limit"):
        await call(project.fetch_runs_table, limit=0)
    with pytest.raises(TypeError, match="limit"):
        await call(project.fetch_runs_table, limit="2")


async def test_criteria_combine_as_1x_documents(project):
    async def ids(**kwargs):
        rows = await call(lambda: project.fetch_runs_table(**kwargs).to_rows())
        return sorted(r.get_attribute_value("sys/id") for r in rows)

    assert await ids(tag=["a", "b"]) == ["PROJ-2"]  # every tag
    assert await ids(tag="b") == ["PROJ-2", "PROJ-4"]
    assert await ids(id=["PROJ-1", "PROJ-3", "NOPE"]) == ["PROJ-1", "PROJ-3"]  # any id
    assert await ids(state="active") == ["PROJ-3"]
    assert await ids(state=["active", "inactive"]) == ["PROJ-1", "PROJ-2", "PROJ-3", "PROJ-4"]
    assert await ids(owner=["bob"]) == ["PROJ-2", "PROJ-4"]
    assert await ids(query='(sys/tags:stringSet CONTAINS "a") AND (params/lr:float > 0.2)') == ["PROJ-2"]
    assert await ids(query='sys/state:experimentState = "inactive"', tag="b") == ["PROJ-2", "PROJ-4"]
    assert await ids(query='sys/name:string MATCHES "-[13]$"') == ["PROJ-1", "PROJ-3"]
    assert await ids(query="train/loss:float >= 0.6") == ["PROJ-2", "PROJ-4"]
    assert await ids(query='sys/creation_time:datetime > "2024-01-02T12:00:00Z"') == ["PROJ-2", "PROJ-4"]


async def test_row_values_as_1x_gave_them(project):
    (row,) = await call(lambda: project.fetch_runs_table(id="PROJ-2").to_rows())
    assert row.get_attribute_value("params/lr") == 0.3 and row["params"]["epochs"].get() == 20
    assert row.get_attribute_value("sys/tags") == {"a", "b"}
    assert row.get_attribute_value("train/loss") == 0.6
    assert row.get_attribute_value("sys/creation_time") == dt.datetime(2024, 1, 3, tzinfo=UTC)
    assert row.get_attribute_type("model/weights") == "file"
    with pytest.raises(MetadataInconsistency):
        row.get_attribute_value("model/weights")
    with pytest.raises(ValueError, match="Could not find nope attribute"):
        row.get_attribute_value("nope")


async def test_a_file_of_a_row_downloads(project, tmp_path):
    (row,) = await call(lambda: project.fetch_runs_table(id="PROJ-2").to_rows())
    path = await call(row["model/weights"].download, str(tmp_path / "w.bin"))
    assert Path(path).read_bytes() == b"PROJ-2"


async def test_a_bad_query_names_its_column(project):
    with pytest.raises(
        NeptuneInvalidQueryException, match="^NQL query, column 18: the query ends too early$"
    ):
        await call(project.fetch_runs_table, query="params/lr:float >")
    with pytest.raises(NeptuneInvalidQueryException, match="column 12: > does not apply to bool"):
        await call(project.fetch_runs_table, query="sys/failed > true")


async def test_project_fields_and_the_models_table(project):
    assert await call(lambda: project["best/acc"].fetch()) == 0.9
    assert (await call(lambda: project.fetch_models_table().to_pandas())).empty  # runs are not models


async def test_trashed_runs_leave_tables_until_the_trash_is_cleared(project):
    async def ids(**kwargs):
        rows = await call(lambda: project.fetch_runs_table(**kwargs).to_rows())
        return sorted(r.get_attribute_value("sys/id") for r in rows)

    await call(management.trash_objects, PROJECT, ["PROJ-2", "PROJ-3"])
    assert await ids() == ["PROJ-1", "PROJ-4"]
    assert await ids(trashed=True) == ["PROJ-2", "PROJ-3"]
    assert await ids(trashed=None) == ["PROJ-1", "PROJ-2", "PROJ-3", "PROJ-4"]
    assert await ids(query="sys/trashed:bool = true", trashed=None) == ["PROJ-2", "PROJ-3"]
    await call(management.restore_objects_from_trash, PROJECT, "PROJ-3")
    assert await ids() == ["PROJ-1", "PROJ-3", "PROJ-4"]
    await call(management.clear_trash, PROJECT)
    assert await ids(trashed=None) == ["PROJ-1", "PROJ-3", "PROJ-4"]
    assert await call(project._client.find_run, PROJECT, "PROJ-2") is None  # deleted for good


async def test_the_trash_command(project, capsys):
    assert await call(cli.main, ["trash", "add", PROJECT, "PROJ-1", "NOPE"]) == 1
    assert "moved to the trash: PROJ-1" in capsys.readouterr().out
    assert await call(cli.main, ["trash", "ls", PROJECT]) == 0
    assert capsys.readouterr().out == "run\tPROJ-1\n"
    assert await call(cli.main, ["trash", "clear", PROJECT]) == 0
    assert "deleted 1 object(s)" in capsys.readouterr().out
    assert await call(cli.main, ["trash", "add", "bad project name!", "X"]) == 2
    assert "neptune-sync trash:" in capsys.readouterr().err
