"""``stringify_unsupported``: log values Neptune has no type for as their ``str()``."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from .file import File

SUPPORTED_ATOMS = (bool, int, float, str, _dt.datetime)


class StringifyValue:
    """A value to be logged as ``str(value)``."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"StringifyValue({self.value!r})"


def stringify_unsupported(value: Any, expand: bool = False) -> Any:
    """Wrap every value of unsupported type (also inside dicts) so it is logged as a string.

    Dicts stay dicts (they become namespaces); lists, tuples, None and other objects become strings.
    With ``expand=True`` lists, tuples and sets become namespaces too, keyed by position
    (``{"a": [1, "x"]}`` logs ``a/0 = 1`` and ``a/1 = "x"``; a set's items are sorted by ``str``).
    """
    if isinstance(value, Mapping):
        return {str(k): stringify_unsupported(v, expand) for k, v in value.items()}
    if expand and isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return {str(i): stringify_unsupported(v, expand) for i, v in enumerate(items)}
    if isinstance(value, (*SUPPORTED_ATOMS, StringifyValue, File)):
        return value
    return StringifyValue(value)
