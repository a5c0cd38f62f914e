"""What a run records without a line of user code, as neptune 1.x did (docs/compat.md, "Capture").

``Capture.start(run, options, resumed=...)`` runs after the run's own ``sys/*`` fields are written:
the monitoring fields (``hostname``, ``pid``, ``tid``), source files, dependencies and git state
once, then console copies, the uncaught-exception listener and one background thread for hardware
samples and the heartbeat (what those need is imported and opened before it starts: the thread
only samples and writes). ``stop()`` undoes all of it before the run's log closes. A capture that
fails to start is reported and skipped: it never stops the run from starting.

Modules: ``options`` (keywords, environment, defaults), ``console``, ``tracebacks``, ``hardware``,
``heartbeat``, ``ticker``, ``git``, ``source``.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..types.file import File
from . import console, git, source, tracebacks
from .hardware import HardwareSampler
from .heartbeat import Heartbeat
from .options import CaptureOptions, default_namespace, interactive, resolve
from .ticker import Ticker

logger = logging.getLogger("neptune_sync")

HARDWARE_FIRST_SAMPLE = 1.0  # seconds after start: a short run still gets a sample

__all__ = ["Capture", "CaptureOptions", "resolve"]


class Capture:
    """The automatic capture of one run; see the module docstring."""

    def __init__(self, run: Any, options: CaptureOptions) -> None:
        self._run = run
        self.options = options
        self._streams: list[console.StreamCopy] = []
        self._ticker = Ticker()
        self._heartbeat: Heartbeat | None = None
        self._stopped = False

    @classmethod
    def start(cls, run: Any, options: CaptureOptions, *, resumed: bool) -> Capture:
        capture = cls(run, options)
        capture._once(resumed)
        capture._background()
        return capture

    # ------------------------------------------------------------------ once, at start
    def _once(self, resumed: bool) -> None:
        ns, opts = self.options.namespace, self.options
        if opts.any_monitoring:
            self._run[f"{ns}/hostname"] = platform.node()
            self._run[f"{ns}/pid"] = str(os.getpid())
            self._run[f"{ns}/tid"] = str(threading.get_ident())
        if not resumed or opts.source_files is not None:  # a resumed run keeps its sources
            _guard("source files", source.record_source, self._run, opts.source_files, interactive())
        if opts.dependencies:
            _guard("dependencies", source.record_dependencies, self._run, opts.dependencies)
        if not resumed:
            _guard("git", self._record_git)

    def _record_git(self) -> None:
        start = self.options.git_ref.resolve_path()
        root = git.find_root(start) if start is not None else None
        info = git.read_info(root) if root is not None else None
        if root is None or info is None:
            return
        fields: dict[str, Any] = {
            "commit_id": info.commit_id,
            "message": info.message,
            "author_name": info.author_name,
            "author_email": info.author_email,
            "commit_date": info.commit_date,
            "dirty": info.dirty,
            "branch": info.branch,
        }
        self._run["source_code/git"] = fields
        if info.remotes:
            self._run["source_code/git/remotes"].add(info.remotes)
        head_diff, upstream_sha, upstream_diff = git.read_diffs(root, info)
        if head_diff:
            self._run["source_code/diff"].upload(File.from_content(head_diff, extension="patch"))
        if upstream_sha and upstream_diff:
            self._run[f"source_code/upstream_diff_{upstream_sha}"].upload(
                File.from_content(upstream_diff, extension="patch")
            )

    # ------------------------------------------------------------------ in the background
    def _background(self) -> None:
        opts = self.options
        for name, wanted in (("stdout", opts.stdout), ("stderr", opts.stderr)):
            if wanted and getattr(sys, name, None) is not None:  # None: pythonw, some daemons
                self._streams.append(
                    console.StreamCopy(
                        name, self._series(f"{opts.namespace}/{name}"), child_log_line=self._child(name)
                    )
                )
        if opts.traceback:
            tracebacks.listen(id(self), self.exception)
        if opts.hardware:
            sampler = HardwareSampler(
                lambda field, value: self._run[f"{opts.namespace}/{field}"].append(value)
            )
            # psutil's import (~40 ms of CPU, holding the GIL) at start, not in the background
            # while the training loop runs
            _guard("hardware metrics", sampler.prime)
            self._ticker.add("hardware", sampler.sample, opts.hardware_period, first=HARDWARE_FIRST_SAMPLE)
        self._heartbeat = Heartbeat(self._run)
        self._heartbeat.beat()
        self._ticker.add(
            "heartbeat", self._heartbeat.beat, opts.heartbeat_period, first=opts.heartbeat_period
        )
        self._ticker.start()

    def _series(self, path: str) -> Callable[[str], None]:
        return self._run[path].append

    def _child(self, name: str) -> Callable[[], Callable[[str], None]]:
        """In a forked child: the child's own series (a series has one writer)."""
        return lambda: self._series(f"{default_namespace()}/{name}")

    # ------------------------------------------------------------------ events
    def exception(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """Log an uncaught exception's traceback and, with ``fail_on_exception``, set ``sys/failed``."""
        if self._stopped or not self.options.traceback or self._run._forked_child:
            return
        self._run[f"{self.options.namespace}/traceback"].extend(tracebacks.lines(exc_type, exc, tb))
        if self.options.fail_on_exception:
            self._run["sys/failed"] = True

    def stop(self) -> None:
        """Undo everything :meth:`start` set up. Idempotent; safe in a forked child."""
        if self._stopped:
            return
        self._stopped = True
        tracebacks.forget(id(self))
        self._ticker.stop()
        for stream in self._streams:
            stream.stop()
        if self._heartbeat is not None and not self._run._forked_child:
            try:
                self._heartbeat.beat()
            except Exception as exc:  # the run's own stop reports a broken log
                logger.debug("neptune-sync: last heartbeat not recorded: %s", exc)


def _guard(what: str, call: Callable[..., None], *args: Any) -> None:
    """Run a one-time capture step; a failure is reported and skipped (as neptune 1.x warned)."""
    try:
        call(*args)
    except Exception as exc:
        logger.warning("neptune-sync: %s not recorded: %s", what, exc)
