"""API behaviours real neptune 1.x code relies on, each checked against what 1.x does."""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import io
import zipfile

import matplotlib
import neptune
import numpy as np
import pytest
from neptune.exceptions import MetadataInconsistency, NeptuneUserError
from neptune.types import Artifact, Boolean, Datetime, File, Float, GitRef, Integer, String
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = neptune.init_run(mode="offline", project="ws/proj")
    yield r
    r.stop()


class TorchLikeScalar:
    """What a 0-d torch tensor looks like to neptune: ``float()`` takes it, ``ndim == 0``."""

    ndim = 0

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        return self.value


def test_float_like_values_assign_a_float(run):
    run["torch"] = TorchLikeScalar(0.25)
    run["np0d"] = np.array(0.5)
    run["np32"] = np.float32(1.5)
    run["dec"] = decimal.Decimal("2.5")
    run["loss"].append(TorchLikeScalar(0.75))
    assert run.get_structure()["torch"] == "float" and run["torch"].fetch() == 0.25
    assert (run["np0d"].fetch(), run["np32"].fetch(), run["dec"].fetch()) == (0.5, 1.5, 2.5)
    assert run.get_structure()["dec"] == "float"
    assert run["loss"].fetch_last() == 0.75


def test_argparse_namespace_assigns_a_namespace(run):
    args = argparse.Namespace(lr=0.1, epochs=3, optimizer="adam")
    run["args"] = args
    assert run["args"].fetch() == {"lr": 0.1, "epochs": 3, "optimizer": "adam"}


def test_atom_value_types_assign_their_value(run):
    run["b"], run["i"], run["f"], run["s"] = Boolean(1), Integer("3"), Float(2), String(5)
    run["d"] = Datetime(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    structure = run.get_structure()
    assert [structure[k] for k in "bifsd"] == ["bool", "int", "float", "string", "datetime"]
    assert (run["b"].fetch(), run["i"].fetch(), run["f"].fetch(), run["s"].fetch()) == (True, 3, 2.0, "5")
    run.stop()
    neptune.init_run(mode="debug", git_ref=GitRef.DISABLED).stop()  # accepted, as 1.x


def every_field_type(run, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1,2\n")
    src = run["src"]
    src["int"], src["float"], src["bool"], src["str"] = 7, 0.5, True, "text"
    src["when"] = dt.datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=dt.timezone.utc)
    for step in range(3):
        src["loss"].append(1.0 / (step + 1), step=step * 10, timestamp=1_700_000_000 + step)
        src["log"].append(f"line {step}", step=step)
    src["images"].append(File.as_image(np.full((2, 2), 0.5)), step=5)
    src["tags"].add(["x", "y"])
    src["model"].upload(File.from_content(b"weights", extension="pt"))
    src["files"].upload_files("data")
    src["art"].track_files("data")


def field_view(run, root: str) -> dict:
    """Every field under ``root`` with its type and everything it holds (series: all points)."""
    view = {}
    for path, kind in flatten(run.get_structure()[root], root):
        h = run[path]
        if kind in ("floatSeries", "stringSeries"):
            value = [(r["step"], r["value"], r["timestamp"]) for r in h.fetch_values().to_dict("records")]
        elif kind == "fileSeries":
            value = sorted(p.read_bytes() for p in h.download(f"dl/{path}").iterdir())
        elif kind == "file":
            value = h.download(f"dl/{path}.bin").read_bytes()
        elif kind == "fileSet":
            value = zipfile.ZipFile(h.download(f"dl/{path}.zip")).read("data/a.csv")
        elif kind == "artifact":
            value = (h.fetch_hash(), [(f.relpath, f.sha256) for f in h.fetch_files_list()])
        else:
            value = h.fetch()
        view[path.split("/", 1)[1]] = (kind, value)
    return view


def flatten(node: dict, prefix: str):
    for name, value in node.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}/{name}")
        else:
            yield f"{prefix}/{name}", value


def test_copy_by_assignment_copies_every_field_type(run, tmp_path):
    every_field_type(run, tmp_path)
    for name in (
        "int",
        "float",
        "bool",
        "str",
        "when",
        "loss",
        "log",
        "images",
        "tags",
        "model",
        "files",
        "art",
    ):
        run[f"dst/{name}"] = run[f"src/{name}"]
    source, copy = field_view(run, "src"), field_view(run, "dst")
    assert len(source) == 12 and copy == source


def test_copy_replaces_the_targets_content_and_copies_namespaces_across_runs(run, tmp_path):
    every_field_type(run, tmp_path)
    run["dst/loss"].append(99.0, step=1000)
    run["dst/tags"].add("old")
    run["dst/loss"] = run["src/loss"]
    run["dst/tags"] = run["src/tags"]
    assert run["dst/loss"].fetch_values()["step"].tolist() == [0.0, 10.0, 20.0]
    assert run["dst/tags"].fetch() == {"x", "y"}
    other = neptune.init_run(mode="offline", project="ws/proj")
    other["copied"] = run["src"]  # a namespace, from another run: blobs come along
    run.stop()
    assert field_view(other, "copied") == field_view(run, "src")
    other.stop()


