"""Hostile assertions and hostile model outputs, through a real ``eval run`` against the loopback fake LLM.

A golden set comes from a pull request, and so, in effect, does a model's output (the prompt under review
decides what the model says). Neither may hang or crash the run:

* a JSON Schema whose regexes would backtrack, whose ``$ref`` loops or leaves the schema, is refused at
  load time: exit 2 naming the golden set, before any provider call;
* an output built to hurt the checks (a ReDoS string against a schema ``pattern``, JSON nested 100,000 deep,
  a 5,000-digit integer, ``NaN``) is a failed assertion, scored within the time limit: exit 1, never 3.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.fakellm import FakeLLM
from tests.test_hostile_inputs import run_in_process

GOLDEN_FILE = "evals/support/answer.yaml"
TIME_LIMIT_S = 5.0


@pytest.fixture(scope="module", autouse=True)
def _litellm_imported() -> None:
    """The time limit is for the checks, not for the one-off import of litellm by the first run."""
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # noqa: F401


def golden(assertion: dict[str, object]) -> str:
    return "cases:\n  - id: c1\n    vars: {question: q}\n    assert: [" + json.dumps(assertion) + "]\n"


def schema(s: dict[str, object]) -> dict[str, object]:
    return {"type": "json-schema", "schema": s}


REFUSED = {
    "ref-self": schema({"$ref": "#"}),
    "ref-loop": schema({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
    "ref-allof-self": schema({"allOf": [{"$ref": "#"}]}),
    "ref-remote-http": schema({"$ref": "http://127.0.0.1:9/schema.json"}),
    "ref-remote-https": schema({"$ref": "https://example.com/schema.json"}),
    "ref-file": schema({"$ref": "file:///etc/passwd"}),
    "ref-relative-file": schema({"$ref": "other.json"}),
    "ref-nowhere": schema({"$ref": "#/nope"}),
    "dynamic-ref-remote": schema({"$dynamicRef": "https://example.com/x#meta"}),
    "pattern-backreference": schema({"type": "string", "pattern": "(a)\\1"}),
    "pattern-lookahead": schema({"type": "string", "pattern": "(?=a)a"}),
    "pattern-properties-lookbehind": schema({"patternProperties": {"(?<=a)b": {}}}),
    "nested-pattern-backreference": schema({"properties": {"x": {"items": {"pattern": "(b)\\1"}}}}),
    "pattern-too-long": schema({"pattern": "a" * 20_000}),
    "unevaluated-with-pattern-properties": schema({"patternProperties": {"^a": {}}, "unevaluatedProperties": False}),
    "regex-backreference": {"type": "regex", "value": "(a)\\1"},
    "regex-bad-flag": {"type": "regex", "value": "a", "flags": "x"},
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_hostile_assertion_is_refused_before_any_call(
    name: str, tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_eval_project(tmp_path / "proj", fake_llm.url, golden=golden(REFUSED[name]))
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path / "cache"))
    t0 = time.monotonic()
    code, stdout, stderr = run_in_process(("eval", "run", "support/answer"), root)
    assert time.monotonic() - t0 < TIME_LIMIT_S
    assert code == 2, stdout + stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and GOLDEN_FILE in errors[0], stderr
    assert "Traceback" not in stdout + stderr
    assert fake_llm.count == 0


# (assertion, model output): each output is built to make a naive check slow or crash; each must just fail.
_REDOS = "a" * 40 + "!"
DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE_OUTPUTS = {
    "schema-pattern-redos": (schema({"type": "string", "pattern": "^(a+)+$"}), json.dumps(_REDOS)),
    "schema-pattern-redos-nested": (
        schema({"type": "object", "properties": {"x": {"pattern": "^(a|a)+$"}}}),
        json.dumps({"x": _REDOS}),
    ),
    "schema-pattern-properties-redos": (
        schema({"patternProperties": {"^(a+)+$": {"type": "integer"}}, "additionalProperties": False}),
        json.dumps({_REDOS: 1}),
    ),
    "schema-additional-properties-redos": (
        schema({"properties": {}, "patternProperties": {"^(a+)+$": {}}, "additionalProperties": False}),
        json.dumps({_REDOS: 1, "b" * 40 + "!": 2}),
    ),
    "schema-property-names-redos": (schema({"propertyNames": {"pattern": "^(a+)+$"}}), json.dumps({_REDOS: 1})),
    "regex-redos": ({"type": "regex", "value": "^(a+)+$"}, _REDOS),
    "schema-deep-output": (schema({"type": "array"}), DEEP),
    "is-json-deep-output": ({"type": "is-json"}, DEEP),
    "json-path-deep-output": ({"type": "json-path", "path": "$[0]", "value": 1}, DEEP),
    "equals-deep-output": ({"type": "equals", "value": [1]}, DEEP),
    "schema-deep-object": (schema({"type": "object"}), '{"a":' * 50_000 + "1" + "}" * 50_000),
    "is-json-huge-int": ({"type": "is-json"}, "9" * 5_000),
    "equals-huge-int": ({"type": "equals", "value": 1}, "9" * 5_000),
    "is-json-nan": ({"type": "is-json"}, "NaN"),
    "schema-nan": (schema({"type": "number"}), "[NaN]"),
    "is-json-duplicate-keys": ({"type": "is-json"}, '{"a": 1, "a": 2}'),
    "schema-recursive-tree-deep-output": (
        schema({"type": "array", "items": {"$ref": "#"}}),
        "[" * 30 + "]" * 30 + " " + "x",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE_OUTPUTS))
def test_hostile_output_fails_the_assertion_quickly(
    name: str, tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    assertion, output = HOSTILE_OUTPUTS[name]
    fake_llm.default_reply = output
    root = make_eval_project(tmp_path / "proj", fake_llm.url, golden=golden(assertion))
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path / "cache"))
    t0 = time.monotonic()
    code, stdout, stderr = run_in_process(("eval", "run", "support/answer", "-o", "r.json"), root)
    assert time.monotonic() - t0 < TIME_LIMIT_S
    assert "Traceback" not in stdout + stderr and "internal error" not in stderr
    assert code == 1, stdout + stderr
    (rec,) = json.loads((root / "r.json").read_text())["samples"]
    assert rec["status"] == "fail" and rec["error"] is None
    (a,) = rec["assertions"]
    assert a["passed"] is False and a["score"] == 0.0


def test_legitimate_schema_features_still_work(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RE2 changes nothing for ordinary schemas: patterns, patternProperties, additionalProperties, local $ref."""
    s = {
        "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{3}-\\d+$"}},
        "type": "object",
        "properties": {"id": {"$ref": "#/$defs/code"}, "tags": {"type": "array", "items": {"$ref": "#"}}},
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
        "required": ["id"],
    }
    fake_llm.default_reply = json.dumps({"id": "ABC-12", "x-n": 3, "tags": [{"id": "DEF-1"}]})
    root = make_eval_project(tmp_path / "proj", fake_llm.url, golden=golden(schema(s)))
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path / "cache"))
    code, stdout, stderr = run_in_process(("eval", "run", "support/answer", "-o", "r.json"), root)
    assert code == 0, stdout + stderr
    fake_llm.default_reply = json.dumps({"id": "abc", "extra": 1})
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path / "cache2"))
    code, stdout, stderr = run_in_process(("eval", "run", "support/answer", "-o", "r2.json"), root)
    assert code == 1, stdout + stderr
    (rec,) = json.loads((root / "r2.json").read_text())["samples"]
    assert "schema violation" in rec["assertions"][0]["reason"]
