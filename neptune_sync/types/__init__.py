"""Value types of the Neptune 1.x API (``neptune.types``)."""

from .file import File
from .stringify import StringifyValue, stringify_unsupported

__all__ = ["File", "StringifyValue", "stringify_unsupported"]
