"""Serving tool calls: ``Prompt.complete()`` returns them typed, the caller continues with tool results
(``history=``), the request record names the tools called and the turn, and the span carries GenAI tool events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from llmops_cli.errors import UsageError
from llmops_cli.records.chat import ChatMessage, ToolCall
from llmops_cli.releases.loader import load_prompt
from llmops_cli.serving import Completion, OtelOptions, file_sink, tool_result
from tests.support.fakellm import FakeLLM, Reply, ToolCallReply
from tests.support.servingproj import read_records, serving_project

SECRET_ARG = "4111 1111 1111 1111"


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    return serving_project(tmp_path / "proj", fake_llm.url)


def test_tool_calls_come_back_typed_and_the_conversation_continues(
    project: Path, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    log = tmp_path / "requests.jsonl"
    fake_llm.enqueue(
        Reply.calling(
            ToolCallReply("lookup_order", {"order_id": "42"}, id="call_1"), ToolCallReply("eta", {}, id="c2")
        ),
        "Order 42 shipped; it arrives tomorrow.",
    )
    p = load_prompt("support/answer", root=project, log=log)
    first = p.complete(question="Where is order 42?")
    assert isinstance(first, Completion)
    assert first.tool_calls == [
        ToolCall(id="call_1", name="lookup_order", arguments='{"order_id": "42"}'),
        ToolCall(id="c2", name="eta", arguments="{}"),
    ]
    assert first.text == "" and first.finish_reason == "tool_calls"
    assert first.choices[0].message.tool_calls[0].function.name == "lookup_order"  # litellm's response, as before
    assert first.message == ChatMessage(role="assistant", content=None, tool_calls=first.tool_calls)

    history = first.with_tool_results({"call_1": {"status": "shipped"}, "c2": "tomorrow"})
    second = p.complete(question="Where is order 42?", history=history)
    assert second.text == "Order 42 shipped; it arrives tomorrow." and second.tool_calls == []
    assert second.choices[0].message.content == second.text
    sent = fake_llm.last_request.body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "tool"]
    assert [c["id"] for c in sent[2]["tool_calls"]] == ["call_1", "c2"]
    assert sent[3] == {
        "role": "tool",
        "content": '{"status": "shipped"}',
        "tool_call_id": "call_1",
        "name": "lookup_order",
    }
    assert sent[4]["tool_call_id"] == "c2" and sent[4]["content"] == "tomorrow"
    assert len(second.history) == 5 - 2 + 1  # the history it was given, and its own answer

    file_sink(log).flush()
    one, two = read_records(log)
    assert one["tools_called"] == ["lookup_order", "eta"] and "turn" not in one
    assert "tools_called" not in two and two["turn"] == 2
    assert one["tokens_in"] > 0 and two["tokens_in"] > one["tokens_in"]  # per-turn counts: the history grows
    assert "input" not in one and "tool_calls" not in one  # no content logging: names only


def test_content_logging_records_the_calls_with_redacted_arguments(
    project: Path, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    log = tmp_path / "requests.jsonl"
    key = "sk-" + "b" * 40
    fake_llm.enqueue(Reply.calling(ToolCallReply("charge", {"card": SECRET_ARG, "key": key}, id="k")))
    p = load_prompt("support/answer", root=project, log=log)
    p.complete(question="pay", log_content=True)
    file_sink(log).flush()
    [rec] = read_records(log)
    assert rec["tools_called"] == ["charge"] and rec["output"] == ""
    [logged] = rec["tool_calls"]
    assert logged["id"] == "k" and logged["name"] == "charge"
    assert key not in logged["arguments"] and "REDACTED" in logged["arguments"]


def test_acomplete_returns_the_same_shape(project: Path, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Reply.calling(("lookup_order", {"order_id": "7"})))
    p = load_prompt("support/answer", root=project)
    reply = asyncio.run(p.acomplete(question="order 7?"))
    assert [c.name for c in reply.tool_calls] == ["lookup_order"] and reply.tool_calls[0].parsed_arguments() == {
        "order_id": "7"
    }


def test_history_accepts_openai_dicts_and_refuses_garbage(project: Path, fake_llm: FakeLLM) -> None:
    p = load_prompt("support/answer", root=project)
    fake_llm.default_reply = "done"
    dicts = [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "lookup_order", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "x", "content": "found"},
    ]  # fmt: skip
    reply = p.complete(question="q", history=dicts)
    assert reply.text == "done"
    assert fake_llm.last_request.body["messages"][2]["tool_calls"][0]["id"] == "x"
    sdk_message = reply.choices[0].message  # litellm's message object, as an SDK user would pass it back
    assert p.complete(question="q", history=[*dicts, sdk_message, {"role": "user", "content": "more"}]).text == "done"
    assert fake_llm.last_request.body["messages"][4] == {"role": "assistant", "content": "done"}
    for bad in ("not a list", {"role": "user"}, [{"role": "wizard", "content": "x"}], [42], [{"role": "user", "x": 1}]):
        with pytest.raises(UsageError, match="history"):
            p.complete(question="q", history=bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="at most"):
        p.complete(question="q", history=[{"role": "user", "content": "x"}] * 1001)
    huge = {"role": "tool", "tool_call_id": "x", "content": "y" * (17 * 1024 * 1024)}  # a 17 MB tool result
    with pytest.raises(UsageError, match="characters"):
        p.complete(question="q", history=[dicts[0], huge])
    assert fake_llm.count == 2  # nothing refused was sent


def test_with_tool_results_needs_every_call_answered() -> None:
    from llmops_cli.records.chat import ModelReply

    c = Completion(ModelReply(tool_calls=[ToolCall(id="a", name="t"), ToolCall(id="b", name="t")]), None)
    with pytest.raises(ValueError, match="b"):
        c.with_tool_results({"a": "x"})
    msgs = c.with_tool_results([tool_result("a", "1"), tool_result(ToolCall(id="b", name="t"), {"n": 2})])
    assert [m.role for m in msgs] == ["assistant", "tool", "tool"] and json.loads(msgs[2].content) == {"n": 2}  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most"):
        tool_result("a", "x" * 1_000_001)
    import copy
    import pickle

    assert copy.copy(c).tool_calls == c.tool_calls
    assert pickle.loads(pickle.dumps(c)).tool_calls == c.tool_calls
    with pytest.raises(AttributeError):
        _ = c.choices  # no litellm response behind it: a plain AttributeError, not a recursion


def test_spans_carry_genai_tool_events(project: Path, fake_llm: FakeLLM) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    p = load_prompt("support/answer", root=project, otel=OtelOptions(tp, MeterProvider()))
    fake_llm.enqueue(Reply.calling(ToolCallReply("lookup_order", {"card": SECRET_ARG}, id="call_9")), "ok")
    first = p.complete(question="q")
    p.complete(question="q", history=first.with_tool_results({"call_9": "found"}))
    one, two = exporter.get_finished_spans()
    [event] = one.events
    assert event.name == "gen_ai.tool.call"
    assert dict(event.attributes) == {
        "gen_ai.tool.name": "lookup_order",
        "gen_ai.tool.call.id": "call_9",
        "gen_ai.tool.type": "function",
    }
    assert one.attributes["llmops.tools_called"] == ("lookup_order",)
    assert one.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert SECRET_ARG not in json.dumps({k: str(v) for k, v in one.attributes.items()})
    assert not two.events and two.attributes["llmops.turn"] == 2
