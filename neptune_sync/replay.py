"""Building a :class:`FieldTree` from a run's log on disk (resume, read-back, ``neptune-sync show``).

Each writer's records are in sequence order; writers are merged by record timestamp, so a run
resumed by another process (or written by several DDP ranks) reads back in the order it was
logged. Damaged records are reported once and skipped; a record that conflicts with a type
another writer logged first is skipped with a warning (the store resolves such conflicts the
same way).

A :class:`LogFollower` keeps its tree and, per segment, where it stopped: each ``update()``
applies only what was logged since. A float-points frame may have grown in place since it was
read; only its new points are applied.
"""

from __future__ import annotations

import heapq
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from .exceptions import CorruptRecordError, SegmentHeaderError, TypeConflictError
from .oplog.framing import Entry
from .oplog.reader import SegmentReader, segment_files
from .state import FieldTree

logger = logging.getLogger("neptune_sync")


def replay(segments_dir: Path, *, keep_values: bool) -> FieldTree:
    """A field tree holding every record of every writer of a run (no field limit)."""
    return LogFollower(segments_dir, keep_values=keep_values).update()


class LogFollower:
    """A field tree kept up to date with a run's log."""

    def __init__(self, segments_dir: Path, *, keep_values: bool) -> None:
        self.segments_dir = segments_dir
        self.tree = FieldTree(keep_values=keep_values, max_fields=sys.maxsize)
        self._read_to: dict[Path, tuple[int, int]] = {}  # segment -> (offset of last entry, its last seq)
        self._reported: set[tuple[str, int]] = set()

    def update(self) -> FieldTree:
        """Apply every record logged since the last update; returns the tree."""
        by_writer: dict[str, list[Path]] = {}
        for path in segment_files(self.segments_dir):
            by_writer.setdefault(path.name.rsplit("-", 1)[0], []).append(path)
        streams = [self._new_entries(paths) for paths in by_writer.values()]
        for entry in heapq.merge(*streams, key=lambda e: e.ts):
            try:
                self.tree.apply(entry.op)
            except TypeConflictError as exc:
                logger.warning("replay: skipped a conflicting record: %s", exc)
        return self.tree

    def _new_entries(self, paths: list[Path]) -> Iterator[Entry]:
        for path in paths:
            start, applied = self._read_to.get(path, (None, 0))
            try:
                reader = SegmentReader(path)
            except SegmentHeaderError as exc:
                self._report(CorruptRecordError(str(path), 0, str(exc)))
                continue
            with reader:
                for offset, entry in reader.entries(start, on_damage=self._report):
                    if entry.last_seq <= applied:
                        continue
                    if entry.seq <= applied:  # a points frame that grew since the last update
                        entry = _points_after(entry, applied)
                    self._read_to[path] = (offset, entry.last_seq)
                    yield entry

    def _report(self, err: CorruptRecordError) -> None:
        key = (err.file, err.offset)
        if key not in self._reported:
            self._reported.add(key)
            logger.warning("damaged record in the operation log, skipped: %s", err)


def _points_after(entry: Entry, applied: int) -> Entry:
    """The part of a grown points frame after sequence number ``applied``."""
    op = entry.op
    points = op.points[applied - entry.seq + 1 :]  # type: ignore[union-attr]
    return Entry(applied + 1, points[0].ts, type(op)(op.path, points))
