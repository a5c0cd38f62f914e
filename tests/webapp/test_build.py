"""The committed build (neptune_sync_store/static) is what the sources in web/ build to.

Rebuilds into a temporary folder with the locked toolchain (web/package-lock.json) and compares
every file byte for byte. Needs node and web/node_modules (`npm ci` in web/; .ci/run does it):
skips without them locally, fails without them under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
WEB = ROOT / "web"
STATIC = ROOT / "neptune_sync_store" / "static"


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_build_matches_the_sources(tmp_path):
    if shutil.which("node") is None or not (WEB / "node_modules" / ".bin" / "vite").exists():
        message = "node or web/node_modules missing (cd web && npm ci)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; CI must check the committed build")
        pytest.skip(message)
    out = tmp_path / "static"
    subprocess.run([str(WEB / "node_modules/.bin/tsc"), "--noEmit", "-p", str(WEB)], check=True, timeout=300)
    subprocess.run(
        [
            str(WEB / "node_modules/.bin/vite"),
            "build",
            "--outDir",
            str(out),
            "--emptyOutDir",
            "--logLevel",
            "error",
        ],
        cwd=WEB,
        check=True,
        timeout=300,
    )
    built, committed = files(out), files(STATIC)
    assert sorted(built) == sorted(committed), "rebuild the app: cd web && npm run build, then commit static/"
    assert [name for name in built if built[name] != committed[name]] == []


def test_the_build_is_small():
    assert sum(len(b) for b in files(STATIC).values()) < 200_000
