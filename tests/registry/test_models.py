"""init_model / init_model_version against neptune 1.x behaviour, offline and with a store."""

from __future__ import annotations

import datetime as dt

import pytest
from registry_helpers import MODEL, PROJECT, StoreThread, machine, sync

import neptune_sync as neptune
from neptune_sync.container import ContainerType
from neptune_sync.exceptions import (
    InactiveModelException,
    InactiveModelVersionException,
    ModelNotFound,
    ModelVersionNotFound,
    NeptuneCannotChangeStageManually,
    NeptuneMissingRequiredInitParameter,
    NeptuneModelKeyAlreadyExistsError,
    NeptuneProtectedPathException,
    ValueRuleError,
)


def test_new_model_has_1x_sys_fields():
    model = neptune.init_model(key="MOD", project=PROJECT, mode="offline")
    assert model.container_type == ContainerType.MODEL
    values = model.fetch()["sys"]
    assert values["id"] == MODEL
    assert values["name"] == "Untitled"
    assert values["state"] == "Active"
    assert isinstance(values["creation_time"], dt.datetime)
    model.stop()
    assert model.fetch()["sys"]["state"] == "Inactive"
    with pytest.raises(InactiveModelException):
        model["x"] = 1


def test_model_key_rules():
    with pytest.raises(ValueRuleError, match=r"\[rule: model-key\]") as err:
        neptune.init_model(key="mod", project=PROJECT, mode="offline")
    assert err.value.path == "key"
    for bad in ("", "TOO-LONG", "ABCDEFGHIJK", 7):
        with pytest.raises(ValueRuleError):
            neptune.init_model(key=bad, project=PROJECT, mode="offline")
    with pytest.raises(NeptuneMissingRequiredInitParameter, match="key="):
        neptune.init_model(project=PROJECT, mode="offline")
    with pytest.raises(TypeError, match="custom_run_id"):
        neptune.init_model(key="MOD", project=PROJECT, mode="offline", custom_run_id="x")


def test_key_taken_in_the_data_directory_raises_and_with_id_resumes():
    with neptune.init_model(key="MOD", name="first", project=PROJECT, mode="offline") as model:
        model["params/lr"] = 0.1
    with pytest.raises(NeptuneModelKeyAlreadyExistsError, match=MODEL):
        neptune.init_model(key="MOD", project=PROJECT, mode="offline")
    with neptune.init_model(with_id=MODEL, project=PROJECT, mode="offline") as again:
        assert again["params/lr"].fetch() == 0.1
        assert again["sys/name"].fetch() == "first"  # resuming does not reset the name
        again["params/lr"] = 0.2
    with pytest.raises(ModelNotFound, match="REGIST-NOPE"):
        neptune.init_model(with_id="REGIST-NOPE", project=PROJECT, mode="offline")
    with pytest.raises(ModelNotFound, match="not a model id"):
        neptune.init_model(with_id="not an id", project=PROJECT, mode="offline")


def test_new_version_fields_and_stage_rules():
    version = neptune.init_model_version(model=MODEL, name="v", project=PROJECT, mode="offline")
    assert version.container_type == ContainerType.MODEL_VERSION
    sys = version.fetch()["sys"]
    assert sys["model_id"] == MODEL and sys["stage"] == "none" and sys["name"] == "v"
    assert sys["id"] == version.id and version.id.startswith(f"{MODEL}-local-")
    assert version["sys/id"].fetch() == version.id and version.exists("sys/id")
    with pytest.raises(NeptuneCannotChangeStageManually):
        version["sys/stage"] = "production"
    with pytest.raises(NeptuneProtectedPathException):
        version["sys/id"] = f"{MODEL}-1"
    with pytest.raises(ValueRuleError, match=r"\[rule: stage\]"):
        version.change_stage("Production")  # 1.x stages are lower-case
    for stage in ("staging", "production", "archived", "none", "production"):
        version.change_stage(stage)
        assert version["sys/stage"].fetch() == stage
    version.stop()
    with pytest.raises(InactiveModelVersionException):
        version.change_stage("staging")


def test_version_needs_model_or_id():
    with pytest.raises(NeptuneMissingRequiredInitParameter, match="model="):
        neptune.init_model_version(project=PROJECT, mode="offline")
    with pytest.raises(ModelNotFound, match="not a model id"):
        neptune.init_model_version(model="mod", project=PROJECT, mode="offline")
    with pytest.raises(ModelVersionNotFound, match=f"{MODEL}-9"):
        neptune.init_model_version(with_id=f"{MODEL}-9", project=PROJECT, mode="offline")


