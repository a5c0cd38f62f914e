"""``import neptune_sync`` loads no integration and no framework (they are imported on use)."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("optuna", "torch", "lightning", "transformers", "keras", "lightgbm", "xgboost", "sklearn")


def test_importing_the_client_imports_no_integration_and_no_framework():
    code = (
        "import sys, neptune_sync; "
        "print(sorted(m for m in sys.modules if m.startswith('neptune_sync.integrations') "
        f"or m.split('.')[0] in {FRAMEWORKS!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_the_shared_helpers_import_no_framework():
    code = (
        "import sys, neptune_sync.integrations.utils, neptune_sync.integrations.python_logger; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
