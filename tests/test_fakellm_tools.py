"""The loopback server's tool calls, tool choice and Anthropic Messages API, read as raw HTTP (what a provider
SDK would see), and its streaming of tool calls through litellm."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.fakellm import FakeLLM, Fault, Reply, ToolCallReply

TOOLS = [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}},
         {"type": "function", "function": {"name": "refund", "parameters": {"type": "object"}}}]  # fmt: skip


def post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers.items()), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), json.loads(exc.read())


def test_openai_tool_calls_and_usage(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Reply.calling(("lookup_order", {"order_id": "42"}), ToolCallReply("refund", "{bad", id="r")))
    status, _, body = post(
        fake_llm.url + "/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "a b"}], "tools": TOOLS},
    )
    assert status == 200
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert calls[0]["function"] == {"name": "lookup_order", "arguments": '{"order_id": "42"}'} and calls[0]["id"]
    assert calls[1] == {"id": "r", "type": "function", "function": {"name": "refund", "arguments": "{bad"}}
    assert body["usage"]["prompt_tokens"] > 2  # the tool definitions count
    assert fake_llm.last_request.tool_calls == ["lookup_order", "refund"]


@pytest.mark.parametrize(
    ("choice", "called"),
    [("none", []), ("required", ["lookup_order"]), ({"type": "function", "function": {"name": "refund"}}, ["refund"]),
     ({"type": "any"}, ["lookup_order"]), ({"type": "tool", "name": "refund"}, ["refund"]), ("auto", [])],
)  # fmt: skip
def test_tool_choice_is_honoured(fake_llm: FakeLLM, choice: Any, called: list[str]) -> None:
    fake_llm.default_reply = "plain text"
    _, _, body = post(
        fake_llm.url + "/chat/completions", {"model": "m", "messages": [], "tools": TOOLS, "tool_choice": choice}
    )
    calls = body["choices"][0]["message"].get("tool_calls") or []
    assert [c["function"]["name"] for c in calls] == called


def test_anthropic_messages_api(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(
        Reply.calling(ToolCallReply("lookup_order", {"order_id": "42"}, id="toolu_1"), content="Let me look.")
    )
    status, headers, body = post(
        fake_llm.anthropic_url + "/v1/messages",
        {"model": "claude", "max_tokens": 10, "system": "be brief", "messages": [{"role": "user", "content": "where"}],
         "tools": [{"name": "lookup_order", "input_schema": {"type": "object"}}]},
    )  # fmt: skip
    assert status == 200 and headers["request-id"].startswith("req-")
    assert body["type"] == "message" and body["stop_reason"] == "tool_use"
    assert body["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"order_id": "42"}},
    ]
    assert body["usage"]["input_tokens"] >= 3 and body["usage"]["output_tokens"] > 0
    fake_llm.enqueue(Fault.rate_limit(2), Fault.http(400, "bad"))
    status, headers, body = post(fake_llm.anthropic_url + "/v1/messages", {"model": "c", "messages": []})
    assert status == 429 and headers["Retry-After"] == "2"
    assert body == {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}}
    status, _, body = post(fake_llm.anthropic_url + "/v1/messages", {"model": "c", "messages": []})
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert fake_llm.count == 3  # Anthropic requests are model requests too


def test_streamed_tool_calls_reach_litellm(fake_llm: FakeLLM) -> None:
    import litellm

    fake_llm.enqueue(Reply.calling(ToolCallReply("lookup_order", {"order_id": "7"}, id="s1")))
    chunks = list(
        litellm.completion(
            model="openai/fake-model", api_base=fake_llm.url, api_key="x", stream=True, num_retries=0,
            messages=[{"role": "user", "content": "hi"}], tools=TOOLS,
        )
    )  # fmt: skip
    calls = [tc for ch in chunks for tc in (ch.choices[0].delta.tool_calls or [])]
    assert calls and calls[0].function.name == "lookup_order" and calls[0].id == "s1"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
