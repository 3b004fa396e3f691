"""The one retry policy of every provider call: which failures are retried, after how long, and why.

Eval generations, judges and ``Prompt.complete()`` / ``acomplete()`` all retry through :func:`retry_loop`
(driven by :func:`llmops_cli.models.call.call` / ``acall``); litellm's and the OpenAI SDK's own retries are
off, so every attempt is counted by llmops.

Retried (as the OpenAI SDK does): HTTP 408, 409, 429 and 5xx, timeouts, dropped connections, and a reply the
provider sent without text or tool calls. Not retried: any other 4xx (a bad request, a wrong key), and
errors raised before a request was sent. The wait before retry ``n`` (0-based) is full-jitter exponential
back-off, ``uniform(0, min(max_s, base_s * 2**n))``, or the server's ``retry-after-ms`` / ``Retry-After``
plus up to 10 % jitter; a server wait longer than ``max_retry_after_s`` is not waited for (the error is
raised: a request path should not sleep for minutes, and an eval would be cut off at the next 429 anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import UsageError
from ..redact import redact

__all__ = [
    "DEFAULT_RETRIES",
    "MAX_RETRIES",
    "Attempt",
    "AttemptHook",
    "BadReply",
    "GaveUp",
    "RetryDecision",
    "RetryPolicy",
    "aretrying",
    "decide",
    "failure_kind",
    "retry_after",
    "retry_loop",
    "retrying",
    "status_of",
]

DEFAULT_RETRIES = 2  # what the OpenAI SDK did before llmops took retries over
MAX_RETRIES = 20
_MAX_HEADER_CHARS = 64  # a Retry-After value longer than this is not a number or a date


class BadReply(Exception):
    """A provider answer without text or tool calls (or not a chat completion at all): retried."""


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a call is retried and how long to wait: ``max_retries`` retries after the first try,
    back-off ``base_s * 2**n`` capped at ``max_s``, server waits honoured up to ``max_retry_after_s``
    (default: ``max_s``)."""

    max_retries: int = DEFAULT_RETRIES
    base_s: float = 0.5
    max_s: float = 8.0
    max_retry_after_s: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise UsageError(f"retries must be an int, not {type(self.max_retries).__name__}")
        if not 0 <= self.max_retries <= MAX_RETRIES:
            raise UsageError(f"retries must be between 0 and {MAX_RETRIES}, not {self.max_retries}")
        if not (0 <= self.base_s <= self.max_s) or not math.isfinite(self.max_s):
            raise UsageError("retry back-off needs 0 <= base_s <= max_s")
        if self.max_retry_after_s is not None and not (0 <= self.max_retry_after_s < math.inf):
            raise UsageError("max_retry_after_s must be a finite number of seconds >= 0")

    @classmethod
    def of(cls, value: int | RetryPolicy | None) -> RetryPolicy:
        """``retries=`` as given: an int (max retries, default back-off), a policy, or None (the default)."""
        if value is None:
            return _DEFAULT
        if isinstance(value, RetryPolicy):
            return value
        return cls(max_retries=value)

    @property
    def longest_server_wait(self) -> float:
        return self.max_s if self.max_retry_after_s is None else self.max_retry_after_s

    def backoff(self, retry: int) -> float:
        """Full-jitter exponential back-off before retry number ``retry`` (0-based)."""
        return random.uniform(0.0, min(self.max_s, self.base_s * (2 ** min(retry, 62))))

    def delay(self, retry: int, exc: BaseException) -> float | None:
        """Seconds to wait before retry number ``retry`` after ``exc``; None: do not retry."""
        decision = decide(self, retry, exc)
        return decision.wait_s if decision.retry else None


_DEFAULT = RetryPolicy()


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a failed attempt (in the spirit of inspect_ai's retry decisions): retry or not, the
    failure's kind (``rate_limit``, ``server_error``, ``timeout``, ``connection``, ``conflict``,
    ``bad_response``, ``bad_request``, ``http_<status>``, an error class name), why, and after how long."""

    retry: bool
    kind: str
    reason: str
    wait_s: float = 0.0
    status: int | None = None
    message: str = ""  # the provider's error message, redacted and cut to 500 characters


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (litellm's ``status_code``), if any."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _header(headers: Any, name: str) -> str | None:
    value = None
    try:
        value = headers.get(name)
        if value is None and isinstance(headers, dict):  # a plain dict is case-sensitive
            value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    except (AttributeError, TypeError):
        return None
    return str(value)[: _MAX_HEADER_CHARS + 1] if value is not None else None


def retry_after(exc: BaseException) -> float | None:
    """The one Retry-After parser: the server's requested wait in seconds (``retry-after-ms``, then
    ``Retry-After`` as seconds or an HTTP date), uncapped; None when absent or unreadable."""
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if not headers:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        headers = getattr(exc, "headers", None)  # an HTTP error of another client (the GitHub status post)
    if not headers:
        return None
    try:
        ms = _header(headers, "retry-after-ms")
        if ms is not None and len(ms) <= _MAX_HEADER_CHARS:
            seconds = float(ms) / 1000.0
        else:
            value = _header(headers, "retry-after")
            if value is None or len(value) > _MAX_HEADER_CHARS:
                return None
            try:
                seconds = float(value)
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                seconds = when.timestamp() - time.time()
    except (TypeError, ValueError, AttributeError, OverflowError, IndexError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


_TIMEOUT_NAMES = frozenset({"Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout"})
_CONNECTION_NAMES = frozenset({"APIConnectionError", "ConnectError", "RemoteProtocolError"})
_FINAL_NAMES = frozenset(
    {"AuthenticationError", "NotFoundError", "BadRequestError", "PermissionDeniedError", "UnprocessableEntityError"}
)


def failure_kind(exc: BaseException) -> tuple[str, bool, int | None]:
    """``(kind, retryable, status)`` of a failed attempt."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = status_of(exc)
    if isinstance(exc, BadReply):
        return "bad_response", True, None
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or names & _TIMEOUT_NAMES:
        return "timeout", True, status
    if status == 429 or "RateLimitError" in names:
        return "rate_limit", True, 429
    if names & _CONNECTION_NAMES or isinstance(exc, ConnectionError):
        return "connection", True, status
    if status == 409:
        return "conflict", True, status
    if status is not None and (status >= 500 or status == 408):
        return "server_error", True, status
    if status is not None and 400 <= status < 500:
        return ("bad_request" if status == 400 else f"http_{status}"), False, status
    if names & _FINAL_NAMES:
        return type(exc).__name__, False, status
    return "error", False, status


