"""``neptune.internal.utils``: argument checks neptune 1.x integrations (and transformers) import."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["verify_collection_type", "verify_type"]


def _names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def verify_type(var_name: str, var: Any, expected_type: type | tuple[type, ...]) -> None:
    """Raise TypeError naming ``var_name`` unless ``var`` is an instance of ``expected_type``."""
    if not isinstance(var, expected_type):
        raise TypeError(f"{var_name} must be a {_names(expected_type)} (was {type(var)})")


def verify_collection_type(var_name: str, var: Iterable[Any], expected_type: type | tuple[type, ...]) -> None:
    """Raise TypeError unless ``var`` is a collection whose every item is an ``expected_type``."""
    verify_type(var_name, var, (list, set, tuple))
    for item in var:
        verify_type(f"elements of collection '{var_name}'", item, expected_type)
