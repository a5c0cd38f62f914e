"""Refuse to run next to Neptune's own client: both provide ``import neptune``.

When Neptune's client is installed into the same environment it either replaces this package's
files or sits next to it, and ``import neptune`` would then mix two libraries. This shim checks,
before anything else is imported, that (1) no ``neptune-client`` distribution is installed, (2)
every ``neptune`` distribution is this shim (its summary carries :data:`MARK`), and (3) the
package directory holds only this shim's own files; otherwise ``import neptune`` raises an
ImportError that names what was found and the command that fixes it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from pathlib import Path

MARK = "neptune_sync"  # in this distribution's summary: "... over neptune_sync (neptune-sync)"
OWN_ENTRIES = frozenset({"__init__.py", "_guard.py", "_aliases.py", "internal", "integrations", "new"})
IGNORED = frozenset({"__pycache__"})
FIX = (
    "Neptune's client and the neptune-sync compatibility shim both provide `import neptune` and cannot "
    "share an environment. Either remove Neptune's client and reinstall the shim:\n"
    "    pip uninstall -y neptune neptune-client && pip install --force-reinstall --no-deps <neptune-sync clone>/compat\n"
    "or keep Neptune's client, uninstall the shim, and write `import neptune_sync as neptune`."
)


def problems(
    distributions: Iterable[tuple[str, str, str]], package_entries: Iterable[str], package_dir: str
) -> list[str]:
    """What in the environment is not this shim: ``distributions`` are (name, version, summary)
    of the installed ``neptune`` and ``neptune-client`` distributions, ``package_entries`` the
    names in this package's directory."""
    found = []
    for name, version, summary in distributions:
        if name.lower().replace("_", "-") == "neptune-client":
            found.append(f"the distribution neptune-client {version} (Neptune's client) is installed")
        elif MARK not in summary:
            found.append(f"the distribution neptune {version} is Neptune's client, not this shim")
    foreign = sorted(set(package_entries) - OWN_ENTRIES - IGNORED)
    if foreign:
        found.append(f"{package_dir} holds files this shim does not ship: {', '.join(foreign)}")
    return found


def installed_distributions() -> list[tuple[str, str, str]]:
    """(name, version, summary) of every ``neptune`` and ``neptune-client`` distribution on sys.path."""
    found = []
    for name in ("neptune", "neptune-client"):
        for dist in importlib.metadata.distributions(name=name):
            meta = dist.metadata
            found.append((meta["Name"] or name, meta["Version"] or "?", meta["Summary"] or ""))
    return found


def refuse_foreign_neptune(package_dir: Path) -> None:
    """Raise ImportError naming the problem and the fix if Neptune's client shares this environment."""
    entries = [p.name for p in package_dir.iterdir()]
    found = problems(installed_distributions(), entries, str(package_dir))
    if found:
        lines = "\n".join(f"  - {p}" for p in found)
        raise ImportError(
            f"`import neptune` refused: Neptune's own client is installed here.\n{lines}\n{FIX}"
        )
