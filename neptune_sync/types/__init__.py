"""Value types of the Neptune 1.x API (``neptune.types``)."""

from .atoms import Artifact, Boolean, Datetime, Float, Integer, String
from .file import File
from .fileset import FileEntry
from .git_ref import GitRef
from .series import FileSeries, FileSet, FloatSeries, StringSeries, StringSet
from .stringify import StringifyValue, stringify_unsupported

__all__ = [
    "Artifact",
    "Boolean",
    "Datetime",
    "File",
    "FileEntry",
    "FileSeries",
    "FileSet",
    "Float",
    "FloatSeries",
    "GitRef",
    "Integer",
    "String",
    "StringSeries",
    "StringSet",
    "StringifyValue",
    "stringify_unsupported",
]
