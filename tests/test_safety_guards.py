"""Serving guards over real HTTP to the loopback fake server: a blocked input makes 0 requests, redaction on
the way in and out, output blocks, size and schema checks, custom callables, the ``guard`` field of the
request record (schema v2, v1 records upgraded) and ``usage report --by guard``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmops_cli import load_prompt
from llmops_cli.errors import GuardBlocked, UsageError
from llmops_cli.safety import guards as g
from llmops_cli.serving import file_sink
from llmops_cli.serving.record import upgrade_record
from llmops_cli.usage import build_report, open_records, resolve_logs
from tests.support.fakellm import FakeLLM
from tests.support.servingproj import read_records, serving_project


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    return serving_project(tmp_path / "proj", fake_llm.url)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "requests.jsonl"


def records(path: Path) -> list[dict[str, Any]]:
    file_sink(path).flush()
    return read_records(path)


def test_blocked_input_makes_no_request(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=str(log_path), guards=[g.pii(action="block")])
    with pytest.raises(GuardBlocked) as err:
        p.complete(question="my card is 4111 1111 1111 1111, refund it")
    assert "credit_card" in str(err.value) and "4111" not in str(err.value)
    assert fake_llm.count == 0
    [rec] = records(log_path)
    assert (rec["outcome"], rec["error_class"]) == ("error", "GuardBlocked")
    assert (rec["tokens_in"], rec["cost_usd"]) == (None, None)
    assert rec["guard"]["summary"] == "blocked:pii" and rec["guard"]["outcome"] == "blocked"
    assert rec["guard"]["hits"] == [{"guard": "pii", "stage": "input", "action": "block", "detail": "credit_card×1"}]


def test_oversized_input_is_blocked_before_the_call(project: Path, fake_llm: FakeLLM) -> None:
    p = load_prompt("support/answer", root=project, guards=[g.max_size(max_tokens=50)])
    p.complete(question="short question")
    assert fake_llm.count == 1
    with pytest.raises(GuardBlocked, match="tokens > 50"):
        p.complete(question="x" * 400)
    assert fake_llm.count == 1


def test_input_redaction_reaches_the_provider_redacted(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=str(log_path), guards=[g.pii(stage="input")])
    p.complete(question="I am jane@example.com, IBAN DE89 3704 0044 0532 0130 00")
    sent = json.dumps(fake_llm.last_request.body)
    assert "jane@example.com" not in sent and "DE89" not in sent
    assert "[REDACTED:email]" in sent and "[REDACTED:iban]" in sent
    [rec] = records(log_path)
    assert rec["outcome"] == "ok" and rec["guard"]["summary"] == "redacted:pii"


def test_output_redaction_and_flag(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    fake_llm.default_reply = "Sure, call +49 30 1234567 or write to bob@corp.io"
    guards = [
        g.pii(stage="output", detectors=["phone"]),
        g.pii(stage="output", detectors=["email"], action="flag", name="mail"),
    ]
    p = load_prompt("support/answer", root=project, log=str(log_path), guards=guards)
    out = p.complete(question="who do I call?")
    assert out.choices[0].message.content == "Sure, call [REDACTED:phone] or write to bob@corp.io"
    [rec] = records(log_path)
    assert rec["guard"]["summary"] == "redacted:pii"
    assert [h["action"] for h in rec["guard"]["hits"]] == ["redact", "flag"]
    assert rec["guard"]["checked"] == ["pii", "mail"]


def test_output_block_is_paid_and_recorded(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    fake_llm.default_reply = "not json at all"
    schema = {"type": "object", "required": ["answer"]}
    p = load_prompt("support/answer", root=project, log=str(log_path), guards=[g.json_schema(schema)])
    with pytest.raises(GuardBlocked, match="not JSON"):
        p.complete(question="q")
    assert fake_llm.count == 1
    fake_llm.default_reply = '{"other": 1}'
    with pytest.raises(GuardBlocked, match="schema violation"):
        p.complete(question="q")
    fake_llm.default_reply = '```json\n{"answer": "yes"}\n```'
    assert p.complete(question="q").choices[0].message.content.startswith("```json")
    recs = records(log_path)
    assert [r["guard"]["outcome"] for r in recs] == ["blocked", "blocked", "pass"]
    assert recs[0]["tokens_out"] is not None  # the reply was paid for: its tokens are recorded


def test_custom_and_refusal_guards_and_async(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    fake_llm.default_reply = "I'm sorry, but I can't help with that."

    def boom(text: str) -> bool:
        raise RuntimeError("broken check")

    guards = [
        g.refusal(),
        g.custom(lambda t: "competitor" in t.lower() and "mentions a competitor", name="brand", stage="input"),
        g.custom(boom, name="broken"),
    ]
    p = load_prompt("support/answer", root=project, log=str(log_path), guards=guards)
    asyncio.run(p.acomplete(question="Is Competitor cheaper?"))
    [rec] = records(log_path)
    hits = {h["guard"]: h for h in rec["guard"]["hits"]}
    assert hits["brand"]["detail"] == "mentions a competitor" and hits["brand"]["stage"] == "input"
    assert hits["refusal"]["detail"] == "refusal (en)"
    assert hits["broken"]["detail"] == "check raised RuntimeError"
    assert rec["guard"]["summary"] == "flagged:brand,broken,refusal"


def test_guards_as_mappings_and_schema_from_the_prompt(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = serving_project(tmp_path / "p", fake_llm.url)
    (root / "prompts/support/json.prompt.yaml").write_text(
        "model: chat\noutput:\n  format: json\n  schema: {type: object, required: [a]}\n"
        "messages:\n  - {role: user, content: hi}\n",
        encoding="utf-8",
    )
    fake_llm.default_reply = '{"b": 1}'
    p = load_prompt("support/json", root=root, guards=[{"type": "json_schema"}, {"type": "pii", "action": "flag"}])
    with pytest.raises(GuardBlocked, match="schema violation"):
        p.complete()


@pytest.mark.parametrize(
    ("guards", "message"),
    [
        ([{"type": "nope"}], "guard type must be one of"),
        ([{"type": "pii", "detectors": ["mail"]}], "unknown detector 'mail'"),
        ([{"type": "pii", "colour": 1}], "unexpected keyword"),
        ([g.pii], "guards= takes Guard objects"),
        ("pii", "guards= takes a list"),
        ([{"type": "max_size"}], "give max_chars and/or max_tokens"),
        ([{"type": "max_size", "max_chars": 10, "action": "redact"}], "only detector guards"),
        ([{"type": "pii", "stage": "sideways"}], "stage must be one of"),
        ([{"type": "json_schema", "schema": {"type": 3}}], "invalid JSON Schema"),
        ([{"type": "refusal", "languages": ["xx"]}], "'languages'"),
    ],
)
def test_invalid_guards_are_usage_errors(project: Path, guards: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_prompt("support/answer", root=project, guards=guards)


def test_guard_records_round_trip_through_usage_report(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=str(log_path), guards=[g.pii(action="block")])
    p.complete(question="fine")
    p.complete(question="also fine")
    with pytest.raises(GuardBlocked):
        p.complete(question="mail me at a@b.io")
    records(log_path)
    # an older, version-1 record (no guard field) in the same log is read as "no guards"
    v1 = {k: v for k, v in read_records(log_path)[0].items() if k != "guard"} | {"v": 1}
    with log_path.open("a", encoding="ascii") as fh:
        fh.write(json.dumps(v1) + "\n")
    rep = build_report(open_records(resolve_logs([str(log_path)])), by=["guard"])
    got = {r["key"]["guard"]: (r["calls"], r["errors"]) for r in rep.groups}
    assert got == {"pass": (2, 0), "blocked:pii": (1, 1), None: (1, 0)}


def test_upgrade_record() -> None:
    old = {"v": 1, "ts": "t", "tags": {}, "input": [], "output": "x"}
    new = upgrade_record(old)
    assert new["v"] == 2 and new["guard"] is None and list(new)[-2:] == ["input", "output"]
    assert old["v"] == 1 and "guard" not in old
    assert upgrade_record({"v": 2, "guard": None}) == {"v": 2, "guard": None}


def test_inputs_a_guard_cannot_read_fully_are_hits() -> None:
    """Deeply nested or huge variables are not waved through: the part past the bounds is a hit."""
    from llmops_cli.safety.guards import MAX_DEPTH, MAX_VARIABLE_STRINGS, GuardRecord, GuardSet

    deep: Any = "mail jane@x.io"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    blocking = GuardSet.of([g.pii(stage="input", action="block")])
    with pytest.raises(GuardBlocked, match="nested too deeply"):
        blocking.check_variables({"q": deep}, GuardRecord())
    many = {"q": ["fine"] * (MAX_VARIABLE_STRINGS + 1)}
    record = GuardRecord()
    GuardSet.of([g.pii(stage="input", action="flag")]).check_variables(many, record)
    assert record.summary == "flagged:pii" and "too large" in record.hits[0].detail
    ok = GuardRecord()
    GuardSet.of([g.pii(stage="input", action="flag")]).check_variables({"q": ["fine"] * 100}, ok)
    assert ok.summary == "pass"


GUARDED = """
model: chat
inputs:
  question: {type: string}
