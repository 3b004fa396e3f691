"""Tool calls from the offline model: a grammar-constrained, schema-valid call, so tool prompts run with no key.

The offline model is a stand-in (the point is that the pipeline runs end to end, not that a 135M model chooses
tools well). When a request offers tools and it is the model's turn to answer the user (the last message is a
user message), or ``tool_choice`` is ``required`` / a named function, it writes exactly one call
``{"name": NAME, "arguments": {...}}``: the grammar allows only the offered names (the named one, when
``tool_choice`` names it) and, per name, arguments valid against that tool's ``parameters`` (bounded by the
token budget like any JSON output: :func:`~llmops_cli.providers.local_grammar.fit_schema`). After a tool result
it answers in text. ``tool_choice: none`` never calls.

Tool messages and the assistant's earlier calls are written into the chat as plain text (small chat templates
know only system, user and assistant).
"""

from __future__ import annotations

import json
from typing import Any

from .local_grammar import fit_schema

MAX_OFFERED_TOOLS = 128

__all__ = ["as_tool_call", "call_schema", "chat_messages", "tools_to_call"]


def _offered(optional_params: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in (optional_params.get("tools") or [])[:MAX_OFFERED_TOOLS]:
        fn = item.get("function") if isinstance(item, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str) and fn["name"]:
            params = fn.get("parameters")
            out.append({"name": fn["name"], "parameters": params if isinstance(params, dict) else {"type": "object"}})
    return out


def tools_to_call(messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The tools the model must call one of now (``[{name, parameters}]``), or None: answer in text."""
    tools = _offered(optional_params)
    choice = optional_params.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        named = [t for t in tools if t["name"] == name]
        return named or None
    last = messages[-1] if messages else {}
    if choice == "required" or (isinstance(last, dict) and last.get("role") == "user"):
        return tools
    return None


def call_schema(tools: list[dict[str, Any]], max_tokens: int | None) -> dict[str, Any]:
    """The JSON Schema of one call of one of ``tools``, its strings bounded by the token budget."""
    options = [
        {
            "type": "object",
            "properties": {"name": {"const": t["name"]}, "arguments": t["parameters"]},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    schema = options[0] if len(options) == 1 else {"anyOf": options}
    return fit_schema(schema, max_tokens)


def as_tool_call(result: dict[str, Any], seq: int) -> dict[str, Any]:
    """llama.cpp's completion whose content is the constrained call JSON, as an OpenAI tool-call completion.
    Content that is not such JSON (cut off by the budget) is left as text."""
    choices = result.get("choices") or [{}]
    message = dict(choices[0].get("message") or {})
    try:
        call = json.loads(message.get("content") or "")
    except ValueError:
        return result
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return result
    args = call.get("arguments")
    message["content"] = None
    message["tool_calls"] = [
        {
            "id": f"call_local_{seq}",
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(args if isinstance(args, dict) else {})},
        }
    ]
    return {**result, "choices": [{**choices[0], "message": message, "finish_reason": "tool_calls"}]}


def chat_messages(messages: list[dict[str, Any]], flatten: Any) -> list[dict[str, str]]:
    """The messages for llama.cpp's chat template: roles system/user/assistant, tool traffic as plain text."""
    out = []
    for m in messages:
        role = str(m.get("role", "user"))
        text = flatten(m.get("content"))
        if role == "tool":
            role, text = "user", f"Tool result ({m.get('name') or 'tool'}): {text}"
        elif role == "assistant" and m.get("tool_calls"):
            calls = [
                f"{(c.get('function') or {}).get('name')}({(c.get('function') or {}).get('arguments')})"
                for c in m["tool_calls"]
                if isinstance(c, dict)
            ]
            text = (text + "\n" if text else "") + "Calling " + ", ".join(calls)
        out.append({"role": role, "content": text})
    return out
