"""The logging child's own journal of its calls: what the independent model is computed from.

Stdlib only, no production import. A child writes one JSON line ``[time, kind, *args]`` *before*
each call, with one ``write()`` on an ``O_APPEND`` descriptor (a SIGKILL cannot tear it: the
kernel copies the line whole or not at all, and the page cache outlives the process). So a call
has returned exactly when a later line exists; the last line is the call in flight at the kill,
which may or may not have reached the log. ``end`` is written after the last call returned.

Kinds: ``init`` (custom_run_id), ``a`` (path, value: an assign), ``p`` (path, step, float: a
float-series append), ``s`` (path, step, text: a string-series append), ``tag`` / ``untag``
(tag added to / removed from ``sys/tags``), ``del`` (path: the field deleted), ``up`` (path,
sha256, size: a file upload), ``stop``, ``end``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


class Journal:
    """Append-only writer used by the logging child."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def call(self, kind: str, *args: object) -> None:
        """Note a call about to be made (write it just before making the call)."""
        os.write(self._fd, (json.dumps([time.time(), kind, *args]) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


@dataclass(frozen=True)
class Call:
    kind: str
    args: tuple
    t0: float  # just before the call
    t1: float | None  # a moment after it returned; None: in flight when the process died
    process: int  # index of the journal it came from

    @property
    def returned(self) -> bool:
        return self.t1 is not None


def last_returned(path: str | os.PathLike[str], kind: str, first_arg: object, tail: int = 1 << 16) -> Call | None:
    """The last returned call of ``kind`` whose first argument is ``first_arg``, from the journal's
    tail only (cheap to poll while the child logs); None if the tail holds none."""
    path = Path(path)
    if not path.exists():
        return None
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        lines = os.pread(f.fileno(), tail, max(0, size - tail)).split(b"\n")[1:-1]
    for raw in reversed(lines[:-1]):  # the last line may be the call in flight
        t, k, *args = json.loads(raw)
        if k == kind and args and args[0] == first_arg:
            return Call(k, tuple(args), t, t, 0)
    return None


def read_journal(path: str | os.PathLike[str], process: int = 0) -> list[Call]:
    """The calls of one journal; the last one has ``t1=None`` unless the process ended them with ``end``."""
    lines = []
    if not Path(path).exists():
        return []  # the child has not started yet
    for raw in Path(path).read_bytes().split(b"\n"):
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # an empty tail (or, were it ever torn, a partial last line: not a call)
    calls = []
    for i, (t, kind, *args) in enumerate(lines):
        if kind == "end":
            break
        t1 = lines[i + 1][0] if i + 1 < len(lines) else None
        calls.append(Call(kind, tuple(args), t, t1, process))
    return calls
