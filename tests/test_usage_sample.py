"""``llmops usage sample``: production calls back into golden sets — the ``--where`` language (parsed, bounded,
bound parameters only), selection with known ground truth, redacted cases that validate as a golden set, no
duplicates, idempotent, atomic, and hostile logs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import UsageError
from llmops_cli.evals.plan import EvalOptions, build_plan
from llmops_cli.goldens import parse_golden
from llmops_cli.project import Project
from llmops_cli.usage.engine import LogFileError, open_records
from llmops_cli.usage.logfiles import resolve_logs
from llmops_cli.usage.logged import select_calls
from llmops_cli.usage.sample import SampleResult, appended_text, sample_to_golden
from llmops_cli.usage.where import MAX_CHARS, MAX_DEPTH, parse_where
from tests.conftest import REPO_ROOT, run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.looplogs import BAD, records, write_logged_calls

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
EXISTING = """\
# Golden set of support/answer: hand-written cases first.
defaults:
  assert:
    - {type: icontains, value: answer}
cases:
  - id: hand-written
    vars: {question: "question number 7"}   # the same question as logged call 7
    expected: "answer"
  # more cases go here
"""


def _root(tmp_path: Path, golden: str | None = EXISTING) -> Path:
    return make_eval_project(tmp_path / "proj", "http://127.0.0.1:9/v1", golden=golden)


def _annotated_log(path: Path, n: int = 120) -> dict[str, dict[str, Any]]:
    """Calls with an error every 10th, negative feedback on every 7th, a rubric score 0.25 (1..5 scale: 2) on every
    5th and 1.0 on the others; returns the ground truth per request id."""
    truth: dict[str, dict[str, Any]] = {}
    with open(path, "w", encoding="utf-8") as fh:
        for rec, call in records(n, error_every=10):
            fh.write(json.dumps(rec) + "\n")
            i = int(call.request_id[3:])
            fb = -1.0 if i % 7 == 0 else None
            rubric = 0.25 if i % 5 == 0 else 1.0
            if fb is not None:
                fh.write(json.dumps({"kind": "feedback", "schema_version": 1, "ts": rec["ts"],
                                     "request_id": call.request_id, "score": fb}) + "\n")  # fmt: skip
            fh.write(json.dumps({"kind": "score", "schema_version": 1, "ts": rec["ts"], "request_id": call.request_id,
                                 "metric": "rubric", "score": rubric}) + "\n")  # fmt: skip
            truth[call.request_id] = {"outcome": call.outcome, "feedback": fb, "rubric": 1 + 4 * rubric,
                                      "version": call.version}  # fmt: skip
    return truth


def _sample(root: Path, log: Path, where: str | None, **kw: Any) -> SampleResult:
    recs = open_records(resolve_logs([str(log)]), skip_invalid=kw.pop("skip_invalid", False))
    return sample_to_golden(Project.open(root), recs, "support/answer", where=parse_where(where) if where else None,
                            **kw)  # fmt: skip


# -- the --where language -------------------------------------------------------------------------------------


def test_where_selects_exactly_the_ground_truth(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    truth = _annotated_log(log)
    cases = {
        "feedback < 0 or judge.rubric < 3 or outcome = error": lambda t: (
            (t["feedback"] or 0) < 0 or t["rubric"] < 3 or t["outcome"] == "error"
        ),
        "not feedback < 0": lambda t: not ((t["feedback"] is not None) and t["feedback"] < 0),
        "version = '1.1.0' and (judge.rubric >= 5 or outcome != ok)": lambda t: (
            t["version"] == "1.1.0" and (t["rubric"] >= 5 or t["outcome"] != "ok")
        ),
        "feedback = -1 and judge.rubric <= 2": lambda t: t["feedback"] == -1 and t["rubric"] <= 2,
        "tag.tenant = acme": lambda t: False,  # no such tag in these records: a comparison on nothing is false
        "judge.unknown-metric < 3": lambda t: False,
        'outcome = "x\' OR 1=1 --"': lambda t: False,  # a value is a bound parameter, never SQL
    }
    recs = open_records(resolve_logs([str(log)]))
    for text, rule in cases.items():
        got = select_calls(recs, "support/answer", where=parse_where(text), stratify=False)
        assert {c.request_id for c in got.calls} == {rid for rid, t in truth.items() if rule(t)}, text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("feedback", "expected one of"),
        ("feedback <", "expected a value"),
        ("feedback < 0 or", "expected a field"),
        ("nosuch = 1", "unknown field"),
        ("outcome < 3", "= or !="),
        ("feedback = ok", "not a number"),
        ("feedback < 0; DROP TABLE logged", "cannot read"),
        ("outcome = error)", "expected 'and'"),
        ("(outcome = error", "expected ')'"),
        ("feedback < 0 && outcome = error", "cannot read"),
        ("__import__('os').system('id') = 1", "cannot read"),
        ("x" * (MAX_CHARS + 1), f"at most {MAX_CHARS}"),
        ("(" * (MAX_DEPTH + 2) + "feedback < 0" + ")" * (MAX_DEPTH + 2), "nested"),
        (" or ".join(["feedback<0"] * 70), "tokens"),
        (" or ".join(f"judge.m{i} < 3" for i in range(9)), "judge metrics"),
        ("tag.x' = 1", "cannot read"),
    ],
)
def test_where_refuses_bad_expressions(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_where(text)


def test_where_compiles_to_bound_parameters_only() -> None:
    w = parse_where("""tag.tenant = "a'b" or version != '1.0.0' and judge.faith-ful >= 4.5""")
    assert "a'b" not in w.sql and "1.0.0" not in w.sql and "faith-ful" not in w.sql and "tenant" not in w.sql
    assert set(w.params.values()) == {'$."tenant"', "a'b", "1.0.0", 4.5}
    assert w.metrics == ["faith-ful"]


# -- appending cases ------------------------------------------------------------------------------------------


def test_sample_appends_validating_cases_and_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    root = _root(tmp_path)
    log = root / "requests.jsonl"
    truth = _annotated_log(log)
    where = "feedback < 0 or judge.rubric < 3 or outcome = error"
    matching = sorted(rid for rid, t in truth.items() if (t["feedback"] or 0) < 0 or t["rubric"] < 3
                      or t["outcome"] == "error")  # fmt: skip
    first = _sample(root, log, where, n=20, keep_output=True, seed=4)
    golden_file = root / "evals/support/answer.yaml"
    text1 = golden_file.read_text()
    assert first.matched == len(matching) and first.picked == 20
    assert len(first.added) + first.duplicates == 20 and first.no_content == 0
    assert text1.startswith(EXISTING.rstrip("\n").rsplit("\n", 1)[0])  # hand-written part, comments kept
    gs = parse_golden(text1, str(golden_file), "support/answer")
    assert [c.id for c in gs.cases] == ["hand-written", *first.added]
    for case in gs.cases[1:]:
        rid = case.id.removeprefix("prod-")
        assert rid in matching and case.tags == ["production"] and case.metadata["request_id"] == rid
        assert case.vars == {"question": f"question number {int(rid[3:])}"}
        if truth[rid]["outcome"] == "ok":
            assert isinstance(case.expected, str) and case.expected.endswith(f"#{int(rid[3:])}")
        else:
            assert case.expected is None  # an error has no answer to keep
    # the output is a golden set the eval runner plans (every case's vars valid for the prompt)
    plan = build_plan(Project.open(root), EvalOptions(names=["support/answer"]))
    assert len(plan.prompts[0].cases) == len(gs.cases)

    second = _sample(root, log, where, n=20, keep_output=True, seed=4)
    assert second.added == [] and golden_file.read_text() == text1  # idempotent
    more = _sample(root, log, where, n=40, keep_output=True, seed=4)  # a bigger sample tops up, never repeats
    ids = [c.id for c in parse_golden(golden_file.read_text(), str(golden_file), "support/answer").cases]
    assert len(ids) == len(set(ids)) == 1 + len(first.added) + len(more.added)


def test_sample_never_duplicates_existing_vars(tmp_path: Path) -> None:
    root = _root(tmp_path)
    log = root / "requests.jsonl"
    write_logged_calls(log, 10)
    res = _sample(root, log, None, n=10)
    assert "prod-req000007" not in res.added and res.duplicates == 1 and len(res.added) == 9


def test_sample_redacts_and_keeps_markup_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _root(tmp_path, golden=None)
    log = root / "requests.jsonl"
    rec, _ = next(records(1))
    rec["vars"] = {"question": f"<script>alert(1)</script> my key {SECRET}\n---\n- id: injected"}
    rec["output"] = f"]]></x> {{{{ 7*7 }}}} {SECRET}"
    log.write_text(json.dumps(rec) + "\n")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    res = _sample(root, log, None, n=5, keep_output=True)
    text = (root / "evals/support/answer.yaml").read_text()
    assert res.added == ["prod-req000000"] and SECRET not in text and "[REDACTED:OPENAI_API_KEY]" in text
    [case] = parse_golden(text, "x.yaml", "support/answer").cases
    assert case.vars["question"].startswith("<script>alert(1)</script> my key [REDACTED")
    assert case.vars["question"].endswith("\n---\n- id: injected") and case.expected.startswith("]]></x> {{ 7*7 }}")


def test_sample_counts_calls_it_cannot_use(tmp_path: Path) -> None:
    root = _root(tmp_path, golden=None)
    log = root / "requests.jsonl"
    lines = []
    for rec, call in records(8):
        i = int(call.request_id[3:])
        if i == 0:
            rec["vars"] = None  # content logging was on but the variables were too large
        elif i == 1:
            rec["vars"] = {"question": 5}  # the prompt's inputs refuse it (a string is required)
        elif i == 2:
            rec["vars"] = {"question": "q", "deep": json.loads("[" * 60 + "]" * 60)}
        elif i == 3:
            del rec["vars"], rec["input"], rec["output"]
        elif i == 4:
            rec["vars"] = "text"
        lines.append(json.dumps(rec))
    lines.insert(3, "{not json")
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogFileError, match=r"requests.jsonl:4: not valid JSON"):
        _sample(root, log, None, n=8)
    res = _sample(root, log, None, n=8, skip_invalid=True)
    assert (len(res.added), res.no_content, res.refused) == (3, 4, 1)


def test_append_keeps_layout_and_refuses_what_it_cannot_append_to(tmp_path: Path) -> None:
    case = {"id": "prod-x", "vars": {"question": "q"}}
    after = "cases:\n  - id: a\n    vars: {question: a}\ndefaults:\n  vars: {}\n"
    out = appended_text(after, "g.yaml", [case], "p")
    assert [c.id for c in parse_golden(out, "g.yaml", "p").cases] == ["a", "prod-x"] and out.endswith("vars: {}\n")
    top_list = "- id: a\n  vars: {question: a}\n"
    assert [c.id for c in parse_golden(appended_text(top_list, "g.yaml", [case], "p"), "g.yaml", "p").cases] == [
        "a",
        "prod-x",
    ]
    jsonl = '{"id": "a", "vars": {}}\n'
    assert appended_text(jsonl, "g.jsonl", [case], "p").splitlines()[1] == json.dumps(case, separators=(", ", ": "))
    for text in ("cases: []\n", "cases: [{id: a}]\n", "description: x\n"):
        with pytest.raises(UsageError, match="cannot append"):
            appended_text(text, "g.yaml", [case], "p")


def test_sample_refuses_a_golden_set_it_cannot_append_to_safely(tmp_path: Path) -> None:
    root = _root(tmp_path, golden="cases: [{id: a, vars: {question: a}}]\n")
    log = root / "requests.jsonl"
    write_logged_calls(log, 3)
    before = (root / "evals/support/answer.yaml").read_text()
    with pytest.raises(UsageError, match="block list"):
        _sample(root, log, None, n=3)
    assert (root / "evals/support/answer.yaml").read_text() == before
    assert not [p for p in os.listdir(root / "evals/support") if p.startswith(".llmops-sample-")]


def test_cli_usage_sample(tmp_path: Path) -> None:
    root = _root(tmp_path)
    log = root / "requests.jsonl"
    write_logged_calls(log, 30, good=lambda i, v: i % 4 != 0)
    (root / "fb.jsonl").write_text(
        "".join(json.dumps({"request_id": f"req{i:06d}", "score": -1}) + "\n" for i in range(0, 30, 4))
    )
    env = {"PYTHONPATH": str(REPO_ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    assert run_cli("usage", "feedback", str(root / "fb.jsonl"), "--to", str(log), env=env).exit_code == 0
    res = run_cli("-C", str(root), "usage", "sample", str(log), "--prompt", "support/answer", "--where",
                  "feedback < 0", "--n", "5", "--keep-output", "--json", env=env)  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["matched"] == 8 and len(out["added"]) == 5
    gs = parse_golden((root / "evals/support/answer.yaml").read_text(), "g.yaml", "support/answer")
    assert all(c.expected.startswith(BAD) for c in gs.cases[1:])
    bad = run_cli("-C", str(root), "usage", "sample", str(log), "--prompt", "support/answer", "--where",
                  "feedback <", env=env)  # fmt: skip
    assert bad.exit_code == 2 and "--where" in bad.output and "Traceback" not in bad.output
    missing = run_cli("-C", str(root), "usage", "sample", str(log), "--prompt", "no/such", env=env)
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_served_calls_are_judged_sampled_and_replayed_as_golden_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole loop on real calls: serve with content logging, judge the log, sample the failures into the golden
    set, and eval run replays them as cases — its judge calls are the very requests usage judge made (cache hits)."""
    import re as _re

    from llmops_cli.evals.results import load_results
    from llmops_cli.evals.runner import run_eval
    from llmops_cli.releases.loader import load_prompt
    from llmops_cli.serving import file_sink
    from llmops_cli.usage.judge import judge_logged
    from tests.support.fakellm import FakeLLM, last_user_text
    from tests.support.looplogs import GOOD, verdict

    def reply(body: dict[str, Any]) -> str | None:
        graded = verdict(body)
        if graded is not None:
            return graded
        m = _re.search(r"question number (\d+)", last_user_text(body))
        return None if m is None else (GOOD if int(m.group(1)) % 2 == 0 else BAD)

    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)
    golden = "defaults:\n  assert:\n    - {type: judge, criteria: helpful, metric: rubric}\ncases:\n"
    golden += "  - {id: seed, vars: {question: 'a seed question'}}\n"
    with FakeLLM(responder=reply) as server:
        root = make_eval_project(tmp_path / "proj", server.url, golden=golden)
        log = tmp_path / "logs" / "requests.jsonl"
        p = load_prompt("support/answer", root=root, log=str(log))
        for i in range(12):
            p.complete(question=f"question number {i}", log_content=True, request_id=f"call-{i}")
        file_sink(log).flush()

        judged = judge_logged(Project.open(root), [str(log)], "support/answer", n=12, seed=1)
        assert judged.judged == 12 and judged.metrics["rubric"]["mean"] == 0.5
        res = sample_to_golden(Project.open(root), open_records(resolve_logs([str(log.parent)])), "support/answer",
                               where=parse_where("judge.rubric < 3"), n=20)  # fmt: skip
        assert sorted(res.added) == sorted(f"prod-call-{i}" for i in range(1, 12, 2))

        before = server.count
        outcome = run_eval(Project.open(root), EvalOptions(names=["support/answer"]))
        samples = {s.case_id: s for s in load_results(outcome.results_path).samples}
        for i in range(1, 12, 2):
            s = samples[f"prod-call-{i}"]
            assert s.output == BAD and s.score == 0.0 and s.status == "fail"
            assert s.judge is not None and s.judge.replays == 1  # the same judge request: from the cache
        assert server.count - before == 1 + 6 + 1  # generations for the 7 cases, one judge call (the seed's)
