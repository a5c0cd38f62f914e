"""Retry policy: which failures are transient, and how long to wait before the next try.

Pure: no I/O, no clock reads except through parameters. Transient failures are retried for ever
with exponential backoff, full jitter and a cap; a ``Retry-After`` from the store is honoured
(never waiting less than it asked, never more than ``max_retry_after``).

One kind of transient-looking failure may be the batch's own fault: the store answering 500 (an
error it did not expect) to the same batch again and again. The store answers 502 / 503 / 504 /
429 when it is down or busy, and 500 when a request made it fail, so after ``isolate_after``
such answers in a row the daemon splits the batch to find the entry that makes it fail
(:func:`suspects_batch`).
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable

TRANSIENT_STATUS = frozenset({408, 425, 429}) | frozenset(range(500, 600))
AUTH_STATUS = frozenset({401, 403})


def classify_status(status: int) -> str:
    """``"ok"``, ``"transient"``, ``"auth"`` or ``"permanent"`` for an HTTP status code."""
    if 200 <= status < 300:
        return "ok"
    if status in AUTH_STATUS:
        return "auth"
    if status in TRANSIENT_STATUS:
        return "transient"
    return "permanent"


def suspects_batch(status: int) -> bool:
    """True for an answer that, repeated for one batch, points at the batch rather than the store:
    a 5xx other than the gateway / unavailable / timeout answers of a store that is down or busy."""
    return status >= 500 and status not in (502, 503, 504)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), if valid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    def __init__(
        self,
        base: float = 0.1,
        cap: float = 10.0,
        *,
        max_retry_after: float = 300.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.base = base
        self.cap = cap
        self.max_retry_after = max_retry_after
        self.attempt = 0
        self._rand = rand

    def next_delay(self, retry_after: float | None = None) -> float:
        """The wait before the next try; counts one more failure."""
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 62)))
        self.attempt += 1
        delay = self._rand() * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def reset(self) -> None:
        """A success: the next failure starts from the base again."""
        self.attempt = 0
