"""What ``neptune-sync status`` shows for a run: its sync state plus what the log holds beyond it.

Read-only; it never contacts the store. Pending counts come from the log itself, read from the
daemon's resume point, so they are right even for runs the daemon has never seen.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from neptune_sync.exceptions import OpLogError
from neptune_sync.oplog.drops import dropped_total
from neptune_sync.oplog.layout import read_identity, segments_dir
from neptune_sync.oplog.reader import SegmentReader
from neptune_sync.wire.sync_state import RunSyncState, WriterState, read_state

from .batching import entry_bytes, trim
from .segments import by_writer, first_needed


class RunReport(msgspec.Struct):
    """One line of ``neptune-sync status``."""

    run_key: str
    project: str
    custom_run_id: str
    pending_ops: int
    pending_bytes: int
    lag: float  # seconds since the oldest unacknowledged op was logged (0: none)
    last_error: str
    conflicts: int
    quarantined: int
    damaged: int  # damaged frames and missing ranges the daemon met, and those in what is pending
    synced_before: bool  # the daemon has written a state file for this run
    lost_records: int = 0  # records known lost from the log (damaged, in missing or cut segments)
    dropped: int = 0  # writes the run's logging processes could not make (disk full, I/O error)


def _pending(paths: list[Path], ws: WriterState, report: RunReport, now: float, known: set[str]) -> None:
    """Add what the log holds beyond ``ws`` to ``report``; damage not ``known`` yet counts too."""

    def damage(err: OpLogError) -> None:
        if str(err) not in known:
            known.add(str(err))
            report.damaged += 1
            report.lost_records += getattr(err, "lost_count", None) or 0

    start = first_needed(paths, ws.acked_seq)
    names = [p.name for p in paths]
    if ws.segment in names and names.index(ws.segment) >= start:
        start = names.index(ws.segment)
    for path in paths[start:]:
        try:
            with SegmentReader(path) as reader:
                offset = ws.offset if path.name == ws.segment else None
                for _, raw in reader.entries(offset, on_damage=damage):
                    entry = trim(raw, ws.acked_seq)
                    if entry is None:
                        continue
                    report.pending_ops += entry.last_seq - entry.seq + 1
                    report.pending_bytes += entry_bytes(entry)
                    report.lag = max(report.lag, now - entry.ts)
        except OpLogError as exc:
            report.last_error = report.last_error or str(exc)
            damage(exc)


def run_report(run_path: Path, now: float | None = None) -> RunReport:
    """The status of one run directory."""
    now = time.time() if now is None else now
    identity = read_identity(run_path)
    state = read_state(run_path)
    synced_before = state is not None
    state = state or RunSyncState()
    report = RunReport(
        identity.run_key,
        identity.project,
        identity.custom_run_id,
        0,
        0,
        0.0,
        state.last_error,
        len(state.conflicts),
        state.quarantined,
        len(state.damaged),
        synced_before,
        state.lost_records,
        dropped_total(run_path),
    )
    for writer_id, paths in by_writer(segments_dir(run_path)).items():
        _pending(paths, state.writers.get(writer_id, WriterState()), report, now, set(state.damaged))
    return report
