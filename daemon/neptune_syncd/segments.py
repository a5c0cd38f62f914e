"""A run's segment files seen per writer: where to resume reading, and which ones may go.

Segments are named ``<writer_id>-<index>.seg`` (neptune_sync.oplog.writer); a writer's segments
hold consecutive sequence numbers, each header naming its first one. Retention deletes only a
segment whose every sequence number is acknowledged and that no live writer holds.
"""

from __future__ import annotations

from pathlib import Path

from neptune_sync.exceptions import SegmentHeaderError, UnknownOperationError
from neptune_sync.oplog.reader import SegmentReader, segments_by_writer


def by_writer(segments_dir: Path) -> dict[str, list[Path]]:
    """Segment files grouped by writer id, each list in write order."""
    return segments_by_writer(segments_dir)


def first_seq(path: Path) -> int | None:
    """The first sequence number a segment holds, or None if its header is unreadable."""
    try:
        with SegmentReader(path) as reader:
            return reader.header.first_seq
    except (SegmentHeaderError, UnknownOperationError, OSError):  # unreadable, or a newer format
        return None


def floor(paths: list[Path]) -> float | None:
    """A writer's causal floor, which every one of its segment headers records (None: no floor,
    or no readable header)."""
    for path in paths:
        try:
            with SegmentReader(path) as reader:
                return reader.header.after
        except (SegmentHeaderError, UnknownOperationError, OSError):
            continue
    return None


def first_needed(paths: list[Path], acked: int) -> int:
    """Index of the first segment that may hold a sequence number above ``acked``."""
    start = 0
    for i in range(1, len(paths)):
        seq = first_seq(paths[i])
        if seq is None or seq > acked + 1:
            break
        start = i
    return start


def prune(paths: list[Path], acked: int, last_done: bool) -> list[Path]:
    """Delete segments fully acknowledged; returns what was deleted.

    A segment is done when the next one starts at or below ``acked + 1``; the writer's last
    segment only when ``last_done`` (its writer is gone and every record in it is acknowledged).
    """
    deleted = []
    for i, path in enumerate(paths):
        if i + 1 < len(paths):
            nxt = first_seq(paths[i + 1])
            done = nxt is not None and nxt <= acked + 1
        else:
            done = last_done
        if not done:
            break
        path.unlink(missing_ok=True)
        deleted.append(path)
    return deleted
