"""neptune-sync: log, inspect, serve and sync Neptune-style runs.

Each command group lives in the module that owns it and is imported only when used, so
``neptune-sync ls`` never loads the server or the daemon.

:func:`main` is the one error boundary of every command: an error the user can act on (a
:class:`~neptune_sync.exceptions.NeptuneSyncError`, an ``OSError`` such as a busy port or an
unreadable file, also inside an exception group) is printed as one line naming the command, and
the command exits 2; only a bug in neptune-sync itself shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata

from .exceptions import CommandError, NeptuneSyncError

PROG = "neptune-sync"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

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

try:
    _GROUP = BaseExceptionGroup
except NameError:  # Python 3.10: the backport anyio depends on
    from exceptiongroup import BaseExceptionGroup as _GROUP

# errors a user can act on: what they gave, their machine, their store
USER_ERRORS = (NeptuneSyncError, OSError)


def version() -> str:
    try:
        return metadata.version("neptune-sync")
    except metadata.PackageNotFoundError:  # a checkout run without installing it
        return "unknown (not installed)"


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
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


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``: itself, or those of an exception group (anyio task groups)."""
    if isinstance(exc, _GROUP):
        return [leaf for sub in exc.exceptions for leaf in leaves(sub)]
    return [exc]


def describe(exc: BaseException) -> str:
    """One line for a user error: its message, not its repr or its chain."""
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, NeptuneSyncError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    command = f"{PROG} {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException as exc:
        errors = leaves(exc)
        if not all(isinstance(e, USER_ERRORS) for e in errors):
            raise
        for error in dict.fromkeys(describe(e) for e in errors):
            print(f"{command}: {error}", file=sys.stderr)
        codes = {e.exit_code for e in errors if isinstance(e, CommandError)}
        return max(codes) if codes else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
