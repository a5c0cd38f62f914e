"""Whole-field values for assignment, as ``neptune.types``: ``run["x"] = FloatSeries([...])``.

Assigning one replaces the field's content: a series is cleared and refilled, a set is cleared
and refilled, a file set is uploaded with ``reset``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class _Series:
    def __init__(
        self,
        values: Iterable[Any],
        steps: Iterable[float] | None = None,
        timestamps: Iterable[float] | None = None,
    ) -> None:
        self.values = list(values)
        self.steps = None if steps is None else list(steps)
        self.timestamps = None if timestamps is None else list(timestamps)


class FloatSeries(_Series):
    """Float points to assign to a series field."""


class StringSeries(_Series):
    """String points to assign to a series field."""


class FileSeries(_Series):
    """File points (File or image values) to assign to a series field."""


class StringSet:
    """Strings to assign to a string set field (e.g. tags)."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = list(values)


class FileSet:
    """Paths / globs to upload as a file set, replacing its current files."""

    def __init__(self, paths: str | Iterable[str]) -> None:
        self.paths = [paths] if isinstance(paths, str) else list(paths)


SERIES_VALUES = (FloatSeries, StringSeries, FileSeries)
