"""The rules a value or path must follow before it becomes an operation (docs/compat.md, "Rules").

Each rule has a short name that appears in its error or warning. Bad input that is a bug in the
caller's code (an empty path segment, a NaN step) raises a :class:`ValidationError` subclass at
once and logs nothing. Input that Neptune 1.x accepted with a warning (an over-long string, a
non-finite float, a repeated step) is handled the same way here: the warning names the field and
the rule, and is rate-limited so a training loop cannot flood the log.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import re
import time

from .exceptions import InvalidPathError, ValueRuleError
from .messages import type_words, user_line

MAX_PATH_LENGTH = 1024  # characters of the full path, namespaces included
MAX_STRING_LENGTH = 16384  # a string field; longer values are truncated with a warning
MAX_SERIES_STRING_LENGTH = 1000  # one point of a string series; truncated with a warning
MAX_SET_ITEM_LENGTH = 1000  # one string of a string set (tags); longer raises
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
PROJECT_NAME = re.compile(r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+")  # the store refuses any other project

logger = logging.getLogger("neptune_sync")


class NeptuneUnsupportedType(UserWarning):
    """A value of a type Neptune cannot store was given; it was not logged (as neptune 1.x)."""


class NeptuneWarning(UserWarning):
    """A value was logged, but not quite as given (e.g. a non-``str`` dict key became its ``str()``)."""


def check_path(path: str) -> str:
    """Return ``path`` if it is a valid field path; raise :class:`InvalidPathError` otherwise."""
    if type(path) is not str:
        raise InvalidPathError(repr(path), "path-type", f"a path must be a str, not {type_words(path)}")
    if not path:
        raise InvalidPathError(path, "path-empty", "a path must not be empty")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPathError(
            path[:64] + "...", "path-length", f"{len(path)} characters; the limit is {MAX_PATH_LENGTH}"
        )
    if path[0] == "/" or path[-1] == "/" or "//" in path:  # an empty segment; no list of segments made
        raise InvalidPathError(path, "path-segment", "every '/'-separated segment must be non-empty")
    if "\0" in path:
        raise InvalidPathError(repr(path), "path-nul", "a path must not hold a NUL character")
    if not path.isascii() and not is_utf8(path):
        raise InvalidPathError(
            repr(path), "path-utf8", "a path must be valid Unicode (it holds a lone surrogate)"
        )
    return path


def is_utf8(text: str) -> bool:
    """False for a str that cannot be stored as UTF-8: it holds a lone surrogate (e.g. from
    ``os.fsdecode`` of a file name that is not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def join_path(prefix: str, path: str) -> str:
    """A path relative to a namespace handler's path."""
    return f"{prefix}/{path}" if prefix else path


def check_int(path: str, value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise ValueRuleError(path, "int-range", f"integer {value} does not fit in 64 bits")
    return value


def finite_or_warn(path: str, value: float) -> bool:
    """True if ``value`` is finite; else warn (rule ``float-finite``): the value is not logged."""
    if value - value == 0.0:
        return True
    warn(path, "float-finite", f"non-finite value {value!r} is not logged (as neptune 1.x)")
    return False


MAX_STEP = 2**53  # steps are kept as 64-bit floats: whole numbers are exact up to here


def check_step(path: str, step: object) -> float | int:
    """A step must be a finite int or float (bool excluded) with ``|step| <= 2**53``; returns it
    as a plain int or float (an IntEnum or other int subclass becomes an int)."""
    if type(step) is bool or not isinstance(step, (int, float)):
        raise ValueRuleError(path, "step-type", f"step must be an int or float, not {type_words(step)}")
    if isinstance(step, float) and not math.isfinite(step):
        raise ValueRuleError(path, "step-finite", f"step must be finite, not {step!r}")
    if abs(step) > MAX_STEP:
        raise ValueRuleError(path, "step-range", f"step must be within ±2**53, not {step!r}")
    return int(step) if isinstance(step, int) else float(step)


MAX_TIMESTAMP = 1e11  # seconds since the epoch: the year 5138


def check_timestamp(path: str, timestamp: object) -> float:
    """Seconds since the epoch from a float/int or a datetime; must be finite and >= 0."""
    if isinstance(timestamp, _dt.datetime):
        return to_utc(timestamp).timestamp()
    if type(timestamp) is bool or not isinstance(timestamp, (int, float)):
        raise ValueRuleError(
            path, "timestamp-type", f"timestamp must be a number or datetime, not {timestamp!r}"
        )
    if not (math.isfinite(timestamp) and 0 <= timestamp < MAX_TIMESTAMP):
        raise ValueRuleError(
            path,
            "timestamp-range",
            f"timestamp must be seconds since the epoch, >= 0 and < 1e11, not {timestamp!r}",
        )
    return float(timestamp)


def to_utc(value: _dt.datetime) -> _dt.datetime:
    """A timezone-aware UTC datetime; a naive one is taken as local time (as neptune 1.x)."""
    return value.astimezone(_dt.timezone.utc)


MAX_RUN_ID = 1024  # characters of a run id or custom run id (the store refuses longer ones)


def project_problem(project: str) -> str | None:
    """Why ``project`` is not a project name the store accepts (None: it is one)."""
    if PROJECT_NAME.fullmatch(project):
        return None
    return (
        f"project {project!r} is not of the form 'workspace/project' "
        "(letters, digits, '.', '_' and '-' on each side of one '/')"
    )


def check_run_id(path: str, value: str) -> str:
    """A run id / custom run id: at most 1024 characters without NUL (rule ``run-id``)."""
    if len(value) > MAX_RUN_ID or "\0" in value:
        raise ValueRuleError(
            path, "run-id", f"{value[:64]!r} must be at most {MAX_RUN_ID} characters without NUL"
        )
    return value


MODEL_KEY = re.compile(r"[A-Z0-9]{1,10}")  # neptune 1.x: upper-case letters and digits
MODEL_ID = re.compile(r"[A-Z0-9]{1,32}-[A-Z0-9]{1,10}")  # <project key>-<model key>


def check_model_key(key: object) -> str:
    """A model's key (``init_model(key=)``, rule ``model-key``): 1-10 upper-case letters or digits."""
    if not isinstance(key, str) or not MODEL_KEY.fullmatch(key):
        raise ValueRuleError("key", "model-key", f"{key!r} must be 1-10 upper-case letters or digits")
    return key


def check_no_nul(path: str, value: str, what: str = "string") -> str:
    """Refuse a string holding NUL (rule ``string-nul``): the store's PostgreSQL backend cannot hold
    one, and a value must never be stored altered. Returns ``value``."""
    if "\0" in value:
        raise ValueRuleError(path, "string-nul", f"{what} {value[:64]!r} holds a NUL character")
    if not value.isascii() and not is_utf8(value):
        raise ValueRuleError(
            path, "string-utf8", f"{what} {value[:64]!r} holds a lone surrogate (not valid Unicode)"
        )
    return value


def file_name_problem(name: str, extension: str) -> str | None:
    """What is wrong with a file's name or extension, or None (rule ``file-name``; the store
    refuses the same): both must be plain names without a path, NUL or '..'."""
    bad = ("/", "\\", "\0")
    if any(c in name for c in bad) or name in (".", ".."):
        return f"file name {name!r} must be a plain name (no '/', '\\', NUL; not '.' or '..')"
    if any(c in extension for c in bad) or ".." in extension:
        return f"file extension {extension!r} must be a plain suffix (no '/', '\\', NUL or '..')"
    return None


def relpath_problem(relpath: str) -> str | None:
    """What is wrong with a path inside a FileSet or Artifact, or None (rule ``file-path``; the
    store refuses the same): relative, '/'-separated, without '..', '.', empty segments,
    backslashes or NUL."""
    parts = relpath.split("/")
    if not relpath or relpath.startswith("/") or "\\" in relpath or "\0" in relpath or ".." in parts:
        return f"file path {relpath!r} must be relative, without '..', backslashes or NUL"
    if any(p in ("", ".") for p in parts):
        return f"file path {relpath!r} has an empty or '.' segment"
    return None


def check_file_ref_names(path: str, name: str, extension: str) -> None:
    problem = file_name_problem(name, extension)
    if problem:
        raise ValueRuleError(path, "file-name", problem)


def check_relpath(path: str, relpath: str) -> str:
    problem = relpath_problem(relpath)
    if problem:
        raise ValueRuleError(path, "file-path", problem)
    return relpath


def truncate(path: str, value: str, limit: int, rule: str) -> str:
    if len(value) <= limit:
        return value
    warn(path, rule, f"string of {len(value)} characters truncated to {limit}")
    return value[:limit]


def check_set_item(path: str, value: object) -> str:
    if type(value) is not str:
        raise ValueRuleError(
            path, "set-item-type", f"string set items must be str, not {type_words(value)}"
        )
    if len(value) > MAX_SET_ITEM_LENGTH:
        raise ValueRuleError(
            path, "set-item-length", f"item of {len(value)} characters; the limit is {MAX_SET_ITEM_LENGTH}"
        )
    return check_no_nul(path, value, "string set item")


_last_warned: dict[tuple[str, str], float] = {}
WARN_INTERVAL = 10.0


def warn(path: str, rule: str, detail: str, *, now: float | None = None) -> bool:
    """Log a rule warning naming field, rule and the user's line, at most once per ``WARN_INTERVAL``
    per (field, rule)."""
    now = time.monotonic() if now is None else now
    key = (path, rule)
    last = _last_warned.get(key)
    if last is not None and now - last < WARN_INTERVAL:
        return False
    _last_warned[key] = now
    where = user_line()
    logger.warning("%r: %s [rule: %s]%s", path, detail, rule, f" (at {where})" if where else "")
    return True
