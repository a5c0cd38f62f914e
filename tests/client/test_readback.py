"""fetch_values(): a pandas DataFrame when pandas is installed (as neptune 1.x), else a list of dicts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

import neptune_sync as neptune

UTC = dt.timezone.utc

WITHOUT_PANDAS = """
import sys
sys.modules["pandas"] = None  # `import pandas` now raises ImportError, as if it were not installed
import neptune_sync as neptune
run = neptune.init_run(project="w/p", mode="offline")
run["loss"].extend([0.5, 0.25], steps=[1, 2], timestamps=[10.0, 20.0])
print(repr(run["loss"].fetch_values()))
print(repr(run["loss"].fetch_values(include_timestamp=False)))
run.stop()
"""


def test_fetch_values_without_pandas_is_a_list_of_dicts_of_plain_values():
    out = subprocess.run([sys.executable, "-c", WITHOUT_PANDAS], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    with_ts, without_ts = out.stdout.splitlines()
    assert with_ts == repr(
        [
            {"step": 1.0, "value": 0.5, "timestamp": dt.datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)},
            {"step": 2.0, "value": 0.25, "timestamp": dt.datetime(1970, 1, 1, 0, 0, 20, tzinfo=UTC)},
        ]
    )
    assert without_ts == repr([{"step": 1.0, "value": 0.5}, {"step": 2.0, "value": 0.25}])


def test_fetch_values_with_pandas_is_a_dataframe_of_float_steps_and_utc_timestamps():
    pandas = pytest.importorskip("pandas")
    with neptune.init_run(mode="offline") as run:
        run["loss"].extend([0.5, 0.25], steps=[1, 2], timestamps=[10.0, 20.0])
        run["log"].append("epoch 1", step=1)
        frame = run["loss"].fetch_values()
        assert isinstance(frame, pandas.DataFrame)
        assert list(frame.columns) == ["step", "value", "timestamp"]
        assert str(frame["step"].dtype) == "float64" and str(frame["timestamp"].dt.tz) == "UTC"
        assert frame.to_dict("records") == [
            {"step": 1.0, "value": 0.5, "timestamp": dt.datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)},
            {"step": 2.0, "value": 0.25, "timestamp": dt.datetime(1970, 1, 1, 0, 0, 20, tzinfo=UTC)},
        ]
        bare = run["log"].fetch_values(include_timestamp=False)
        assert bare.to_dict("records") == [{"step": 1.0, "value": "epoch 1"}]
        run["gone"].append(1.0)
        run["gone"].clear()
        empty = run["gone"].fetch_values()
        assert empty.empty and list(empty.columns) == ["step", "value", "timestamp"]
