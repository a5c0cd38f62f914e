"""The sink interface: a small, storage-shaped view of the store, as the daemon needs it.

The store is the source of truth for what has been applied (:meth:`Sink.acked_seq`);
:meth:`Sink.write_batch` is idempotent by sequence number, so sending a batch twice is harmless.
Type conflicts and permanently refused entries come back as data in the
:class:`~neptune_sync.wire.protocol.BatchResponse`, not as exceptions.

Errors (neptune_sync.exceptions): :class:`StoreUnavailableError` for anything worth retrying,
:class:`AuthError` for 401 / 403, :class:`BatchRejectedError` when the whole batch is refused.
"""

from __future__ import annotations

import abc
from pathlib import Path

from neptune_sync.wire.ops import Entry, FileRef
from neptune_sync.wire.protocol import BatchResponse, RunInfo


class Sink(abc.ABC):
    """The remote store, seen from the daemon. One instance is shared by all replicators."""

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Prepare connections; called once before any other method."""

    @abc.abstractmethod
    async def acked_seq(self, run: RunInfo, writer_id: str) -> int:
        """The highest sequence number of ``writer_id`` in ``run`` the store has applied (0: none)."""

    @abc.abstractmethod
    async def write_batch(
        self, run: RunInfo, writer_id: str, entries: list[Entry], after: float | None = None
    ) -> BatchResponse:
        """Apply entries (in sequence order) atomically; entries at or below the applied seq are no-ops.
        ``after`` is the writer's causal floor (docs/sync-protocol.md, "Clocks")."""

    @abc.abstractmethod
    async def field_types(self, run: RunInfo) -> dict[str, str] | None:
        """``{path: type}`` of the run's fields in the store; None if this token may not read them."""

    @abc.abstractmethod
    async def has_blob(self, run: RunInfo, ref: FileRef) -> bool:
        """True if the store already holds the blob's content."""

    @abc.abstractmethod
    async def put_blob(self, run: RunInfo, ref: FileRef, path: Path) -> None:
        """Upload a blob's content from ``path``; resumes an interrupted upload where the store can."""

    async def store_id(self, run: RunInfo) -> str | None:
        """The run's id in the store (a model version's number), None if unknown or unreadable."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
