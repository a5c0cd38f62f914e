"""How ``neptune-sync sync`` shows its progress on stderr.

On a terminal, a progress bar (rich) that notes print above; anywhere else (a log file, a pipe,
CI) plain newline-terminated lines, at most one every ``PLAIN_INTERVAL`` seconds, so a log stays
readable and other lines are never glued into a progress line. ``-q`` keeps only the notes.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

PLAIN_INTERVAL = 5.0


class Progress:
    """Quiet: notes only (``-q``). The base of the two that also show progress."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, acked: int, total: int, done: int, runs: int) -> None:
        """``acked`` of ``total`` ops acknowledged so far; ``done`` of ``runs`` runs finished."""

    def note(self, message: str) -> None:
        """A line the user must see (a wait, a run given up), whatever the progress display."""
        print(f"sync: {message}", file=self.stream, flush=True)

    def close(self) -> None:
        """The last update was shown; the display ends."""


class PlainProgress(Progress):
    """Newline-terminated lines, rate-limited, the last one always shown."""

    def __init__(self, stream: TextIO | None = None, interval: float = PLAIN_INTERVAL) -> None:
        super().__init__(stream)
        self.interval = interval
        self._shown = -float("inf")
        self._last: tuple[int, int, int, int] | None = None
        self._printed: tuple[int, int, int, int] | None = None

    def update(self, acked: int, total: int, done: int, runs: int) -> None:
        self._last = (acked, total, done, runs)
        if time.monotonic() - self._shown >= self.interval:
            self._print()

    def close(self) -> None:
        if self._last is not None and self._last != self._printed:
            self._print()

    def _print(self) -> None:
        assert self._last is not None
        acked, total, done, runs = self._last
        print(
            f"sync: {acked:,}/{total:,} ops acknowledged, {done}/{runs} runs done",
            file=self.stream,
            flush=True,
        )
        self._shown, self._printed = time.monotonic(), self._last


class BarProgress(Progress):
    """A rich progress bar on the terminal; notes are printed above it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("sync"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("ops, {task.fields[done]}/{task.fields[runs]} runs done"),
            TimeElapsedColumn(),
            console=Console(file=self.stream),
            transient=False,
        )
        self._task = self._bar.add_task("sync", total=None, done=0, runs=0)
        self._bar.start()

    def update(self, acked: int, total: int, done: int, runs: int) -> None:
        self._bar.update(self._task, completed=acked, total=total, done=done, runs=runs)

    def note(self, message: str) -> None:
        self._bar.console.print(f"sync: {message}", markup=False, highlight=False)

    def close(self) -> None:
        self._bar.stop()


def for_stream(stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
    """The display that suits ``stream`` (default stderr)."""
    stream = stream or sys.stderr
    if quiet:
        return Progress(stream)
    return BarProgress(stream) if stream.isatty() else PlainProgress(stream)
