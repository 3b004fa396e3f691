"""Retries of serving calls: which failures are retried, and how long to wait.

litellm's and the OpenAI SDK's own retries are switched off for ``Prompt.complete()`` / ``acomplete()``
(they retried 429/5xx twice, silently); llmops retries instead, so every retry is counted in the request
record. Retried: HTTP 429, 408, 409 and 5xx, timeouts and connection errors (a dropped connection). Not
retried: other 4xx (a bad request, a wrong key) and errors raised before the request (a missing key).

The wait is full-jitter exponential back-off, ``uniform(0, min(max_s, base_s * 2**n))`` for retry ``n``, or
the server's ``retry-after-ms`` / ``Retry-After`` when it sends one; a ``Retry-After`` longer than
``max_s`` is not waited for (the error is raised): a request path should not sleep for a minute.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

DEFAULT_RETRIES = 2  # what the OpenAI SDK did before llmops took retries over: behaviour unchanged
MAX_RETRIES = 20


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a serving call is retried, and the back-off between tries."""

    max_retries: int = DEFAULT_RETRIES
    base_s: float = 0.5
    max_s: float = 8.0

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise UsageError(f"retries must be an int, not {type(self.max_retries).__name__}")
        if not 0 <= self.max_retries <= MAX_RETRIES:
            raise UsageError(f"retries must be between 0 and {MAX_RETRIES}, not {self.max_retries}")
        if not (0 <= self.base_s <= self.max_s):
            raise UsageError("retry back-off needs 0 <= base_s <= max_s")

    @classmethod
    def of(cls, value: int | RetryPolicy | None) -> RetryPolicy:
        """``retries=`` as given: an int (max retries, default back-off), a policy, or None (the default)."""
        if value is None:
            return _DEFAULT
        if isinstance(value, RetryPolicy):
            return value
        return cls(max_retries=value)

    def delay(self, retry: int, exc: BaseException) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based) after ``exc``; None: do not retry."""
        if retry >= self.max_retries or not is_retryable(exc):
            return None
        after = retry_after(exc)
        if after is not None:
            return after if after <= self.max_s else None
        return random.uniform(0.0, min(self.max_s, self.base_s * (2**retry)))


_DEFAULT = RetryPolicy()


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def is_retryable(exc: BaseException) -> bool:
    """429, 408, 409, 5xx, timeouts and connection errors."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"Timeout", "APITimeoutError", "APIConnectionError", "RateLimitError"}:
        return True
    status = status_of(exc)
    return status is not None and (status in (408, 409, 429) or status >= 500)


def retry_after(exc: BaseException) -> float | None:
    """The server's requested wait in seconds (``retry-after-ms``, then ``Retry-After``), if any."""
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if not headers:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None
