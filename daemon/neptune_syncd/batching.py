"""Batching policy: cut the log into batches by op count, bytes and latency.

Pure: no I/O. The replicator feeds entries in sequence order (already trimmed to what the store
has not acknowledged) and sends a batch when :meth:`Batch.full` says so, or at the end of what
the log holds once :meth:`Batch.due` says the oldest op has waited long enough.
"""

from __future__ import annotations

import msgspec

from neptune_sync.merge import tail
from neptune_sync.wire.ops import Entry, LogFloats, encode_op

FLOAT_POINT_BYTES = 28  # a msgpack [step, value, ts] of three float64s


class BatchPolicy(msgspec.Struct, frozen=True):
    """Limits of one batch; ``max_ops`` counts sequence numbers (one per series point)."""

    max_ops: int = 50_000
    max_bytes: int = 4 << 20
    max_latency: float = 0.1  # seconds an op may wait for company before a partial batch goes


def trim(entry: Entry, acked: int) -> Entry | None:
    """The part of ``entry`` above ``acked``: None if all of it is acknowledged.

    A series entry that straddles ``acked`` keeps only its points above it (a points frame may
    have grown since it was last read, so the replicator re-reads it and drops the prefix).
    """
    if entry.last_seq <= acked:
        return None
    if entry.seq > acked:
        return entry
    return tail(entry, acked + 1 - entry.seq)


def entry_ops(entry: Entry) -> int:
    return entry.last_seq - entry.seq + 1


def entry_bytes(entry: Entry) -> int:
    """Approximate encoded size of an entry."""
    op = entry.op
    if isinstance(op, LogFloats):
        return 24 + len(op.path) + FLOAT_POINT_BYTES * len(op.points)
    return 24 + len(encode_op(op))


class Batch:
    """Entries of one writer gathered for one request."""

    def __init__(self, policy: BatchPolicy) -> None:
        self.policy = policy
        self.entries: list[Entry] = []
        self.ops = 0
        self.bytes = 0
        self.oldest_ts: float | None = None

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.ops += entry_ops(entry)
        self.bytes += entry_bytes(entry)
        if self.oldest_ts is None:
            self.oldest_ts = entry.ts

    def full(self) -> bool:
        """True when the batch reached the op or byte limit: send it now."""
        return self.ops >= self.policy.max_ops or self.bytes >= self.policy.max_bytes

    def due(self, now: float, writer_alive: bool) -> bool:
        """At the end of the log: should this partial batch go now, or wait for more ops?"""
        if not self.entries:
            return False
        if not writer_alive or self.oldest_ts is None:
            return True
        return now - self.oldest_ts >= self.policy.max_latency

    @property
    def last_seq(self) -> int:
        return self.entries[-1].last_seq if self.entries else 0


def split(entries: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """Halve a rejected batch to isolate the entry the store refuses."""
    mid = max(1, len(entries) // 2)
    return entries[:mid], entries[mid:]
