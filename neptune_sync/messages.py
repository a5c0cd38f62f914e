"""Messages to the user: warnings that point at the user's line, and the words that name types.

A warning raised deep in neptune_sync (a handler, a value conversion, the run) is about the call
the user wrote: ``run["x"] = object()`` in ``train.py``. :func:`warn_user` gives
``warnings.warn`` the stack level of the first frame outside neptune_sync and the ``neptune``
compatibility package, so the warning shows ``train.py:12`` and filters keyed on the user's
module apply. :func:`user_line` names the same place for warnings that go to the logger.

Messages name types as the user would: ``a(type_name)`` gives "an ndarray", "an int field".
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType

SPELLED = ("nd",)  # names read letter by letter from a vowel sound: "an ndarray"
OWN_PACKAGES = ("neptune_sync", "neptune")  # neptune: the compat shim, which re-exports neptune_sync


def ours(frame: FrameType) -> bool:
    """True for a frame of neptune_sync or of the ``neptune`` compat package."""
    name = frame.f_globals.get("__name__") or ""
    return any(name == p or name.startswith(p + ".") for p in OWN_PACKAGES)


def _import_machinery(frame: FrameType) -> bool:
    """A frame of the import system: ``warnings`` skips these when it counts stack levels."""
    filename = frame.f_code.co_filename
    return "importlib" in filename and "_bootstrap" in filename


def _user_frame(frame: FrameType | None) -> tuple[FrameType | None, int]:
    """The first frame at or above ``frame`` outside our packages and the import system, and how
    many stack levels (as ``warnings`` counts them) lie above ``frame`` to reach it."""
    levels = 0
    while frame is not None and (ours(frame) or _import_machinery(frame)):
        frame = frame.f_back
        if frame is not None and not _import_machinery(frame):
            levels += 1
    return frame, levels


def warn_user(message: str, category: type[Warning]) -> None:
    """``warnings.warn(message, category)`` attributed to the user's line."""
    _, levels = _user_frame(sys._getframe(1))
    warnings.warn(message, category, stacklevel=2 + levels)


def user_line() -> str:
    """``file:line`` of the user's call that led here ("" when every frame is ours)."""
    frame, _ = _user_frame(sys._getframe(1))
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def a(noun: str) -> str:
    """``noun`` with its indefinite article: "an int", "a float", "an ndarray", "a namespace"."""
    word = noun.lower()
    return f"{'an' if word[:1] in 'aeio' or word.startswith(SPELLED) else 'a'} {noun}"


def type_words(value: object) -> str:
    """What ``value`` is, in a message: "an ndarray", "a dict", "None"."""
    return "None" if value is None else a(type(value).__name__)
