"""Helpers shared by the client tests (on sys.path via this folder's conftest)."""

from __future__ import annotations

from typing import Any


def rows(values: Any) -> list[dict[str, Any]]:
    """``fetch_values()`` as a list of dicts, whether it returned a DataFrame (pandas) or the list."""
    return values.to_dict("records") if hasattr(values, "to_dict") else values
