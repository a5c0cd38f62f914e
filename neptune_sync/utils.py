"""``neptune.utils`` of neptune 1.x: where user code imports ``stringify_unsupported`` from."""

from .types.stringify import stringify_unsupported

__all__ = ["stringify_unsupported"]
