"""Hardware metrics as neptune 1.x recorded them: float series under the monitoring namespace.

| field (under ``monitoring/<hash>``) | value | unit |
|---|---|---|
| ``cpu`` | ``psutil.cpu_percent()``: all cores, since the previous sample | % |
| ``memory`` | ``virtual_memory().total - available`` | GB (2**30 bytes) |
| ``gpu`` / ``gpu_<i>`` | NVML utilisation of card *i* | % |
| ``gpu_memory`` / ``gpu_memory_<i>`` | NVML used memory of card *i* | GB (2**30 bytes) |
| ``gpu_power`` / ``gpu_power_<i>`` | NVML power draw of card *i*, whole watts | W |

As in 1.x, a resource with one gauge has no index (``gpu`` on a one-card machine), and the cards
are those ``CUDA_VISIBLE_DEVICES`` names (valid indices up to the first invalid one), else all.
psutil is imported by the sampling thread, not by ``import neptune_sync``; NVML (the ``pynvml``
module of the optional ``nvidia-ml-py`` package) is used only when it imports and initialises:
otherwise there are no GPU fields and one info line in the log.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("neptune_sync")

GB = float(2**30)

Gauge = tuple[str, Callable[[], float]]  # (field name, read the value)
Append = Callable[[str, float], None]  # (field name, value)


class HardwareSampler:
    """Reads every gauge once per :meth:`sample` and appends each value to its series."""

    def __init__(self, append: Append, gpu: Callable[[], list[Gauge]] | None = None) -> None:
        self._append = append
        self._gpu = nvml_gauges if gpu is None else gpu
        self._gauges: list[Gauge] | None = None

    def prime(self) -> None:
        """Import psutil and open NVML; the first ``cpu_percent()`` only starts its interval."""
        try:
            import psutil
        except ImportError as exc:  # a broken install: the run goes on without hardware metrics
            logger.warning("neptune-sync: no hardware metrics (%s)", exc)
            self._gauges = []
            return

        psutil.cpu_percent()
        self._gauges = [
            ("cpu", psutil.cpu_percent),
            ("memory", lambda: _used_memory(psutil.virtual_memory())),
            *self._gpu(),
        ]

    def sample(self) -> None:
        if self._gauges is None:  # not primed: this sample starts the CPU interval
            self.prime()
            return
        for name, read in self._gauges:
            value = read()
            if value is not None:
                self._append(name, float(value))


def _used_memory(vm: Any) -> float:
    return (vm.total - vm.available) / GB


def card_indices(visible: str | None, count: int) -> list[int]:
    """The NVML indices of the cards a process uses, from ``CUDA_VISIBLE_DEVICES`` as 1.x read it."""
    if visible is None or not re.fullmatch(r"-?\d+(,-?\d+)*", visible):
        return list(range(count))
    indices: list[int] = []
    for item in visible.split(","):
        index = int(item)
        if not 0 <= index < count:
            break
        indices.append(index)
    return sorted(set(indices))


def gauge_names(resource: str, indices: list[int]) -> list[str]:
    """``gpu`` for one card, ``gpu_0``, ``gpu_1``... for several (1.x's naming)."""
    if len(indices) == 1:
        return [resource]
    return [f"{resource}_{i}" for i in indices]


def nvml_gauges() -> list[Gauge]:
    """Per-card utilisation, memory and power gauges; none without pynvml or an NVIDIA driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as exc:  # no package, no driver, no card: no GPU fields
        logger.info("neptune-sync: no GPU metrics (%s)", exc)
        return []
    indices = card_indices(os.environ.get("CUDA_VISIBLE_DEVICES"), count)
    handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in indices]
    readers: list[tuple[str, Callable[[Any], float]]] = [
        ("gpu", lambda h: float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu)),
        ("gpu_memory", lambda h: pynvml.nvmlDeviceGetMemoryInfo(h).used / GB),
        ("gpu_power", lambda h: float(pynvml.nvmlDeviceGetPowerUsage(h) // 1000)),
    ]
    gauges: list[Gauge] = []
    for resource, read in readers:
        for name, handle in zip(gauge_names(resource, indices), handles, strict=True):
            gauges.append((name, _guarded(read, handle)))
    return gauges


def _guarded(read: Callable[[Any], float], handle: Any) -> Callable[[], float | None]:
    """A card that stops answering (NVML error) gives no point for that sample."""

    def value() -> float | None:
        try:
            return read(handle)
        except Exception:
            return None

    return value
