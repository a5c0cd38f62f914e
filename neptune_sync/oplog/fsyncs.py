"""Segments finished since the last fsync, held as duplicated descriptors.

A writer's ``fsync()`` takes them (and a duplicate of its active segment's descriptor) under its
lock and fsyncs them without it, so a periodic fsync from another thread does not stall the
training thread's appends. On Linux an fsync of any descriptor of a file also writes back the
pages dirtied through its mapping.
"""

from __future__ import annotations

import contextlib
import os

from ..exceptions import LoggingDisabledError


class PendingFsyncs:
    __slots__ = ("_fds",)

    def __init__(self) -> None:
        self._fds: list[int] = []

    def add(self, fd: int) -> None:
        """Keep ``fd`` (a descriptor this object now owns) for the next fsync."""
        self._fds.append(fd)

    def take(self) -> list[int]:
        """The descriptors kept so far; the caller fsyncs (:func:`fsync_all`) and closes them."""
        fds, self._fds = self._fds, []
        return fds

    def discard(self) -> None:
        """Close the descriptors without syncing (a forked child's copies: the parent keeps its own)."""
        close_all(self.take())


def fsync_all(fds: list[int]) -> None:
    """fsync every descriptor, then close them all (also on failure); raises LoggingDisabledError."""
    try:
        for fd in fds:
            os.fsync(fd)
    except OSError as exc:
        raise LoggingDisabledError(f"fsync of the operation log failed: {exc}") from exc
    finally:
        close_all(fds)


def close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