guards:
  - {type: pii, stage: input, action: block, detectors: [email, credit_card]}
  - {type: max_size, max_chars: 2000}
messages:
  - role: user
    content: "Q: {{ question }}"
"""


def test_guards_declared_in_the_prompt_file(tmp_path: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    root = serving_project(tmp_path / "p", fake_llm.url)
    (root / "prompts/support/guarded.prompt.yaml").write_text(GUARDED, encoding="utf-8")
    p = load_prompt("support/guarded", root=root)
    with pytest.raises(GuardBlocked, match="email"):
        p.complete(question="I am a@b.io")
    assert fake_llm.count == 0
    p.complete(question="fine")
    assert fake_llm.count == 1
    # code adds guards after the file's; it cannot drop them
    flagged = load_prompt(
        "support/guarded", root=root, log=str(log_path), guards=[g.custom(lambda t: "x" in t, name="x", stage="input")]
    )
    with pytest.raises(GuardBlocked):
        flagged.complete(question="x and 4111 1111 1111 1111")
    flagged.complete(question="x marks the spot")
    first, second = records(log_path)
    assert first["guard"]["checked"] == ["pii", "max_size", "x"] and first["guard"]["summary"] == "blocked:pii"
    assert second["guard"]["summary"] == "flagged:x"


def test_lint_checks_declared_guards(tmp_path: Path, fake_llm: FakeLLM) -> None:
    from llmops_cli.lint import lint_project
    from llmops_cli.project import Project

    root = serving_project(tmp_path / "p", fake_llm.url)
    bad = GUARDED.replace("detectors: [email, credit_card]", "detectors: [emails]")
    (root / "prompts/support/guarded.prompt.yaml").write_text(bad, encoding="utf-8")
    findings = [f for f in lint_project(Project.open(root)) if f.code == "bad-guard"]
    assert len(findings) == 1 and "unknown detector 'emails'" in findings[0].message and findings[0].line == 6
    (root / "prompts/support/guarded.prompt.yaml").write_text(bad.replace("type: pii, ", ""), encoding="utf-8")
    lint = lint_project(Project.open(root))
    assert any("guard 0 needs a 'type'" in f.message for f in lint)


def test_guard_outcome_on_the_opentelemetry_span(project: Path, fake_llm: FakeLLM) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmops_cli.serving import OtelOptions

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    p = load_prompt("support/answer", root=project, otel=OtelOptions(provider), guards=[g.pii(action="block")])
    p.complete(question="fine")
    with pytest.raises(GuardBlocked):
        p.complete(question="a@b.io")
    first, second = exporter.get_finished_spans()
    assert first.attributes["llmops.guard"] == "pass"
    assert second.attributes["llmops.guard"] == "blocked:pii" and second.attributes["error.type"] == "GuardBlocked"
    assert fake_llm.count == 1
    plain = load_prompt("support/answer", root=project, otel=OtelOptions(provider))
    plain.complete(question="fine")
    assert "llmops.guard" not in exporter.get_finished_spans()[-1].attributes


def test_json_schema_guard_runs_schema_regexes_in_re2() -> None:
    """A catastrophic-backtracking pattern cannot hang a serving call; patterns RE2 cannot run are refused."""
    import time

    from llmops_cli.safety.guards import GuardRecord, GuardSet

    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}},
        "patternProperties": {"^(x+)+y$": {"type": "integer"}},
        "additionalProperties": False,
    }
    guards = GuardSet.of([g.json_schema(schema, action="flag")])
    record = GuardRecord()
    t0 = time.perf_counter()
    guards.check_output(json.dumps({"a": "a" * 5000 + "!"}), record)
    guards.check_output(json.dumps({"x" * 5000: 1}), record)
    assert time.perf_counter() - t0 < 2.0
    assert [h.detail for h in record.hits] == ["schema violation at a", "schema violation at (root)"]
    ok = GuardRecord()
    guards.check_output('{"a": "aaa", "xxy": 3}', ok)
    assert ok.summary == "pass"
    for bad, message in [
        ({"type": "string", "pattern": "(a)\\1"}, "RE2"),
        ({"$ref": "https://example.com/s.json"}, "must point inside the schema"),
        ({"type": 7}, "invalid JSON Schema"),
    ]:
        with pytest.raises(UsageError, match=message):
            g.json_schema(bad)
