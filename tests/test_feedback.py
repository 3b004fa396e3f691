"""Feedback: ``Prompt.feedback()`` to the request sink, ``llmops usage feedback`` imports, the join by request id in
``usage report`` (rate and mean per group, unknown ids counted), and the redacted input variables of
content-logged records (inputs for replay). Real serving calls go over HTTP to the loopback fake server."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import UsageError
from llmops_cli.records.base import load_record
from llmops_cli.records.feedback import MAX_COMMENT_CHARS, FeedbackRecord
from llmops_cli.releases.loader import load_prompt
from llmops_cli.serving import file_sink
from llmops_cli.serving.record import MAX_VARS_CHARS, MAX_VARS_DEPTH
from llmops_cli.usage.engine import LogFileError, open_records, record_problem
from llmops_cli.usage.feedback import FeedbackFileError, import_feedback
from llmops_cli.usage.logfiles import resolve_logs
from llmops_cli.usage.report import build_report
from llmops_cli.usage.synth import Stream, generate
from tests.conftest import REPO_ROOT, run_cli
from tests.support.fakellm import FakeLLM
from tests.support.servingproj import read_records, serving_project

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
ENV = {"PYTHONPATH": str(REPO_ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _report(*paths: Path, skip: bool = False, **kw: Any):  # type: ignore[no-untyped-def]
    return build_report(open_records(resolve_logs([str(p) for p in paths]), skip_invalid=skip), **kw)


def _feedback(rid: str, score: float | None = None, ts: str = "2026-11-21T00:00:00Z", **kw: Any) -> str:
    return json.dumps({"kind": "feedback", "schema_version": 1, "ts": ts, "request_id": rid, "score": score, **kw})


# -- the serving object --------------------------------------------------------------------------------------


def test_feedback_goes_to_the_request_sink_and_joins_by_request_id(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = serving_project(tmp_path / "proj", fake_llm.url)
    log = tmp_path / "logs" / "requests.jsonl"
    p = load_prompt("support/answer", root=root, log=str(log))
    for i in range(6):
        p.complete(question=f"question {i}", request_id=f"call-{i}")
    up = p.feedback("call-0", score=1, label="helpful")
    p.feedback("call-1", score=-1, label="wrong", comment="<script>alert(1)</script>")
    p.feedback("call-1", score=-1)  # a second piece of feedback on the same call
    p.feedback("never-served", score=1)  # unknown id: counted, never an error
    file_sink(log).flush()

    recs = read_records(log)
    fb = [r for r in recs if r.get("kind") == "feedback"]
    assert len(recs) == 10 and len(fb) == 4
    assert fb[0] == {**json.loads(json.dumps(up.model_dump())), "kind": "feedback"}
    assert fb[0]["prompt"] == "support/answer" and fb[0]["source"] == "app" and fb[0]["score"] == 1.0
    assert fb[1]["comment"] == "<script>alert(1)</script>"  # kept as text: never rendered, never read back
    for r in fb:
        load_record(FeedbackRecord, r, source="log")  # every line is a valid feedback record

    rep = _report(log, by=["prompt"])
    assert rep.total["calls"] == 6 and rep.annotations == 4 and rep.unknown_feedback == 1
    assert rep.total["feedback"] == 3 and rep.total["feedback_calls"] == 2
    assert rep.total["feedback_rate"] == pytest.approx(2 / 6, abs=1e-6)
    assert rep.total["feedback_mean"] == pytest.approx(-1 / 3, abs=1e-6)
    [group] = rep.groups
    assert group["feedback_calls"] == 2 and group["feedback_mean"] == pytest.approx(-1 / 3, abs=1e-6)


def test_feedback_arguments_are_checked_and_comments_cleaned(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = serving_project(tmp_path / "proj", fake_llm.url)
    log = tmp_path / "requests.jsonl"
    p = load_prompt("support/answer", root=root, log=str(log))
    for bad in (
        {"request_id": "has space", "score": 1},
        {"request_id": "x" * 129, "score": 1},
        {"request_id": "ok", "score": True},
        {"request_id": "ok", "score": float("nan")},
        {"request_id": "ok", "score": 1e7},
        {"request_id": "ok", "label": "bad\x1b[31mlabel"},
        {"request_id": "ok", "label": "x" * 65},
        {"request_id": "ok"},  # nothing to say
    ):
        rid = bad.pop("request_id")
        with pytest.raises(UsageError):
            p.feedback(rid, **bad)
    os.environ["OPENAI_API_KEY"] = SECRET
    try:
        rec = p.feedback("ok", comment=f"key {SECRET}\x1b[2J\u202eevil\nline two" + "y" * 5000)
    finally:
        del os.environ["OPENAI_API_KEY"]
    assert rec.comment is not None and SECRET not in rec.comment and "[REDACTED" in rec.comment
    assert "\x1b" not in rec.comment and "\u202e" not in rec.comment and "\nline two" in rec.comment
    assert len(rec.comment) == MAX_COMMENT_CHARS
    file_sink(log).flush()
    assert SECRET not in log.read_text()


def test_feedback_without_a_sink_writes_nothing(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.delenv("LLMOPS_LOG", raising=False)
    root = serving_project(tmp_path / "proj", fake_llm.url)
    p = load_prompt("support/answer", root=root)
    rec = p.feedback("abc", score=1)
    assert rec.request_id == "abc" and not list(tmp_path.rglob("*.jsonl"))


# -- inputs for replay ---------------------------------------------------------------------------------------


def test_content_logging_keeps_redacted_bounded_input_variables(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = tmp_path / "proj"
    serving_project(root, fake_llm.url)
    (root / "prompts/support/answer.prompt.yaml").write_text(
        "model: chat\ninputs:\n  question: {type: string}\n  extra: {type: object, required: false}\n"
        "messages:\n  - role: user\n    content: 'Q: {{ question }}'\n"
    )
    log = tmp_path / "requests.jsonl"
    p = load_prompt("support/answer", root=root, log=str(log))
    p.complete(question=f"my key is {SECRET}", log_content=True, request_id="a")
    os.environ["OPENAI_API_KEY"] = SECRET
    try:
        p.complete(question=f"my key is {SECRET}", log_content=True, request_id="b")
    finally:
        del os.environ["OPENAI_API_KEY"]
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(MAX_VARS_DEPTH + 2):
        node["x"] = {}
        node = node["x"]
    p.complete(question="deep", extra=deep, log_content=True, request_id="c")
    p.complete(question="q" * (MAX_VARS_CHARS + 10), log_content=True, request_id="d")
    p.complete(question="no content", request_id="e")
    file_sink(log).flush()
    recs = {r["request_id"]: r for r in read_records(log)}
    assert recs["a"]["vars"] == {"question": "my key is [REDACTED]"}  # token shape redacted
    assert recs["b"]["vars"] == {"question": "my key is [REDACTED:OPENAI_API_KEY]"}
    assert recs["c"]["vars"] is None and recs["d"]["vars"] is None  # logged whole or not at all
    assert "vars" not in recs["e"] and "input" not in recs["e"]
    assert list(recs["a"])[-3:] == ["input", "output", "vars"]


# -- the report's join ----------------------------------------------------------------------------------------


def test_report_joins_feedback_with_known_ground_truth(tmp_path: Path) -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    streams = [Stream(version="1.0.0", hours=48, per_hour=10), Stream(version="1.1.0", hours=48, per_hour=10)]
    calls = list(generate(streams, start=start, seed=5))
    log = tmp_path / "requests.jsonl"
    truth: dict[tuple[str, str], list[float]] = {}
    with open(log, "w") as fh:
        for r in calls:
            fh.write(json.dumps(r) + "\n")
        for i, r in enumerate(calls):
            if i % 4 == 0:  # a quarter get feedback: +1 on 1.0.0, -1 on 1.1.0 (days split by ts)
                score = 1.0 if r["version"] == "1.0.0" else -1.0
                fh.write(_feedback(r["request_id"], score) + "\n")
                if i % 8 == 0:  # the same file imported twice: counted once
                    fh.write(_feedback(r["request_id"], score) + "\n")
                truth.setdefault((r["version"], r["ts"][:10]), []).append(score)
        fh.write(_feedback("unknown-1", 1) + "\n")
        fh.write(_feedback("unknown-2", label="spam") + "\n")
    rep = _report(log, by=["version", "day"])
    assert rep.unknown_feedback == 2 and rep.total["calls"] == len(calls)
    for g in rep.groups:
        scores = truth[(g["key"]["version"], g["key"]["day"])]
        assert g["feedback"] == g["feedback_calls"] == len(scores)
        assert g["feedback_rate"] == pytest.approx(len(scores) / g["calls"], abs=1e-6)
        assert g["feedback_mean"] == pytest.approx(sum(scores) / len(scores))
    # a window: feedback counts with its call, whenever it was given
    since = datetime(2026, 11, 21, tzinfo=UTC)
    rep2 = _report(log, by=["version"], since=since)
    assert rep2.total["feedback"] == sum(len(v) for (ver, day), v in truth.items() if day >= "2026-11-21")


def test_report_without_feedback_keeps_its_shape(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in generate([Stream(hours=2)], start=datetime(2026, 1, 1))))
    rep = _report(log, by=["version"])
    assert rep.annotations == 0 and "feedback" not in rep.total and "feedback" not in rep.groups[0]


# -- hostile feedback in the logs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"kind": "feedbak", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a"}', "kind:"),
        ('{"kind": "feedback", "schema_version": 2, "ts": "2026-11-21T00:00:00Z", "request_id": "a"}', "schema_version"),
        ('{"kind": "feedback", "schema_version": 1, "ts": "2026-11-21", "request_id": "a"}', "ts:"),
        ('{"kind": "feedback", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a b"}', "request_id"),
        ('{"kind": "feedback", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": 5}', "request_id"),
        ('{"kind": "feedback", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a", "score": "1"}',
         "score:"),
        ('{"kind": "feedback", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a", "score": 1e300}',
         "score:"),
        ('{"kind": "score", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a", "score": 0.5}',
         "metric:"),
        ('{"kind": "score", "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a", "metric": "m", '
         '"score": 3}', "score:"),
        ('{"kind": ["feedback"], "schema_version": 1, "ts": "2026-11-21T00:00:00Z", "request_id": "a"}', "kind:"),
    ],
)  # fmt: skip
def test_invalid_feedback_records_are_named_or_counted(tmp_path: Path, line: str, reason: str) -> None:
    log = tmp_path / "requests.jsonl"
    good = json.dumps(next(generate([Stream(hours=1)], start=datetime(2026, 11, 21, tzinfo=UTC))))
    ok_fb = _feedback("fine", 1)
    log.write_text(f"{good}\n{ok_fb}\n{line}\n")
    assert record_problem(ok_fb) is None
    problem = record_problem(line)
    assert problem is not None and problem.startswith(reason)
    with pytest.raises(LogFileError, match=rf"requests.jsonl:3: {reason}"):
        _report(log)
    rep = _report(log, skip=True)
    assert rep.invalid == 1 and rep.total["calls"] == 1 and rep.unknown_feedback == 1


# -- usage feedback: imports --------------------------------------------------------------------------------


def test_import_feedback_strict_names_the_line_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "survey.jsonl"
    target = tmp_path / "requests.jsonl"
    src.write_text(
        '{"request_id": "a", "score": 1}\n\n{"request_id": "b", "scroe": -1}\n{"request_id": "c", "score": -1}\n'
    )
    with pytest.raises(FeedbackFileError, match=r"survey.jsonl:3: \$.scroe: unknown field"):
        import_feedback(str(src), str(target))
    assert not target.exists()
    res = import_feedback(str(src), str(target), skip_invalid=True)
    assert (res.written, res.skipped, res.read) == (2, 1, 3)
    recs = read_records(target)
    assert [r["request_id"] for r in recs] == ["a", "c"] and all(r["source"] == "import" for r in recs)


def test_import_feedback_hostile_lines_are_clean_errors(tmp_path: Path) -> None:
    src = tmp_path / "hostile.jsonl"
    lines = [
        b'{"request_id": "ok1", "score": 1, "comment": "<img src=x onerror=alert(1)> \\u001b[31m red"}',
        b'{"request_id": "big", "comment": "' + b"x" * 70_000 + b'"}',  # over the line bound
        b"[" * 50 + b"]" * 50,  # deep
        b'{"request_id": "dup", "score": 1, "score": -1}',  # repeated key
        b'{"request_id": "nan", "score": NaN}',
        b"\xff\xfe not utf-8",
        b'{"request_id": "str", "score": "1"}',
        b'"just a string"',
        b'{"request_id": "ok2", "label": "wrong", "ts": "2026-11-21T10:00:00+02:00", "prompt": "support/answer"}',
        b'{"request_id": "kind", "kind": "score", "score": 1}',
        b'{"request_id": "c", "comment": 5}',
    ]
    src.write_bytes(b"\n".join(lines) + b"\n")
    target = tmp_path / "out.jsonl"
    res = import_feedback(str(src), str(target), skip_invalid=True)
    assert res.written == 2 and res.skipped == 9 and len(res.examples) == 5
    assert all(":" in ex and "hostile.jsonl:" in ex for ex in res.examples)
    first, second = read_records(target)
    assert first["comment"] == "<img src=x onerror=alert(1)>  [31m red"  # control character replaced
    assert second["ts"] == "2026-11-21T10:00:00+02:00" and second["label"] == "wrong"


def test_import_feedback_refuses_a_fifo_and_the_same_file(tmp_path: Path) -> None:
    src = tmp_path / "fb.jsonl"
    src.write_text('{"request_id": "a", "score": 1}\n')
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match=r"not a regular file|cannot write"):
        import_feedback(str(src), str(fifo))
    with pytest.raises(UsageError, match="same file"):
        import_feedback(str(src), str(src))


def test_cli_usage_feedback_then_report(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    calls = list(generate([Stream(hours=1, per_hour=20)], start=datetime(2026, 11, 21, tzinfo=UTC)))
    log.write_text("".join(json.dumps(r) + "\n" for r in calls))
    src = tmp_path / "survey.jsonl"
    src.write_text("".join(json.dumps({"request_id": r["request_id"], "score": -1}) + "\n" for r in calls[:5]))
    res = run_cli("usage", "feedback", str(src), "--to", str(log), "--json", env=ENV)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["written"] == 5
    res = run_cli("usage", "report", str(log), "--by", "version", "--json", env=ENV)
    total = json.loads(res.stdout)["total"]
    assert total["feedback_calls"] == 5 and total["feedback_mean"] == -1.0
    text = run_cli("usage", "report", str(log), env=ENV)
    assert text.exit_code == 0 and "feedback" in text.stdout and "25.0% (5)" in text.stdout
    bad = run_cli("usage", "feedback", "--from", str(tmp_path / "missing.jsonl"), "--to", str(log), env=ENV)
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    both = run_cli("usage", "feedback", str(src), "--from", str(src), "--to", str(log), env=ENV)
    assert both.exit_code == 2


def test_check_and_compare_ignore_feedback_and_scores(tmp_path: Path) -> None:
    from llmops_cli.usage.check import CheckOptions, run_check
    from llmops_cli.usage.compare import run_compare

    start = datetime(2026, 11, 20, tzinfo=UTC)
    streams = [
        Stream(version="1.0.0", channel="production", arm="stable", hours=30, per_hour=30),
        Stream(version="1.1.0", channel="production", arm="canary", hours=30, per_hour=10),
    ]
    calls = list(generate(streams, start=start, seed=9))
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps(r) + "\n" for r in calls))
    annotated = tmp_path / "annotated.jsonl"
    with open(annotated, "w") as fh:
        for r in calls:
            fh.write(json.dumps(r) + "\n")
            fh.write(_feedback(r["request_id"], -1, ts=r["ts"]) + "\n")
            fh.write(json.dumps({"kind": "score", "schema_version": 1, "ts": r["ts"], "request_id": r["request_id"],
                                 "metric": "rubric", "score": 0.5}) + "\n")  # fmt: skip
    now = start.replace(hour=23)
    opts = CheckOptions(budget_per_day=0.01)
    a = run_check(open_records(resolve_logs([str(plain)])), opts, now=now)
    b = run_check(open_records(resolve_logs([str(annotated)])), opts, now=now)
    assert a.to_dict()["findings"] == b.to_dict()["findings"] and a.findings
    ca = run_compare(open_records(resolve_logs([str(plain)])), "production", seed=1, resamples=200)
    cb = run_compare(open_records(resolve_logs([str(annotated)])), "production", seed=1, resamples=200)
    da, db = ca.to_dict(), cb.to_dict()
    dec_a, dec_b = da.pop("decision"), db.pop("decision")
    assert da == db  # the fixed-n comparison reads request records only
    # the canary decision joins scores and feedback by request id (tests/test_canary_verdict.py)
    added = {m["metric"] for m in dec_b["metrics"]} - {m["metric"] for m in dec_a["metrics"]}
    assert added == {"quality:rubric", "feedback"}


def test_huge_and_mismatched_feedback_is_counted(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    calls = list(generate([Stream(hours=1, per_hour=50)], start=datetime(2026, 11, 21, tzinfo=UTC), seed=2))
    with open(log, "w") as fh:
        for r in calls:
            fh.write(json.dumps(r) + "\n")
        for i in range(30_000):  # feedback for calls these logs never saw
            fh.write(_feedback(f"elsewhere-{i}", 1) + "\n")
        # one piece of feedback with a 2 MB comment of markup: valid, joined, never read back
        fh.write(_feedback(calls[0]["request_id"], -1, comment="<b>" * 500_000) + "\n")
        fh.write(_feedback(calls[1]["request_id"].upper(), -1) + "\n")  # ids are case-sensitive: unknown
    rep = _report(log, by=["prompt"])
    assert rep.unknown_feedback == 30_001 and rep.total["feedback"] == 1 and rep.total["feedback_mean"] == -1.0
