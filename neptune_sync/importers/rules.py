"""What every importer checks before it writes a value: neptune-sync's own rules (the ones the
client enforces on user input, neptune_sync.validation). A value that breaks one is kept aside
(:class:`KeptAside`) rather than written, since the store would refuse it, and a refused point
would hold up the points stored in the same frame."""

from __future__ import annotations

import math

from ..exceptions import InvalidPathError
from ..validation import INT_MAX, INT_MIN, check_path


class KeptAside(Exception):
    """A source record that cannot be converted; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def field_path(path: str) -> str:
    """``path`` if it is a valid field path."""
    try:
        return check_path(path)
    except InvalidPathError as exc:
        raise KeptAside(str(exc)) from None


def finite(value: object, what: str = "value") -> float:
    """A finite float: NaN and infinities are not stored (as neptune 1.x did not)."""
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise KeptAside(f"non-finite {what} {number!r}: neptune-sync stores finite numbers only")
    return number


def int64(value: int) -> int:
    """An integer that fits in 64 bits."""
    if not INT_MIN <= value <= INT_MAX:
        raise KeptAside(f"integer {value} does not fit in 64 bits")
    return value
