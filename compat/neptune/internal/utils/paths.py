"""``neptune.internal.utils.paths``: the field path helpers of neptune 1.x."""

from neptune_sync.integrations.utils import join_paths, parse_path, path_to_str

__all__ = ["join_paths", "parse_path", "path_to_str"]