def _message(exc: BaseException) -> str:
    text = redact(str(exc)).replace("\n", " ").strip().removeprefix("litellm.")
    return text[:500] or type(exc).__name__


def decide(policy: RetryPolicy, retry: int, exc: BaseException) -> RetryDecision:
    """The decision after attempt ``retry + 1`` failed with ``exc`` (``retry``: retries made so far)."""
    kind, retryable, status = failure_kind(exc)
    message = _message(exc)
    if kind == "error":
        message = f"{type(exc).__name__}: {message}"[:500]
    if not retryable:
        return RetryDecision(False, kind, f"{kind} is not retried", status=status, message=message)
    if retry >= policy.max_retries:
        return RetryDecision(False, kind, f"{kind}: gave up after {retry + 1} attempts", status=status, message=message)
    after = retry_after(exc)
    if after is not None:
        longest = policy.longest_server_wait
        if after > longest:
            reason = f"{kind}: the server asks to wait {after:g} s, more than the {longest:g} s this call waits"
            return RetryDecision(False, kind, reason, status=status, message=message)
        wait = after + random.uniform(0.0, 0.1 * after)
        return RetryDecision(True, kind, f"{kind}: the server asks to wait {after:g} s", wait, status, message)
    wait = policy.backoff(retry)
    return RetryDecision(True, kind, f"{kind}: back-off {wait:.3g} s before retry {retry + 1}", wait, status, message)


@dataclass
class Attempt:
    """One try of a call: its 1-based ``number``, and once it ended the reply or the error and decision."""

    number: int
    reply: Any = None
    error: BaseException | None = None
    decision: RetryDecision | None = None


class GaveUp(Exception):
    """Raised by :func:`retry_loop` when the last attempt's failure is final; carries that attempt."""

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.decision.reason if attempt.decision else "failed")
        self.attempt = attempt


def retry_loop(policy: RetryPolicy) -> Generator[tuple[Attempt, float], BaseException | None, None]:
    """THE retry loop of the package, written once for the blocking and the awaited driver below.

    It yields ``(attempt, wait_s)``: the driver waits ``wait_s``, makes the attempt, and sends back the
    exception it raised (the loop then decides: ``attempt.decision``); a final failure raises :class:`GaveUp`.
    """
    wait = 0.0
    number = 0
    while True:
        number += 1
        attempt = Attempt(number)
        error = yield attempt, wait
        if error is None:
            return
        attempt.error = error
        attempt.decision = decide(policy, number - 1, error)
        if not attempt.decision.retry:
            raise GaveUp(attempt)
        wait = attempt.decision.wait_s


T = TypeVar("T")
AttemptHook = Callable[[Attempt], contextlib.AbstractAsyncContextManager[Any]]


def retrying(policy: RetryPolicy, attempt_once: Callable[[Attempt], T]) -> T:
    """Run ``attempt_once`` under ``policy``, blocking between attempts; :class:`GaveUp` when it fails for good.
    The model call's blocking driver (and the GitHub status post's)."""
    loop = retry_loop(policy)
    attempt, wait = next(loop)
    while True:
        if wait:
            time.sleep(wait)
        try:
            return attempt_once(attempt)
        except Exception as exc:
            attempt, wait = loop.send(exc)


async def aretrying(
    policy: RetryPolicy, attempt_once: Callable[[Attempt], Awaitable[T]], around: AttemptHook | None = None
) -> T:
    """:func:`retrying`, awaited; ``around`` wraps each attempt in an async context manager that sees the
    attempt's outcome (``attempt.reply`` / ``attempt.decision``) when it exits."""
    loop = retry_loop(policy)
    attempt, wait = next(loop)
    while True:
        if wait:
            await asyncio.sleep(wait)
        current = attempt
        async with around(current) if around is not None else contextlib.nullcontext():
            try:
                result = await attempt_once(current)
            except Exception as exc:
                attempt, wait = loop.send(exc)
                continue
        return result
