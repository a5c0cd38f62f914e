"""Torture-suite setup: this folder on sys.path (its helper modules are imported by name), and the
``torture`` marker on every test here, so ``pytest -m torture`` (``make torture``) selects them.

Counts come from environment variables (``torture_config``); the defaults are the short form that
runs in ``make test``, ``make torture`` sets the long form's counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == HERE:
            item.add_marker(pytest.mark.torture)
