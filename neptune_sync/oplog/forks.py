"""Objects holding a process's log resources that a forked child must let go of.

A forked child must never write into its parent's segment (the mapping and the flock are the
parent's): each registered object's ``_after_fork_in_child()`` runs in the child, once.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

_live: weakref.WeakSet[Any] = weakref.WeakSet()


def release_in_child(obj: Any) -> None:
    """Call ``obj._after_fork_in_child()`` in every child this process forks while ``obj`` lives."""
    _live.add(obj)


def _after_fork_in_child() -> None:
    for obj in list(_live):
        obj._after_fork_in_child()
    _live.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