def test_resume_version_by_local_id():
    with neptune.init_model_version(model=MODEL, project=PROJECT, mode="offline") as version:
        version["acc"] = 0.5
        local = version.id
    with neptune.init_model_version(with_id=local, project=PROJECT, mode="offline") as again:
        assert again.id == local and again["acc"].fetch() == 0.5
        assert again["sys/stage"].fetch() == "none"


def test_debug_mode_keeps_nothing_on_disk(isolated_data_dir):
    model = neptune.init_model(key="MOD", project=PROJECT, mode="debug")
    version = neptune.init_model_version(model=MODEL, project=PROJECT, mode="debug")
    version.change_stage("staging")
    assert version["sys/stage"].fetch() == "staging" and model["sys/id"].fetch() == MODEL
    assert not isolated_data_dir.exists()


# ------------------------------------------------------------------ with a store


def test_store_knows_model_key_from_another_machine(sqlite_store, tmp_path, monkeypatch):
    machine(tmp_path, "a")
    with neptune.init_model(key="MOD", name="from a", mode="offline") as model:
        model["data"] = "a"
    sync()
    machine(tmp_path, "b")  # async mode, no daemon: logs locally, asks the store what exists
    with pytest.raises(NeptuneModelKeyAlreadyExistsError):
        neptune.init_model(key="MOD")
    with neptune.init_model(with_id=MODEL) as model:  # resumes the store's model on machine b
        model["data_b"] = "b"
    sync()
    with pytest.raises(ModelNotFound, match="the data directory or the store"):
        neptune.init_model(with_id="REGIST-OTHER")
    with pytest.raises(ModelNotFound, match="the data directory or the store"):
        neptune.init_model_version(model="REGIST-OTHER")
    read = neptune.init_model(with_id=MODEL, mode="read-only")
    assert read["sys/name"].fetch() == "from a"  # b's resume did not rewrite creation fields
    assert read["data"].fetch() == "a" and read["data_b"].fetch() == "b"


def test_version_resumed_from_the_store_on_another_machine(sqlite_store, tmp_path):
    machine(tmp_path, "a")
    with neptune.init_model_version(model=MODEL, mode="offline") as version:
        version["acc"] = 0.5
    sync()
    assert version.id == f"{MODEL}-1"
    machine(tmp_path, "b")
    with neptune.init_model_version(with_id=f"{MODEL}-1") as again:
        assert again.id == f"{MODEL}-1"
        again.change_stage("staging")
    sync()
    read = neptune.init_model_version(with_id=f"{MODEL}-1", mode="read-only")
    assert read["sys/stage"].fetch() == "staging" and read["acc"].fetch() == 0.5
    assert read["sys/id"].fetch() == f"{MODEL}-1" and read["sys/model_id"].fetch() == MODEL


def test_two_processes_creating_one_key_one_gets_the_error(monkeypatch):
    """The key check and the claim of the directory are two steps: a process that loses the
    claim to another (run.json written between them) raises as if the key had been taken."""
    from neptune_sync import model as model_module
    from neptune_sync.oplog import layout

    claim = model_module.claim_dir

    def other_process_first(conf, fresh, path):  # noqa: ANN001, ANN202
        layout.claim_identity(path, layout.RunIdentity(**{**_fields(fresh), "created": 1.0}))
        return claim(conf, fresh, path)

    monkeypatch.setattr(model_module, "claim_dir", other_process_first)
    with pytest.raises(NeptuneModelKeyAlreadyExistsError):
        neptune.init_model(key="MOD", project=PROJECT, mode="offline")


def _fields(identity) -> dict:  # noqa: ANN001
    import msgspec

    return msgspec.structs.asdict(identity)


def test_unreachable_store_is_not_waited_for(tmp_path, caplog):
    gone = StoreThread(tmp_path / "store", None)
    token = gone.token
    gone.close()
    with neptune.init_model(key="MOD", project=PROJECT, api_token=token) as model:
        assert model["sys/id"].fetch() == MODEL
    with neptune.init_model_version(model="REGIST-ELSE", project=PROJECT, api_token=token) as version:
        assert version["sys/model_id"].fetch() == "REGIST-ELSE"
    assert "could not ask the store" in caplog.text
