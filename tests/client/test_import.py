"""``import neptune_sync`` stays light: no aiohttp, anyio, event loop or array library (its time is
measured by ``bench/import_time.py``, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "aiohttp",
    "anyio",
    "asyncio",
    "watchfiles",
    "pandas",
    "numpy",
    "PIL",
    "neptune_syncd",
    "neptune_sync_store",
)
CAPTURE_THREAD = ("psutil", "pynvml")  # imported when a run starts its hardware metrics, not by the import

PROBE = f"""
import json, sys
import neptune_sync as neptune
print(json.dumps({{"loaded": [m for m in {HEAVY + CAPTURE_THREAD!r} if m in sys.modules],
                   "api": [n for n in ("init_run", "init_project", "File", "stringify_unsupported") if hasattr(neptune, n)]}}))
"""


def test_import_is_light():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout)
    assert result["loaded"] == []
    assert result["api"] == ["init_run", "init_project", "File", "stringify_unsupported"]


def test_version_and_neptune_module_names():
    import neptune_sync as neptune

    assert neptune.__version__ == "0.1.0"
    assert issubclass(neptune.exceptions.TypeConflictError, neptune.exceptions.MetadataInconsistency)
    assert neptune.utils.stringify_unsupported is neptune.stringify_unsupported
    assert neptune.types.File is neptune.File
    assert sorted(neptune.__all__) == neptune.__all__
    assert all(getattr(neptune, name) is not None for name in neptune.__all__)


def test_init_run_in_offline_mode_stays_light():
    probe = (
        "import sys, neptune_sync as n; r = n.init_run(mode='offline'); r['x'].append(1.0); r.stop();"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
