"""``neptune.internal.utils.paths``: field path helpers of neptune 1.x."""

from __future__ import annotations

__all__ = ["join_paths", "parse_path", "path_to_str"]


def parse_path(path: str) -> list[str]:
    """``"a/b//c/"`` -> ``["a", "b", "c"]``."""
    return [part for part in path.split("/") if part]


def path_to_str(path: list[str]) -> str:
    return "/".join(path)


def join_paths(*paths: str) -> str:
    """Join namespace paths with ``/``, dropping empty segments: ``join_paths("a/", "b")`` -> ``"a/b"``."""
    return path_to_str([part for path in paths for part in parse_path(path)])
