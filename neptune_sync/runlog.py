"""A run's operation log as the client holds it: opening the writer, fork safety, periodic fsync, contained failures.

A :class:`RunLog` owns one writer at a time. ``runlog.append_float`` is the writer's own bound
method (the hot path adds nothing to it); it is swapped for a reopening function after
``os.fork()`` (the child must never write into the parent's segment) and after a failure.

A write that fails with :class:`LoggingDisabledError` (disk full, I/O error) never crashes the
caller unless ``strict``: it is counted in ``dropped`` and reported with ``logging.error``, at most
once every ``REPORT_INTERVAL`` seconds. The run log retries opening a fresh writer at most once
every ``RETRY_INTERVAL`` seconds, so logging resumes when the disk has room again.

The count is kept durably in the run's drop record (neptune_sync.oplog.drops), and logged as the
field ``sys/dropped_operations/<id>`` once the log takes writes again (and on close), so the
store shows it too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from .exceptions import InactiveRunError, LoggingDisabledError
from .oplog.drops import FIELD_PREFIX, DropCounter
from .oplog.writer import new_writer_id
from .wire.ops import AssignInt, Op

logger = logging.getLogger("neptune_sync")

REPORT_INTERVAL = 10.0
RETRY_INTERVAL = 5.0

WriterOpener = Callable[[], Any]  # returns an OpLogWriter (or a DebugWriter)


class RunLog:
    """Where a run's operations go. Thread-safe as the writer is."""

    def __init__(
        self,
        open_writer: WriterOpener,
        *,
        strict: bool,
        flush_period: float | None,
        drops: DropCounter | None = None,
    ) -> None:
        self._open_writer = open_writer
        self.strict = strict
        self.flush_period = flush_period
        self.dropped = 0
        self._drops = drops
        self._drops_run: Any = None  # a forked child's run dir: its drop record is made on its first drop
        self._dropped_logged = 0  # the count last written into the log itself
        self.closed = False
        self.writer: Any = None
        self.append_float: Callable[[str, float, float, float], int] = self._reopen_float
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._failure = ""  # why the log became unavailable
        self._reported_at = float("-inf")
        self._unreported = 0
        self._flusher: _Flusher | None = None
        _live_runlogs.add(self)
        self._open()

    # ------------------------------------------------------------------ writing
    def append(self, op: Op, ts: float | None = None) -> None:
        """Log one operation; a failure is contained (see the module docstring)."""
        writer = self.writer
        try:
            if writer is None:
                writer = self._open()
                if writer is None:
                    return
            writer.append(op, ts)
        except LoggingDisabledError as exc:
            self.failed(exc)

    def failed(self, exc: LoggingDisabledError) -> None:
        """Count one dropped write and report it (rate-limited); raise it when strict."""
        if self.closed:
            raise InactiveRunError("the run is stopped; it accepts no more writes") from None
        self.dropped += 1
        if self._drops_run is not None:
            self._drops, self._drops_run = open_drop_counter(self._drops_run), None
        if self._drops is not None:
            self._drops.record(self.dropped, str(exc))
        if self.writer is not None and getattr(self.writer, "closed", False):
            self._failure = str(exc)
            self._drop_writer()
        if self.strict:
            raise exc
        now = time.monotonic()
        self._unreported += 1
        if now - self._reported_at >= REPORT_INTERVAL:
            logger.error(
                "neptune-sync could not write the operation log (%s); %d write(s) dropped so far "
                "(%d since the last report). Training continues; set NEPTUNE_SYNC_STRICT=1 to fail instead.",
                exc,
                self.dropped,
                self._unreported,
            )
            self._reported_at, self._unreported = now, 0

    def flush(self, *, fsync: bool) -> None:
        """Write buffered data to the file (buffered durability); with ``fsync`` also to the disk."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.flush()
            if fsync:
                writer.fsync()
        except LoggingDisabledError as exc:
            self.failed(exc)

    @property
    def last_seq(self) -> int:
        return self.writer.last_seq if self.writer is not None else 0

    def close(self) -> None:
        """fsync and close the writer; later writes raise InactiveRunError."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.append_float = self._inactive
            if self._flusher is not None:
                self._flusher.stop()
            writer, self.writer = self.writer, None
            if writer is None and self._drops is not None and self.dropped > self._dropped_logged:
                writer = self._last_writer()
        if writer is not None:
            self._log_dropped(writer)
            try:
                writer.close()
            except LoggingDisabledError as exc:
                logger.error("neptune-sync could not complete the operation log on stop: %s", exc)
                if self.strict:
                    raise
        if self._drops is not None:
            self._drops.close()

    def _last_writer(self) -> Any:
        """On close after a failure: a writer for the drop count, if the disk has room again."""
        try:
            return self._open_writer()
        except (OSError, LoggingDisabledError):
            return None

    def _log_dropped(self, writer: Any) -> None:
        """Write the drop count into the log (so it reaches the store), if it grew since last time."""
        if self._drops is None or self.dropped == self._dropped_logged:
            return
        try:
            writer.append(AssignInt(FIELD_PREFIX + self._drops.id, self.dropped))
        except LoggingDisabledError:
            return  # the drop record keeps the count; the next open or close tries again
        self._dropped_logged = self.dropped

    # ------------------------------------------------------------------ lifecycle
    def _open(self) -> Any:
        """Open a writer (retrying a failed open at most every RETRY_INTERVAL)."""
        with self._lock:
            if self.closed:
                raise InactiveRunError("the run is stopped; it accepts no more writes")
            if self.writer is not None:
                return self.writer
            now = time.monotonic()
            if now < self._retry_at:
                raise LoggingDisabledError(
                    f"the operation log is unavailable (retrying shortly): {self._failure}"
                )
            try:
                writer = self._open_writer()
            except (OSError, LoggingDisabledError) as exc:
                self._retry_at = now + RETRY_INTERVAL
                self._failure = str(exc)
                error = LoggingDisabledError(f"cannot open the operation log: {exc}")
            else:
                self.writer, self.append_float = writer, writer.append_float
                if self.flush_period and self._flusher is None:
                    self._flusher = _Flusher(self, self.flush_period)
                self._log_dropped(writer)
                return writer
        self.failed(error)
        return None

    def _reopen_float(self, path: str, step: float, value: float, ts: float) -> int:
        writer = self._open()
        if writer is None:
            return 0
        return writer.append_float(path, step, value, ts)

    def _inactive(self, path: str, step: float, value: float, ts: float) -> int:
        raise InactiveRunError("the run is stopped; it accepts no more writes")

    def _drop_writer(self) -> None:
        self.writer, self.append_float = None, self._reopen_float
        self._retry_at = time.monotonic() + RETRY_INTERVAL

    def _after_fork_in_child(self) -> None:
        # The parent's writer maps the parent's segment: the child opens its own on first use.
        self._lock = threading.Lock()
        self._flusher = None
        self.dropped = self._dropped_logged = 0  # the child counts its own drops, in its own record
        if self._drops is not None:  # not at once: forked workers (data loaders) rarely log
            self._drops.close()  # the child's copy of the descriptor
            self._drops_run, self._drops = self._drops.path.parent.parent, None
        if self.writer is not None:
            self.writer, self.append_float = None, self._reopen_float
            self._retry_at = 0.0


