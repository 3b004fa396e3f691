"""On the wire: tools, tool choice, strict schemas and images reach the provider exactly as it expects them, for
the OpenAI and the Anthropic request shapes, through litellm over real HTTP to the loopback server; tool calls come
back typed; token counts include the tool definitions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.models import Target
from llmops_cli.models.call import CallFailed, acall, call
from llmops_cli.models.prices import count_tokens
from llmops_cli.models.retry import RetryPolicy
from llmops_cli.models.wire import build_request, wire_request, wire_tools
from llmops_cli.records.chat import ChatMessage, ContentPart, ModelRequest, ResponseFormat, ToolCall, ToolSpec
from tests.support.fakellm import FakeLLM, Reply, ToolCallReply

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PDF = "data:application/pdf;base64,JVBERi0xLjQKJSVFT0YK"
ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}},
    "required": ["order_id"],
    "additionalProperties": False,
}
LOOKUP = ToolSpec(name="lookup_order", description="Look up an order by id.", parameters=ORDER_SCHEMA, strict=True)
REFUND = ToolSpec(name="refund", description="Refund an order.", parameters=ORDER_SCHEMA)
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
FAST = RetryPolicy(max_retries=0)


def openai_target(server: FakeLLM, model: str = "openai/gpt-4o-2024-08-06") -> Target:
    return Target(model, api_base=server.url)


def anthropic_target(server: FakeLLM, model: str = "anthropic/claude-sonnet-4-20250514") -> Target:
    return Target(model, api_base=server.anthropic_url)


def photo_message() -> ChatMessage:
    return ChatMessage(
        role="user",
        content=[
            ContentPart(type="text", text="Where is my order? See the receipt."),
            ContentPart(type="image", media_type="image/png", sha256="ab" * 32, url=PNG, size=68, name="receipt"),
            ContentPart(type="file", media_type="application/pdf", sha256="cd" * 32, url=PDF, size=20, name="invoice"),
        ],
    )


def request(**kw: Any) -> ModelRequest:
    base: dict[str, Any] = {
        "model": "openai/gpt-4o-2024-08-06",
        "messages": [ChatMessage(role="system", content="You are a support agent."), photo_message()],
        "params": {"max_tokens": 50},
        "tools": [LOOKUP, REFUND],
    }
    return ModelRequest(**{**base, **kw})


# -- the OpenAI shape -------------------------------------------------------------------------------------------


def test_openai_request_carries_tools_choice_strict_schema_and_content_parts(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Reply.calling(ToolCallReply("lookup_order", {"order_id": "42"}, id="call_a")))
    req = request(
        tool_choice={"mode": "auto"},
        parallel_tool_calls=False,
        response_format=ResponseFormat(type="json_schema", schema=ANSWER_SCHEMA, strict=True),
    )
    reply = call(openai_target(fake_llm), req, policy=FAST, timeout_s=5)
    body = fake_llm.last_request.body
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "description": "Look up an order by id.",
                "parameters": ORDER_SCHEMA,
                "strict": True,
            },
        },
        {
            "type": "function",
            "function": {"name": "refund", "description": "Refund an order.", "parameters": ORDER_SCHEMA},
        },
    ]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": ANSWER_SCHEMA, "strict": True},
    }
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "Where is my order? See the receipt."},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "file", "file": {"file_data": PDF, "filename": "invoice.pdf"}},
    ]
    assert body["max_tokens"] == 50
    assert reply.tool_calls == [ToolCall(id="call_a", name="lookup_order", arguments='{"order_id": "42"}')]
    assert reply.finish_reason == "tool_calls" and reply.text == "" and reply.attempts == 1
    assert reply.tool_calls[0].parsed_arguments() == {"order_id": "42"}


@pytest.mark.parametrize(
    ("choice", "wire", "called"),
    [
        ({"mode": "auto"}, "auto", []),
        ({"mode": "required"}, "required", ["lookup_order"]),
        ({"mode": "none"}, "none", []),
        ({"mode": "function", "name": "refund"}, {"type": "function", "function": {"name": "refund"}}, ["refund"]),
    ],
)
def test_openai_tool_choice_is_sent_and_honoured(fake_llm: FakeLLM, choice: Any, wire: Any, called: list[str]) -> None:
    fake_llm.default_reply = "Your order ships tomorrow."  # the script makes no call: the choice decides
    reply = call(openai_target(fake_llm), request(tool_choice=choice), policy=FAST, timeout_s=5)
    assert fake_llm.last_request.body["tool_choice"] == wire
    assert [c.name for c in reply.tool_calls] == called
    assert (reply.finish_reason == "tool_calls") is bool(called)


def test_tool_choice_none_drops_scripted_calls(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Reply.calling(("lookup_order", {"order_id": "1"})))
    reply = call(openai_target(fake_llm), request(tool_choice={"mode": "none"}), policy=FAST, timeout_s=5)
    assert reply.tool_calls == [] and reply.text and reply.finish_reason == "stop"


def test_without_tools_no_tool_keys_are_sent(fake_llm: FakeLLM) -> None:
    """A text prompt's request is what it was: no tools, tool_choice or parallel_tool_calls keys."""
    req = request(tools=[], tool_choice={"mode": "required"}, parallel_tool_calls=True)
    call(openai_target(fake_llm), req, policy=FAST, timeout_s=5)
    body = fake_llm.last_request.body
    assert not {"tools", "tool_choice", "parallel_tool_calls", "response_format"} & set(body)


