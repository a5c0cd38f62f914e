"""Building a :class:`FieldTree` from a run's log on disk (resume, read-back, ``neptune-sync show``).

Each writer's records are in sequence order; several writers are merged by record key
(:mod:`neptune_sync.merge`: order time, writer id, seq -- series points one by one), the same
order the store's content follows, so a run resumed by another process (or written by several DDP
ranks) reads back as the store holds it. Damaged records are reported once and skipped; a record
that conflicts with a type another writer logged first is skipped with a warning. Records the
store refused (named by the sync daemon in ``rules.REFUSED_FIELD``) are skipped, so the read-back
shows what the store holds whichever writer it received first.

A :class:`LogFollower` keeps its tree and, per segment, where it stopped: each ``update()``
applies only what was logged since. A float-points frame may have grown in place since it was
read; only its new points are applied. When records of several writers arrive in an update and
one of them sorts before a record already applied, the tree is rebuilt from the whole log (merge
order is only kept by applying everything in key order).

A follower also knows the largest order time in the log (:meth:`LogFollower.floor`): a writer
that resumes the run starts above it, so what it logs follows what it resumed from.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from . import merge, rules
from .exceptions import CorruptRecordError, SegmentHeaderError, TypeConflictError
from .oplog.reader import SegmentReader, segment_files
from .state import FieldTree
from .wire import ops as o
from .wire.ops import Entry

logger = logging.getLogger("neptune_sync")


def replay(segments_dir: Path, *, keep_values: bool) -> FieldTree:
    """A field tree holding every record of every writer of a run (no field limit)."""
    return LogFollower(segments_dir, keep_values=keep_values).update()


class LogFollower:
    """A field tree kept up to date with a run's log."""

    def __init__(self, segments_dir: Path, *, keep_values: bool) -> None:
        self.segments_dir = segments_dir
        self.keep_values = keep_values
        self._reported: set[tuple[str, int]] = set()
        self._refused: dict[str, list[tuple[int, int]]] = {}  # writer -> seq ranges the store refused
        self._reset()

    def _reset(self) -> None:
        self.tree = FieldTree(keep_values=self.keep_values, max_fields=sys.maxsize)
        self._read_to: dict[Path, tuple[int, int]] = {}  # segment -> (offset of last entry, its last seq)
        self._times: dict[str, float] = {}  # writer -> order time of its last applied record
        self._seqs: dict[str, int] = {}  # writer -> seq of its last applied record
        self._floors: dict[str, float | None] = {}  # writer -> its segment headers' causal floor
        self._latest = rules.NO_TIME  # the largest order time of any record (or floor) seen

    def update(self) -> FieldTree:
        """Apply every record logged since the last update; returns the tree."""
        by_writer: dict[str, list[Path]] = {}
        for path in segment_files(self.segments_dir):
            by_writer.setdefault(path.name.rsplit("-", 1)[0], []).append(path)
        if len(by_writer) == 1 and not self._times:
            [(writer, paths)] = by_writer.items()  # one writer: its log order is the merge order
            self._apply((writer, e) for e in self._new_entries(writer, paths))
            return self.tree
        refused = self._refused_records(by_writer)
        streams = self._streams(by_writer)
        # records applied without order times (while there was one writer), a new record that
        # sorts before one applied, or a newly refused record: everything is applied again
        if self._seqs.keys() - self._times.keys() or self._goes_back(streams) or refused != self._refused:
            self._refused = refused
            self._reset()
            streams = self._streams(by_writer)
        self._apply(merge.merge(streams, self._times, self._floors))  # type: ignore[arg-type]
        return self.tree

    def floor(self) -> float | None:
        """The causal floor of a writer that resumes the run after what was applied: above the
        order time of every record of every writer so far."""
        return rules.floor_above(self._latest)

    def _streams(self, by_writer: dict[str, list[Path]]) -> dict[str, _Peekable]:
        return {w: _Peekable(self._new_entries(w, paths)) for w, paths in by_writer.items()}

    def _goes_back(self, streams: dict[str, _Peekable]) -> bool:
        """Whether a new record sorts before one already applied (merge order then needs a rebuild)."""
        if not self._seqs:
            return False
        last = max((self._times.get(w, rules.NO_TIME), w, s) for w, s in self._seqs.items())
        for writer, stream in streams.items():
            entry = stream.peek()
            if entry is not None:
                t = self._times.get(writer)
                t = merge.first_time(rules.start(self._floors.get(writer)) if t is None else t, entry)
                if (t, writer, entry.seq) < last:
                    return True
        return False

    def _refused_records(self, by_writer: dict[str, list[Path]]) -> dict[str, list[tuple[int, int]]]:
        """The records the store refused, from the sync daemon's writers' logs (small: conflict
        resolutions only)."""
        out: dict[str, list[tuple[int, int]]] = {}
        for writer, paths in by_writer.items():
            if not writer.startswith(rules.RESOLVER_PREFIX):
                continue
            for path in paths:
                try:
                    reader = SegmentReader(path)
                except SegmentHeaderError:
                    continue  # reported when its records are read
                with reader:
                    for _, entry in reader.entries(None, on_damage=lambda err: None):
                        op = entry.op
                        if type(op) is o.AddStrings and op.path == rules.REFUSED_FIELD:
                            for item in op.values:
                                named = rules.parse_refused(item)
                                if named is not None:
                                    out.setdefault(named[0], []).append(named[1:])
        return out

    def _apply(self, entries: Iterator[tuple[str, Entry]]) -> None:
        for writer, entry in entries:
            self._latest = merge.last_time(self._latest, entry)  # a refused record was seen all the same
            ranges = self._refused.get(writer)
            if ranges is not None and any(a <= entry.seq <= b for a, b in ranges):
                continue
            try:
                self.tree.apply(entry.op)
            except TypeConflictError as exc:
                logger.warning("replay: skipped a conflicting record: %s", exc)

    def _new_entries(self, writer: str, paths: list[Path]) -> Iterator[Entry]:
        for path in paths:
            start, applied = self._read_to.get(path, (None, 0))
            try:
                reader = SegmentReader(path)
            except SegmentHeaderError as exc:
                self._report(CorruptRecordError(str(path), 0, str(exc)))
                continue
            with reader:
                floor = reader.header.after
                self._floors[writer] = floor
                if floor is not None and floor > self._latest:
                    self._latest = floor
                for offset, entry in reader.entries(start, on_damage=self._report):
                    if entry.last_seq <= applied:
                        continue
                    if entry.seq <= applied:  # a points frame that grew since the last update
                        entry = merge.tail(entry, applied - entry.seq + 1)
                    self._read_to[path] = (offset, entry.last_seq)
                    self._seqs[writer] = entry.last_seq
                    yield entry

    def _report(self, err: CorruptRecordError) -> None:
        key = (err.file, err.offset)
        if key not in self._reported:
            self._reported.add(key)
            logger.warning("damaged record in the operation log, skipped: %s", err)


class _Peekable:
    """An iterator whose next item can be looked at first."""

    def __init__(self, it: Iterator[Entry]) -> None:
        self._it = it
        self._next: list[Entry] = []

    def peek(self) -> Entry | None:
        if not self._next:
            self._next.extend(itertools.islice(self._it, 1))
        return self._next[0] if self._next else None

    def __iter__(self) -> Iterator[Entry]:
        return self

    def __next__(self) -> Entry:
        if self._next:
            return self._next.pop()
        return next(self._it)