class _Flusher:
    """A daemon thread that flushes and fsyncs the log every ``period`` seconds."""

    def __init__(self, runlog: RunLog, period: float) -> None:
        self._stopped = threading.Event()
        runlog_ref = weakref.ref(runlog)
        self._thread = threading.Thread(
            target=self._loop, args=(runlog_ref, period), name="neptune-sync-flush", daemon=True
        )
        self._thread.start()

    def _loop(self, runlog_ref: weakref.ref[RunLog], period: float) -> None:
        while not self._stopped.wait(period):
            runlog = runlog_ref()
            if runlog is None or runlog.closed:
                return
            try:
                runlog.flush(fsync=True)
            except Exception as exc:  # strict mode raised: nobody to raise to in this thread
                logger.error("neptune-sync periodic flush failed: %s", exc)
            del runlog

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)


_live_runlogs: weakref.WeakSet[RunLog] = weakref.WeakSet()


def open_drop_counter(run_path: Any) -> DropCounter | None:
    """A new drop record for this process in the run directory (None, reported, if it cannot be made)."""
    try:
        return DropCounter(run_path, new_writer_id())
    except OSError as exc:
        logger.error("neptune-sync cannot create its drop record in %s: %s", run_path, exc)
        return None


def _after_fork_in_child() -> None:
    for runlog in list(_live_runlogs):
        runlog._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
