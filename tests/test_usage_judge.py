"""``llmops usage judge``: reference-free judges on a seeded, stratified sample of logged calls of known ground
truth, over real HTTP to the loopback fake server; score records joined by request id in ``usage report``;
the eval response cache (judging again pays nothing)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import NotFoundError, UsageError
from llmops_cli.project import Project
from llmops_cli.records.base import load_record
from llmops_cli.records.score import ScoreRecord
from llmops_cli.usage.engine import open_records
from llmops_cli.usage.judge import JudgeRun, judge_logged, parse_share
from llmops_cli.usage.logfiles import resolve_logs
from llmops_cli.usage.logged import allocate
from llmops_cli.usage.report import build_report
from tests.conftest import REPO_ROOT, run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.fakellm import FakeLLM
from tests.support.looplogs import Call, verdict, write_logged_calls
from tests.support.servingproj import read_records

GOLDEN = """
defaults:
  assert:
    - {type: answer-relevance}
    - {type: judge, criteria: "Answers helpfully", metric: rubric}
    - {type: factuality}
    - {type: icontains, value: answer}
cases:
  - {id: a, vars: {question: hi}, expected: hello}
"""


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)


@pytest.fixture
def judge_server() -> Any:
    with FakeLLM(responder=verdict) as server:
        yield server


def _project(tmp_path: Path, url: str, golden: str = GOLDEN) -> Path:
    return make_eval_project(tmp_path / "proj", url, golden=golden)


def _judge(root: Path, log: Path, **kw: Any) -> JudgeRun:
    return judge_logged(Project.open(root), [str(log)], "support/answer", **kw)


def _scores(path: Path) -> list[dict[str, Any]]:
    return [r for r in read_records(path) if r.get("kind") == "score"]


def test_stratified_sample_and_scores_match_ground_truth(tmp_path: Path, judge_server: FakeLLM) -> None:
    root = _project(tmp_path, judge_server.url)
    log = root / "requests.jsonl"
    calls = write_logged_calls(log, 240, versions=("1.0.0", "1.1.0"), arms=("stable", "canary"), days=2,
                               good=lambda i, v: v == "1.0.0" or i % 3 == 0, error_every=12)  # fmt: skip
    run = _judge(root, log, fraction=0.2, seed=11)
    assert run.notices == ["assertion 2 (factuality) needs a reference answer: left out"]
    ok = [c for c in calls if c.outcome == "ok"]
    strata = Counter((c.version, c.arm, c.day) for c in ok)
    assert run.matched == len(ok)
    expected = {f"{v}|{a}|{d}": {"calls": n, "sampled": math.ceil(0.2 * n)} for (v, a, d), n in strata.items()}
    assert run.strata == expected
    assert run.sampled == run.judged == sum(s["sampled"] for s in expected.values())

    truth = {c.request_id: c for c in calls}
    scores = _scores(root / "llmops-scores.jsonl")
    assert len(scores) == 2 * run.judged  # two reference-free judges: relevance and the rubric
    assert {s["metric"] for s in scores} == {"answer-relevance", "rubric"}
    for s in scores:
        load_record(ScoreRecord, s, source="scores")
        call: Call = truth[s["request_id"]]
        assert s["score"] == (1.0 if call.good else 0.0) and s["passed"] is call.good
        assert (s["version"], s["arm"], s["call_ts"][:10]) == (call.version, call.arm, call.day)
        assert s["judge_model"] == "openai/fake-model" and s["replayed"] is False
    # the report shows quality per version and arm beside cost, from the logs and the scores together
    rep = build_report(open_records(resolve_logs([str(root)])), by=["version", "arm"])
    for g in rep.groups:
        mine = [truth[s["request_id"]] for s in scores if s["metric"] == "rubric"]
        mine = [c for c in mine if (c.version, c.arm) == (g["key"]["version"], g["key"]["arm"])]
        assert g["judged_calls"] == len(mine)
        assert g["quality"] == pytest.approx(sum(c.good for c in mine) / len(mine), abs=1e-6)
        assert g["quality_by_metric"]["rubric"] == g["quality_by_metric"]["answer-relevance"] == g["quality"]


def test_judging_again_pays_nothing(tmp_path: Path, judge_server: FakeLLM) -> None:
    root = _project(tmp_path, judge_server.url)
    log = root / "requests.jsonl"
    write_logged_calls(log, 60)
    first = _judge(root, log, n=20, seed=1)
    paid = judge_server.count
    assert first.judged == 20 and paid == 40 and first.replayed == 0
    again = _judge(root, log, n=20, seed=1)  # the same command: the same calls, already scored
    assert (again.judged, again.already_scored, judge_server.count) == (0, 20, paid)
    rescored = _judge(root, log, n=20, seed=1, rescore=True)  # judged again: every call from the cache
    assert rescored.judged == 20 and rescored.replayed == rescored.calls == 40 and judge_server.count == paid
    scores = _scores(root / "llmops-scores.jsonl")
    assert len(scores) == 80 and sum(s["replayed"] for s in scores) == 40
    rep = build_report(open_records(resolve_logs([str(root)])))
    assert rep.total["judged_calls"] == 20  # the latest score of each (call, metric) counts once
    other = _judge(root, log, n=20, seed=2)  # another seed: other calls
    assert 0 < other.judged <= 20 and judge_server.count > paid


def test_seeded_selection_is_deterministic_and_n_is_split_by_stratum(tmp_path: Path, judge_server: FakeLLM) -> None:
    root = _project(tmp_path, judge_server.url)
    log = root / "requests.jsonl"
    write_logged_calls(log, 300, versions=("1.0.0", "1.1.0", "2.0.0"), days=3)
    a = _judge(root, log, n=31, seed=5, to=str(tmp_path / "a.jsonl"))
    b = _judge(root, log, n=31, seed=5, to=str(tmp_path / "b.jsonl"))
    ids_a = {s["request_id"] for s in _scores(tmp_path / "a.jsonl")}
    assert ids_a == {s["request_id"] for s in _scores(tmp_path / "b.jsonl")} and len(ids_a) == 31
    assert a.strata == b.strata and sum(s["sampled"] for s in a.strata.values()) == 31
    assert all(s["sampled"] in (3, 4) for s in a.strata.values())  # 9 strata of ~33 calls
    _judge(root, log, n=31, seed=6, to=str(tmp_path / "c.jsonl"))
    assert {s["request_id"] for s in _scores(tmp_path / "c.jsonl")} != ids_a


def test_allocation() -> None:
    sizes = {"a": 50, "b": 30, "c": 20}
    assert allocate(sizes, n=10) == {"a": 5, "b": 3, "c": 2}
    assert sum(allocate(sizes, n=7).values()) == 7
    assert allocate(sizes, n=1000) == sizes
    assert allocate(sizes, fraction=0.05) == {"a": 3, "b": 2, "c": 1}
    assert allocate({"x": 1}, fraction=0.01) == {"x": 1}
    assert parse_share("5%") == 0.05 and parse_share("0.25") == 0.25
    for bad in ("0%", "150%", "abc", "-1", "nan%"):
        with pytest.raises(UsageError):
            parse_share(bad)


def test_calls_without_content_errors_and_window(tmp_path: Path, judge_server: FakeLLM) -> None:
    root = _project(tmp_path, judge_server.url)
    log = root / "requests.jsonl"
    write_logged_calls(log, 40, error_every=4)
    write_logged_calls(root / "old.jsonl", 10, content=False)  # ids req000000… again: first record wins
    lines = log.read_text().splitlines()
    bad = json.loads(lines[0])
    bad["vars"] = "not an object"
    deep = json.loads(lines[1])
    deep["vars"] = {"question": "q", "x": json.loads("[" * 40 + "]" * 40)}
    log.write_text("\n".join([json.dumps(bad), json.dumps(deep), *lines[2:]]) + "\n")
    judge_server.on("question number 5", "not json at all", scope="all")  # unparsable, the repair too
    run = _judge(root, log, fraction=1.0, to=str(tmp_path / "s.jsonl"))
    assert run.matched == 30 and run.no_content == 2 and run.judged == 28  # errors are never judged
    errs = [s for s in _scores(tmp_path / "s.jsonl") if s["score"] is None]
    assert run.judge_errors == len(errs) == 2 and all(e["error"] and e["passed"] is None for e in errs)
    assert run.metrics["rubric"]["scored"] == 27  # a judge error is never a 0 or a pass
    from datetime import UTC, datetime

    none = _judge(root, log, since=datetime(2027, 1, 1, tzinfo=UTC), to=str(tmp_path / "t.jsonl"), n=5)
    assert none.matched == none.judged == 0


def test_no_golden_set_or_no_reference_free_judge(tmp_path: Path, judge_server: FakeLLM) -> None:
    root = make_eval_project(tmp_path / "p1", judge_server.url)
    write_logged_calls(root / "requests.jsonl", 5)
    with pytest.raises(NotFoundError, match="no golden set"):
        _judge(root, root / "requests.jsonl")
    root2 = make_eval_project(tmp_path / "p2", judge_server.url, golden=GOLDEN.replace("answer-relevance", "is-json")
                              .replace('{type: judge, criteria: "Answers helpfully", metric: rubric}', "{type: is-json}"))  # fmt: skip
    write_logged_calls(root2 / "requests.jsonl", 5)
    with pytest.raises(UsageError, match="no reference-free judge"):
        _judge(root2, root2 / "requests.jsonl")
    with pytest.raises(UsageError):
        _judge(root2, root2 / "requests.jsonl", n=5, fraction=0.5)
    with pytest.raises(UsageError, match="how many calls"):
        _judge(_project(tmp_path, judge_server.url), root2 / "requests.jsonl")


def test_cli_usage_judge(tmp_path: Path, judge_server: FakeLLM) -> None:
    root = _project(tmp_path, judge_server.url)
    write_logged_calls(root / "requests.jsonl", 30)
    env = {"PYTHONPATH": str(REPO_ROOT), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    res = run_cli("-C", str(root), "usage", "judge", str(root / "requests.jsonl"), "--prompt", "support/answer",
                  "--sample", "50%", "--seed", "3", "--json", env=env)  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["judged"] == 16 and out["metrics"]["rubric"]["mean"] == 1.0
    text = run_cli("-C", str(root), "usage", "judge", str(root / "requests.jsonl"), "--prompt", "support/answer",
                   "--sample", "50%", "--seed", "3", env=env)  # fmt: skip
    assert text.exit_code == 0 and "0 calls judged" in text.stdout and "16 already scored" in text.stdout
    bad = run_cli("-C", str(root), "usage", "judge", str(root / "requests.jsonl"), "--prompt", "support/answer",
                  "--sample", "5 percent", env=env)  # fmt: skip
    assert bad.exit_code == 2 and "--sample" in bad.output and "Traceback" not in bad.output
    report = run_cli("usage", "report", str(root), "--by", "version", env=env)
    assert report.exit_code == 0 and "quality" in report.stdout and "1.000" in report.stdout
