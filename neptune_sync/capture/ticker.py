"""One background thread per run that calls periodic jobs (hardware samples, the heartbeat).

A job is a callable and a period (None: called once); its first call is ``first`` seconds after
start. A job that
raises is reported once and dropped, so a broken sensor never stops the others. ``stop()`` wakes
the thread and joins it. Threads do not survive ``fork``: a forked child has no ticker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("neptune_sync")

JOIN_TIMEOUT = 10.0


@dataclass
class Job:
    name: str
    call: Callable[[], None]
    period: float | None
    due: float


class Ticker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._jobs: list[Job] = []
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="neptune-sync-capture", daemon=True)

    def add(self, name: str, call: Callable[[], None], period: float | None, first: float = 0.0) -> None:
        """Register a job before :meth:`start`."""
        self._jobs.append(Job(name, call, period, self._clock() + first))

    def start(self) -> None:
        if self._jobs:
            self._thread.start()

    def stop(self) -> None:
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT)

    def _loop(self) -> None:
        while self._jobs:
            job = min(self._jobs, key=lambda j: j.due)
            if self._wake.wait(max(0.0, job.due - self._clock())):
                return
            try:
                job.call()
            except Exception as exc:
                logger.warning("neptune-sync: %s capture stopped: %s", job.name, exc)
                self._jobs.remove(job)
                continue
            if job.period is None:
                self._jobs.remove(job)
            else:
                job.due = max(job.due + job.period, self._clock())
