"""``llmops eval``: litellm over real HTTP to the loopback fake server — judges, retries, cache, resume,
shards, JUnit, exit codes, --changed-since in a real git repository."""

# ruff: noqa: F811  (pytest fixtures imported by name)

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import PromptFileError, ProviderError
from llmops_cli.evals.calling import AimdLimiter
from llmops_cli.evals.results import content_view, load_results
from llmops_cli.evals.runner import EvalOptions, RunOutcome, run_eval
from llmops_cli.project import Project
from llmops_cli.records.results import EvalResults
from tests.conftest import REPO_ROOT, run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project, many_cases, write
from tests.support.fakellm import FakeLLM, Fault
from tests.support.fixtures import fake_llm, fake_llm_factory  # noqa: F401

GOOD_VERDICT = '{"reasoning": "Clear and correct.", "score": 4}'


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)


def run(root: Path, **kw: Any) -> RunOutcome:
    resume = kw.pop("resume", None)
    notes: list[str] = []
    outcome = run_eval(Project.open(root), EvalOptions(**kw), resume=resume, notify=notes.append)
    outcome.notices[:] = notes
    return outcome


def results_of(outcome: RunOutcome) -> dict[str, Any]:
    """The results file as JSON (what the format tests check), read through the typed model."""
    return load_results(outcome.results_path).to_dict()


def typed_of(outcome: RunOutcome) -> EvalResults:
    return load_results(outcome.results_path)


def samples(outcome: RunOutcome) -> dict[str, dict[str, Any]]:
    return {f"{r['case_id']}#{r['sample']}": r for r in results_of(outcome)["samples"]}


GOLDEN = """
defaults:
  assert:
    - {type: judge, criteria: "Answers the question", metric: helpfulness}
cases:
  - id: refund
    vars: {question: How do refunds work?}
    expected: Refunds take 5 days.
    cluster: billing
    assert:
      - {type: icontains, value: "5 days"}
      - {type: word-count, max: 20}
  - id: shipping
    vars: {question: Do you ship to Mars?}
    cluster: shipping
    assert:
      - {type: not-icontains, value: sorry}
"""


