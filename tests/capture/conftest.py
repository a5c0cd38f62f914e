"""Capture test setup: puts this folder on sys.path so tests can import capture_helpers; ``repo``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from capture_helpers import make_repo  # noqa: E402


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit (capture_helpers.make_repo)."""
    return make_repo(tmp_path / "repo")
