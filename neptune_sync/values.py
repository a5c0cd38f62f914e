"""Python values to operations: which field type a value makes, converted and checked by the rules.

Conversions follow neptune 1.x's ``cast_value``: an ``argparse.Namespace`` is a dict of fields; PIL
and matplotlib figures are PNG files and plotly / altair / bokeh figures HTML files (``figures``);
``neptune.types`` atoms are their value; anything else ``float()`` accepts (a torch scalar, a numpy
scalar, a ``Decimal``) is a float.
"""

from __future__ import annotations

import datetime as _dt
import sys
import warnings
from typing import Any

from .exceptions import ValueRuleError
from .messages import type_words, warn_user
from .types.atoms import Atom
from .types.figures import appends_as_image, converts_to_html, converts_to_image, is_numpy_array, is_tensor
from .types.file import File
from .types.stringify import StringifyValue
from .validation import (
    MAX_SERIES_STRING_LENGTH,
    MAX_STRING_LENGTH,
    NeptuneUnsupportedType,
    NeptuneWarning,
    check_int,
    check_no_nul,
    finite_or_warn,
    join_path,
    to_utc,
    truncate,
)
from .wire import ops as o

PLAIN_ATOMS = frozenset({int, float, str, bool})  # values that need no conversion before their rules


def plain(value: Any) -> Any:
    """numpy scalars (and 0-d arrays) as Python values; anything else unchanged."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def float_like(value: Any) -> float | None:
    """``float(value)`` if it takes it (as neptune 1.x's ``is_float_like``), else None."""
    with warnings.catch_warnings():  # e.g. numpy's warning for 1-element arrays
        warnings.simplefilter("ignore")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            return None


def assignable(value: Any) -> Any:
    """``value`` as ``assign`` stores it: a dict for a Namespace, a File for a figure, an atom's value."""
    argparse = sys.modules.get("argparse")  # not imported: the value cannot be a Namespace
    if argparse is not None and isinstance(value, argparse.Namespace):
        return vars(value)
    if isinstance(value, Atom):
        return value.value
    if converts_to_image(value):
        return File.as_image(value)
    if converts_to_html(value):
        return File.as_html(value)
    return value


def unsupported(path: str, value: Any) -> None:
    warn_user(
        f"{path!r}: {type_words(value)} is not a type Neptune stores; it was not logged. "
        "Convert it (e.g. to str or float) or wrap it with stringify_unsupported().",
        NeptuneUnsupportedType,
    )


def dict_key(path: str, key: object) -> str:
    """A dict key as a path segment under ``path``. A ``str`` is used as is; any other key becomes
    its ``str()``, as neptune 1.x formatted keys into paths, with a :class:`NeptuneWarning`: ``1``
    and ``"1"`` name the same field, and the key is not a ``str`` when read back."""
    if type(key) is str:
        return key
    segment = str(key)
    warn_user(
        f"dict key {key!r} ({type_words(key)}) is logged at {join_path(path, segment)!r}: a path is "
        "made of str keys (1 and '1' name the same field); use str keys to name fields",
        NeptuneWarning,
    )
    return segment


def check_appendable_array(path: str, value: Any) -> None:
    """An array or tensor appended as one point must be an image (2-D, or 3-D with 1, 3 or 4
    channels; rule ``append-array``): a 1-D or other array is more likely many values."""
    shape = tuple(getattr(value, "shape", ()))
    if len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3, 4)):
        return
    raise ValueRuleError(
        path,
        "append-array",
        f"{type_words(value)} of shape {shape} is not one point: use extend() to log its values as "
        "points of a float series, append a scalar (e.g. float(x.mean())), or append an image "
        "(HxW, HxWx1, HxWx3 or HxWx4)",
    )


def atom_op(path: str, value: Any, existing: str | None) -> o.Op | None:
    """The assign operation for ``value``; None when it is not logged (a warning said why).

    An int written to an existing float field is stored as a float, as neptune 1.x does. A value
    wrapped by ``stringify_unsupported`` keeps its type when Neptune has one, else is its ``str()``.
    """
    stringified = False
    if type(value) not in PLAIN_ATOMS:
        value = plain(value)
        stringified = isinstance(value, StringifyValue)
        if stringified:
            value = plain(value.value)
    kind = type(value)
    if kind is bool:
        return o.AssignBool(path, value)
    if isinstance(value, int):
        if existing == o.FieldType.FLOAT:
            return o.AssignFloat(path, float(value))
        return o.AssignInt(path, check_int(path, int(value)))
    if isinstance(value, str):
        text = check_no_nul(path, str(value))
        return o.AssignString(path, truncate(path, text, MAX_STRING_LENGTH, "string-length"))
    if isinstance(value, _dt.datetime):
        return o.AssignDatetime(path, to_utc(value))
    number = value if isinstance(value, float) else float_like(value)
    if number is not None:
        return o.AssignFloat(path, float(number)) if finite_or_warn(path, number) else None
    if stringified:
        return atom_op(path, str(value), existing)
    unsupported(path, value)
    return None


def series_kind(path: str, value: Any) -> tuple[str | None, Any]:
    """(series type, converted value) for one appended value; (None, None) if unsupported (warned)."""
    value = plain(value)
    stringified = isinstance(value, StringifyValue)
    if stringified:
        value = plain(value.value)
    if isinstance(value, (int, float)):  # bool included: logged as 0.0 / 1.0
        return o.FieldType.FLOAT_SERIES, float(value)
    if isinstance(value, str):
        return o.FieldType.STRING_SERIES, truncate(
            path, check_no_nul(path, value), MAX_SERIES_STRING_LENGTH, "series-string-length"
        )
    if isinstance(value, File):
        return o.FieldType.FILE_SERIES, value
    if getattr(value, "ndim", None) == 0 and (number := float_like(value)) is not None:  # a torch scalar
        return o.FieldType.FLOAT_SERIES, number
    if appends_as_image(value):
        if is_numpy_array(value) or is_tensor(value):
            check_appendable_array(path, value)
        return o.FieldType.FILE_SERIES, File.as_image(value)
    number = float_like(value)
    if number is not None:
        return o.FieldType.FLOAT_SERIES, number
    if stringified:
        return series_kind(path, str(value))
    unsupported(path, value)
    return None, None
