"""with_retry: call an operation again after a failure that says trying again can help.

The client already retries what is safe inside each call (within its request_timeout, under a
retry budget); with_retry adds attempts on top, for code written for the official SDK. It
retries only a :class:`KimberliteError` whose ``is_retryable()`` is true, which is never the
case for :class:`OutcomeUnknown`: an append whose outcome is unknown may already be in the
stream, and sending it again could write it twice. That error is raised at once; read the
stream before appending the same events again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from .errors import InvalidArgument, KimberliteError, OutcomeUnknown

__all__ = ["RetryPolicy", "DEFAULT_RETRY", "with_retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How with_retry retries.

    Attributes:
        max_attempts: calls of the operation in all, the first included (>= 1).
        base_delay_ms: the pause after the first failure; it doubles after each next one.
        cap_delay_ms: the longest pause.
    """

    max_attempts: int
    base_delay_ms: int
    cap_delay_ms: int

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidArgument(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay_ms < 0 or self.cap_delay_ms < 0:
            raise InvalidArgument("base_delay_ms and cap_delay_ms must be >= 0")

    def delay_ms(self, attempt: int) -> int:
        """The pause after failed attempt number ``attempt`` (1-based): min(cap, base * 2**(attempt-1))."""
        return int(min(self.cap_delay_ms, self.base_delay_ms * 2 ** (attempt - 1)))


RetryPolicy.__module__ = "kimberlite.retry"

#: 4 attempts, pauses of 50, 100, 200 ms (capped at 800).
DEFAULT_RETRY = RetryPolicy(max_attempts=4, base_delay_ms=50, cap_delay_ms=800)


def with_retry(
    op: Callable[[], T],
    policy: RetryPolicy = DEFAULT_RETRY,
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Return ``op()``, calling it again (up to policy.max_attempts in all) after each
    KimberliteError whose is_retryable() is true, pausing policy.delay_ms(attempt) between.

    Any other exception, an OutcomeUnknown, or the last attempt's error is raised unchanged.
    ``sleep`` takes seconds (time.sleep by default; tests may pass their own).
    """
    attempt = 1
    while True:
        try:
            return op()
        except OutcomeUnknown:
            raise
        except KimberliteError as exc:
            if attempt >= policy.max_attempts or not exc.is_retryable():
                raise
        sleep(policy.delay_ms(attempt) / 1000)
        attempt += 1
