"""Building a :class:`FieldTree` from a run's log on disk (resume, read-back, ``neptune-sync show``).

Each writer's records are in sequence order; writers are merged by record timestamp, so a run
resumed by another process (or written by several DDP ranks) reads back in the order it was
logged. Damaged records are reported and skipped; a record that conflicts with a type another
writer logged first is skipped with a warning (the store resolves such conflicts the same way).
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
    tree = FieldTree(keep_values=keep_values, max_fields=sys.maxsize)
    for entry in heapq.merge(*writer_streams(segments_dir), key=lambda e: e.ts):
        try:
            tree.apply(entry.op)
        except TypeConflictError as exc:
            logger.warning("replay: skipped a conflicting record: %s", exc)
    return tree


def writer_streams(segments_dir: Path) -> list[Iterator[Entry]]:
    """One iterator of entries per writer (segment files are named ``<writer_id>-<index>.seg``)."""
    by_writer: dict[str, list[Path]] = {}
    for path in segment_files(segments_dir):
        by_writer.setdefault(path.name.rsplit("-", 1)[0], []).append(path)
    return [_entries(paths) for paths in by_writer.values()]


def _entries(paths: list[Path]) -> Iterator[Entry]:
    for path in paths:
        try:
            reader = SegmentReader(path)
        except SegmentHeaderError as exc:
            _report_damage(CorruptRecordError(str(path), 0, str(exc)))
            continue
        with reader:
            for _, entry in reader.entries(on_damage=_report_damage):
                yield entry


def _report_damage(err: CorruptRecordError) -> None:
    logger.warning("damaged record in the operation log, skipped: %s", err)
