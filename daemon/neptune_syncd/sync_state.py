"""Writing a run's sync state file (its format: neptune_sync.wire.sync_state) and quarantine file.

Both live in the run's ``sync/`` directory, which only the daemon writes. The state file is
replaced atomically; the quarantine file is append-only JSON lines, one refused op each, with
the reason, so nothing the store refuses is lost.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import msgspec

from neptune_sync.wire.ops import Entry
from neptune_sync.wire.sync_state import RunSyncState, read_state, state_path

QUARANTINE_FILE = "quarantine.jsonl"
MAX_LISTED = 100  # conflicts / damage kept in the state file (the quarantine file keeps all)


class QuarantineRecord(msgspec.Struct, frozen=True):
    """One line of ``sync/quarantine.jsonl``.

    ``entry`` is for people to read; JSON has no NaN or infinity, so those show as null there.
    ``exact`` holds the entry as base64 msgpack, exactly as logged: that is what is read back.
    """

    writer_id: str
    seq: int
    last_seq: int
    path: str
    reason: str
    at: float
    entry: Entry
    exact: str = ""


class _StoredRecord(msgspec.Struct, frozen=True):
    """A quarantine line as stored: ``entry`` may hold nulls where the op held NaN / infinity."""

    writer_id: str
    seq: int
    last_seq: int
    path: str
    reason: str
    at: float
    entry: msgspec.Raw
    exact: str = ""


_entry_encoder = msgspec.msgpack.Encoder()
_entry_decoder = msgspec.msgpack.Decoder(Entry)


def load(run_path: Path) -> RunSyncState:
    return read_state(run_path) or RunSyncState()


def save(run_path: Path, state: RunSyncState) -> None:
    """Atomically replace the run's state file."""
    state.updated = time.time()
    state.daemon_pid = os.getpid()
    del state.conflicts[:-MAX_LISTED]
    del state.damaged[:-MAX_LISTED]
    final = state_path(run_path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    tmp.write_bytes(msgspec.json.encode(state))
    os.replace(tmp, final)


def quarantine(run_path: Path, writer_id: str, entry: Entry, reason: str) -> None:
    """Append a refused entry, with why, to the run's quarantine file (fsynced)."""
    exact = base64.b64encode(_entry_encoder.encode(entry)).decode()
    record = QuarantineRecord(
        writer_id, entry.seq, entry.last_seq, entry.op.path, reason, time.time(), entry, exact
    )
    path = state_path(run_path).with_name(QUARANTINE_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(msgspec.json.encode(record) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def read_quarantine(run_path: Path) -> list[QuarantineRecord]:
    path = state_path(run_path).with_name(QUARANTINE_FILE)
    if not path.exists():
        return []
    decoder = msgspec.json.Decoder(_StoredRecord)
    records = []
    for line in path.read_bytes().splitlines():
        if line.strip():
            stored = decoder.decode(line)
            if stored.exact:
                entry = _entry_decoder.decode(base64.b64decode(stored.exact))
            else:
                entry = msgspec.json.decode(stored.entry, type=Entry)
            fields = msgspec.structs.asdict(stored) | {"entry": entry}
            records.append(QuarantineRecord(**fields))
    return records