def test_strict_schema_falls_back_to_json_object_with_a_note(fake_llm: FakeLLM) -> None:
    """litellm's table says openai/fake-model takes no response schema: json_object, and a note says so."""
    rf = ResponseFormat(type="json_schema", schema=ANSWER_SCHEMA, strict=True)
    target = openai_target(fake_llm, "openai/fake-model")
    wired = wire_request(target, request(model="openai/fake-model", response_format=rf))
    assert wired.kwargs["response_format"] == {"type": "json_object"}
    [note] = wired.notes
    assert "openai/fake-model" in note and "json_object" in note
    fake_llm.default_reply = '{"answer": "ok"}'
    call(target, request(model="openai/fake-model", response_format=rf), policy=FAST, timeout_s=5)
    assert fake_llm.last_request.body["response_format"] == {"type": "json_object"}


def test_a_conversation_continues_with_tool_results(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Reply.calling(ToolCallReply("lookup_order", {"order_id": "42"}, id="call_1")), "It shipped.")
    target = openai_target(fake_llm)
    first = call(target, request(), policy=FAST, timeout_s=5)
    history = [
        ChatMessage(role="assistant", content=None, tool_calls=first.tool_calls),
        ChatMessage(role="tool", tool_call_id="call_1", name="lookup_order", content='{"status": "shipped"}'),
    ]
    second = call(target, request(messages=[*request().messages, *history]), policy=FAST, timeout_s=5)
    assert second.text == "It shipped." and second.tool_calls == []
    sent = fake_llm.last_request.body["messages"][2:]
    assert sent == [
        {  # litellm leaves out the null content of a tool-calling assistant message
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "42"}'},
                }
            ],
        },
        {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "call_1", "name": "lookup_order"},
    ]


def test_build_request_reads_the_openai_shapes() -> None:
    """Dict messages / tools / tool choice in OpenAI's shape become the same records as typed ones."""
    openai_tools = wire_tools([LOOKUP])
    req = build_request(
        "openai/gpt-4o",
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": PNG}}],
            }
        ],
        {"temperature": 0},
        {"type": "json_schema", "json_schema": {"name": "out", "schema": ANSWER_SCHEMA, "strict": True}},
        tools=openai_tools,
        tool_choice={"type": "function", "function": {"name": "lookup_order"}},
        history=[
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "x", "arguments": "{}"}}],
            }
        ],
    )
    assert req.tools == [LOOKUP]
    assert req.tool_choice is not None and (req.tool_choice.mode, req.tool_choice.name) == ("function", "lookup_order")
    assert req.response_format == ResponseFormat(type="json_schema", name="out", schema=ANSWER_SCHEMA, strict=True)
    assert req.messages[0].content[1].url == PNG  # type: ignore[union-attr]
    assert req.messages[1].tool_calls == [ToolCall(id="c", name="x", arguments="{}")]
    for given, mode in (("required", "required"), ({"mode": "none"}, "none"), ({"name": "refund"}, "function")):
        choice = build_request("m", [], tools=[LOOKUP], tool_choice=given).tool_choice  # type: ignore[arg-type]
        assert choice is not None and choice.mode == mode


