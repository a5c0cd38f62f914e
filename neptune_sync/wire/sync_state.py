"""A run's sync state file: how far the store has acknowledged each writer's log (docs/daemon.md).

State format version 1, at ``runs/<run_key>/sync/state.json``. Only the daemon (or
``neptune-sync sync``) writes it (neptune_syncd.sync_state), always atomically (temporary file +
rename), right after the store acknowledged a batch; clients and ``neptune-sync status`` read it.
Readers may see an older version, never a torn one. It is a *report*: the store's acknowledged
sequence numbers stay the source of truth, and a lost or stale state file only makes waiters wait
longer, so an unreadable file reads as "no state".

Stdlib + msgspec only: the training library reads it to wait for sync.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from ..oplog.layout import sync_state_dir

STATE_VERSION = 1
STATE_FILE = "state.json"


class WriterState(msgspec.Struct):
    """How far one writer's log has been acknowledged by the store."""

    acked_seq: int = 0  # every seq <= this is applied in the store, or quarantined
    seen_seq: int = 0  # highest seq the daemon has read from the log
    segment: str = ""  # segment file holding the first unacknowledged seq ("" = from the start)
    offset: int = 0  # frame offset in that segment to resume reading at
    store_acked: int = 0  # what the store itself reported
    quarantined_to: int = 0  # highest seq sent to the quarantine file (acked_seq counts those too)


class ConflictRecord(msgspec.Struct, frozen=True):
    """A type conflict and what the daemon did about it."""

    writer_id: str
    seq: int
    path: str
    existing_type: str
    attempted_type: str
    action: str  # "coerced" or "renamed to <path>"


class RunSyncState(msgspec.Struct):
    """Contents of ``sync/state.json``."""

    version: int = STATE_VERSION
    updated: float = 0.0
    daemon_pid: int = 0
    writers: dict[str, WriterState] = {}
    pending_ops: int = 0  # seen but not acknowledged, over all writers (0 until first read)
    pending_bytes: int = 0  # unacknowledged segment bytes, approximately
    lag: float = 0.0  # seconds since the oldest unacknowledged op was logged
    last_error: str = ""
    conflicts: list[ConflictRecord] = []
    quarantined: int = 0
    damaged: list[str] = []  # corrupt records met, "file @ offset: problem"; missing records, too
    lost_records: int = 0  # records known lost from the log (damaged frames, missing segments)
    store_id: str = ""  # the run's id in the store (a model version's number is assigned there)


_state_decoder = msgspec.json.Decoder(RunSyncState)


def state_path(run_path: Path) -> Path:
    return sync_state_dir(Path(run_path)) / STATE_FILE


def read_state(run_path: Path) -> RunSyncState | None:
    """The run's sync state, or None if the daemon never wrote one (or it is unreadable)."""
    try:
        return _state_decoder.decode(state_path(run_path).read_bytes())
    except (OSError, msgspec.DecodeError):
        return None


def acked_seq(run_path: Path, writer_id: str) -> int:
    """The highest sequence number of a writer the store has acknowledged (0 if unknown)."""
    state = read_state(run_path)
    writer = state.writers.get(writer_id) if state else None
    return writer.acked_seq if writer else 0
