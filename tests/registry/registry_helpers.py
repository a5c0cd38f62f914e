"""Names and steps the registry tests share."""

from __future__ import annotations

import os
from pathlib import Path

from neptune_sync import cli

PROJECT = "team/registry"
MODEL = "REGIST-MOD"  # the project key of team/registry is REGIST


def machine(root: Path, name: str) -> Path:
    """Switch this process to machine ``name``: its own data directory under ``root``."""
    path = root / name
    os.environ["NEPTUNE_SYNC_DIR"] = str(path)
    return path


def sync() -> None:
    """`neptune-sync sync` of the current data directory."""
    assert cli.main(["sync", "-q"]) == 0
