"""Capture test setup: puts this folder on sys.path so tests can import capture_helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
