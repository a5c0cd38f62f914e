"""neptune-sync: log, inspect, serve and sync Neptune-style runs.

Each command group lives in the module that owns it and is imported only when used, so
``neptune-sync ls`` never loads the server or the daemon.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> module with ``register(subparsers)`` adding that command (and maybe siblings)
COMMAND_MODULES: dict[str, str] = {
    "ls": "neptune_sync.cli_local",
    "show": "neptune_sync.cli_local",
    "verify": "neptune_sync.cli_local",
    "server": "neptune_sync_store.cli",
    "sync": "neptune_syncd.cli",
    "status": "neptune_syncd.cli",
    "import": "neptune_sync.importers.cli",
    "demo": "neptune_sync.demo",
    "trash": "neptune_sync.management",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neptune-sync", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = argv[0] if argv and argv[0] in COMMAND_MODULES else None
    loaded: set[str] = set()
    for name, module_name in COMMAND_MODULES.items():
        if module_name in loaded or (wanted and name != wanted):
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that part is not installed / not built yet
            raise
        module.register(sub)
        loaded.add(module_name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
