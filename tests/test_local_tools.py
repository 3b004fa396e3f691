"""The offline model's tool calls (providers/local_tools.py): when it calls, the grammar's schema, the reply shape,
and — with the real model — a schema-valid call through litellm, then a text answer after the tool result."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from llmops_cli.providers.local import _flatten_content
from llmops_cli.providers.local_tools import as_tool_call, call_schema, chat_messages, tools_to_call

LOOKUP = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by its number.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]{3,8}$"}},
            "required": ["order_id"],
            "additionalProperties": False,
        },
    },
}
RETURN = {
    "type": "function",
    "function": {
        "name": "start_return",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "reason": {"type": "string", "enum": ["damaged", "other"]}},
            "required": ["order_id", "reason"],
        },
    },
}
USER = [{"role": "user", "content": "Where is my order A1042?"}]
AFTER_TOOL = [
    *USER,
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"order_id": "A1042"}'}}
    ]},
    {"role": "tool", "tool_call_id": "c1", "name": "lookup_order", "content": '{"status": "shipped"}'},
]  # fmt: skip


def names(tools: list[dict[str, Any]] | None) -> list[str] | None:
    return None if tools is None else [t["name"] for t in tools]


@pytest.mark.parametrize(
    ("messages", "params", "expected"),
    [
        (USER, {}, None),  # no tools offered
        (USER, {"tools": [LOOKUP, RETURN]}, ["lookup_order", "start_return"]),  # the user's turn: a call
        (USER, {"tools": [LOOKUP], "tool_choice": "none"}, None),
        (AFTER_TOOL, {"tools": [LOOKUP]}, None),  # after a tool result: text
        (AFTER_TOOL, {"tools": [LOOKUP], "tool_choice": "required"}, ["lookup_order"]),
        (
            AFTER_TOOL,
            {"tools": [LOOKUP, RETURN], "tool_choice": {"type": "function", "function": {"name": "start_return"}}},
            ["start_return"],
        ),
        (USER, {"tools": [LOOKUP], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, None),
        (USER, {"tools": ["junk", {"function": {"name": 3}}, LOOKUP]}, ["lookup_order"]),
    ],
)
def test_when_the_offline_model_calls_a_tool(messages: Any, params: dict[str, Any], expected: Any) -> None:
    assert names(tools_to_call(messages, params)) == expected


def test_the_call_schema_admits_only_offered_tools_with_valid_arguments() -> None:
    tools = tools_to_call(USER, {"tools": [LOOKUP, RETURN]})
    assert tools is not None
    schema = call_schema(tools, 64)
    ok = [{"name": "lookup_order", "arguments": {"order_id": "A1042"}},
          {"name": "start_return", "arguments": {"order_id": "A1", "reason": "damaged"}}]  # fmt: skip
    bad = [{"name": "delete_all", "arguments": {}}, {"name": "start_return", "arguments": {"order_id": "A1"}},
           {"name": "start_return", "arguments": {"order_id": "A1", "reason": "bored"}},
           {"name": "lookup_order", "arguments": {"order_id": "A1042", "extra": 1}}]  # fmt: skip
    for doc in ok:
        jsonschema.validate(doc, schema)
    for doc in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)
    strings = [n for n in json.dumps(schema).split('"maxLength": ')[1:]]
    assert strings and all(int(s.split(",")[0].split("}")[0]) <= 200 for s in strings)  # bounded by the budget


def test_a_constrained_completion_becomes_an_openai_tool_call() -> None:
    raw = {"choices": [{"message": {"role": "assistant", "content": '{"name":"lookup_order","arguments":{"order_id":"A1"}}'},
                        "finish_reason": "stop"}], "usage": {"prompt_tokens": 3}}  # fmt: skip
    out = as_tool_call(raw, 7)
    (choice,) = out["choices"]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call == {"id": "call_local_7", "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "A1"}'}}  # fmt: skip
    cut = {"choices": [{"message": {"content": '{"name":"looku'}, "finish_reason": "length"}]}
    assert as_tool_call(cut, 8) == cut  # cut off by the budget: left as text


def test_tool_traffic_is_written_as_plain_chat_text() -> None:
    msgs = chat_messages(AFTER_TOOL, _flatten_content)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[1]["content"] == 'Calling lookup_order({"order_id": "A1042"})'
    assert msgs[2]["content"] == 'Tool result (lookup_order): {"status": "shipped"}'


@pytest.mark.local_model
def test_the_real_offline_model_calls_a_tool_then_answers() -> None:
    pytest.importorskip("llama_cpp")
    from llmops_cli.models.runtime import import_litellm

    litellm = import_litellm()
    system = {"role": "system", "content": "You are a support agent. Look orders up with the tools."}
    first = litellm.completion(model="local/smollm2", messages=[system, *USER], tools=[LOOKUP, RETURN],
                               max_tokens=64, drop_params=True)  # fmt: skip
    (call,) = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    spec = {"lookup_order": LOOKUP, "start_return": RETURN}[call.function.name]["function"]["parameters"]
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, {k: v for k, v in spec.items()})  # the pattern too: it is a simple fixed width
    history = [system, *USER, {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}
    ]}, {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped", "eta": "2026-12-10"}'}]  # fmt: skip
    second = litellm.completion(model="local/smollm2", messages=history, tools=[LOOKUP, RETURN], max_tokens=24,
                                drop_params=True)  # fmt: skip
    assert second.choices[0].message.content and not second.choices[0].message.tool_calls
