"""A Neptune-style training script, run unchanged against neptune_sync in offline mode."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import numpy as np
import pytest
from client_helpers import rows
from PIL import Image

import neptune_sync as neptune
from neptune_sync.oplog import layout


def train(model_path, epochs=3, steps=5):
    run = neptune.init_run(
        project="team/vision",
        mode="offline",
        name="resnet-baseline",
        description="first try",
        tags=["baseline", "resnet"],
        capture_hardware_metrics=False,  # neptune options we do not use are accepted
        git_ref=False,
    )
    params = {"lr": 0.001, "batch_size": 64, "optimizer": {"name": "adam", "betas": "0.9,0.999"}, "amp": True}
    run["parameters"] = params
    run["data/version"] = "v2"
    run["data/started"] = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    train_ns = run["train"]
    for epoch in range(epochs):
        for i in range(steps):
            step = epoch * steps + i
            train_ns["loss"].append(1.0 / (step + 1), step=step)
            train_ns["acc"].append(step / 100)  # implicit steps 0, 1, 2, ...
        run["eval"].append({"f1": 0.5 + epoch / 10, "precision": 0.6}, step=epoch)
        run["logs"].append(f"epoch {epoch} done")
        run["predictions"].append(neptune.File.as_image(np.full((4, 4, 3), epoch * 50, dtype=np.uint8)))
    run["sys/tags"].add("finished")
    run["sys/tags"].remove("resnet")
    run["model/weights"].upload(str(model_path))
    run["model/config"].upload(neptune.File.from_content('{"depth": 50}', extension="json"))
    run["best/epoch"] = 2
    return run


def test_training_script_reads_back_every_value(tmp_path, isolated_data_dir):
    model = tmp_path / "model.pt"
    model.write_bytes(b"\x00weights" * 100)
    run = train(model)

    assert run["parameters/lr"].fetch() == 0.001
    assert run["parameters"].fetch() == {
        "lr": 0.001,
        "batch_size": 64,
        "optimizer": {"name": "adam", "betas": "0.9,0.999"},
        "amp": True,
    }
    assert run["data/version"].fetch() == "v2"
    assert run["data/started"].fetch() == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    loss = rows(run["train/loss"].fetch_values())
    assert [row["step"] for row in loss] == list(range(15))
    assert [row["value"] for row in loss] == [1.0 / (s + 1) for s in range(15)]
    assert all(row["timestamp"].tzinfo is dt.timezone.utc for row in loss)
    assert run["train/loss"].fetch_last() == 1.0 / 15
    acc = rows(run["train/acc"].fetch_values(include_timestamp=False))
    assert acc == [{"step": s, "value": s / 100} for s in range(15)]
    assert [r["value"] for r in rows(run["eval/f1"].fetch_values())] == [0.5, 0.6, 0.7]
    assert [r["step"] for r in rows(run["eval/precision"].fetch_values())] == [0, 1, 2]
    assert [r["value"] for r in rows(run["logs"].fetch_values())] == [f"epoch {e} done" for e in range(3)]
    assert run["sys/tags"].fetch() == {"baseline", "finished"}
    assert run["sys/name"].fetch() == "resnet-baseline"
    assert run["sys/description"].fetch() == "first try"
    assert run["sys/state"].fetch() == "Active"
    assert run["sys/failed"].fetch() is False
    assert run["sys/id"].fetch() == run._identity.run_id
    assert run["best/epoch"].fetch() == 2

    weights = run["model/weights"].download(str(tmp_path / "weights-copy.pt"))
    assert weights.read_bytes() == model.read_bytes()
    config = run["model/config"].download(str(tmp_path))
    assert config.name == "content.json" and config.read_text() == '{"depth": 50}'
    images = run["predictions"].download(str(tmp_path / "images"))
    assert sorted(p.name for p in images.iterdir()) == ["0.png", "1.png", "2.png"]
    last = run["predictions"].download_last(str(tmp_path / "last"))
    assert last == tmp_path / "last" / "2.png"  # neptune 1.x: <index>.<extension> in a directory
    assert np.asarray(Image.open(io.BytesIO(last.read_bytes())))[0, 0].tolist() == [100, 100, 100]

    printed = io.StringIO()
    run.print_structure(printed)
    assert "'train':\n    'acc': floatSeries\n    'loss': floatSeries\n" in printed.getvalue()
    assert run.get_url() == run.run_path.resolve().as_uri()
    structure = run.get_structure()
    assert structure["train"] == {"loss": "floatSeries", "acc": "floatSeries"}
    assert structure["sys"]["tags"] == "stringSet"
    run.stop()
    assert run["sys/state"].fetch() == "Inactive"

    # a fresh process view: everything is in the log on disk
    (run_dir,) = layout.iter_run_dirs()
    assert run_dir.parent.parent == isolated_data_dir
    with neptune.init_run(project="team/vision", mode="offline", with_id=run._identity.run_id) as again:
        assert again["train/loss"].fetch_last() == 1.0 / 15
        assert again["parameters/optimizer/name"].fetch() == "adam"


def test_context_manager_marks_failed_and_stops_on_exception():
    with pytest.raises(RuntimeError), neptune.init_run(mode="offline") as run:
        run["x"] = 1
        raise RuntimeError("boom")
    assert run["sys/failed"].fetch() is True
    assert run["sys/state"].fetch() == "Inactive"
    assert any("boom" in row["value"] for row in rows(run[f"{run.monitoring_namespace}/traceback"].fetch_values()))
    with pytest.raises(neptune.exceptions.InactiveRunError):
        run["train/loss"].append(1.0, step=1)


def test_series_extend_log_and_fanout():
    run = neptune.init_run(mode="offline")
    run["a"].extend([1, 2, 3], steps=[10, 20, 30], timestamps=[1.0, 2.0, 3.0])
    run["b"].extend({"x": [1.0, 2.0], "y": ["p", "q"]})
    run["c"].log([5.0, 6.0])
    run["c"].log(7.0, step=9)
    assert rows(run["a"].fetch_values()) == [
        {"step": s, "value": float(v), "timestamp": dt.datetime.fromtimestamp(t, dt.timezone.utc)}
        for s, v, t in [(10, 1, 1.0), (20, 2, 2.0), (30, 3, 3.0)]
    ]
    assert run["b"].fetch() == {"x": 2.0, "y": "q"}
    assert [(r["step"], r["value"]) for r in rows(run["c"].fetch_values())] == [(0, 5.0), (1, 6.0), (9, 7.0)]
    run["c"].clear()
    assert rows(run["c"].fetch_values()) == []
    with pytest.raises(neptune.exceptions.ValidationError, match="extend-lengths"):
        run["a"].extend([1.0, 2.0], steps=[40])
    run.stop()


def test_file_sets_artifacts_stringify_and_delete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a = 1\n")
    (tmp_path / "src" / "b.py").write_text("b = 2\n")
    (tmp_path / "notes.txt").write_text("n")
    run = neptune.init_run(mode="offline")
    run["code"].upload_files(["src/*.py", "notes.txt"])
    run["code"].delete_files("notes.txt")
    assert run["code"].fetch() == ["src/a.py", "src/b.py"]
    run["code"].delete_files(["nothing/*"])  # matches nothing: logs nothing
    run["code"].upload_files("notes.txt")
    run["code"].delete_files(["*.txt"])
    assert run["code"].fetch() == ["src/a.py", "src/b.py"]
    out = run["code"].download(str(tmp_path / "out.zip"))  # neptune 1.x: a file set downloads as a zip
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["src/a.py", "src/b.py"]
        assert archive.read("src/b.py") == b"b = 2\n"

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.bin").write_bytes(b"x" * 1000)
    blobs_before = sorted(layout.blobs_dir(run.run_path).rglob("*"))
    run["data"].track_files(str(tmp_path / "data"))
    run["data"].track_files(str(tmp_path / "notes.txt"), destination="meta")
    files = run["data"].fetch_files_list()
    assert [(f.relpath, f.size) for f in files] == [("big.bin", 1000), ("meta/notes.txt", 1)]
    assert len(run["data"].fetch_hash()) == 64
    assert sorted(layout.blobs_dir(run.run_path).rglob("*")) == blobs_before  # hashes only, no content

    run["cfg"] = neptune.stringify_unsupported({"layers": [64, 32], "act": None, "lr": 0.1})
    assert run["cfg"].fetch() == {"layers": "[64, 32]", "act": "None", "lr": 0.1}
    assert run.exists("cfg/layers") and run.exists("cfg")
    del run["cfg/layers"]
    run["cfg"].pop("act")
    assert not run.exists("cfg/layers") and not run.exists("cfg/act")
    run.pop("cfg")
    assert not run.exists("cfg")
    run["cfg"] = "now a string"  # a deleted path may take another type
    assert run["cfg"].fetch() == "now a string"
    run.stop()


def test_project_fields_and_pickle_html(tmp_path):
    project = neptune.init_project(project="team/vision", mode="offline")
    project["datasets/train"] = "s3://bucket/train"
    project["report"].upload(neptune.File.as_html("<b>hi</b>"))
    project["obj"].upload(neptune.File.as_pickle({"k": [1, 2]}))
    assert project["datasets/train"].fetch() == "s3://bucket/train"
    assert project["report"].download(str(tmp_path / "r.html")).read_text() == "<b>hi</b>"
    assert project["sys/id"].fetch() == "VISION"
    assert project["sys/name"].fetch() == "vision"
    assert project.container_type == "project"
    project.stop()
    (path,) = layout.iter_run_dirs()
    assert layout.read_identity(path).kind == "project"


def test_assigning_whole_series_sets_and_file_sets_replaces_them(tmp_path, monkeypatch):
    from neptune_sync.types import FileSet, FloatSeries, StringSeries, StringSet
    from neptune_sync.utils import stringify_unsupported

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    run = neptune.init_run(mode="debug")
    run["s"].append(9.0, step=100)
    run["s"] = FloatSeries([1, 2], steps=[1, 2])
    run["w"] = StringSeries(["x", "y"])
    run["sys/tags"] = StringSet(["only"])
    run["files"].upload_files("a.txt")
    run["files"] = FileSet(["b.txt"])
    assert [(r["step"], r["value"]) for r in rows(run["s"].fetch_values())] == [(1, 1.0), (2, 2.0)]
    assert run["w"].fetch_last() == "y"
    assert run["sys/tags"].fetch() == {"only"}
    assert run["files"].fetch() == ["b.txt"]
    assert stringify_unsupported((1, 2)).value == (1, 2)
