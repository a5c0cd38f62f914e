"""Python values to operations: which field type a value makes, converted and checked by the rules."""

from __future__ import annotations

import datetime as _dt
import warnings
from typing import Any

from .oplog import ops as o
from .types.file import File, is_image_like
from .types.stringify import StringifyValue
from .validation import (
    MAX_SERIES_STRING_LENGTH,
    MAX_STRING_LENGTH,
    NeptuneUnsupportedType,
    check_int,
    check_no_nul,
    finite_or_warn,
    to_utc,
    truncate,
)


def plain(value: Any) -> Any:
    """numpy scalars (and 0-d arrays) as Python values; anything else unchanged."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def unsupported(path: str, value: Any) -> None:
    warnings.warn(
        f"{path!r}: a {type(value).__name__} is not a type Neptune stores; it was not logged. "
        "Convert it (e.g. to str or float) or wrap it with stringify_unsupported().",
        NeptuneUnsupportedType,
        stacklevel=4,
    )


def atom_op(path: str, value: Any, existing: str | None) -> o.Op | None:
    """The assign operation for ``value``; None when it is not logged (a warning said why).

    An int written to an existing float field is stored as a float, as neptune 1.x does.
    """
    value = plain(value)
    if isinstance(value, StringifyValue):
        value = str(value)
    kind = type(value)
    if kind is bool:
        return o.AssignBool(path, value)
    if isinstance(value, int):
        if existing == o.FieldType.FLOAT:
            return o.AssignFloat(path, float(value))
        return o.AssignInt(path, check_int(path, int(value)))
    if isinstance(value, float):
        return o.AssignFloat(path, float(value)) if finite_or_warn(path, value) else None
    if isinstance(value, str):
        text = check_no_nul(path, str(value))
        return o.AssignString(path, truncate(path, text, MAX_STRING_LENGTH, "string-length"))
    if isinstance(value, _dt.datetime):
        return o.AssignDatetime(path, to_utc(value))
    unsupported(path, value)
    return None


def series_kind(path: str, value: Any) -> tuple[str | None, Any]:
    """(series type, converted value) for one appended value; (None, None) if unsupported (warned)."""
    value = plain(value)
    if isinstance(value, (int, float)):  # bool included: logged as 0.0 / 1.0
        return o.FieldType.FLOAT_SERIES, float(value)
    if isinstance(value, (str, StringifyValue)):
        text = truncate(
            path, check_no_nul(path, str(value)), MAX_SERIES_STRING_LENGTH, "series-string-length"
        )
        return o.FieldType.STRING_SERIES, text
    if isinstance(value, File):
        return o.FieldType.FILE_SERIES, value
    if is_image_like(value):
        return o.FieldType.FILE_SERIES, File.as_image(value)
    if hasattr(type(value), "__float__") and getattr(value, "ndim", 0) == 0:  # e.g. a torch scalar
        return o.FieldType.FLOAT_SERIES, float(value)
    unsupported(path, value)
    return None, None
