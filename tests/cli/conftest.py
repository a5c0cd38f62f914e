"""tests/cli: puts this folder on sys.path (for cli_helpers) and provides a store subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cli_helpers import CLI, Store  # noqa: E402


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    """A store subprocess on a free port, started as a user does, with a token for ``team/a``."""
    data, token_file = tmp_path / "store", tmp_path / "token"
    proc = subprocess.Popen(
        [
            CLI,
            "server",
            "--data",
            str(data),
            "--port",
            "0",
            "--token-project",
            "team/a",
            "--token-file",
            str(token_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), url
        yield Store(url, token_file.read_text().strip(), data)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
