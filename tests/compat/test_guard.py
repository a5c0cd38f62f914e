"""The shim refuses to import next to Neptune's own client, naming what it found and the fix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import neptune
from neptune._guard import OWN_ENTRIES, problems

PACKAGE = Path(neptune.__file__).resolve().parent
OURS = ("neptune", "1.99.0+sync", "Compatibility shim ... over neptune_sync (neptune-sync)")


def fake_distribution(site: Path, name: str, version: str, summary: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
    )


def import_neptune(site: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``import neptune`` in a child whose sys.path starts with ``site`` (as a second site-packages)."""
    code = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import neptune; print('imported', neptune.__file__)"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_a_clean_environment_has_no_problems():
    entries = [p.name for p in PACKAGE.iterdir()]
    assert problems([OURS], entries, str(PACKAGE)) == []
    assert set(entries) - {"__pycache__"} == OWN_ENTRIES  # the list of own files is complete


def test_problems_names_the_client_distributions_and_foreign_files():
    found = problems(
        [OURS, ("neptune-client", "1.14.0", "Neptune Client"), ("neptune", "1.14.0", "Neptune Client")],
        ["__init__.py", "attributes", "__pycache__", "handler.py"],
        "/site/neptune",
    )
    assert found[0] == "the distribution neptune-client 1.14.0 (Neptune's client) is installed"
    assert found[1] == "the distribution neptune 1.14.0 is Neptune's client, not this shim"
    assert found[2] == "/site/neptune holds files this shim does not ship: attributes, handler.py"


def test_import_is_refused_when_neptune_client_is_installed_too(tmp_path):
    fake_distribution(tmp_path / "site", "neptune-client", "1.14.0", "Neptune Client")
    out = import_neptune(tmp_path / "site", tmp_path)
    assert out.returncode != 0 and "imported" not in out.stdout
    assert "ImportError: `import neptune` refused" in out.stderr
    assert "neptune-client 1.14.0" in out.stderr
    assert "pip uninstall -y neptune neptune-client" in out.stderr  # the fix


def test_import_is_refused_when_another_neptune_distribution_is_installed(tmp_path):
    fake_distribution(tmp_path / "site", "neptune", "1.13.0", "Neptune Client")
    out = import_neptune(tmp_path / "site", tmp_path)
    assert "the distribution neptune 1.13.0 is Neptune's client" in out.stderr, out.stderr


def test_import_is_refused_when_the_package_holds_files_that_are_not_ours(tmp_path):
    """Neptune's client installed over the shim's directory leaves its own modules there."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "neptune", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "neptune" / "attributes").mkdir()
    (site / "neptune" / "attributes" / "__init__.py").write_text("")
    out = import_neptune(site, tmp_path)
    assert "holds files this shim does not ship: attributes" in out.stderr, out.stderr
    shutil.rmtree(site / "neptune" / "attributes")
    out = import_neptune(site, tmp_path)  # the same copy, cleaned: imports
    assert out.stdout.startswith("imported " + str(site / "neptune")), out.stderr
