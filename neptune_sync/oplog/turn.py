"""The writer's mutex: a plain list that holds one token while no thread is writing.

``turn.pop()`` takes the token and ``turn.append(True)`` gives it back. Both are single C calls that
run under the GIL, so at most one thread holds the token: the mutual exclusion of a
``threading.Lock`` for a third of its cost (``Lock.acquire`` parses keyword arguments on every call,
while the interpreter runs ``list.append`` inline), which matters on the hot path of a training
loop: one ``append_float`` per point (bench/hotpath_breakdown.py measures it). It must be a plain
``list``: the interpreter's inline ``append`` does not apply to a subclass.

``pop()`` raises IndexError while another thread holds the token; :func:`take` then waits for it.
The holder keeps it for about a microsecond, except during rotation and ``close()`` (file creation,
fsync). A waiter sleeps between tries, from ``FIRST_WAIT`` doubling to ``LAST_WAIT``, so a long hold
costs it a few wake-ups, never a busy loop. Only the thread that took the token gives it back
(``try``/``finally``); like a ``threading.Lock`` it is not reentrant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

FIRST_WAIT = 20e-6
LAST_WAIT = 2e-3

Turn = list  # [True] while free, [] while held


def new_turn() -> Turn:
    return [True]


def take(turn: Turn) -> None:
    """Take the token, waiting while another thread holds it."""
    wait = FIRST_WAIT
    while True:
        try:
            turn.pop()
            return
        except IndexError:
            time.sleep(wait)
            wait = min(wait * 2, LAST_WAIT)


@contextmanager
def holding(turn: Turn) -> Iterator[None]:
    """``with holding(turn):`` runs its body with the token held."""
    take(turn)
    try:
        yield
    finally:
        turn.append(True)
