"""Version numbers are unique per model when offline machines create versions: the store numbers
each version once, in the order versions first reach it, and every machine learns its number.

The independent model is a plain dict: model id -> the local ids in the order they were synced,
numbered 1, 2, ... per model."""

from __future__ import annotations

import random
import shutil
import urllib.error
import urllib.request

import pytest
from registry_helpers import MODEL, PROJECT, machine, sync

import neptune_sync as neptune
from neptune_sync.oplog import layout
from neptune_sync.wire.ops import AssignFloat, Entry
from neptune_sync.wire.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    BatchRequest,
    RunInfo,
    batch_request_encoder,
)
from neptune_sync.wire.sync_state import read_state

OTHER = "REGIST-OTHER"


def expected_numbers(steps: list[list[tuple[str, str]]]) -> dict[str, set[str]]:
    """local id -> the ids it may get: each sync step (one machine's ``neptune-sync sync``, which
    syncs its versions side by side, in no set order) takes the next numbers of each model."""
    counts: dict[str, int] = {}
    out: dict[str, set[str]] = {}
    for step in steps:
        per_model: dict[str, list[str]] = {}
        for model, local in step:
            per_model.setdefault(model, []).append(local)
        for model, locals_ in per_model.items():
            numbers = {f"{model}-{counts.get(model, 0) + i}" for i in range(1, len(locals_) + 1)}
            counts[model] = counts.get(model, 0) + len(locals_)
            out.update((local, numbers) for local in locals_)
    return out


def test_three_machines_six_versions_two_models(store, tmp_path):
    rng = random.Random(7)
    made: dict[str, list[tuple[str, str]]] = {}  # machine -> (model, local id) in creation order
    for name in ("a", "b", "c"):
        machine(tmp_path, name)
        for _ in range(2):
            model = rng.choice((MODEL, OTHER))
            with neptune.init_model_version(model=model, mode="offline") as version:
                version["acc"] = rng.random()
            made.setdefault(name, []).append((model, version.id))
    order = ("c", "a", "b")
    for name in order:
        machine(tmp_path, name)
        sync()
    allowed = expected_numbers([made[name] for name in order])
    got = {}
    for name, versions in made.items():
        machine(tmp_path, name)
        for model, local in versions:
            resumed = neptune.init_model_version(with_id=local, mode="offline")
            got[local] = resumed.id  # the machine learnt the store's number
            assert resumed.id in allowed[local]
            assert resumed["sys/id"].fetch() == resumed.id
            by_number = neptune.init_model_version(with_id=resumed.id, mode="offline")
            assert by_number.run_path == resumed.run_path  # and finds the version by it
            resumed.stop()
            by_number.stop()
            read = neptune.init_model_version(with_id=got[local], mode="read-only")
            assert read["sys/id"].fetch() == got[local]
            assert read["sys/model_id"].fetch() == model
    assert len(set(got.values())) == 6


def test_resync_from_scratch_keeps_numbers(store, tmp_path):
    root = machine(tmp_path, "a")
    locals_ = []
    for _ in range(3):
        with neptune.init_model_version(model=MODEL, mode="offline") as version:
            version["x"] = 1
        locals_.append(version.id)
    sync()
    numbered = {path: read_state(path).store_id for path in layout.iter_run_dirs(root)}
    for path in numbered:  # the state is lost after everything was synced: nothing left to send
        shutil.rmtree(layout.sync_state_dir(path))
    sync()
    assert {path: read_state(path).store_id for path in numbered} == numbered  # asked the store
    first = {local: neptune.init_model_version(with_id=local, mode="offline").id for local in locals_}
    assert sorted(first.values()) == [f"{MODEL}-{n}" for n in (1, 2, 3)]
    for path in layout.iter_run_dirs(root):  # the daemon forgets everything: it resends it all
        shutil.rmtree(layout.sync_state_dir(path))
    assert all(neptune.init_model_version(with_id=local, mode="offline").id == local for local in locals_)
    sync()
    again = {local: neptune.init_model_version(with_id=local, mode="offline").id for local in locals_}
    assert again == first
    with neptune.init_model_version(model=MODEL, mode="offline") as fourth:
        pass
    sync()
    assert neptune.init_model_version(with_id=fourth.id, mode="offline").id == f"{MODEL}-4"


def test_store_refuses_bad_container_kinds(store):
    for info, problem in (
        (RunInfo(PROJECT, "k1", "id1", kind="model_version"), "model_id is required"),
        (RunInfo(PROJECT, "k2", "id2", kind="run", model_id=MODEL), "model_id is required"),
        (RunInfo(PROJECT, "k3", "id3", kind="model_version", model_id="bad id"), "PROJECTKEY-MODELKEY"),
        (RunInfo(PROJECT, "k4", "id4", kind="experiment"), "is not one of"),
    ):
        batch = BatchRequest(info, "w1", [Entry(1, 1.0, AssignFloat("a", 1.0))])
        request = urllib.request.Request(
            f"{store.store.url}/v1/batches",
            data=batch_request_encoder.encode(batch),
            method="POST",
            headers={"Authorization": f"Bearer {store.token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 400
        assert problem in err.value.read().decode()
