"""Fixtures of the operation-log tests; helpers live in oplog_helpers (on sys.path from here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from oplog_helpers import new_writer  # noqa: E402

from neptune_sync.oplog.writer import OpLogWriter  # noqa: E402


@pytest.fixture
def segments(tmp_path) -> Path:
    return tmp_path / "run" / "segments"


@pytest.fixture
def writer_factory(segments):
    """Make writers for the ``segments`` dir; every one still open is closed after the test."""
    made: list[OpLogWriter] = []

    def make(**kwargs) -> OpLogWriter:
        writer = new_writer(segments, **kwargs)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close()