def test_run_scores_caches_and_replays(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.default_reply = "Refunds take 5 days."
    fake_llm.on("GRADE", GOOD_VERDICT)
    root = make_eval_project(tmp_path, fake_llm.url, golden=GOLDEN, samples=2)
    first = run(root, repeat=2)
    assert first.summary.passed is True
    assert fake_llm.count == 2 * 2 + 2 * 2 * 2  # R=2 generations per case, K=2 judge calls per output
    res = results_of(first)
    assert res["schema_version"] == 1 and res["run"]["repeat"] == 2 and res["run"]["judge_samples"] == 2
    judge = res["run"]["judges"]["judges/rubric"]
    assert judge["samples"] == 2 and judge["model"] == "openai/fake-model" and len(judge["prompt_sha256"]) == 64
    info = res["prompts"]["support/answer"]
    assert info["clusters"] == {"refund": "billing", "shipping": "shipping"}
    assert info["golden_set"]["cases"] == 2 and len(info["prompt_sha256"]) == 64
    assert [(r["case_id"], r["sample"]) for r in res["samples"]] == [
        ("refund", 0),
        ("refund", 1),
        ("shipping", 0),
        ("shipping", 1),
    ]
    rec = res["samples"][0]
    assert rec["replay"] is False and rec["output"] == "Refunds take 5 days." and rec["status"] == "pass"
    helpful = rec["assertions"][0]
    assert helpful["metric"] == "helpfulness" and helpful["samples"] == [0.75, 0.75] and helpful["score"] == 0.75
    assert rec["tokens"]["prompt"] > 0 and rec["judge"]["samples"] == 2
    # the judge got the case's expected answer as its reference, and only declared inputs
    graded = [r.body["messages"][-1]["content"] for r in fake_llm.chat_requests if "GRADE" in json.dumps(r.body)]
    assert any("refunds work? answer=Refunds take 5 days. reference=Refunds take 5 days." in g for g in graded)
    assert any(g.endswith("Mars? answer=Refunds take 5 days.") for g in graded)  # no expected: no reference
    assert KEY_VALUE not in Path(first.results_path).read_text()
    assert all(r.headers.get("authorization") == f"Bearer {KEY_VALUE}" for r in fake_llm.chat_requests)

    again = run(root, repeat=2)
    assert fake_llm.count == 12  # nothing new sent
    assert all(r["replay"] for r in results_of(again)["samples"])
    assert content_view(typed_of(again))["samples"] == content_view(typed_of(first))["samples"]


def test_no_internal_retries_in_litellm(tmp_path: Path, fake_llm: FakeLLM) -> None:
    """num_retries=0 / max_retries=0 really reach litellm and the OpenAI SDK: one request per attempt."""
    root = make_eval_project(tmp_path, fake_llm.url, golden="cases: [{id: a, vars: {question: q}}]")
    fake_llm.enqueue(Fault.http(400, "bad request"))
    out = run(root)
    rec = samples(out)["a#0"]
    assert fake_llm.count == 1
    assert rec["status"] == "error" and rec["error"]["kind"] == "bad_request" and rec["error"]["attempts"] == 1
    assert out.summary.passed is False


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.server_error(), "server_error"),
        (Fault.unavailable(), "server_error"),
        (Fault.drop(), None),
        (Fault.garbage(), None),
        (Fault.hang(3), "timeout"),
    ],
)
def test_retries_transient_faults(tmp_path: Path, fake_llm: FakeLLM, fault: Fault, kind: str | None) -> None:
    fake_llm.default_reply = "ok fake"
    root = make_eval_project(tmp_path, fake_llm.url, golden=many_cases(1))
    fake_llm.enqueue(fault)
    out = run(root, timeout_s=0.5)
    rec = samples(out)["c00000#0"]
    assert rec["status"] == "pass" and rec["output"] == "ok fake" and rec["attempts"] == 2
    assert fake_llm.count == 2
    calls = results_of(out)["run"]["execution"]["calls"]
    assert calls["retries"] == 1 and calls["calls"] == 2
    if kind:
        assert calls["by_kind"] == {kind: 1}


