"""Hardware metrics: 1.x's field names, types and units, sampled by one background thread."""

from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

import psutil
import pytest
from capture_helpers import Logged, run_script

import neptune_sync as neptune
from neptune_sync.capture.hardware import HardwareSampler, card_indices, gauge_names, nvml_gauges


def test_a_run_samples_cpu_and_memory_as_float_series_in_percent_and_gb(tmp_path):
    out = run_script(
        """
        import time, neptune_sync as neptune
        run = neptune.init_run(mode="offline", git_ref=False, source_files=[])
        deadline = time.time() + 1.6
        while time.time() < deadline:
            pass  # keep a core busy
        run.stop()
        """,
        cwd=tmp_path,
        env={"NEPTUNE_SYNC_MONITORING_PERIOD": "0.2"},
    )
    assert out.returncode == 0, out.stderr
    logged = Logged()
    (ns,) = logged.namespaces()
    assert logged.type(f"{ns}/cpu") == "floatSeries" and logged.type(f"{ns}/memory") == "floatSeries"
    cpu, memory = logged.series(f"{ns}/cpu"), logged.series(f"{ns}/memory")
    assert 3 <= len(cpu) <= 8 and len(memory) == len(cpu)  # first at 1 s, then every 0.2 s
    assert [s for s, _, _ in cpu] == list(range(len(cpu)))
    assert all(0.0 <= v <= 100.0 for _, v, _ in cpu) and max(v for _, v, _ in cpu) > 0.0
    total_gb = psutil.virtual_memory().total / 2**30
    now_gb = (psutil.virtual_memory().total - psutil.virtual_memory().available) / 2**30
    assert all(0.0 < v < total_gb for _, v, _ in memory)
    assert abs(memory[-1][1] - now_gb) < 0.1 * now_gb + 0.2  # other processes come and go
    # no NVML in the test environment: no GPU fields and nothing on stderr
    assert not any(name.startswith("gpu") for name in logged.namespaces()[ns])
    assert out.stderr == ""


def test_the_sampler_names_gpu_fields_as_1x_one_card_without_index():
    logged: list[tuple[str, float]] = []

    def gpus() -> list:
        return [(name, lambda: 7.0) for name in gauge_names("gpu", [0])] + [
            (name, lambda: 1.5) for name in gauge_names("gpu_memory", [0, 1])
        ]

    sampler = HardwareSampler(lambda name, value: logged.append((name, value)), gpu=gpus)
    sampler.sample()  # the first call only starts psutil's CPU interval
    assert logged == []
    sampler.sample()
    names = [name for name, _ in logged]
    assert names == ["cpu", "memory", "gpu", "gpu_memory_0", "gpu_memory_1"]
    assert all(type(value) is float for _, value in logged)


@pytest.mark.parametrize(
    ("visible", "count", "expected"),
    [
        (None, 3, [0, 1, 2]),
        ("", 2, [0, 1]),  # not a list of indices: all cards
        ("2,0", 4, [0, 2]),
        ("1,7,0", 4, [1]),  # stops at the first index the machine does not have
        ("-1", 2, []),
        ("GPU-3f2a", 2, [0, 1]),  # UUIDs were not understood by 1.x either
    ],
)
def test_card_indices_follow_cuda_visible_devices_as_1x(visible, count, expected):
    assert card_indices(visible, count) == expected


def test_one_thread_samples_and_stop_ends_it(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_MONITORING_PERIOD", "0.05")
    before = set(threading.enumerate())  # runs of other tests may still have theirs
    run = neptune.init_run(
        mode="debug", git_ref=False, source_files=[], capture_stdout=False, capture_stderr=False
    )
    started = [t for t in threading.enumerate() if t not in before]
    assert [t.name for t in started] == ["neptune-sync-capture"]
    time.sleep(1.3)
    run.stop()
    assert not started[0].is_alive()
    count = len(run[f"{run.monitoring_namespace}/cpu"].fetch_values())
    time.sleep(0.2)
    assert len(run[f"{run.monitoring_namespace}/cpu"].fetch_values()) == count >= 2


def test_capture_hardware_metrics_false_starts_no_sampling(monkeypatch):
    monkeypatch.setenv("NEPTUNE_SYNC_MONITORING_PERIOD", "0.05")
    run = neptune.init_run(mode="debug", git_ref=False, source_files=[], capture_hardware_metrics=False)
    time.sleep(1.2)
    run.stop()
    fields = run.get_structure()["monitoring"][run.monitoring_namespace.split("/")[1]]
    assert "cpu" not in fields and "memory" not in fields
    assert {"hostname", "pid", "tid"} <= set(fields)


def fake_nvml(cards: dict[int, dict[str, float]], broken: frozenset[int] = frozenset()) -> SimpleNamespace:
    """A stand-in for the ``pynvml`` module: NVML's raw units (%, bytes, milliwatts) per card."""

    def read(key: str):
        def call(handle: int) -> float:
            if handle in broken:
                raise RuntimeError("NVML_ERROR_GPU_IS_LOST")
            return cards[handle][key]

        return call

    util, used, power = read("util"), read("used"), read("milliwatts")
    return SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetCount=lambda: len(cards),
        nvmlDeviceGetHandleByIndex=lambda index: index,
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=util(h)),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(used=used(h)),
        nvmlDeviceGetPowerUsage=power,
    )


CARDS = {
    0: {"util": 11, "used": 2**30, "milliwatts": 50_999},
    1: {"util": 57, "used": 3 * 2**29, "milliwatts": 123_456},
    2: {"util": 100, "used": 0, "milliwatts": 999},
}


def test_gpu_gauges_give_1x_units_for_the_visible_cards(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(CARDS))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0")
    values = {name: read() for name, read in nvml_gauges()}
    # percent as a float, GB of 2**30 bytes, whole watts (1.x: milliwatts // 1000)
    assert values == {
        "gpu_0": 11.0,
        "gpu_2": 100.0,
        "gpu_memory_0": 1.0,
        "gpu_memory_2": 0.0,
        "gpu_power_0": 50.0,
        "gpu_power_2": 0.0,
    }
    assert all(type(v) is float for v in values.values())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert {name: read() for name, read in nvml_gauges()} == {
        "gpu": 57.0,
        "gpu_memory": 1.5,
        "gpu_power": 123.0,
    }


def test_a_card_that_stops_answering_gives_no_point_and_no_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(CARDS, broken=frozenset({1})))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    logged: list[tuple[str, float]] = []
    sampler = HardwareSampler(lambda name, value: logged.append((name, value)))
    sampler.prime()
    sampler.sample()
    names = [name for name, _ in logged]
    assert names == [
        "cpu",
        "memory",
        "gpu_0",
        "gpu_2",
        "gpu_memory_0",
        "gpu_memory_2",
        "gpu_power_0",
        "gpu_power_2",
    ]


def test_without_nvml_there_are_no_gpu_gauges(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    assert nvml_gauges() == []
