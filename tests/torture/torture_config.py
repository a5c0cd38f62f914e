"""Counts and seeds of the torture suite: short defaults for ``make test``, long ones from the environment.

``make torture`` sets the long form (docs: README, "Tests"). Every scenario prints its seed; set
``TORTURE_SEED`` to replay one.
"""

from __future__ import annotations

import os
import random

LONG = os.environ.get("TORTURE_LONG", "") not in ("", "0")


def count(name: str, short: int, long: int) -> int:
    """``$TORTURE_<NAME>`` if set, else the long or the short default."""
    explicit = os.environ.get(f"TORTURE_{name.upper()}")
    return int(explicit) if explicit else (long if LONG else short)


def seed(label: str) -> int:
    """The scenario's seed (``$TORTURE_SEED`` replays one), printed so a failure can be replayed."""
    value = int(os.environ.get("TORTURE_SEED") or random.randrange(1 << 32))
    print(f"[torture] {label}: seed {value} (replay with TORTURE_SEED={value})")
    return value


def figures(label: str, **values: object) -> None:
    """One line of closing figures (pytest -s, or the captured output of a failing test)."""
    shown = " ".join(f"{k}={v}" for k, v in values.items())
    print(f"[torture] {label}: {shown}")
