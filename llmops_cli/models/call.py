"""The one model call: ``call(target, ModelRequest) -> ModelReply`` and its awaited twin ``acall``.

Eval generations and judges (:class:`llmops_cli.evals.calling.Caller`: AIMD limiter, budget, cache and
journal around it) and ``Prompt.complete()`` / ``acomplete()`` (:mod:`llmops_cli.serving.call`: counted
retries, the request record, OpenTelemetry) all send their requests here. Every call:

1. turns the request into litellm's arguments (:mod:`.wire`: tools, tool choice, strict schemas, images);
   litellm's and the OpenAI SDK's own retries are off (``num_retries=0``, ``max_retries=0``), and parameters
   a provider does not take are dropped (``drop_params``);
2. tries it under the one retry policy (:mod:`.retry`), each attempt bounded by ``timeout_s`` (litellm's
   timeout, and a deadline of ``timeout_s + 5`` s around the awaited call);
3. reads the answer with the one response reader (:mod:`.reply`).

A call that fails for good raises :class:`CallFailed`: the last attempt's :class:`RetryDecision`, the number of
attempts, and the provider's exception with its message redacted (serving re-raises that one, as before).
``around`` (``acall`` only) wraps each attempt in an async context manager — the eval layer takes a call slot
and a budget reservation there and releases them with the attempt's outcome.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ..records.chat import ModelReply, ModelRequest
from ..redact import redact_exception
from .reply import clean_text, read_reply
from .retry import Attempt, AttemptHook, GaveUp, RetryDecision, RetryPolicy, aretrying, retrying
from .runtime import import_litellm
from .targets import Target
from .wire import wire_request

__all__ = ["Answer", "AttemptHook", "CallFailed", "acall", "acall_raw", "call", "call_raw", "request_arguments"]

DEADLINE_MARGIN_S = 5.0  # the awaited call's own deadline beyond litellm's timeout (a hung custom handler)
_NO_PRICE: set[str] = set()  # models found unpriced in litellm's table (cost: null)


class CallFailed(Exception):
    """A provider call that failed for good (not retryable, or out of retries)."""

    def __init__(self, decision: RetryDecision, attempts: int, error: BaseException | None = None) -> None:
        message = clean_text(decision.message or decision.reason)
        super().__init__(message)
        self.decision = decision
        self.kind = decision.kind
        self.message = message
        self.status = decision.status
        self.attempts = attempts
        self.error = error

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "status": self.status, "attempts": self.attempts}


def request_arguments(target: Target, request: ModelRequest, timeout_s: float | None) -> dict[str, Any]:
    """litellm's keyword arguments for one attempt of ``request``: SDK retries off, and parameters the
    provider does not take (e.g. ``parallel_tool_calls``, ``seed``) dropped by litellm rather than refused."""
    extra: dict[str, Any] = {"num_retries": 0, "max_retries": 0, "drop_params": True}
    if timeout_s is not None:
        extra["timeout"] = timeout_s
    return wire_request(target, request, **extra).kwargs


def _failed(g: GaveUp) -> CallFailed:
    attempt = g.attempt
    assert attempt.decision is not None
    error = redact_exception(attempt.error) if attempt.error is not None else None
    return CallFailed(attempt.decision, attempt.number, error)


@dataclass(frozen=True)
class Answer:
    """A call's typed reply and litellm's response object (serving hands the latter to old callers)."""

    reply: ModelReply
    response: Any


def call(
    target: Target,
    request: ModelRequest,
    *,
    policy: RetryPolicy | None = None,
    timeout_s: float | None = None,
) -> ModelReply:
    """One blocking model call under ``policy`` (default: 2 retries); :class:`CallFailed` when it fails."""
    return call_raw(target, request, policy=policy, timeout_s=timeout_s).reply


async def acall(
    target: Target,
    request: ModelRequest,
    *,
    policy: RetryPolicy | None = None,
    timeout_s: float | None = None,
    around: AttemptHook | None = None,
) -> ModelReply:
    """One awaited model call under ``policy``; ``around`` wraps each attempt (see the module docstring)."""
    answer = await acall_raw(target, request, policy=policy, timeout_s=timeout_s, around=around)
    return answer.reply


def call_raw(
    target: Target,
    request: ModelRequest,
    *,
    policy: RetryPolicy | None = None,
    timeout_s: float | None = None,
) -> Answer:
    """:func:`call`, with litellm's response object."""
    litellm = import_litellm()
    kwargs = request_arguments(target, request, timeout_s)

    def attempt_once(attempt: Attempt) -> Answer:
        start = time.perf_counter()
        response = litellm.completion(**kwargs)
        seconds = time.perf_counter() - start
        return Answer(read_reply(litellm, response, target.model, seconds, attempt.number, _NO_PRICE), response)

    try:
        return retrying(policy or RetryPolicy(), attempt_once)
    except GaveUp as g:
        raise _failed(g) from None


async def acall_raw(
    target: Target,
    request: ModelRequest,
    *,
    policy: RetryPolicy | None = None,
    timeout_s: float | None = None,
    around: AttemptHook | None = None,
) -> Answer:
    """:func:`acall`, with litellm's response object."""
    litellm = import_litellm()
    kwargs = request_arguments(target, request, timeout_s)
    deadline = None if timeout_s is None else timeout_s + DEADLINE_MARGIN_S

    async def attempt_once(attempt: Attempt) -> Answer:
        start = time.perf_counter()
        response = await asyncio.wait_for(litellm.acompletion(**kwargs), deadline)
        seconds = time.perf_counter() - start
        attempt.reply = read_reply(litellm, response, target.model, seconds, attempt.number, _NO_PRICE)
        return Answer(attempt.reply, response)

    try:
        return await aretrying(policy or RetryPolicy(), attempt_once, around)
    except GaveUp as g:
        raise _failed(g) from None
