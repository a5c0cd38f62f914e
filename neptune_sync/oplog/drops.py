"""The durable count of operations a logging process could not write (disk full, I/O error).

One file per logging process and run, ``runs/<run_key>/dropped/<id>.json`` (docs/oplog-format.md),
created when the process opens the run, while there is room: later updates overwrite its bytes in
place, which needs no new disk space, so the count is kept even when the disk is full. It holds
one JSON object padded with spaces to ``RECORD_SIZE`` bytes::

    {"version": 1, "id": "<16 hex>", "pid": 123, "dropped": 42, "first": 1.7e9, "last": 1.7e9,
     "reason": "cannot open a new log segment ...: [Errno 28] No space left on device"}

Only its process writes it (best effort: a failed update is ignored, the next one carries the
count). ``neptune-sync ls / show / verify / status / sync`` read these files; the process also
logs the count as ``sys/dropped_operations/<id>`` once its log takes writes again, so the store
shows it.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import msgspec

RECORD_SIZE = 512
DIR_NAME = "dropped"
FIELD_PREFIX = "sys/dropped_operations/"


class DropRecord(msgspec.Struct, frozen=True):
    """What one process could not write to a run's log."""

    version: int = 1
    id: str = ""
    pid: int = 0
    dropped: int = 0
    first: float = 0.0  # when the first write was dropped (0: none)
    last: float = 0.0
    reason: str = ""


_decoder = msgspec.json.Decoder(DropRecord)


class DropCounter:
    """A process's drop record for one run: created at once, updated in place."""

    def __init__(self, run_path: Path, record_id: str) -> None:
        folder = Path(run_path) / DIR_NAME
        folder.mkdir(exist_ok=True)
        self.path = folder / f"{record_id}.json"
        self.id = record_id
        self._record = DropRecord(id=record_id, pid=os.getpid())
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            self._write()
        except OSError:
            os.close(self._fd)
            raise

    def record(self, dropped: int, reason: str) -> None:
        """The process has now dropped ``dropped`` writes in all, the last one for ``reason``."""
        now = time.time()
        self._record = msgspec.structs.replace(
            self._record,
            dropped=dropped,
            first=self._record.first or now,
            last=now,
            reason=_tail(reason, 240),
        )
        with contextlib.suppress(OSError):  # best effort; the next update carries the count
            self._write()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _write(self) -> None:
        data = msgspec.json.encode(self._record)
        if len(data) > RECORD_SIZE:  # the reason is what varies: cut it further
            self._record = msgspec.structs.replace(self._record, reason=_tail(self._record.reason, 40))
            data = msgspec.json.encode(self._record)
        os.pwrite(self._fd, data.ljust(RECORD_SIZE), 0)


def _tail(text: str, limit: int) -> str:
    """The end of an error message (where the cause is), at most ``limit`` characters."""
    return text if len(text) <= limit else "..." + text[3 - limit :]


def read_drops(run_path: Path) -> list[DropRecord]:
    """Every drop record of a run that counts a dropped write (unreadable ones are skipped)."""
    found = []
    for path in sorted((Path(run_path) / DIR_NAME).glob("*.json")):
        with contextlib.suppress(OSError, msgspec.DecodeError):
            record = _decoder.decode(path.read_bytes())
            if record.dropped:
                found.append(record)
    return found


def dropped_total(run_path: Path) -> int:
    """How many writes the run's logging processes dropped, in all."""
    return sum(r.dropped for r in read_drops(run_path))
