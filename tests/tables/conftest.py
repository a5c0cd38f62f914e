"""Fixtures of the table tests: the store tests' backends (SQLite and PostgreSQL in a throwaway
schema), storages and live stores, taken from tests/store/conftest.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

STORE_TESTS = Path(__file__).parents[1] / "store"
sys.path.insert(0, str(STORE_TESTS))

_spec = importlib.util.spec_from_file_location("store_test_fixtures", STORE_TESTS / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

backend = _fixtures.backend
storage = _fixtures.storage
any_store = _fixtures.any_store
