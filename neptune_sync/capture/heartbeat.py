"""``sys/ping_time`` (datetime) and ``sys/running_time`` (seconds, float) while a run lives.

neptune 1.x's server set both from the client's pings; offline, the client writes them itself:
at start, every ``HEARTBEAT_PERIOD`` seconds (two small assignments, ~0.2 KB) and at ``stop()``.
``running_time`` counts this process's session of the run (a resumed run starts again from 0).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any


class Heartbeat:
    def __init__(self, run: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._run = run
        self._clock = clock
        self._started = clock()

    def beat(self) -> None:
        self._run["sys/ping_time"] = _dt.datetime.now(_dt.timezone.utc)
        self._run["sys/running_time"] = round(self._clock() - self._started, 3)
