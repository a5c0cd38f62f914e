"""``source_code/entrypoint``, ``source_code/files`` and ``source_code/requirements`` (neptune 1.x).

* Entry point: the script ``__main__`` runs (none for ``python -c``, a REPL or a notebook).
  ``source_files=None`` uploads it; ``[]`` uploads nothing; globs upload what they match, and the
  entry point is then named relative to the matched files' common directory.
* Dependencies: ``"infer"`` uploads ``name==version`` of every installed distribution, sorted by
  name, one a line (a ``txt`` file); a path uploads that file; a missing path is reported, not raised.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from typing import Any

from ..types.file import File

logger = logging.getLogger("neptune_sync")


def entry_script() -> str | None:
    """The absolute path of the script being run, if there is one."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    return os.path.abspath(path) if path and os.path.isfile(path) else None


def record_source(run: Any, source_files: list[str] | None, interactive: bool) -> None:
    entry = None if interactive else entry_script()
    if entry is not None:
        run["source_code/entrypoint"] = _entrypoint_name(entry, source_files)
    files = source_files if source_files is not None else [entry] if entry else []
    if files:
        run["source_code/files"].upload_files(files)


def _entrypoint_name(entry: str, source_files: list[str] | None) -> str:
    if not source_files:
        return os.path.basename(entry)
    matched = [os.path.abspath(p) for pattern in source_files for p in glob.glob(pattern, recursive=True)]
    if not matched:
        return os.path.basename(entry)
    root = os.path.commonpath([os.path.dirname(p) for p in matched])
    try:
        return os.path.relpath(entry, root).replace(os.sep, "/")
    except ValueError:  # another drive (Windows)
        return os.path.basename(entry)


def record_dependencies(run: Any, dependencies: str) -> None:
    if dependencies == "infer":
        listing = installed_distributions()
        if listing:
            run["source_code/requirements"].upload(File.from_content(listing))
    elif os.path.isfile(dependencies):
        run["source_code/requirements"].upload(dependencies)
    else:
        logger.error("neptune-sync: dependency file %r does not exist; not uploaded", dependencies)


def installed_distributions() -> str:
    """``name==version`` of each installed distribution, sorted by name, one a line (1.x's format)."""
    from importlib.metadata import distributions

    rows = []
    for dist in distributions():
        name, version = dist.metadata["Name"], dist.metadata["Version"]
        if name:
            rows.append((name, version))
    return "\n".join(f"{name}=={version}" for name, version in sorted(rows))
