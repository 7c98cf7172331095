"""What a response means and when to try again: pure rules, no I/O.

Kept apart from the sending so each rule can be tested with values alone:
the verdict for a status code, the wait a ``Retry-After`` asks for (seconds
or an HTTP date), Discord's rate-limit headers, exponential backoff with
full jitter, and a token bucket per destination.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

Verdict = Literal["sent", "retry", "failed", "disable"]


def classify(status_code: int) -> Verdict:
    """The outcome of a response.

    2xx sent. 429, 408 and 5xx are the receiver's trouble: retry. 410 Gone
    means the webhook was deleted: stop sending there until an operator acts.
    A redirect is a failure (following one could lead a request anywhere,
    and a webhook that moved is a configuration to fix); so is any other
    4xx, because the same request will be refused again.
    """
    if 200 <= status_code < 300:
        return "sent"
    if status_code == 410:
        return "disable"
    if status_code in (408, 429) or status_code >= 500:
        return "retry"
    return "failed"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def discord_reset_after(headers: Mapping[str, str]) -> float | None:
    """Seconds until Discord's bucket refills, when the response says it is empty."""
    remaining = headers.get("x-ratelimit-remaining")
    if remaining is None or remaining.strip() not in ("0", "0.0"):
        return None
    try:
        return max(0.0, float(headers.get("x-ratelimit-reset-after", "")))
    except ValueError:
        return None


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full jitter: a uniform wait in [0, min(cap, base * 2**(attempt - 1))].

    Spreading retries randomly over the whole window stops many alerts
    (or many wirewatch instances) from retrying in lock-step after an outage.
    """
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 62))
    return (rng or random).uniform(0.0, ceiling)


def retry_delay(
    attempt: int,
    retry_after: float | None,
    *,
    base: float,
    cap: float,
    rng: random.Random | None = None,
) -> float:
    """The wait before the next attempt: the backoff, but never less than ``Retry-After``."""
    delay = backoff(attempt, base, cap, rng)
    return max(delay, retry_after) if retry_after is not None else delay


@dataclass(slots=True)
class RateLimiter:
    """A token bucket: ``burst`` requests at once, refilled at ``rate`` a second.

    Times are monotonic seconds passed in by the caller. ``hold_until``
    empties the bucket until a moment the receiver named (Discord's reset,
    a ``Retry-After``).
    """

    rate: float
    burst: int = 1
    _tokens: float = -1.0
    _stamp: float = 0.0
    _held_until: float = 0.0

    def _refill(self, now: float) -> None:
        if self._tokens < 0:
            self._tokens, self._stamp = float(self.burst), now
            return
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def delay(self, now: float) -> float:
        """Seconds until a request may be sent (0 when it may go now)."""
        self._refill(now)
        wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
        return max(wait, self._held_until - now)

    def take(self, now: float) -> None:
        """Spend a token for a request sent now."""
        self._refill(now)
        self._tokens -= 1.0

    def hold_until(self, when: float) -> None:
        self._held_until = max(self._held_until, when)
