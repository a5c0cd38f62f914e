"""Copying ``sys.stdout`` / ``sys.stderr`` into string series, one point per line.

A :class:`StreamCopy` takes the place of ``sys.stdout`` (or ``sys.stderr``). Every ``write``
goes to the original stream first, unchanged and at once, and returns what the original returned,
so the terminal sees exactly what it would without us; only then is the text split into lines.
A line is logged when its ``\\n`` arrives, as the terminal finally shows it: after a ``\\r`` the
text that follows replaces the line (an empty redraw leaves it as it was), so a progress bar
redrawn in place (tqdm) logs its last state once, plus at most one intermediate state every
``PROGRESS_INTERVAL`` seconds while it is being redrawn (never the same state twice in a row).
Lines longer than the string-series limit are split, not truncated. Attributes other than
``write`` / ``writelines`` / ``flush`` (``isatty``, ``fileno``, ``encoding``, ``buffer``...) are the
original stream's.

Like neptune 1.x this replaces the Python-level stream only: what a child process or C code writes
to file descriptor 1 / 2 directly reaches the terminal but is not logged.

After ``os.fork()`` the child keeps the wrapper; its lines go to the child's own namespace
(``monitoring/<hash of the child's pid>``), since a series has one writer. ``stop()`` logs the
unfinished line and puts the original stream back (or, if something has wrapped us since, turns
this wrapper into a plain pass-through).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from ..validation import MAX_SERIES_STRING_LENGTH

logger = logging.getLogger("neptune_sync")

PROGRESS_INTERVAL = 30.0  # seconds between logged intermediate states of a line redrawn with \r

# Set while a thread logs a line: whatever that writes to either stream (a warning from the log
# writer, say) is passed through unlogged, so logging never recurses nor takes the other
# stream's lock while holding this one's.
_logging = threading.local()


class StreamCopy:
    """``sys.<name>`` while a run captures it; see the module docstring."""

    def __init__(
        self,
        name: str,
        log_line: Callable[[str], None],
        *,
        child_log_line: Callable[[], Callable[[str], None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._stream = getattr(sys, name)
        self._log_line = log_line
        self._child_log_line = child_log_line
        self._clock = clock
        self._lock = threading.Lock()
        self._pending = ""
        self._progress_at = float("-inf")
        self._progress_state = ""  # the intermediate state logged for the current line
        self._active = True
        _live.add(self)
        setattr(sys, name, self)

    # ------------------------------------------------------------------ the stream interface
    def write(self, data: str) -> int:
        written = self._stream.write(data)
        if self._active and data and not getattr(_logging, "on", False):
            self._copy(data)
        return written

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Log the unfinished line, then hand ``sys.<name>`` back. Idempotent."""
        if not self._active:
            return
        with self._lock:
            tail, self._pending = self._pending, ""
            if _last_redraw(tail):
                self._end_line(tail)
            self._active = False
        if getattr(sys, self._name) is self:
            setattr(sys, self._name, self._stream)
        _live.discard(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at fork time
        self._pending = self._progress_state = ""  # the parent logs its own unfinished line
        self._log_line = self._child_log_line()

    # ------------------------------------------------------------------ lines
    def _copy(self, data: str) -> None:
        with self._lock:
            text = self._pending + data
            *lines, rest = text.split("\n")
            for line in lines:
                self._end_line(line)
            if "\r" in rest:  # keep only what the terminal shows: memory stays bounded
                state = _last_redraw(rest)
                self._progress(state)
                rest = rest[rest.rindex("\r") + 1 :] or f"{state}\r"
            self._pending = rest

    def _end_line(self, line: str) -> None:
        shown = _last_redraw(line)
        if not (self._progress_state and shown == self._progress_state):  # logged as progress already
            self._emit(shown)
        self._progress_state = ""

    def _progress(self, state: str) -> None:
        now = self._clock()
        if state and state != self._progress_state and now - self._progress_at >= PROGRESS_INTERVAL:
            self._progress_at = now
            self._progress_state = state
            self._emit(state)

    def _emit(self, line: str) -> None:
        _logging.on = True
        try:
            for start in range(0, max(len(line), 1), MAX_SERIES_STRING_LENGTH):
                self._log_line(line[start : start + MAX_SERIES_STRING_LENGTH])
        except Exception as exc:  # a closed run or a full disk must not break printing
            logger.debug("neptune-sync: %s line not logged: %s", self._name, exc)
        finally:
            _logging.on = False


def _last_redraw(line: str) -> str:
    """What a terminal shows of ``line``: the last non-empty text between carriage returns."""
    if "\r" not in line:
        return line
    return next((part for part in reversed(line.split("\r")) if part), "")


_live: weakref.WeakSet[StreamCopy] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for copy in list(_live):
        copy._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
