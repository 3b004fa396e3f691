"""Eval provider calls: retries with back-off and AIMD limiting around the model layer (:mod:`llmops_cli.models`,
which resolves targets, applies the key rule and imports litellm).

litellm's and the OpenAI SDK's own retries are switched off (``num_retries=0``, ``max_retries=0``); this
module retries 429, 5xx, timeouts, dropped connections and unparsable bodies itself, with exponential
back-off and full jitter, honouring ``retry-after-ms`` / ``Retry-After``. When 429s keep coming the
number of calls in flight is halved (at most once per second) and grows back by one per window of
successes (additive increase, multiplicative decrease). litellm is imported on the first real call.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..models import Target, is_in_process
from ..models.prices import response_cost
from ..models.runtime import import_litellm, request_kwargs
from ..records.base import dump_record
from ..records.chat import ToolCall
from ..redact import redact
from .budget import Budget, BudgetReached

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

MAX_RETRY_AFTER_S = 60.0
TOOL_ARGS = frozenset({"tools", "tool_choice", "parallel_tool_calls"})

__all__ = ["AimdLimiter", "CallFailed", "CallResult", "CallStats", "Caller", "classify", "import_litellm"]


# -- results and errors ---------------------------------------------------------------------------------------


@dataclass
class CallResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_ms: float
    model: str
    attempts: int = 1
    tool_calls: list[ToolCall] = field(default_factory=list)  # the calls a tool-using prompt's reply made

    def cache_entry(self, kind: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": kind,
            "text": self.text,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "cost_usd": self.cost_usd,
            "latency_ms": round(self.latency_ms, 3),
            "model": self.model,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if self.tool_calls:  # only then: entries of text prompts stay as they were
            entry["tool_calls"] = [dump_record(c) for c in self.tool_calls]
        return entry

    @classmethod
    def from_cache(cls, entry: dict[str, Any]) -> CallResult:
        """A cached reply; :class:`ValueError` when its tool calls are not readable (the entry is a miss)."""
        usage = entry.get("usage") or {}
        raw_calls = entry.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise ValueError("tool_calls is not a list")
        try:
            calls = [ToolCall.model_validate(c) for c in raw_calls]
        except ValidationError as exc:
            raise ValueError(f"unreadable tool call: {exc.errors()[0]['msg']}") from None
        return cls(
            text=entry["text"],
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cost_usd=entry.get("cost_usd"),
            latency_ms=float(entry.get("latency_ms") or 0.0),
            model=str(entry.get("model") or ""),
            attempts=0,
            tool_calls=calls,
        )


class CallFailed(Exception):
    """A provider call that failed for good (after retries, or not retryable). Recorded as an error."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.attempts = attempts

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "status": self.status, "attempts": self.attempts}


@dataclass
class _Failure:
    kind: str
    message: str
    retryable: bool
    status: int | None = None
    retry_after: float | None = None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "litellm_response_headers", None)
    if not headers:
        resp = getattr(exc, "response", None)
        headers = getattr(resp, "headers", None)
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(ms) / 1000.0))
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return min(MAX_RETRY_AFTER_S, max(0.0, when.timestamp() - time.time()))
    except (TypeError, ValueError, AttributeError):
        return None


def classify(exc: BaseException) -> _Failure:
    """Is a failed call worth retrying? 429, 408, 5xx, timeouts, connection errors and unparsable bodies are."""
    msg = _clean_message(exc)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return _Failure("timeout", "timed out", True)
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = None
    if "Timeout" in name:
        return _Failure("timeout", msg, True, status)
    if status == 429 or "RateLimit" in name:
        return _Failure("rate_limit", msg, True, 429, _retry_after(exc))
    if "APIConnectionError" in name or "ConnectError" in name:
        return _Failure("connection", msg, True, status)
    if status is not None and (status >= 500 or status == 408):
        return _Failure("server_error", msg, True, status, _retry_after(exc))
    if status is not None and 400 <= status < 500:
        return _Failure("bad_request" if status == 400 else f"http_{status}", msg, False, status)
    if name in ("AuthenticationError", "NotFoundError", "BadRequestError", "PermissionDeniedError"):
        return _Failure(name, msg, False, status)
    return _Failure("error", f"{name}: {msg}", True, status)


def _clean_message(exc: BaseException) -> str:
    text = redact(str(exc)).replace("\n", " ").strip()
    for prefix in ("litellm.",):
        text = text.removeprefix(prefix)
    return text[:500]


# -- AIMD concurrency limiter -----------------------------------------------------------------------------------


class AimdLimiter:
    """Bounds the calls in flight to ``limit`` (between 1 and ``maximum``): halved on a 429 (at most once a
    second), plus ``1/limit`` per success. Create it inside the running event loop."""

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(self.maximum)
        self.in_flight = 0
        self.cuts = 0
        self._cond = asyncio.Condition()
        self._last_cut = 0.0

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < max(1, int(self.limit)))
            self.in_flight += 1

    async def release(self, outcome: str) -> None:
        async with self._cond:
            self.in_flight -= 1
            if outcome == "ok":
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            elif outcome == "rate_limit":
                now = time.monotonic()
                if now - self._last_cut >= 1.0:
                    self.limit = max(1.0, self.limit / 2.0)
                    self._last_cut = now
                    self.cuts += 1
            self._cond.notify_all()


# -- the caller -----------------------------------------------------------------------------------------------


