"""Import Parquet files laid out and typed like neptune-exporter's (README "Parquet schema" and
"Data layout on disk"), written here with pyarrow, and compare every value, point and file."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from neptune_sync.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

UTC = dt.timezone.utc
SCHEMA = pa.schema(
    [
        ("project_id", pa.string()),
        ("run_id", pa.string()),
        ("attribute_path", pa.string()),
        ("attribute_type", pa.string()),
        ("step", pa.decimal128(18, 6)),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("int_value", pa.int64()),
        ("float_value", pa.float64()),
        ("string_value", pa.string()),
        ("bool_value", pa.bool_()),
        ("datetime_value", pa.timestamp("ms", tz="UTC")),
        ("string_set_value", pa.list_(pa.string())),
        ("file_value", pa.struct([("path", pa.string())])),
        (
            "histogram_value",
            pa.struct(
                [("type", pa.string()), ("edges", pa.list_(pa.float64())), ("values", pa.list_(pa.float64()))]
            ),
        ),
    ]
)
PROJECT = "ws/proj"
T = dt.datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC)
CREATED = dt.datetime(2026, 1, 31, 8, 0, 0, tzinfo=UTC)


def _row(run_id: str, path: str, kind: str, **values) -> dict:
    row = {name: None for name in SCHEMA.names}
    row.update(project_id=PROJECT, run_id=run_id, attribute_path=path, attribute_type=kind, **values)
    return row


def _point(run_id: str, path: str, kind: str, step: str, i: int, **values) -> dict:
    return _row(run_id, path, kind, step=Decimal(step), timestamp=T + dt.timedelta(seconds=i), **values)


def _write(path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)


@pytest.fixture
def export(tmp_path):
    """An export of two runs: SAN-1 in two parts with every supported type, SAN-2 small."""
    data, files = (
        tmp_path / "exports" / "data" / "ws_proj_1a2b",
        tmp_path / "exports" / "files" / "ws_proj_1a2b",
    )
    (files / "SAN-1" / "cfg").mkdir(parents=True)
    (files / "SAN-1" / "cfg" / "config.yaml").write_bytes(b"lr: 0.1\n")
    (files / "SAN-1" / "imgs").mkdir()
    (files / "SAN-1" / "imgs" / "step_2.png").write_bytes(b"png-bytes")
    (files / "SAN-1" / "code" / "pkg").mkdir(parents=True)
    (files / "SAN-1" / "code" / "pkg" / "m.py").write_bytes(b"print(1)\n")
    part0 = [
        _row("SAN-1", "sys/custom_run_id", "string", string_value="my-run"),
        _row("SAN-1", "sys/creation_time", "datetime", datetime_value=CREATED),
        _row("SAN-1", "params/lr", "float", float_value=0.1),
        _row("SAN-1", "params/epochs", "int", int_value=12),
        _row("SAN-1", "params/flag", "bool", bool_value=False),
        _row("SAN-1", "params/when", "datetime", datetime_value=T),
        _row("SAN-1", "sys/tags", "string_set", string_set_value=["b", "a"]),
        _row("SAN-1", "config", "file", file_value={"path": "SAN-1/cfg/config.yaml"}),
        _row("SAN-1", "source_code/files", "file_set", file_value={"path": "SAN-1/code"}),
    ] + [
        _point("SAN-1", "train/loss", "float_series", str(i), i, float_value=1.0 / (i + 1)) for i in range(5)
    ]
    part1 = [
        _point("SAN-1", "train/loss", "float_series", str(i), i, float_value=1.0 / (i + 1))
        for i in range(5, 8)
    ] + [
        _point("SAN-1", "train/half", "float_series", "0.5", 0, float_value=2.0),
        _point("SAN-1", "log", "string_series", "1", 1, string_value="hello"),
        _point("SAN-1", "imgs", "file_series", "2", 2, file_value={"path": "SAN-1/imgs/step_2.png"}),
    ]
    _write(data / "SAN-1_part_0.parquet", part0)
    _write(data / "SAN-1_part_1.parquet", part1)
    _write(data / "SAN-2_part_0.parquet", [_row("SAN-2", "params/lr", "float", float_value=0.2)])
    return tmp_path / "exports" / "data"


def _import(export_dir, *extra: str) -> int:
    return main(["import", "neptune-exporter", str(export_dir), *extra])


def _by_run_id(log_view) -> dict[str, object]:
    return {json.loads((r / "run.json").read_text())["run_id"]: r for r in log_view.runs()}


def test_exported_runs_are_imported_with_every_value_point_and_file(export, log_view, capsys):
    assert _import(export) == 0

    runs = _by_run_id(log_view)
    assert set(runs) == {"SAN-1", "SAN-2"}
    state = log_view.state(runs["SAN-1"])
    assert state == {
        "import/neptune/project_id": PROJECT,
        "import/neptune/run_id": "SAN-1",
        "sys/custom_run_id": "my-run",
        "sys/creation_time": CREATED,
        "params/lr": 0.1,
        "params/epochs": 12,
        "params/flag": False,
        "params/when": T,
        "sys/tags": {"a", "b"},
        "config": ("config.yaml", b"lr: 0.1\n"),
        "source_code/files": {"pkg/m.py": b"print(1)\n"},
        "train/loss": [(i, 1.0 / (i + 1)) for i in range(8)],
        "train/half": [(0.5, 2.0)],
        "log": [(1.0, "hello")],
        "imgs": [(2.0, b"png-bytes")],
    }
    assert log_view.state(runs["SAN-2"])["params/lr"] == 0.2
    loss = [e for e in log_view.entries(runs["SAN-1"]) if getattr(e.op, "path", "") == "train/loss"]
    assert loss[0].op.points[0].ts == pytest.approx(T.timestamp())
    identity = json.loads((runs["SAN-1"] / "run.json").read_text())
    assert identity["project"] == PROJECT and identity["created"] == CREATED.timestamp()
    assert identity["custom_run_id"] == "my-run"  # keyed as init_run(custom_run_id="my-run") keys it
    lr = next(e for e in log_view.entries(runs["SAN-1"]) if getattr(e.op, "path", "") == "params/lr")
    assert lr.ts == CREATED.timestamp()  # rows without a timestamp take the run's creation time
    assert "0 problem(s)" in capsys.readouterr().out


def test_exported_run_is_resumed_by_its_custom_run_id_or_its_id(export, log_view):
    import neptune_sync

    assert _import(export) == 0
    for how in ({"custom_run_id": "my-run"}, {"with_id": "SAN-1"}):
        run = neptune_sync.init_run(project=PROJECT, mode="offline", **how)
        try:
            assert run["params/epochs"].fetch() == 12
        finally:
            run.stop()
    assert len(log_view.runs()) == 2


def test_reimport_of_an_export_adds_nothing(export, log_view, capsys):
    assert _import(export) == 0
    counts = {k: len(log_view.entries(r)) for k, r in _by_run_id(log_view).items()}
    capsys.readouterr()

    assert _import(export) == 0

    assert {k: len(log_view.entries(r)) for k, r in _by_run_id(log_view).items()} == counts
    assert "0 operations imported" in capsys.readouterr().out


def test_project_option_overrides_the_exported_project(export, log_view):
    assert _import(export, "--project", "mine/here") == 0
    assert {json.loads((r / "run.json").read_text())["project"] for r in log_view.runs()} == {"mine/here"}


def test_histograms_missing_files_and_nan_are_kept_aside(tmp_path, log_view, capsys):
    data = tmp_path / "data" / "p"
    hist = {"type": "COUNTING", "edges": [0.0, 1.0], "values": [3.0]}
    _write(
        data / "R-1_part_0.parquet",
        [
            _row("R-1", "a", "int", int_value=1),
            _point("R-1", "h", "histogram_series", "0", 0, histogram_value=hist),
            _row("R-1", "f", "file", file_value={"path": "R-1/missing.bin"}),
            _row("R-1", "z", "some_new_type", string_value="?"),
            _point("R-1", "m", "float_series", "1", 1, float_value=float("nan")),
            _point("R-1", "m", "float_series", "2", 2, float_value=0.5),
        ],
    )

    assert _import(tmp_path / "data", "--files-dir", str(tmp_path / "files")) == 1

    out = capsys.readouterr().out
    assert out.count("SKIPPED:") == 4 and "R-1_part_0.parquet row 1" in out and "histogram" in out
    assert "non-finite value nan" in out
    state = log_view.state()
    assert state["a"] == 1 and state["m"] == [(2.0, 0.5)]
    (kept,) = (log_view.run() / "import").glob("*.kept.jsonl")
    kept_paths = [json.loads(line)["record"]["attribute_path"] for line in kept.read_text().splitlines()]
    assert kept_paths == ["h", "f", "z", "m"]


def test_directory_without_parquet_files_fails(tmp_path, capsys):
    assert _import(tmp_path) == 1
    assert "no neptune-exporter Parquet files" in capsys.readouterr().out
