"""Eval provider calls: layers around the one model call (:func:`llmops_cli.models.acall`) — an AIMD limiter
shared by every call of a run, one call at a time per in-process model, the budget's reservations, and the
run's call statistics. Retries, the Retry-After parser and the response reader are the model layer's
(:mod:`llmops_cli.models.retry`), the same for eval, judges and serving.

When 429s keep coming the number of calls in flight is halved (at most once per second) and grows back by one
per window of successes (additive increase, multiplicative decrease). litellm is imported on the first call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..models import Target, is_in_process
from ..models.call import CallFailed, acall
from ..models.retry import Attempt, RetryPolicy
from ..models.wire import build_request
from ..records.base import dump_record
from ..records.chat import ModelReply, ModelRequest, ToolCall
from .budget import Budget, BudgetReached

MAX_RETRY_AFTER_S = 60.0  # the longest server-requested wait an eval call honours (longer: the call fails)

__all__ = ["AimdLimiter", "CallFailed", "CallResult", "CallStats", "Caller"]


# -- results --------------------------------------------------------------------------------------------------


@dataclass
class CallResult:
    """An eval call's result as cached and journaled (a :class:`ModelReply` less what the cache keeps out)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_ms: float
    model: str
    attempts: int = 1
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None

    @classmethod
    def of(cls, reply: ModelReply) -> CallResult:
        return cls(
            text=reply.text,
            prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens,
            cost_usd=reply.cost_usd,
            latency_ms=reply.latency_ms,
            model=reply.model,
            attempts=reply.attempts,
            tool_calls=list(reply.tool_calls),
            finish_reason=reply.finish_reason,
        )

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
        if self.tool_calls:  # entries of text-only calls stay as they were
            entry["tool_calls"] = [dump_record(c) for c in self.tool_calls]
            entry["finish_reason"] = self.finish_reason
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
            finish_reason=entry.get("finish_reason"),
        )


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
    """Makes a run's provider calls through :func:`llmops_cli.models.acall`, each attempt holding a slot of the
    AIMD limiter (and, with a budget, a reservation of the request's worst-case cost)."""

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
        self.policy = RetryPolicy(
            max_retries=max_retries,
            base_s=min(backoff_base_s, backoff_max_s),
            max_s=backoff_max_s,
            max_retry_after_s=MAX_RETRY_AFTER_S,
        )
        self.stats = CallStats()
        self._limiter: AimdLimiter | None = None
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
        """One chat completion of rendered messages (see :meth:`acall`); ``tool_args``: ``tools`` /
        ``tool_choice`` / ``parallel_tool_calls`` (records or OpenAI's shape)."""
        extra = tool_args or {}
        request = build_request(
            target.model, messages, params, response_format, tools=extra.get("tools") or (),
            tool_choice=extra.get("tool_choice"), parallel_tool_calls=extra.get("parallel_tool_calls"),
        )  # fmt: skip
        return CallResult.of(await self.acall(target, request, budget=budget, worst_usd=worst_usd))

    async def acall(
        self, target: Target, request: ModelRequest, *, budget: Budget | None = None, worst_usd: float = 0.0
    ) -> ModelReply:
        """One model call; :class:`CallFailed` when it fails for good. With a ``budget``, each attempt
        reserves ``worst_usd`` once it holds a call slot (so only requests really in flight hold reservations)
        and settles it when it ends — at the reported cost, 0 for an HTTP error, the worst case for an attempt
        that got no HTTP answer (a timed-out request may still be billed); :class:`~llmops_cli.evals.budget.
        BudgetReached` when it does not fit."""

        @contextlib.asynccontextmanager
        async def around(attempt: Attempt) -> AsyncIterator[None]:
            async with self._model_slot(target):
                limiter = self.limiter
                await limiter.acquire()
                if budget is not None and not budget.reserve(worst_usd):
                    await limiter.release("not started")
                    raise BudgetReached
                self.stats.calls += 1
                try:
                    yield
                finally:
                    decision = attempt.decision
                    cost: float | None = None
                    if attempt.reply is not None:
                        cost = attempt.reply.cost_usd
                    elif decision is not None and decision.status is None:  # no HTTP answer: may be billed
                        cost = worst_usd
                    if budget is not None:
                        budget.settle(worst_usd, cost)
                    await limiter.release(
                        "ok" if attempt.reply is not None else (decision.kind if decision else "error")
                    )
                    if decision is not None:
                        self._count(decision.kind, decision.retry)

        return await acall(target, request, policy=self.policy, timeout_s=self.timeout_s, around=around)

    def _count(self, kind: str, retried: bool) -> None:
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        if kind == "rate_limit":
            self.stats.rate_limited += 1
        if retried:
            self.stats.retries += 1
        else:
            self.stats.failures += 1
