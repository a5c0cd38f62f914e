"""Value types of the Neptune 1.x API (``neptune.types``)."""

from .file import File
from .git_ref import GitRef
from .series import FileSeries, FileSet, FloatSeries, StringSeries, StringSet
from .stringify import StringifyValue, stringify_unsupported

__all__ = [
    "File",
    "FileSeries",
    "FileSet",
    "FloatSeries",
    "GitRef",
    "StringSeries",
    "StringSet",
    "StringifyValue",
    "stringify_unsupported",
]