def test_copying_into_a_field_of_another_type_raises_and_logs_nothing(run):
    run["a"], run["b"] = 1, "text"
    with pytest.raises(MetadataInconsistency):
        run["b"] = run["a"]
    assert run["b"].fetch() == "text"


def test_artifact_fetch_returns_a_value_that_assigning_copies_and_download_copies_the_files(run, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,2\n")
    run["datasets/v4"].track_files(str(tmp_path / "data"))
    value = run["datasets/v4"].fetch()
    assert isinstance(value, Artifact) and value.hash == run["datasets/v4"].fetch_hash()
    run["datasets/latest"].assign(run["datasets/v4"].fetch())
    assert run.get_structure()["datasets"]["latest"] == "artifact"
    assert run["datasets/latest"].fetch_hash() == value.hash
    assert run["datasets/latest"].fetch_files_list() == run["datasets/v4"].fetch_files_list()
    out = run["datasets/latest"].download(str(tmp_path / "restored"))
    assert (out / "train.csv").read_text() == "a,b\n1,2\n"
    with pytest.raises(NeptuneUserError, match="needs its files"):
        run["datasets/bad"] = Artifact("0" * 64)


def test_figures_convert_on_assign_upload_and_append_as_1x(run):
    fig = plt.figure()
    plt.plot([1, 2, 3])
    pil = Image.new("RGB", (3, 2), (10, 20, 30))
    run["plots/assigned"] = fig  # 1.x: a matplotlib figure is a static PNG
    run["plots/uploaded"].upload(fig)
    run["plots/pil"] = pil
    run["plots/series"].append(pil)
    run["plots/series"].append(np.zeros((4, 4, 3)), name="black", description="an image")
    run["plots/html"].upload(File.as_html(fig))  # no plotly here: the PNG embedded in HTML
    plt.close(fig)
    structure = run.get_structure()["plots"]
    assert structure == {k: "file" for k in ("assigned", "uploaded", "pil", "html")} | {
        "series": "fileSeries"
    }
    for name in ("assigned", "uploaded", "pil"):
        assert run[f"plots/{name}"].fetch_extension() == "png"
        assert run[f"plots/{name}"].download(f"{name}.png").read_bytes().startswith(PNG)
    pixels = Image.open(io.BytesIO(run["plots/pil"].download("p.png").read_bytes()))
    assert pixels.getpixel((0, 0)) == (10, 20, 30)
    html = run["plots/html"].download("fig.html").read_text()
    assert (
        html.startswith("<img src='data:image/png;base64,") and run["plots/html"].fetch_extension() == "html"
    )


class FakePlotlyFigure:
    """Stands in for plotly.graph_objs.Figure (plotly is not installed): neptune recognises figures by
    module and class name, and must pass ``include_plotlyjs`` through to ``write_html``."""

    __module__ = "plotly.graph_objs._figure"

    def write_html(self, buf, include_plotlyjs=True):
        buf.write(f"<html>plotlyjs={include_plotlyjs}</html>")


FakePlotlyFigure.__name__ = FakePlotlyFigure.__qualname__ = "Figure"


def test_plotly_figures_become_html_and_include_plotlyjs_is_passed(run):
    run["chart/assigned"] = FakePlotlyFigure()
    run["chart/cdn"].upload(FakePlotlyFigure(), include_plotlyjs="cdn")
    file = File.as_html(FakePlotlyFigure(), include_plotlyjs=False)
    run["chart/explicit"].upload(file)
    assert run["chart/assigned"].download("a.html").read_text() == "<html>plotlyjs=True</html>"
    assert run["chart/cdn"].download("c.html").read_text() == "<html>plotlyjs=cdn</html>"
    assert run["chart/explicit"].download("e.html").read_text() == "<html>plotlyjs=False</html>"


def test_as_image_autoscale_and_uploading_raw_arrays_or_frames_is_refused_with_the_fix(run):
    scaled = np.asarray(Image.open(io.BytesIO(File.as_image(np.full((1, 1), 1.0)).content)))
    raw = np.asarray(Image.open(io.BytesIO(File.as_image(np.full((1, 1), 1.0), autoscale=False).content)))
    assert (scaled[0, 0], raw[0, 0]) == (255, 1)
    with pytest.raises(NeptuneUserError, match="use File.as_image"):
        run["x"].upload(np.zeros((2, 2)))
    import pandas

    with pytest.raises(NeptuneUserError, match="use File.as_html"):
        run["y"].upload(pandas.DataFrame({"a": [1]}))
    run["table"].upload(File.as_html(pandas.DataFrame({"a": [1]})))
    assert "<table" in run["table"].download("t.html").read_text()


def test_file_from_path_fetch_extension_and_list_fileset_files(run, tmp_path):
    (tmp_path / "weights").write_bytes(b"w")
    run["model"].upload(File.from_path("weights", extension="pt"))
    assert run["model"].fetch_extension() == "pt"
    (tmp_path / "data" / "samples").mkdir(parents=True)
    (tmp_path / "data" / "dataset.csv").write_text("12345")
    (tmp_path / "data" / "samples" / "s1.csv").write_text("1")
    run["dataset"].upload_files("data")
    top = run["dataset"].list_fileset_files()
    assert [(e.name, e.size, e.file_type) for e in top] == [("data", None, "directory")]
    inner = run["dataset"].list_fileset_files(path="data")
    assert [(e.name, e.size, e.file_type) for e in inner] == [
        ("dataset.csv", 5, "file"),
        ("samples", None, "directory"),
    ]
    assert [e.name for e in run["dataset"].list_fileset_files("data/samples")] == ["s1.csv"]


def test_file_set_downloads_as_a_zip_and_file_series_as_index_files(run, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print(1)\n")
    run["code"].upload_files("src")
    default = run["code"].download()  # 1.x: <field name>.zip in the working directory
    assert default.name == "code.zip" and zipfile.ZipFile(default).read("src/train.py") == b"print(1)\n"
    (tmp_path / "into").mkdir()
    assert run["code"].download("into", progress_bar=False).as_posix() == "into/code.zip"
    assert zipfile.ZipFile(tmp_path / "into" / "code.zip").namelist() == ["src/train.py"]
    for step in (3, 7, 11):
        run["val/preds"].append(File.as_image(np.full((2, 2), step / 20)), step=step)
    folder = run["val/preds"].download()  # 1.x: neptune/<field name>/<index>.<extension>
    assert folder.as_posix() == "neptune/preds"
    assert sorted(p.name for p in folder.iterdir()) == ["0.png", "1.png", "2.png"]
    last = run["val/preds"].download_last("last")
    assert last.as_posix() == "last/2.png" and last.read_bytes() == (folder / "2.png").read_bytes()


def test_datetimes_read_back_in_utc_truncated_to_milliseconds(run):
    local = dt.timezone(dt.timedelta(hours=2))
    run["when"] = dt.datetime(2026, 5, 6, 9, 30, 1, 123456, tzinfo=local)
    assert run["when"].fetch() == dt.datetime(2026, 5, 6, 7, 30, 1, 123000, tzinfo=dt.timezone.utc)
    assert run["when"].fetch().tzinfo == dt.timezone.utc
    assert run.fetch()["when"].microsecond == 123000


def test_container_methods_1x_code_calls(run):
    assert run.container_type == "run" and run.container_type.name == "RUN"
    assert run.get_state() == "started"
    assert run.monitoring_namespace.startswith("monitoring/") and len(run.monitoring_namespace) == 19
    run.ping()
    handler = run.define("params/lr", 0.1)
    assert handler.fetch() == 0.1
    with pytest.raises(MetadataInconsistency, match="already defined"):
        run.define("params/lr", 0.2)
    assert run.get_attribute("params/lr").fetch() == 0.1 and run.get_attribute("params/none") is None
    run["loss"].log(0.5, name="ignored", description="ignored")
    assert run["loss"].fetch_values(include_timestamp=False, progress_bar=False)["value"].tolist() == [0.5]
    run.stop()
    assert run.get_state() == "stopped"
    named = neptune.init_run(mode="debug", monitoring_namespace="monitoring/rank0")
    assert named.monitoring_namespace == "monitoring/rank0"
    named.stop()


def test_a_project_has_its_sys_fields(tmp_path):
    project = neptune.init_project(project="team/Vision-2", mode="offline")
    assert project.container_type == "project"
    sys_fields = project["sys"].fetch()
    assert sys_fields["id"] == "VISION" and sys_fields["name"] == "Vision-2" and sys_fields["owner"] == "team"
    assert set(sys_fields) >= {"creation_time", "modification_time", "visibility", "description"}
    project.stop()
    again = neptune.init_project(project="team/Vision-2", mode="offline")
    assert again["sys/creation_time"].fetch() == sys_fields["creation_time"]
    again.stop()


def test_stringify_unsupported_expand(run):
    config = {"layers": [64, (32, None)], "opt": {"betas": (0.9, 0.99)}, "tags": {"b", "a"}}
    run["plain"] = neptune.stringify_unsupported(config)
    run["expanded"] = neptune.stringify_unsupported(config, expand=True)
    assert run["plain/layers"].fetch() == "[64, (32, None)]"
    assert run["plain/opt"].fetch() == {"betas": "(0.9, 0.99)"}
    assert run["plain/tags"].fetch() in ("{'b', 'a'}", "{'a', 'b'}")
    assert run["expanded"].fetch() == {
        "layers": {"0": 64, "1": {"0": 32, "1": "None"}},
        "opt": {"betas": {"0": 0.9, "1": 0.99}},
        "tags": {"0": "a", "1": "b"},
    }
