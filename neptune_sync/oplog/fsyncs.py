"""Segments finished since the last fsync, held by path.

A writer's ``fsync()`` takes them (and its active segment's path) under its turn and fsyncs them
without it, so a periodic fsync from another thread does not stall the training thread's appends.
Each is opened for its fsync: on Linux an fsync of any descriptor of a file writes back the pages
dirtied through every mapping and descriptor of it. Paths, not held descriptors: a writer that
finishes segments faster than anyone fsyncs (small segments, no periodic fsync) would otherwise run
out of descriptors. A segment deleted since it was finished (the daemon delivered it) needs no fsync.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import LoggingDisabledError


class PendingFsyncs:
    __slots__ = ("_paths",)

    def __init__(self) -> None:
        self._paths: list[Path] = []

    def add(self, path: Path) -> None:
        """Fsync ``path`` (a finished segment) at the next fsync."""
        self._paths.append(path)

    def take(self) -> list[Path]:
        """The segments kept so far; the caller fsyncs them (:func:`fsync_all`)."""
        paths, self._paths = self._paths, []
        return paths

    def discard(self) -> None:
        """Forget them (a forked child's copy of the list: the parent fsyncs its own segments)."""
        self._paths = []


def fsync_all(paths: list[Path]) -> None:
    """fsync every file that still exists; raises LoggingDisabledError."""
    try:
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        raise LoggingDisabledError(f"fsync of the operation log failed: {exc}") from exc
