"""The daemon: one anyio task group holding a signal task, discovery, a heartbeat for systemd
and one replicator per run.

Any unexpected error cancels the group and ends the process (systemd restarts it); everything
the daemon does is idempotent against the store, so a restart only repeats work. SIGTERM / SIGINT
drain: replicators finish the batch in flight and stop, bounded by ``shutdown_timeout``, then the
rest is cancelled.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import anyio
from anyio.abc import TaskGroup, TaskStatus

from .config import DaemonConfig
from .discovery import discover
from .gate import ProjectGate
from .notify import Notifier
from .replicator import Replicator
from .sinks.base import Sink

log = logging.getLogger(__name__)
STATUS_INTERVAL = 5.0


class Service:
    """Replicates every run under the data dir to one sink until stopped."""

    def __init__(self, config: DaemonConfig, sink: Sink, notifier: Notifier | None = None) -> None:
        self.config = config
        self.sink = sink
        self.notifier = notifier or Notifier()
        self.replicators: dict[Path, Replicator] = {}
        self.stopping = anyio.Event()
        self._gate = ProjectGate()
        self._limiter = anyio.CapacityLimiter(config.max_concurrent_requests)
        self._tg: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until a signal or :meth:`stop`; reports readiness to ``task_status`` and systemd."""
        await self.sink.open()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._signals)
                await tg.start(
                    discover, self.config.root, self._on_run, self.config.rescan_interval, self.stopping
                )
                tg.start_soon(self._heartbeat)
                self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
                log.info("neptune-syncd serving %s", self.config.root)
                task_status.started()
        finally:
            with anyio.CancelScope(shield=True):
                await self.sink.close()

    async def stop(self) -> None:
        """Drain: let replicators finish their batch in flight (bounded), then cancel the rest."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.notifier.notify("STOPPING=1")
        log.info("stopping: draining %d replicators", len(self.replicators))
        for replicator in self.replicators.values():
            replicator.nudge()
        with anyio.move_on_after(self.config.shutdown_timeout):
            while self.replicators:
                await anyio.sleep(0.01)
        if self.replicators:
            log.warning("shutdown timeout: %d replicators cancelled mid-batch", len(self.replicators))
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    def status_line(self) -> str:
        pending = sum(r.state.pending_ops for r in self.replicators.values())
        errors = sum(bool(r.state.last_error) for r in self.replicators.values())
        return f"{len(self.replicators)} runs, {pending} ops pending, {errors} with errors"

    def _on_run(self, run_path: Path) -> None:
        replicator = self.replicators.get(run_path)
        if replicator is not None:
            replicator.nudge()
        elif not self.stopping.is_set() and self._tg is not None:
            replicator = Replicator(
                run_path,
                self.sink,
                self.config,
                gate=self._gate,
                limiter=self._limiter,
                stopping=self.stopping,
            )
            self.replicators[run_path] = replicator
            self._tg.start_soon(self._replicate, replicator)

    async def _replicate(self, replicator: Replicator) -> None:
        try:
            await replicator.run()
        finally:
            self.replicators.pop(replicator.run_path, None)

    async def _signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("received %s", signal.Signals(signum).name)
                await self.stop()
                return

    async def _heartbeat(self) -> None:
        """STATUS= every few seconds; WATCHDOG=1 at the interval systemd asked for."""
        interval = self.config.watchdog_interval or self.notifier.watchdog_interval
        tick = min(interval, STATUS_INTERVAL) if interval else STATUS_INTERVAL
        since_status = 0.0
        while True:
            await anyio.sleep(tick)
            since_status += tick
            if interval:
                self.notifier.notify("WATCHDOG=1")
            if since_status >= STATUS_INTERVAL:
                since_status = 0.0
                self.notifier.notify(f"STATUS={self.status_line()}")