def test_429_honours_retry_after(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.default_reply = "fake"
    root = make_eval_project(tmp_path, fake_llm.url, golden=many_cases(1))
    fake_llm.enqueue(Fault.rate_limit(0.6))
    t0 = time.perf_counter()
    out = run(root)
    assert time.perf_counter() - t0 >= 0.6  # waited retry-after-ms, not the 0.05 s back-off base
    assert samples(out)["c00000#0"]["status"] == "pass" and fake_llm.count == 2
    assert results_of(out)["run"]["execution"]["calls"]["rate_limited"] == 1


def test_gives_up_after_max_retries_and_records_the_error(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = make_eval_project(tmp_path, fake_llm.url, golden=many_cases(2))
    fake_llm.on("number 1", Fault.server_error())
    out = run(root, max_retries=2)
    recs = samples(out)
    assert recs["c00000#0"]["status"] == "pass"
    assert recs["c00001#0"]["status"] == "error" and recs["c00001#0"]["error"]["attempts"] == 3
    assert fake_llm.count == 1 + 3
    s = out.summary.to_dict()["prompts"]["support/answer"]
    assert (s["errors"], s["status"]) == (1, "fail")


def test_aimd_limiter_halves_on_429_and_recovers() -> None:
    import asyncio

    async def scenario() -> list[float]:
        lim = AimdLimiter(16)
        seen = [lim.limit]
        await lim.acquire()
        await lim.release("rate_limit")
        seen.append(lim.limit)
        await lim.acquire()
        await lim.release("rate_limit")  # within a second of the last cut: no second halving
        seen.append(lim.limit)
        for _ in range(20):
            await lim.acquire()
            await lim.release("ok")
        seen.append(lim.limit)
        return seen

    full, cut, same, grown = asyncio.run(scenario())
    assert (full, cut, same) == (16, 8, 8) and 9 < grown <= 16


def _judge_router(body: dict[str, Any]) -> str | None:
    text = json.dumps(body)
    last = body["messages"][-1]["content"]
    if "GRADE" not in text:
        return None
    if "could not be parsed" in last:
        return "still not json" if "criteria=beta" in text else GOOD_VERDICT
    if "criteria=alpha" in last or "criteria=beta" in last:
        return "I think it is pretty good"
    if "criteria=gamma" in last:
        return 'Verdict follows. {"reasoning": "fine {really}", "score": 5} Done.'
    return None


def test_judge_parse_repair_and_judge_error(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.responder = _judge_router
    golden = """
    cases:
      - {id: repaired, vars: {question: q1}, assert: [{type: judge, criteria: alpha}]}
      - {id: broken, vars: {question: q2}, assert: [{type: judge, criteria: beta}, {type: contains, value: fake}]}
      - {id: extracted, vars: {question: q3}, assert: [{type: judge, criteria: gamma}]}
    """
    root = make_eval_project(tmp_path, fake_llm.url, golden=golden)
    out = run(root)
    recs = samples(out)
    assert recs["repaired#0"]["assertions"][0]["samples"] == [0.75] and recs["repaired#0"]["status"] == "pass"
    broken = recs["broken#0"]["assertions"][0]
    assert broken["score"] is None and broken["passed"] is None and broken["samples"] == [None]
    assert broken["judge_errors"] == 1 and "judge error" in broken["reason"]
    assert recs["broken#0"]["status"] == "error"  # neither pass nor a 0
    assert recs["extracted#0"]["assertions"][0]["samples"] == [1.0]
    s = out.summary.to_dict()["prompts"]["support/answer"]
    assert s["judge_errors"] == 1 and s["metrics"]["judge"]["n"] == 2  # the error is not averaged in
    assert s["passed"] == 2 and s["errors"] == 1
    repairs = [r for r in fake_llm.chat_requests if "could not be parsed" in r.body["messages"][-1]["content"]]
    assert len(repairs) == 2  # one re-ask each for alpha and beta, none for the extractable gamma


def test_judge_provider_failure_is_an_error_not_a_score(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.on("GRADE", Fault.http(401, "invalid key"))
    root = make_eval_project(
        tmp_path, fake_llm.url, golden="cases: [{id: a, vars: {question: q}, assert: [{type: judge, criteria: c}]}]"
    )
    out = run(root)
    a = samples(out)["a#0"]["assertions"][0]
    assert a["score"] is None and a["judge_errors"] == 1 and "judge call failed" in a["reason"]


def test_model_graded_types_get_their_inputs(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.on("FACTCHECK", GOOD_VERDICT)
    fake_llm.on("FAITHFUL", '{"reasoning": "supported", "score": 5}')
    fake_llm.on("RELEVANT", '{"reasoning": "off topic", "score": 1}')
    golden = """
    cases:
      - id: a
        vars: {question: When?, context: [Doc one says 5 days., Doc two.]}
        expected: In 5 days.
        assert:
          - {type: factuality}
          - {type: faithfulness}
          - {type: answer-relevance, threshold: 0.5}
    """
    root = make_eval_project(tmp_path, fake_llm.url, golden=golden)
    rec = samples(run(root))["a#0"]
    scores = {a["type"]: a["score"] for a in rec["assertions"]}
    assert scores == {"factuality": 0.75, "faithfulness": 1.0, "answer-relevance": 0.0}
    assert rec["status"] == "fail"
    bodies = {
        r.body["messages"][-1]["content"].split()[0]: r.body["messages"][-1]["content"] for r in fake_llm.chat_requests
    }
    assert "reference=In 5 days." in bodies["FACTCHECK"]
    assert "context=- Doc one says 5 days.\n- Doc two." in bodies["FAITHFUL"]
    assert "question=When?" in bodies["RELEVANT"]


def test_bad_golden_input_fails_before_any_call(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = make_eval_project(
        tmp_path, fake_llm.url, golden="cases:\n  - id: a\n    vars: {question: q}\n    assert: [{type: factuality}]\n"
    )
    with pytest.raises(PromptFileError) as info:
        run(root)
    assert "needs an 'expected' answer" in str(info.value) and info.value.file == "evals/support/answer.yaml"
    assert info.value.line == 4
    write(root, "evals/support/answer.yaml", "cases:\n  - id: a\n    vars: {question: q}\n    assert: [{type: nope}]\n")
    r = run_cli("eval", "run", cwd=root)
    assert r.exit_code == 2 and "evals/support/answer.yaml:4" in r.stderr and "unknown type 'nope'" in r.stderr
    assert fake_llm.count == 0


def test_offline_model_used_without_api_key(tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_eval_project(tmp_path, fake_llm.url, golden=many_cases(1))
    write(
        root,
        "llmops.yaml",
        f"""
        models:
          chat:
            model: openai/gpt-real
            api_key_env: REAL_PROVIDER_KEY
            offline: local-fake
          local-fake:
            model: openai/fake-model
            api_base: {fake_llm.url}
            api_key_env: {KEY_ENV}
        """,
    )
    monkeypatch.delenv("REAL_PROVIDER_KEY", raising=False)
    out = run(root)
    assert out.summary.passed and fake_llm.last_request.body["model"] == "fake-model"
    assert len(out.notices) == 1 and "using offline model openai/fake-model" in out.notices[0]
    assert results_of(out)["prompts"]["support/answer"]["offline_from"] == "openai/gpt-real"
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ProviderError, match=KEY_ENV):
        run(root)


def test_min_pass_rate_lets_known_failures_pass_and_junit(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.default_reply = "fake answer"
    golden = "cases:\n" + "".join(
        f"  - {{id: c{i}, vars: {{question: q{i}}}, assert: [{{type: contains, value: {'fake' if i else 'nope'}}}]}}\n"
        for i in range(4)
    )
    root = make_eval_project(tmp_path, fake_llm.url, golden=golden)
    summary_md = tmp_path / "summary.md"
    r = run_cli(
        "eval",
        "run",
        "--out",
        "res.json",
        "--junit",
        "junit.xml",
        cwd=root,
        env={"GITHUB_STEP_SUMMARY": str(summary_md)},
    )
    assert r.exit_code == 1, r.stderr
    assert "support/answer" in r.stdout and "75.0% (100.0%)" in r.stdout
    junit = (root / "junit.xml").read_text()
    assert 'tests="4" failures="1" errors="0"' in junit and 'name="c0"' in junit and "does not contain" in junit
    assert "llmops eval: ❌ failed" in summary_md.read_text()
    show = run_cli("eval", "show", "res.json", "--failed", cwd=root)
    assert show.exit_code == 0 and "c0 #0" in show.stdout and "does not contain 'nope'" in show.stdout

    write(root, "evals/support/answer.yaml", "defaults: {min_pass_rate: 0.75}\n" + golden)
    r = run_cli("eval", "run", "--out", "res.json", "--json", cwd=root)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["passed"] is True and data["prompts"]["support/answer"]["min_pass_rate"] == 0.75
    assert fake_llm.count == 4  # the second run was served from the cache


def test_fully_cached_rerun_does_not_import_litellm(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = make_eval_project(tmp_path, fake_llm.url, golden=GOLDEN)
    fake_llm.default_reply = "Refunds take 5 days."
    fake_llm.on("GRADE", GOOD_VERDICT)
    run(root)
    sent = fake_llm.count
    code = (
        "import sys\nfrom llmops_cli.cli.app import main\nrc = main(['eval', 'run', '-q', '--out', 'r.json'])\n"
        "print('LITELLM_IMPORTED=' + str('litellm' in sys.modules))\nsys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "LITELLM_IMPORTED=False" in proc.stdout
    assert fake_llm.count == sent
    assert all(r["replay"] for r in json.loads((root / "r.json").read_text())["samples"])


def _popen_cli(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "llmops_cli", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_runs_share_a_cache(tmp_path: Path, fake_llm_factory: Any) -> None:
    server = fake_llm_factory(latency=0.05)
    root = make_eval_project(tmp_path, server.url, golden=many_cases(30))
    procs = [_popen_cli(root, "eval", "run", "-q", "--out", f"r{i}.json") for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    a, b = (content_view(load_results(str(root / f"r{i}.json"))) for i in range(2))
    assert a["samples"] == b["samples"] and len(a["samples"]) == 30
    cache = root / ".llmops" / "cache"
    entries = list(cache.rglob("*.json"))
    assert len(entries) == 30 and not list(cache.rglob(".tmp-*"))
    assert all(json.loads(e.read_text())["text"] for e in entries)
    assert server.count <= 60


def test_resume_after_kill_9_pays_no_finished_call_twice(tmp_path: Path, fake_llm_factory: Any) -> None:
    server = fake_llm_factory(latency=0.15)
    n = 40
    root = make_eval_project(tmp_path, server.url, golden=many_cases(n))
    proc = _popen_cli(root, "eval", "run", "-q", "--concurrency", "4", "--out", "res.json")
    assert server.wait_for(n // 2, timeout=60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(0.3)  # let in-flight server handlers finish
    before = server.count
    cache = root / ".llmops" / "cache"
    cached_at_kill = len(list(cache.rglob("*.json")))
    (run_dir,) = (root / ".llmops" / "runs").iterdir()
    journaled = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    assert 0 < len(journaled) < n and cached_at_kill >= len(journaled)
    assert not (root / "res.json").exists()

    r = run_cli("eval", "run", "-q", "--resume", run_dir.name, cwd=root)
    assert r.exit_code == 0, r.stderr
    res = load_results(str(root / "res.json")).to_dict()  # the saved --out is reused
    assert len(res["samples"]) == n and len({s["case_id"] for s in res["samples"]}) == n
    assert res["run"]["execution"]["resumed"] is True
    resumed_requests = server.chat_requests[before:]
    assert len(resumed_requests) == n - cached_at_kill  # every answer already stored was not paid again
    finished_questions = {f"question number {int(rec['case_id'][1:])}" for rec in journaled}
    assert not any(
        r.body["messages"][-1]["content"].removeprefix("Q: ") in finished_questions for r in resumed_requests
    )
    dupes = server.duplicate_requests()
    assert len(dupes) <= 4  # at most the calls in flight at the kill (answered to a dead process)


def test_shards_merge_to_the_unsharded_results(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.on("GRADE", GOOD_VERDICT)
    asserts = "[{type: icontains, value: fake}, {type: judge, criteria: ok}]"
    root = make_eval_project(tmp_path, fake_llm.url, golden=many_cases(24, asserts=asserts))
    full = run(root, out=str(root / "full.json"))
    parts = [run(root, shard=(i, 3), out=str(root / f"shard{i}.json")) for i in (1, 2, 3)]
    sizes = [len(results_of(p)["samples"]) for p in parts]
    assert sum(sizes) == 24 and all(sizes)
    r = run_cli("eval", "merge", "shard1.json", "shard2.json", "shard3.json", "--out", "merged.json", cwd=root)
    assert r.exit_code == 0, r.stderr
    merged = load_results(str(root / "merged.json"))
    assert content_view(merged) == content_view(typed_of(full))
    assert merged.run.execution is not None and merged.run.execution.shards == ["1/3", "2/3", "3/3"]
    r = run_cli("eval", "merge", "shard1.json", "shard1.json", "--out", "bad.json", cwd=root)
    assert r.exit_code == 2 and "overlapping" in r.stderr


def test_changed_since_selects_changed_prompts(tmp_git_repo: Any, fake_llm: FakeLLM) -> None:
    root = tmp_git_repo.root
    make_eval_project(root, fake_llm.url, golden=many_cases(2))
    write(root, "prompts/other.prompt.yaml", "model: chat\nmessages: [{role: user, content: hello}]\n")
    write(root, "evals/other.yaml", "cases: [{id: x}]\n")
    tmp_git_repo.commit("base")
    tmp_git_repo.git("checkout", "-q", "-b", "feature")
    assert run(root, changed_since="main").prompts == {}
    write(root, "prompts/other.prompt.yaml", "model: chat\nmessages: [{role: user, content: hello there}]\n")
    tmp_git_repo.commit("edit other")
    out = run(root, changed_since="main")
    assert list(out.prompts) == ["other"]
    assert results_of(out)["run"]["selection"]["merge_base"] == tmp_git_repo.git("rev-parse", "main")
    # a golden-set edit (uncommitted) counts too
    write(root, "evals/support/answer.yaml", many_cases(3))
    assert sorted(run(root, changed_since="main").prompts) == ["other", "support/answer"]
    r = run_cli("eval", "run", "--changed-since", "no-such-ref", cwd=root)
    assert r.exit_code == 2 and "unknown git ref" in r.stderr


def test_judge_prompt_change_reselects_and_git_ref_project_runs(tmp_git_repo: Any, fake_llm: FakeLLM) -> None:
    fake_llm.on("GRADE", GOOD_VERDICT)
    root = tmp_git_repo.root
    make_eval_project(
        root, fake_llm.url, golden="cases: [{id: a, vars: {question: q}, assert: [{type: judge, criteria: c}]}]"
    )
    base = tmp_git_repo.commit("base")
    judge = root / "prompts/judges/rubric.prompt.yaml"
    judge.write_text(judge.read_text().replace("strict GRADER", "lenient GRADER"))
    assert list(run(root, changed_since="HEAD").prompts) == ["support/answer"]
    # the gate's base side: the project read from git objects, judged with the head's judges
    out = run_eval(Project.at_ref(base, root), EvalOptions(), judge_project=Project.open(root))
    res = results_of(out)
    assert res["run"]["git_sha"] == base and res["run"]["source"] == base
    head_judge_sha = Project.open(root).load("judges/rubric").sha256
    assert res["run"]["judges"]["judges/rubric"]["prompt_sha256"] == head_judge_sha
    assert samples(out)["a#0"]["status"] == "pass"


def test_render_error_mid_run_is_bad_input(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = make_eval_project(tmp_path, fake_llm.url, golden="cases: [{id: a, vars: {question: q, meta: {}}}]")
    write(
        root,
        "prompts/support/answer.prompt.yaml",
        "model: chat\ninputs: {question: {type: string}, meta: {type: object}}\n"
        "messages: [{role: user, content: '{{ meta.missing.deeper }}'}]\n",
    )
    r = run_cli("eval", "run", cwd=root)
    assert r.exit_code == 2, r.stderr
    assert "prompts/support/answer.prompt.yaml" in r.stderr and fake_llm.count == 0


def test_duplicate_case_ids_name_the_id_and_the_repeat_line(tmp_path: Path) -> None:
    from llmops_cli.evals.plan import build_plan

    golden = (
        "cases:\n  - {id: a, vars: {question: q}}\n  - {id: b, vars: {question: q}}\n  - {id: a, vars: {question: r}}\n"
    )
    root = make_eval_project(tmp_path, "http://127.0.0.1:9", golden=golden)
    with pytest.raises(PromptFileError) as info:
        build_plan(Project.open(root), EvalOptions())
    assert info.value.message == "duplicate case id 'a'" and info.value.line == 4
