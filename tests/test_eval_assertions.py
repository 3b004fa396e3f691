"""Unit tests: every assertion type, validation errors, judge verdict parsing, shard hashing, summaries."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_cli.errors import PromptFileError, UsageError
from llmops_cli.evals.assertions import (
    OutputContext,
    evaluate,
    parse_assertions,
    parse_json_path,
    sample_verdict,
)
from llmops_cli.evals.judges import JudgeParseError, format_text, normalize, parse_verdict
from llmops_cli.evals.selection import parse_shard, shard_of
from llmops_cli.evals.summary import percentile


def check(raw: dict[str, Any], output: str, **ctx: Any) -> tuple[float | None, bool | None, str]:
    schema = ctx.pop("output_schema", None)
    (spec,) = parse_assertions([raw], file="evals/x.yaml", line=3, where="case 'a'", output_schema=schema)
    r = evaluate(spec, OutputContext(output, output_schema=schema, **ctx))
    return r.score, r.passed, r.reason


@pytest.mark.parametrize(
    ("raw", "output", "passed"),
    [
        ({"type": "equals", "value": "Paris"}, " Paris\n", True),
        ({"type": "equals", "value": "Paris"}, "paris", False),
        ({"type": "equals", "value": {"a": 1}}, '{"a": 1.0}', True),
        ({"type": "contains", "value": "5 days"}, "It takes 5 days.", True),
        ({"type": "contains", "value": "5 Days"}, "It takes 5 days.", False),
        ({"type": "icontains", "value": "5 DAYS"}, "It takes 5 days.", True),
        ({"type": "contains-any", "values": ["x", "days"]}, "5 days", True),
        ({"type": "contains-any", "values": ["x", "z"]}, "5 days", False),
        ({"type": "icontains-any", "values": ["DAYS"]}, "5 days", True),
        ({"type": "contains-all", "values": ["5", "days"]}, "5 days", True),
        ({"type": "icontains-all", "values": ["5", "DAYS"]}, "5 days", True),
        ({"type": "starts-with", "value": "Yes"}, "  Yes, we do.", True),
        ({"type": "starts-with", "value": "No"}, "Yes, we do.", False),
        ({"type": "regex", "value": r"\b\d+ days\b"}, "within 30 days.", True),
        ({"type": "regex", "value": "^yes", "flags": "i"}, "YES sir", True),
        ({"type": "is-json"}, '{"a": [1, 2]}', True),
        ({"type": "is-json"}, '```json\n{"a": 1}\n```', True),
        ({"type": "is-json"}, "{a: 1}", False),
        ({"type": "json-path", "path": "$.a.b[0]", "value": 3}, '{"a": {"b": [3, 4]}}', True),
        ({"type": "json-path", "path": "$['a']['b'][-1]", "value": 4}, '{"a": {"b": [3, 4]}}', True),
        ({"type": "json-path", "path": "$.a.c", "value": 3}, '{"a": {"b": [3, 4]}}', False),
        ({"type": "json-path", "path": "$.ok", "value": True}, '{"ok": 1}', False),
        ({"type": "word-count", "min": 2, "max": 3}, "one two three", True),
        ({"type": "word-count", "max": 2}, "one two three", False),
        ({"type": "char-count", "min": 3}, "ab", False),
        ({"type": "not-contains", "value": "sorry"}, "Sure!", True),
        ({"type": "not-icontains", "value": "SORRY"}, "sorry, no", False),
        ({"type": "not-is-json"}, "plain text", True),
    ],
)
def test_deterministic_assertions(raw: dict[str, Any], output: str, passed: bool) -> None:
    score, ok, reason = check(raw, output)
    assert ok is passed, reason
    assert score == (1.0 if passed else 0.0) or raw["type"].endswith("-all")
    assert reason


def test_contains_all_is_graded_and_threshold_applies() -> None:
    score, ok, reason = check({"type": "contains-all", "values": ["a", "b", "c", "d"]}, "a b c")
    assert (score, ok) == (0.75, False) and "missing 1 of 4" in reason
    score, ok, _ = check({"type": "contains-all", "values": ["a", "b", "c", "d"], "threshold": 0.7}, "a b c")
    assert (score, ok) == (0.75, True)


def test_json_schema_defaults_to_the_prompt_output_schema() -> None:
    schema = {"type": "object", "required": ["label"], "properties": {"label": {"enum": ["bug", "question"]}}}
    assert check({"type": "json-schema"}, '{"label": "bug"}', output_schema=schema)[1] is True
    _, ok, reason = check({"type": "json-schema"}, '{"label": "praise"}', output_schema=schema)
    assert ok is False and "label" in reason
    inline = {"type": "json-schema", "schema": {"type": "array"}}
    assert check(inline, "[1]")[1] is True
    assert check(inline, "not json")[1] is False


def test_latency_and_cost() -> None:
    assert check({"type": "latency", "max_ms": 500}, "x", latency_ms=120.0)[1] is True
    assert check({"type": "latency", "max_ms": 100}, "x", latency_ms=120.0)[1] is False
    assert check({"type": "cost", "max_usd": 0.01}, "x", cost_usd=0.002)[1] is True
    assert check({"type": "cost", "max_usd": 0.001}, "x", cost_usd=0.002)[1] is False


def test_weight_metric_threshold_are_carried() -> None:
    (spec,) = parse_assertions(
        [{"type": "judge", "criteria": "polite", "weight": 2, "metric": "politeness", "threshold": 0.8}],
        file="f",
        line=1,
        where="c",
    )
    assert (spec.weight, spec.metric, spec.threshold, spec.is_judge) == (2.0, "politeness", 0.8, True)
    (spec,) = parse_assertions([{"type": "factuality"}], file="f", line=1, where="c")
    assert spec.threshold == 0.5 and spec.metric == "factuality"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "containz", "value": "x"}, "unknown type 'containz'; did you mean 'contains'"),
        ({"value": "x"}, "has no 'type'"),
        ({"type": "contains"}, "needs field 'value'"),
        ({"type": "contains", "value": "x", "valeu": 1}, "unknown field 'valeu'"),
        ({"type": "regex", "value": "("}, "invalid regular expression"),
        ({"type": "json-schema"}, "needs 'schema'"),
        ({"type": "json-path", "path": "a.b", "value": 1}, "starting with '$'"),
        ({"type": "json-path", "path": "$..a", "value": 1}, "unsupported JSON path"),
        ({"type": "word-count"}, "needs 'min' and/or 'max'"),
        ({"type": "not-judge", "criteria": "x"}, "cannot negate"),
        ({"type": "judge"}, "needs field 'criteria'"),
        ({"type": "contains", "value": "x", "threshold": 2}, "'threshold' must be a number in [0, 1]"),
        ({"type": "contains-any", "values": []}, "non-empty list"),
    ],
)
def test_invalid_assertions_name_file_and_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PromptFileError) as info:
        parse_assertions([raw], file="evals/support/answer.yaml", line=7, where="case 'refund'")
    err = info.value
    assert message in err.message
    assert str(err).startswith("evals/support/answer.yaml:7: case 'refund': assertion 0")


def test_json_path_subset() -> None:
    assert parse_json_path("$.a['b c'][2][\"d\"]") == ["a", "b c", 2, "d"]
    assert parse_json_path("$") == []


def test_sample_verdict_weights_and_errors() -> None:
    specs = parse_assertions(
        [{"type": "contains", "value": "a", "weight": 3}, {"type": "contains", "value": "zzz"}],
        file="f",
        line=1,
        where="c",
    )
    results = [evaluate(s, OutputContext("a")) for s in specs]
    assert sample_verdict(results) == (0.75, False)
    assert sample_verdict(results[:1]) == (1.0, True)


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ('{"reasoning": "good", "score": 4}', 4.0),
        ('```json\n{"reasoning": "ok", "score": 5}\n```', 5.0),
        ('Sure! Here is my verdict: {"reasoning": "has {braces} \\" inside", "score": 2} Thanks.', 2.0),
        ('{"reasoning": "x", "score": "3"}', 3.0),
    ],
)
def test_parse_verdict(reply: str, score: float) -> None:
    assert parse_verdict(reply)[0] == score


@pytest.mark.parametrize(
    "reply",
    ["no json here", '{"reasoning": "x"}', '{"reasoning": "x", "score": 9}', '{"score": true}', "[1, 2]", '{"a": '],
)
def test_parse_verdict_rejects(reply: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_verdict(reply)


def test_normalize_and_format() -> None:
    assert [normalize(s) for s in (1, 3, 5)] == [0.0, 0.5, 1.0]
    assert format_text(["a", "b"]) == "- a\n- b"
    assert format_text({"k": "v"}) == "k: v"


def test_shards_are_stable_and_partition() -> None:
    ids = [f"case-{i}" for i in range(200)]
    shards = [shard_of("p", i, 4) for i in ids]
    assert shards == [shard_of("p", i, 4) for i in ids]
    assert set(shards) == {1, 2, 3, 4}
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x", "1-2"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_percentile() -> None:
    values = sorted(float(i) for i in range(1, 101))
    assert percentile(values, 50) == 50.0 and percentile(values, 95) == 95.0 and percentile([], 50) is None
