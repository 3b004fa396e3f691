"""Tool-call assertions: each type passes and fails where it should, validates its fields (exit 2 with the case's
file:line), and works on a conversation's calls as a whole or per exchange (``turn: N``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmops_cli.errors import PromptFileError
from llmops_cli.evals.assertions import OutputContext, evaluate, parse_assertions
from llmops_cli.evals.conversation import exchanges, render_transcript
from llmops_cli.records.chat import ToolCall, ToolSpec, Transcript, Turn

LOOKUP = ToolSpec(
    name="lookup_order",
    parameters={
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]+$"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
)
REFUND = ToolSpec(
    name="refund",
    parameters={"type": "object", "properties": {"amount": {"type": "number", "maximum": 100}}, "required": ["amount"]},
)


def call(name: str, args: Any, i: int = 0) -> ToolCall:
    return ToolCall(id=f"c{i}", name=name, arguments=args if isinstance(args, str) else json.dumps(args))


def check(assertion: dict[str, Any], calls: list[ToolCall], tools: tuple[ToolSpec, ...] = (LOOKUP, REFUND)) -> Any:
    (spec,) = parse_assertions([assertion], file="evals/x.yaml", line=3, where="case 'c'")
    return evaluate(spec, OutputContext("", tool_calls=tuple(calls), tools=tools))


A1 = call("lookup_order", {"order_id": "A1", "verbose": True})
REF = call("refund", {"amount": 20}, 1)


@pytest.mark.parametrize(
    ("assertion", "calls", "passed"),
    [
        ({"type": "tool-call", "name": "lookup_order"}, [A1], True),
        ({"type": "tool-call", "name": "lookup_order"}, [REF], False),
        ({"type": "tool-call", "name": "lookup_order"}, [], False),
        ({"type": "tool-call", "name": "lookup_order", "args": {"order_id": "A1"}}, [A1], True),
        ({"type": "tool-call", "name": "lookup_order", "args": {"order_id": "B2"}}, [A1], False),
        ({"type": "tool-call", "name": "lookup_order", "args": {"verbose": 1}}, [A1], False),  # true is not 1
        ({"type": "tool-call", "name": "refund", "args": {"amount": 20.0}}, [REF], True),  # 20 == 20.0
        (
            {"type": "tool-call", "name": "lookup_order", "args": {"order_id": "A1"}},
            [call("lookup_order", "{bad")],
            False,
        ),
        (
            {"type": "tool-call", "name": "refund", "args_schema": {"properties": {"amount": {"maximum": 10}}}},
            [REF],
            False,
        ),
        (
            {"type": "tool-call", "name": "refund", "args_schema": {"properties": {"amount": {"maximum": 50}}}},
            [REF],
            True,
        ),
        ({"type": "no-tool-call"}, [], True),
        ({"type": "no-tool-call"}, [A1], False),
        ({"type": "no-tool-call", "name": "refund"}, [A1], True),
        ({"type": "no-tool-call", "name": "refund"}, [A1, REF], False),
        ({"type": "not-tool-call", "name": "refund"}, [A1], True),
        ({"type": "tool-sequence", "names": ["lookup_order", "refund"]}, [A1, REF], True),
        ({"type": "tool-sequence", "names": ["refund", "lookup_order"]}, [A1, REF], False),
        ({"type": "tool-sequence", "names": ["refund", "lookup_order"], "any_order": True}, [A1, REF], True),
        ({"type": "tool-sequence", "names": ["refund", "refund"], "any_order": True}, [A1, REF], False),
        ({"type": "tool-sequence", "names": ["lookup_order"]}, [A1, REF], True),  # others may come between
        ({"type": "tool-sequence", "names": ["lookup_order"], "exact": True}, [A1, REF], False),
        ({"type": "tool-sequence", "names": ["lookup_order", "refund"], "exact": True}, [A1, REF], True),
        ({"type": "tool-call-f1", "expected": ["lookup_order", "refund"]}, [A1, REF], True),
        ({"type": "tool-call-f1", "expected": ["lookup_order", "refund"]}, [A1], False),
        ({"type": "tool-call-f1", "expected": ["lookup_order"], "threshold": 0.6}, [A1, REF], True),
        ({"type": "tool-call-f1", "expected": [{"name": "lookup_order", "args": {"order_id": "Z9"}}]}, [A1], False),
        ({"type": "tool-args-valid"}, [REF], True),
        ({"type": "tool-args-valid"}, [A1], False),  # verbose is not allowed by its schema
        ({"type": "tool-args-valid", "name": "refund"}, [A1, REF], True),
        ({"type": "tool-args-valid"}, [call("refund", {"amount": 500})], False),
        ({"type": "tool-args-valid"}, [call("refund", "not json")], False),
        ({"type": "tool-args-valid"}, [call("delete_everything", {})], False),  # undeclared
        ({"type": "tool-args-valid"}, [], False),  # nothing to validate is not a pass
    ],
)
def test_each_tool_assertion_passes_and_fails(assertion: dict[str, Any], calls: list[ToolCall], passed: bool) -> None:
    result = check(assertion, calls)
    assert result.passed is passed, result.reason
    assert result.reason


def test_f1_scores_precision_and_recall() -> None:
    r = check({"type": "tool-call-f1", "expected": ["lookup_order", "refund"]}, [A1, call("lookup_order", {}, 2)])
    # one of two expected matched (recall 0.5), one of two calls matched (precision 0.5)
    assert r.score == pytest.approx(0.5) and "precision 0.50" in r.reason and r.passed is False


@pytest.mark.parametrize(
    ("assertion", "message"),
    [
        ({"type": "tool-call"}, "needs field 'name'"),
        ({"type": "tool-call", "name": ""}, "'name' must be a tool name"),
        ({"type": "tool-call", "name": "x", "args": [1]}, "'args' must be a mapping"),
        ({"type": "tool-call", "name": "x", "args_schema": {"type": "nope"}}, "invalid JSON Schema"),
        ({"type": "tool-call", "name": "x", "args_schema": {"$ref": "https://evil.example/s.json"}}, "invalid JSON"),
        ({"type": "tool-sequence", "names": []}, "non-empty list"),
        ({"type": "tool-sequence", "names": ["a"], "any_order": "yes"}, "'any_order' must be true or false"),
        ({"type": "tool-call-f1", "expected": "a"}, "'expected' must be a list"),
        ({"type": "tool-call-f1", "expected": [{"name": "a", "when": {}}]}, "each expected call"),
        ({"type": "tool-call-f1", "expected": ["a"] * 1001}, "'expected' must be a list"),
        ({"type": "tool-call", "name": "x", "turn": 0}, "'turn' must be a whole number"),
        ({"type": "tool-call", "name": "x", "turn": True}, "'turn' must be a whole number"),
        ({"type": "judge", "criteria": "ok", "turn": 1}, "'turn' applies to deterministic assertions"),
        ({"type": "no-tool-call", "names": ["x"]}, "unknown field 'names'"),
    ],
)
def test_bad_tool_assertions_are_refused_with_file_and_line(assertion: dict[str, Any], message: str) -> None:
    with pytest.raises(PromptFileError) as info:
        parse_assertions([assertion], file="evals/x.yaml", line=7, where="case 'c'")
    assert message in info.value.message and info.value.file == "evals/x.yaml" and info.value.line == 7


def _transcript() -> Transcript:
    return Transcript(
        turns=[
            Turn(index=0, role="user", text="Where is A1?"),
            Turn(index=1, role="assistant", tool_calls=[A1]),
            Turn(index=2, role="tool", text='{"status":"shipped"}', tool_call_id="c0", name="lookup_order"),
            Turn(index=3, role="assistant", text="It shipped."),
            Turn(index=4, role="user", text="Refund it"),
            Turn(index=5, role="assistant", tool_calls=[REF]),
            Turn(index=6, role="tool", text="ok", tool_call_id="c1", name="refund"),
            Turn(index=7, role="assistant", text="Refunded."),
        ]
    )


def test_exchanges_cut_the_transcript_at_user_turns() -> None:
    first, second = exchanges(_transcript())
    assert (first.index, first.text, [c.name for c in first.tool_calls]) == (1, "It shipped.", ["lookup_order"])
    assert (second.index, second.text, [c.name for c in second.tool_calls]) == (2, "Refunded.", ["refund"])
    t = _transcript()
    assert [c.name for c in t.tool_calls()] == ["lookup_order", "refund"] and t.final_text() == "Refunded."


def test_transcript_renders_readably_for_judges() -> None:
    text = render_transcript(_transcript())
    assert text.splitlines() == [
        "USER: Where is A1?",
        'ASSISTANT calls tool lookup_order({"order_id": "A1", "verbose": true})',
        'TOOL lookup_order returned: {"status":"shipped"}',
        "ASSISTANT: It shipped.",
        "USER: Refund it",
        'ASSISTANT calls tool refund({"amount": 20})',
        "TOOL refund returned: ok",
        "ASSISTANT: Refunded.",
    ]
    long = Transcript(turns=[Turn(index=0, role="user", text="x" * 100_000)], stopped="turn_limit")
    rendered = render_transcript(long, max_chars=1000)
    assert len(rendered) < 1100 and "…" in rendered


def test_hostile_arguments_are_bounded() -> None:
    deep = "[" * 100_000 + "]" * 100_000  # a model that writes absurdly nested arguments
    r = check({"type": "tool-call", "name": "lookup_order", "args": {"order_id": "A1"}}, [call("lookup_order", deep)])
    assert r.passed is False and "not a JSON object" in r.reason
    r = check({"type": "tool-args-valid"}, [call("lookup_order", deep)])
    assert r.passed is False
