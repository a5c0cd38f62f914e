"""The registry through ``import neptune`` (the compat package), and every field type on models
and model versions: what the local read-back gives equals what the store gives after a sync."""

from __future__ import annotations

import datetime as dt

import pytest
from registry_helpers import MODEL, PROJECT, machine, sync

import neptune_sync
from neptune_sync.types.atoms import Artifact


def test_import_neptune_names_are_neptune_syncs():
    neptune = pytest.importorskip("neptune")
    from neptune.exceptions import (
        ModelNotFound,
        ModelVersionNotFound,
        NeptuneModelKeyAlreadyExistsError,
        NeptuneWrongInitParametersException,
    )
    from neptune.types.model_version_stage import ModelVersionStage

    assert neptune.init_model is neptune_sync.init_model
    assert neptune.init_model_version is neptune_sync.init_model_version
    assert neptune.Model is neptune_sync.Model and neptune.ModelVersion is neptune_sync.ModelVersion
    assert ModelNotFound is neptune_sync.exceptions.ModelNotFound
    assert issubclass(
        neptune_sync.exceptions.NeptuneMissingRequiredInitParameter, NeptuneWrongInitParametersException
    )
    assert {s.value for s in ModelVersionStage} == {"none", "staging", "production", "archived"}
    with pytest.raises(NeptuneModelKeyAlreadyExistsError):
        neptune.init_model(key="MOD", project=PROJECT, mode="offline")
        neptune.init_model(key="MOD", project=PROJECT, mode="offline")
    with pytest.raises(ModelVersionNotFound):
        neptune.init_model_version(with_id=f"{MODEL}-1", project=PROJECT, mode="offline")


def log_every_type(container, tmp_path) -> None:
    (tmp_path / "a.txt").write_text("A")
    container["atoms"] = {
        "f": 0.25,
        "i": 7,
        "b": True,
        "s": "text",
        "t": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    }
    for i in range(5):
        container["series/loss"].append(1 / (i + 1), step=i)
        container["series/log"].append(f"line {i}")
    container["series/images"].append(neptune_sync.File.from_content(b"png", extension="png"))
    container["weights"].upload(neptune_sync.File.from_content(b"weights", extension="bin"))
    container["files"].upload_files(str(tmp_path / "a.txt"))
    container["labels"].add(["x", "y"])
    container["labels"].remove("y")
    container["data"].track_files(str(tmp_path / "a.txt"))


@pytest.mark.parametrize("kind", ["model", "model_version"])
def test_every_field_type_local_equals_store(sqlite_store, tmp_path, kind):
    machine(tmp_path, "a")
    if kind == "model":
        container = neptune_sync.init_model(key="MOD", mode="offline")
    else:
        container = neptune_sync.init_model_version(model=MODEL, mode="offline")
    log_every_type(container, tmp_path)
    container.stop()
    sync()
    local = container.fetch()
    ident = MODEL if kind == "model" else f"{MODEL}-1"
    opener = neptune_sync.init_model if kind == "model" else neptune_sync.init_model_version
    remote = opener(with_id=ident, mode="read-only")
    stored = remote.fetch()
    for top in ("atoms", "series", "labels"):
        assert stored[top] == local[top], top
    assert isinstance(stored["data"], Artifact) and stored["data"] == local["data"]
    assert local["labels"] == {"x"}
    assert remote["weights"].download(str(tmp_path / "w.bin")).read_bytes() == b"weights"
    assert [p["value"] for p in remote["series/loss"].fetch_values().to_dict("records")] == [
        1 / (i + 1) for i in range(5)
    ]
    assert remote["files"].fetch() == ["a.txt"]
    if kind == "model_version":
        assert stored["sys"]["id"] == ident and local["sys"]["id"] == ident
        assert stored["sys"]["stage"] == local["sys"]["stage"] == "none"