# -- the Anthropic shape ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "wire", "called"),
    [
        ({"mode": "auto"}, {"type": "auto"}, []),
        ({"mode": "required"}, {"type": "any"}, ["lookup_order"]),
        ({"mode": "function", "name": "refund"}, {"type": "tool", "name": "refund"}, ["refund"]),
    ],
)
def test_anthropic_request_carries_tools_choice_and_images(
    fake_llm: FakeLLM, choice: Any, wire: Any, called: list[str]
) -> None:
    fake_llm.default_reply = "Let me check."
    reply = call(anthropic_target(fake_llm), request(tool_choice=choice), policy=FAST, timeout_s=5)
    rec = fake_llm.last_request
    assert rec.path == "/v1/messages"
    body = rec.body
    assert [t["name"] for t in body["tools"]] == ["lookup_order", "refund"]
    assert body["tools"][0]["input_schema"] == ORDER_SCHEMA
    assert body["tools"][0]["description"] == "Look up an order by id."
    assert body["tool_choice"] == wire
    assert body["system"] == [{"type": "text", "text": "You are a support agent."}]
    [user] = body["messages"]
    image = user["content"][1]
    assert image == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG.split(",")[1]},
    }
    assert user["content"][2]["type"] == "document"  # the PDF as Anthropic's document block
    assert [c.name for c in reply.tool_calls] == called
    assert reply.text == "Let me check."
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_anthropic_tool_use_comes_back_typed_and_tool_results_go_out(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(
        Reply.calling(ToolCallReply("lookup_order", {"order_id": "42"}, id="toolu_1"), content="Checking."), "Shipped."
    )
    target = anthropic_target(fake_llm)
    first = call(target, request(), policy=FAST, timeout_s=5)
    assert first.tool_calls == [ToolCall(id="toolu_1", name="lookup_order", arguments='{"order_id": "42"}')]
    assert first.text == "Checking." and first.finish_reason == "tool_calls"
    history = [
        ChatMessage(role="assistant", content="Checking.", tool_calls=first.tool_calls),
        ChatMessage(role="tool", tool_call_id="toolu_1", content='{"status": "shipped"}'),
    ]
    second = call(target, request(messages=[*request().messages, *history]), policy=FAST, timeout_s=5)
    assert second.text == "Shipped."
    msgs = fake_llm.last_request.body["messages"]
    assert msgs[1]["role"] == "assistant"
    assert {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"order_id": "42"}} in [
        {k: b.get(k) for k in ("type", "id", "name", "input")} for b in msgs[1]["content"] if b["type"] == "tool_use"
    ]
    result = [b for b in msgs[2]["content"] if b.get("type") == "tool_result"]
    assert result and result[0]["tool_use_id"] == "toolu_1"


def test_anthropic_strict_schema_reaches_the_wire(fake_llm: FakeLLM) -> None:
    """A model litellm says takes a response schema gets the schema on the wire (Anthropic: as litellm maps it)."""
    fake_llm.default_reply = '{"answer": "ok"}'
    rf = ResponseFormat(type="json_schema", schema=ANSWER_SCHEMA, strict=True)
    target = anthropic_target(fake_llm)
    assert wire_request(target, request(response_format=rf, tools=[])).notes == ()
    call(target, request(response_format=rf, tools=[]), policy=FAST, timeout_s=5)
    assert json.dumps(ANSWER_SCHEMA["properties"]) in json.dumps(fake_llm.last_request.body)


# -- replies and token counts ------------------------------------------------------------------------------------


def test_a_reply_with_too_many_tool_calls_is_a_bad_reply(fake_llm: FakeLLM) -> None:
    fake_llm.default_reply = Reply.calling(*[("lookup_order", {})] * 200)
    with pytest.raises(CallFailed) as info:
        call(openai_target(fake_llm), request(), policy=RetryPolicy(1, base_s=0.0, max_s=0.01), timeout_s=5)
    assert info.value.kind == "bad_response" and info.value.attempts == 2 and fake_llm.count == 2


