"""The record rule of a series under merged writers, for points that arrive out of key order.

In key order (neptune_sync.merge) a point is kept iff its step is above the step of every point
with a smaller key since the series' last reset (clear or delete). Consequences the store relies on:

- The maximum step over kept points equals the maximum over all points, so adding a point never
  turns a dropped point into a kept one; kept steps rise with their keys.
- A point ``q`` arriving late is kept iff its step is above the step of the last kept point with a
  smaller key; if kept, it drops the kept points with a larger key and a step not above its own,
  which are contiguous in step order. So only the kept points with a step up to the batch's
  largest step and a key from the batch's smallest key on (the *window*), plus the step of the
  kept point just below them (the *floor*), can change: :class:`SeriesWork` recomputes those.
- A late reset can bring back points dropped after it; the store therefore keeps dropped points
  (they are few: only writers logging the same steps drop any) and recomputes the whole series
  from its kept and dropped points (:attr:`SeriesWork.full`).

A row is ``(key, step, ts, value)``; ``value`` is the stored column (float, or msgpack bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neptune_sync import rules
from neptune_sync.rules import Key

Row = tuple[Key, float, float, Any]


@dataclass
class SeriesWork:
    """A series' loaded points and the points of this batch, recomputed in key order.

    ``stored`` are kept points loaded from storage (the window, or with ``full`` every kept and
    dropped point); ``floor`` the step below the window (None: nothing below).
    """

    stored: list[Row]
    floor: float | None = None
    full: bool = False
    stored_dropped: list[Row] = field(default_factory=list)
    new: list[Row] = field(default_factory=list)
    reset: Key | None = None  # the latest reset applied in this batch

    def add(self, rows: list[Row]) -> None:
        self.new.extend(rows)

    def apply_reset(self, key: Key) -> None:
        """Remove every point with a key below ``key`` (only when ``full``: all points are loaded)."""
        assert self.full, "a late reset needs every point of the series"
        if self.reset is None or key > self.reset:
            self.reset = key
        self.stored = [r for r in self.stored if r[0] > key]
        self.stored_dropped = [r for r in self.stored_dropped if r[0] > key]
        self.new = [r for r in self.new if r[0] > key]
        self.floor = None

    def result(self) -> tuple[list[Row], list[Row]]:
        """(kept, dropped) among the loaded and new rows, by the record rule in key order."""
        rows = sorted([*self.stored, *self.stored_dropped, *self.new])
        kept, dropped = [], []
        last = self.floor
        for row in rows:
            if rules.step_kept(row[1], last):
                kept.append(row)
                last = row[1]
            else:
                dropped.append(row)
        return kept, dropped
