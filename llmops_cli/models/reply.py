"""The one response reader: litellm's chat completion → a typed :class:`~llmops_cli.records.chat.ModelReply`
(text, tool calls, finish reason, usage, cost, the answering model).

A reply with neither text nor tool calls, or that is not a chat completion at all, raises
:class:`~llmops_cli.models.retry.BadReply` (retried like a garbled body). Lone surrogates (a provider's
``"\\ud800"`` in JSON) are replaced by U+FFFD: they cannot be written as UTF-8, and the journal and results
file would fail after the call was paid for. At most :data:`MAX_TOOL_CALLS` tool calls of at most
:data:`MAX_ARGUMENT_CHARS` characters of arguments each are read: more is a bad reply, not a hang later.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..records.chat import ModelReply, ToolCall, Usage
from .prices import response_cost
from .retry import BadReply

__all__ = ["MAX_ARGUMENT_CHARS", "MAX_TOOL_CALLS", "clean_text", "read_reply", "tool_calls_of"]

MAX_TOOL_CALLS = 128
MAX_ARGUMENT_CHARS = 1_000_000
MAX_TOOL_NAME_CHARS = 256  # a tool name or call id

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` with lone surrogates replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def _count(value: Any) -> int:
    """A token count as reported: a non-negative whole number, else 0 (a provider's garbage is not a crash)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def tool_calls_of(message: Any) -> list[ToolCall]:
    """The typed tool calls of a litellm / OpenAI assistant message (``[]`` when it made none)."""
    raw = _field(message, "tool_calls")
    if not raw:
        return []
    if not isinstance(raw, list):
        raise BadReply("the provider's tool_calls is not a list")
    if len(raw) > MAX_TOOL_CALLS:
        raise BadReply(f"the provider returned {len(raw)} tool calls (at most {MAX_TOOL_CALLS} are read)")
    calls = []
    for i, item in enumerate(raw):
        fn = _field(item, "function")
        name = _field(fn, "name")
        arguments = _field(fn, "arguments")
        if not isinstance(name, str) or not name:
            raise BadReply(f"tool call {i} has no function name")
        if arguments is None:
            arguments = "{}"
        if not isinstance(arguments, str):
            raise BadReply(f"tool call {i} has arguments that are not text")
        if len(name) > MAX_TOOL_NAME_CHARS or len(arguments) > MAX_ARGUMENT_CHARS:
            raise BadReply(f"tool call {i} is larger than llmops reads")
        call_id = _field(item, "id")
        if isinstance(call_id, str) and len(call_id) > MAX_TOOL_NAME_CHARS:
            raise BadReply(f"tool call {i} has an id longer than llmops reads")
        calls.append(
            ToolCall(
                id=clean_text(call_id if isinstance(call_id, str) and call_id else f"call_{i}"),
                name=clean_text(name),
                arguments=clean_text(arguments),
            )
        )
    return calls


def read_reply(
    litellm: Any, response: Any, model: str, seconds: float, attempts: int, no_price: set[str] | None = None
) -> ModelReply:
    """Read one chat completion; :class:`BadReply` when it holds neither text nor tool calls."""
    try:
        choice = response.choices[0]
        message = choice.message
    except (AttributeError, IndexError, KeyError, TypeError):
        raise BadReply("the provider answered without a chat completion") from None
    text = _field(message, "content")
    calls = tool_calls_of(message)
    if text is not None and not isinstance(text, str):
        raise BadReply("the provider's message content is not text")
    if text is None and not calls:
        raise BadReply("the provider answered without message content")
    usage = getattr(response, "usage", None)
    finish = getattr(choice, "finish_reason", None)
    cost = response_cost(litellm, response, model, no_price)
    return ModelReply(
        text=clean_text(text or ""),
        tool_calls=calls,
        finish_reason=str(finish)[:64] if finish is not None else None,
        usage=Usage(
            prompt_tokens=_count(getattr(usage, "prompt_tokens", 0)),
            completion_tokens=_count(getattr(usage, "completion_tokens", 0)),
        ),
        cost_usd=cost if cost is not None and math.isfinite(cost) and cost >= 0 else None,
        latency_ms=max(0.0, seconds * 1000.0),
        model=clean_text(str(getattr(response, "model", None) or model)),
        attempts=attempts,
    )
