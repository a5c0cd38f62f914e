"""fetch_model_versions_table and read-only models / versions, against what was logged."""

from __future__ import annotations

import pytest
from registry_helpers import MODEL, PROJECT, machine, sync

import neptune_sync as neptune
from neptune_sync.exceptions import (
    ModelNotFound,
    ModelVersionNotFound,
    NeedExistingModelForReadOnlyMode,
    NeedExistingModelVersionForReadOnlyMode,
    NeptuneUserError,
    RunNotFound,
)
from neptune_sync.store_client import StoreClient

ACCS = [0.3, 0.9, 0.6, 0.1]
STAGES = ["archived", "production", "staging", "none"]


@pytest.fixture
def registry(store, tmp_path):
    """MODEL with four versions (acc, stage), REGIST-OTHER with one, and a run; all synced.
    Returns version id -> (acc, stage)."""
    machine(tmp_path, "a")
    with neptune.init_model(key="MOD", name="classifier", mode="offline") as model:
        model["data/version"] = "2026-01"
    locals_ = []
    for acc, stage in zip(ACCS, STAGES, strict=True):
        with neptune.init_model_version(model=MODEL, name=f"acc {acc}", mode="offline") as version:
            version["acc"] = acc
            version["tags"].add(["a", stage])
            version.change_stage(stage)
        locals_.append(version.id)
        sync()  # one at a time: numbered in creation order
    with neptune.init_model_version(model="REGIST-OTHER", mode="offline") as other:
        other["acc"] = 0.99
    with neptune.init_run(mode="offline", custom_run_id="a-run") as run:
        run["acc"] = 0.5
    sync()
    return {f"{MODEL}-{i + 1}": (acc, stage) for i, (acc, stage) in enumerate(zip(ACCS, STAGES, strict=True))}


def ids(table) -> list[str]:
    return [row.get_attribute_value("sys/id") for row in table.to_rows()]


def test_versions_table_rows_columns_order_limit(registry):
    model = neptune.init_model(with_id=MODEL, mode="read-only")
    newest_first = sorted(registry, reverse=True)  # created one after another
    assert ids(model.fetch_model_versions_table()) == newest_first
    assert ids(model.fetch_model_versions_table(ascending=True)) == newest_first[::-1]
    assert ids(model.fetch_model_versions_table(limit=2)) == newest_first[:2]
    by_acc = sorted(registry, key=lambda v: registry[v][0])
    assert ids(model.fetch_model_versions_table(sort_by="acc", ascending=True)) == by_acc
    df = model.fetch_model_versions_table(columns=["acc"]).to_pandas()
    assert set(df.columns) == {"acc", "sys/id", "sys/creation_time"}  # the sort column comes too, as 1.x
    assert dict(zip(df["sys/id"], df["acc"], strict=True)) == {v: acc for v, (acc, _) in registry.items()}
    assert str(df["acc"].dtype) == "float64"
    full = model.fetch_model_versions_table().to_pandas()
    assert {"sys/id", "sys/stage", "sys/model_id", "sys/name", "acc"} <= set(full.columns)
    assert set(full["sys/model_id"]) == {MODEL}
    with pytest.raises(ValueError, match="limit"):
        model.fetch_model_versions_table(limit=0)
    row = model.fetch_model_versions_table(columns=["acc"]).to_rows()[0]
    with pytest.raises(ValueError, match="Could not find sys/stage attribute"):
        row.get_attribute_value("sys/stage")


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ('sys/stage:string = "production"', lambda acc, stage: stage == "production"),
        ("(acc:float > 0.5)", lambda acc, stage: acc > 0.5),
        ("(acc:float >= 0.3) AND (acc:float < 0.9)", lambda acc, stage: 0.3 <= acc < 0.9),
        (
            '(sys/stage:string != "none") and (acc:float <= 0.6)',
            lambda acc, stage: stage != "none" and acc <= 0.6,
        ),
        ("sys/stage:string = staging", lambda acc, stage: stage == "staging"),
        ('sys/stage:string = "nothing"', lambda acc, stage: False),
    ],
)
def test_versions_table_query(registry, query, keep):
    table = neptune.init_model(with_id=MODEL, mode="read-only").fetch_model_versions_table(query=query)
    assert sorted(ids(table)) == sorted(v for v, (acc, stage) in registry.items() if keep(acc, stage))


def test_empty_table_either_query_and_a_broken_one(registry):
    model = neptune.init_model(with_id=MODEL, mode="read-only")
    empty = model.fetch_model_versions_table(query='sys/stage:string = "nothing"')
    assert empty.to_rows() == [] and len(empty.to_pandas()) == 0
    either = model.fetch_model_versions_table(query="(acc:float > 0.5) OR (acc:float < 0.2)")
    assert sorted(ids(either)) == sorted(v for v, (acc, _) in registry.items() if acc > 0.5 or acc < 0.2)
    with pytest.raises(NeptuneUserError, match="column"):  # the store names where the query breaks
        model.fetch_model_versions_table(query="(acc:float > ")


def test_writable_model_reads_the_table_from_the_store(registry, tmp_path):
    machine(tmp_path, "a")
    with neptune.init_model(with_id=MODEL, mode="offline") as model:
        table = model.fetch_model_versions_table(query='sys/stage:string = "production"')
    assert ids(table) == [v for v, (_, stage) in registry.items() if stage == "production"]


def test_runs_table_lists_runs_only(registry, store):
    client = StoreClient.from_token(store.token)
    assert [row.run.custom_run_id for row in client.runs_table(PROJECT).rows] == ["a-run"]


def test_read_only_containers(registry, tmp_path):
    model = neptune.init_model(with_id=MODEL, mode="read-only")
    assert model["data/version"].fetch() == "2026-01" and model["sys/name"].fetch() == "classifier"
    with pytest.raises(NeptuneUserError, match="read-only"):
        model["x"] = 1
    version = neptune.init_model_version(with_id=f"{MODEL}-2", mode="read-only")
    assert version["sys/stage"].fetch() == "production"
    assert version["tags"].fetch() == {"a", "production"}
    assert version.fetch()["acc"] == 0.9
    with pytest.raises(NeptuneUserError, match="read-only"):
        version.change_stage("archived")
    with pytest.raises(NeedExistingModelForReadOnlyMode):
        neptune.init_model(key="NEW", mode="read-only")
    with pytest.raises(NeedExistingModelVersionForReadOnlyMode):
        neptune.init_model_version(model=MODEL, mode="read-only")
    with pytest.raises(ModelNotFound, match="no model"):
        neptune.init_model(with_id="REGIST-NONE", mode="read-only")
    with pytest.raises(ModelVersionNotFound, match="no model version"):
        neptune.init_model_version(with_id=f"{MODEL}-99", mode="read-only")
    with pytest.raises(ModelVersionNotFound):  # a model is not a version, nor a run
        neptune.init_model_version(with_id=MODEL, mode="read-only")
    with pytest.raises(RunNotFound):
        neptune.init_run(MODEL, mode="read-only")
    with pytest.raises(ModelNotFound):
        neptune.init_model(with_id="a-run", mode="read-only")