@pytest.mark.parametrize(
    "calls",
    [
        (ToolCallReply("lookup_order", "x" * 1_000_001),),
        (ToolCallReply("n" * 300, "{}"),),
        (ToolCallReply("lookup_order", "{}", id="i" * 300),),
    ],
    ids=["huge-arguments", "huge-name", "huge-id"],
)
def test_oversized_tool_calls_are_bad_replies(fake_llm: FakeLLM, calls: tuple[ToolCallReply, ...]) -> None:
    fake_llm.default_reply = Reply(tool_calls=calls)
    with pytest.raises(CallFailed) as info:
        call(openai_target(fake_llm), request(), policy=FAST, timeout_s=10)
    assert info.value.kind == "bad_response" and info.value.attempts == 1
    assert "larger than llmops reads" in info.value.message or "longer than llmops reads" in info.value.message


def test_a_call_of_an_undeclared_tool_comes_back_as_made(fake_llm: FakeLLM) -> None:
    """The model layer reports what the model did; judging an undeclared call is the caller's business."""
    fake_llm.enqueue(Reply.calling(("delete_everything", "{not json")))
    reply = call(openai_target(fake_llm), request(), policy=FAST, timeout_s=5)
    assert reply.tool_calls[0].name == "delete_everything" and reply.tool_calls[0].parsed_arguments() is None


def test_token_counts_include_tool_definitions(fake_llm: FakeLLM) -> None:
    messages = [{"role": "user", "content": "Where is order 42?"}]
    bare = count_tokens("openai/gpt-4o-2024-08-06", messages)
    with_tools = count_tokens("openai/gpt-4o-2024-08-06", messages, wire_tools([LOOKUP, REFUND]))
    assert with_tools > bare + 20
    from llmops_cli.evals.budget import worst_cost

    priced = Target("openai/gpt-4o-2024-08-06")
    params = {"max_tokens": 10}
    assert worst_cost(priced, messages, params, wire_tools([LOOKUP, REFUND])) > worst_cost(priced, messages, params)
    target = openai_target(fake_llm)
    plain = call(target, request(tools=[]), policy=FAST, timeout_s=5).usage.prompt_tokens
    tooled = call(target, request(), policy=FAST, timeout_s=5).usage.prompt_tokens
    assert tooled > plain  # the provider counts the definitions it was sent


def test_acall_and_call_send_the_same_body(fake_llm: FakeLLM) -> None:
    req = request(tool_choice={"mode": "required"}, parallel_tool_calls=True)
    call(openai_target(fake_llm), req, policy=FAST, timeout_s=5)
    asyncio.run(acall(openai_target(fake_llm), req, policy=FAST, timeout_s=5))
    first, second = fake_llm.chat_requests
    assert first.body == second.body and first.body_hash == second.body_hash


# -- from the prompt file: eval and serving send the prompt's tools --------------------------------------------

TOOL_PROMPT = """\
model: chat
inputs: {question: {type: string}}
tools:
  - name: lookup_order
    description: Look up an order by its id.
    parameters:
      type: object
      properties:
        order_id: {type: string}
      required: [order_id]
      additionalProperties: false
    strict: true
tool_choice: required
parallel_tool_calls: false
messages:
  - {role: user, content: "{{ question }}"}
"""
WIRE_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by its id.",
        "parameters": ORDER_SCHEMA,
        "strict": True,
    },
}


def test_eval_and_serving_send_the_prompt_files_tools(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmops_cli.evals.plan import EvalOptions
    from llmops_cli.evals.runner import run_eval
    from llmops_cli.project import Project
    from llmops_cli.releases.loader import load_prompt
    from tests.conftest import write
    from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project

    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)
    fake_llm.default_reply = "Order A1 ships today."
    root = make_eval_project(tmp_path, fake_llm.url, golden="cases: [{id: a, vars: {question: where is A1}}]")
    write(root, "prompts/support/answer.prompt.yaml", TOOL_PROMPT)
    run_eval(Project.open(root), EvalOptions(names=["support/answer"]), notify=lambda _: None)
    body = fake_llm.last_request.body
    assert body["tools"] == [WIRE_TOOL] and body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    served = load_prompt("support/answer", root=root).complete(question="where is A1")
    again = fake_llm.last_request.body
    assert again["tools"] == [WIRE_TOOL] and again["tool_choice"] == "required"
    assert [c.name for c in served.tool_calls] == ["lookup_order"]  # the server honoured tool_choice: required
