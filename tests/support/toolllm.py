"""Tool calls from the loopback server: :class:`ToolReply` (a reply that calls functions) and a scripted support
agent (:func:`support_agent`) that looks an order up with a tool and then answers from the tool's result — only
when the request offers the tool, so a prompt that drops it gets text answers (and its tool assertions fail).

:class:`ToolLLM` is :class:`~tests.support.fakellm.FakeLLM` answering a :class:`ToolReply` with OpenAI's
``tool_calls`` message shape (``finish_reason: tool_calls``, content null when there is no text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.support.fakellm import FakeLLM, Reply, RequestRecord

ORDER_ID = re.compile(r"\b([A-Z]\d{1,6})\b")


@dataclass(frozen=True, slots=True)
class ToolReply(Reply):
    """A reply that calls ``calls`` (``(name, arguments)`` pairs, or ``(name, raw JSON text)``)."""

    calls: tuple[tuple[str, Any], ...] = ()


class ToolLLM(FakeLLM):
    """A FakeLLM whose :class:`ToolReply` answers carry ``tool_calls``."""

    def _completion(self, record: RequestRecord, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        out = super()._completion(record, body, reply)
        if isinstance(reply, ToolReply) and reply.calls:
            choice = out["choices"][0]
            choice["message"]["content"] = reply.content or None
            choice["message"]["tool_calls"] = [
                {
                    "id": f"call_{record.seq}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
                }
                for i, (name, args) in enumerate(reply.calls)
            ]
            choice["finish_reason"] = "tool_calls"
        return out


def offered_tools(body: dict[str, Any]) -> set[str]:
    """Names of the functions a request offers."""
    return {t.get("function", {}).get("name") for t in body.get("tools") or [] if isinstance(t, dict)}


def support_agent(body: dict[str, Any]) -> Reply | None:
    """A support agent: asked about an order it calls ``lookup_order`` (when offered), answers from the tool's
    result once it comes back, and answers follow-ups about the address with ``update_address``."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    tools = offered_tools(body)
    if last.get("role") == "tool":
        result = json.loads(last.get("content") or "{}")
        if "status" in result:
            return Reply(
                f"Your order {result.get('order_id', '')} is {result['status']}, arriving {result.get('eta')}."
            )
        return Reply(f"Done: {json.dumps(result, sort_keys=True)}")
    text = last.get("content") if isinstance(last.get("content"), str) else ""
    match = ORDER_ID.search(text or "")
    if "address" in (text or "").lower() and "update_address" in tools:
        return ToolReply("", calls=(("update_address", {"order_id": "A1", "address": "1 New Street"}),))
    if match and "lookup_order" in tools:
        return ToolReply("", calls=(("lookup_order", {"order_id": match.group(1)}),))
    if match:
        return Reply(f"I cannot look up order {match.group(1)} right now, sorry.")
    return None
