"""The traceback of an uncaught exception, logged as neptune 1.x did, and ``sys/failed``.

One pair of hooks per process, chained in front of whatever ``sys.excepthook`` and
``threading.excepthook`` were when the first run started (the previous hook always runs after
ours, even if ours fails). They stay installed and pass through when no run listens. Each
capturing run registers a listener; :func:`lines` gives what 1.x logged: three header lines,
``traceback.format_tb`` entries, then the exception's message split into lines.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

logger = logging.getLogger("neptune_sync")

Listener = Callable[[type[BaseException], BaseException, TracebackType | None], None]

_listeners: dict[int, Listener] = {}
_lock = threading.Lock()
_installed = False


def lines(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> list[str]:
    """The lines neptune 1.x appended to ``<monitoring namespace>/traceback``."""
    header = [
        f"An uncaught exception occurred while run was active on worker {platform.node()}.",
        "Marking run as failed",
        "Traceback:",
    ]
    return header + traceback.format_tb(tb) + str(exc).split("\n")


def listen(key: int, listener: Listener) -> None:
    """Call ``listener`` on every uncaught exception (main thread or another) until :func:`forget`."""
    with _lock:
        _install()
        _listeners[key] = listener


def forget(key: int) -> None:
    with _lock:
        _listeners.pop(key, None)


def _notify(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    with _lock:
        listeners = list(_listeners.values())
    for listener in listeners:
        try:
            listener(exc_type, exc, tb)
        except Exception as err:  # never hide the user's exception behind ours
            logger.error("neptune-sync: could not log an uncaught exception: %s", err)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    previous_sys = sys.excepthook
    previous_thread = threading.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        try:
            _notify(exc_type, exc, tb)
        finally:
            previous_sys(exc_type, exc, tb)

    def thread_excepthook(args: Any) -> None:
        try:
            if args.exc_value is not None:
                _notify(args.exc_type, args.exc_value, args.exc_traceback)
        finally:
            previous_thread(args)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