@dataclass
class CallStats:
    calls: int = 0  # requests sent
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Caller:
    """Makes provider calls with retries, back-off and an AIMD limiter shared by every call of a run."""

    def __init__(
        self,
        *,
        concurrency: int,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.stats = CallStats()
        self._limiter: AimdLimiter | None = None
        self._no_cost_models: set[str] = set()
        self._serial: dict[str, asyncio.Semaphore] = {}

    def _model_slot(self, target: Target) -> contextlib.AbstractAsyncContextManager[Any]:
        """In-process models (``local/…``) run one call at a time: waiting for the model must not count
        against the call's timeout, nor hold a slot that a remote provider could use."""
        if not is_in_process(target.model):
            return contextlib.nullcontext()
        return self._serial.setdefault(target.model, asyncio.Semaphore(1))

    @property
    def limiter(self) -> AimdLimiter:
        if self._limiter is None:
            self._limiter = AimdLimiter(self.concurrency)
        return self._limiter

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential back-off for retry number ``attempt`` (0-based)."""
        return random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * (2**attempt)))

    async def complete(
        self,
        target: Target,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        response_format: dict[str, Any] | None,
        *,
        budget: Budget | None = None,
        worst_usd: float = 0.0,
        tool_args: dict[str, Any] | None = None,
    ) -> CallResult:
        """One chat completion; :class:`CallFailed` when it fails for good. With a ``budget``, each attempt
        reserves ``worst_usd`` once it holds a call slot (so only requests really in flight hold reservations)
        and settles it when it ends — at the reported cost, 0 for an HTTP error, the worst case for an attempt
        that got no HTTP answer (a timed-out request may still be billed); :class:`~llmops_cli.evals.budget.
        BudgetReached` when it does not fit. ``tool_args``: ``tools``/``tool_choice``/``parallel_tool_calls``
        (OpenAI shape)."""
        litellm = import_litellm()
        kwargs = request_kwargs(
            target, messages, params, response_format, timeout=self.timeout_s, num_retries=0, max_retries=0,
            drop_params=True,
        )  # fmt: skip
        kwargs.update({k: v for k, v in (tool_args or {}).items() if k in TOOL_ARGS and v is not None})
        attempt = 0
        while True:
            async with self._model_slot(target):
                limiter = self.limiter
                await limiter.acquire()
                if budget is not None and not budget.reserve(worst_usd):
                    await limiter.release("not started")
                    raise BudgetReached
                self.stats.calls += 1
                start = time.perf_counter()
                outcome = "error"
                cost: float | None = None
                try:
                    resp = await asyncio.wait_for(litellm.acompletion(**kwargs), self.timeout_s + 5.0)
                    result = self._result(litellm, resp, target, time.perf_counter() - start, attempt + 1)
                    outcome = "ok"
                    cost = result.cost_usd
                    return result
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failure = classify(exc)
                    outcome = failure.kind
                    if failure.status is None:  # no HTTP answer (timeout, dropped connection): may be billed
                        cost = worst_usd
                finally:
                    if budget is not None:
                        budget.settle(worst_usd, cost)
                    await limiter.release(outcome)
            self.stats.by_kind[failure.kind] = self.stats.by_kind.get(failure.kind, 0) + 1
            if failure.kind == "rate_limit":
                self.stats.rate_limited += 1
            if not failure.retryable or attempt >= self.max_retries:
                self.stats.failures += 1
                raise CallFailed(failure.kind, self._text(failure.message), status=failure.status, attempts=attempt + 1)
            delay = self.backoff(attempt)
            if failure.retry_after is not None:
                delay = failure.retry_after + random.uniform(0, 0.1 * failure.retry_after + 0.05)
            self.stats.retries += 1
            attempt += 1
            await asyncio.sleep(delay)

    @staticmethod
    def _text(value: str) -> str:
        """``value`` with lone surrogates (a provider's ``"\\ud800"`` in JSON) replaced by U+FFFD: they cannot be
        written as UTF-8, and the journal and results file would fail after the call was paid for."""
        return _LONE_SURROGATE.sub("\ufffd", value)

    def _result(self, litellm: Any, resp: Any, target: Target, seconds: float, attempts: int) -> CallResult:
        try:
            message = resp.choices[0].message
            text = message.content
            raw_calls = getattr(message, "tool_calls", None) or []
        except (AttributeError, IndexError, KeyError, TypeError):
            text, raw_calls = None, []
        calls = [c for i, item in enumerate(raw_calls[:MAX_TOOL_CALLS]) if (c := _tool_call(item, i)) is not None]
        if text is None and calls:
            text = ""
        if not isinstance(text, str):
            raise ValueError("the provider answered without message content")
        usage = getattr(resp, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = response_cost(litellm, resp, target.model, self._no_cost_models)
        return CallResult(
            text=self._text(text),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            latency_ms=seconds * 1000.0,
            model=self._text(str(getattr(resp, "model", None) or target.model)),
            attempts=attempts,
            tool_calls=calls,
        )


MAX_TOOL_CALLS = 64  # tool calls read from one reply (more are dropped)


def _tool_call(item: Any, index: int) -> ToolCall | None:
    call = tool_call_from_wire(item, index)
    if call is None:
        return None
    return call.model_copy(update={"arguments": Caller._text(call.arguments), "name": Caller._text(call.name)})


def tool_call_from_wire(item: Any, index: int) -> ToolCall | None:
    """A tool call read from a provider reply (OpenAI shape, as litellm returns it), or None when unreadable."""
    fn = getattr(item, "function", None)
    if fn is None and isinstance(item, dict):
        fn = item.get("function")
    get = (lambda o, k: o.get(k)) if isinstance(fn, dict) else getattr
    if fn is None:
        return None
    name = get(fn, "name")
    args = get(fn, "arguments")
    call_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    if not isinstance(name, str) or not name:
        return None
    if not isinstance(args, str):
        args = json.dumps(args) if args is not None else "{}"
    return ToolCall(id=str(call_id or f"call_{index}"), name=name[:200], arguments=args)
