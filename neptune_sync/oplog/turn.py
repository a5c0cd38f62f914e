"""The writer's mutex: a plain list that holds one token while no thread is writing.

``del turn[-1]`` takes the token and ``turn.append(True)`` gives it back. Both run under the GIL
as single steps, so at most one thread holds the token: the mutual exclusion of a
``threading.Lock`` for a third of its cost (``Lock.acquire`` parses keyword arguments on every call,
while the interpreter runs ``list.append`` inline), which matters on the hot path of a training
loop: one ``append_float`` per point (bench/hotpath_breakdown.py measures it). It must be a plain
``list``: the interpreter's inline ``append`` does not apply to a subclass.

Taking is a statement, not a call: the interpreter runs signal handlers (a ``KeyboardInterrupt``)
after calls, so after ``turn.pop()`` an interrupt could leave the token taken with no ``finally``
to give it back, and every later call would wait forever. After ``del turn[-1]`` nothing runs
before the taker's ``try``/``finally``. For the same reason a holder writes that ``try``/``finally``
itself; a context manager's ``__enter__``/``__exit__`` are calls around it::

    take(turn)            # or, on the hot path: try: del turn[-1] / except IndexError: take(turn)
    try:
        ...
    finally:
        turn.append(True)

``del turn[-1]`` raises IndexError while another thread holds the token; :func:`take` then waits
for it. The holder keeps it for about a microsecond, except during rotation and ``close()`` (file
creation, fsync). A waiter sleeps between tries, from ``FIRST_WAIT`` doubling to ``LAST_WAIT``, so a
long hold costs it a few wake-ups, never a busy loop. Only the thread that took the token gives it
back; like a ``threading.Lock`` it is not reentrant.
"""

from __future__ import annotations

import time

FIRST_WAIT = 20e-6
LAST_WAIT = 2e-3

Turn = list  # [True] while free, [] while held


def new_turn() -> Turn:
    return [True]


def take(turn: Turn) -> None:
    """Take the token, waiting while another thread holds it. Returns holding it, or raises (an
    interrupt while waiting) without it."""
    wait = FIRST_WAIT
    while True:
        try:
            del turn[-1]
            return
        except IndexError:
            time.sleep(wait)
            wait = min(wait * 2, LAST_WAIT)
