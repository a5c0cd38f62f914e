"""Integration tests: offline runs in the per-test data directory; heavy frameworks only on request.

Tests marked ``heavy`` (torch, tensorflow) run only with ``NEPTUNE_SYNC_HEAVY_TESTS=1``
(``make test-integrations``); the default suite skips them with that message, and does not even
collect the modules that import torch at the top (importing it alone takes seconds).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import neptune_sync

sys.path.insert(0, str(Path(__file__).parent))

from integration_helpers import PROJECT  # noqa: E402

HEAVY_ENV = "NEPTUNE_SYNC_HEAVY_TESTS"
HEAVY_MODULES = ["test_pytorch_lightning.py", "test_transformers.py", "test_tensorflow_keras.py"]

collect_ignore = [] if os.environ.get(HEAVY_ENV) == "1" else HEAVY_MODULES


def pytest_collection_modifyitems(config, items):
    if os.environ.get(HEAVY_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"heavy framework test: run `make test-integrations` ({HEAVY_ENV}=1)")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def run():
    """An offline run; stopped after the test."""
    r = neptune_sync.init_run(project=PROJECT, mode="offline")
    yield r
    r.stop()
