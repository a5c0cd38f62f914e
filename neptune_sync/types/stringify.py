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


def stringify_unsupported(value: Any) -> Any:
    """Wrap every value of unsupported type (also inside dicts) so it is logged as a string.

    Dicts stay dicts (they become namespaces); lists, tuples, None and other objects become strings.
    """
    if isinstance(value, Mapping):
        return {str(k): stringify_unsupported(v) for k, v in value.items()}
    if isinstance(value, (*SUPPORTED_ATOMS, StringifyValue, File)):
        return value
    return StringifyValue(value)
