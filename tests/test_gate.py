"""The PR gate end to end: real git repos, the CLI as a user runs it, a loopback fake LLM and GitHub API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.config import GateConfig
from llmops_cli.evals.results import results_from_dict
from llmops_cli.gate.collect import PASS_METRIC, Arm, CaseData, collect
from llmops_cli.gate.decide import check_errors, compare_arms, decide, fisher_p, verdict_line
from llmops_cli.gate.github import StatusError, head_sha, post_status, status_description
from tests.conftest import GitRepo, run_cli
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM

ENV = {gp.KEY_ENV: gp.KEY_VALUE}
TOKEN = "ghs_SECRETtoken0123456789abcdef"


@pytest.fixture
def server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    return fake_llm_factory(responder=gp.responder)


# -- a loopback GitHub API that records requests ---------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv: Any = self.server
        srv.records.append(
            {"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": json.loads(body)}
        )
        status = srv.statuses.pop(0) if srv.statuses else 201
        payload = b'{"id": 1}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def github_api() -> Iterator[Any]:
    srv: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.records, srv.statuses = [], []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _all_files_text(root: Path) -> str:
    chunks = []
    for p in root.rglob("*"):
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]:
            chunks.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


# -- end to end -------------------------------------------------------------------------------------------------


def test_degraded_prompt_fails_and_posts_a_failure_status(
    tmp_git_repo: GitRepo, server: FakeLLM, github_api: Any, tmp_path: Path
) -> None:
    repo = tmp_git_repo
    gp.make_repo(repo, server.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    head = repo.commit("degrade the answer prompt")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": head}}}))
    summary = tmp_path / "summary.md"
    env = {
        **ENV,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/prompts",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": "0" * 40,
        "GITHUB_API_URL": github_api.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "42",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    r = run_cli("eval", "gate", "--base", "main", "--github-status", "--markdown", "gate.md", "-f", "json",
                cwd=repo.root, env=env)  # fmt: skip
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    assert report["schema_version"] == 1 and report["verdict"] == "FAIL"
    by_name = {p["prompt"]: p for p in report["prompts"]}
    answer = by_name["support/answer"]
    assert answer["state"] == "FAIL" and answer["status"] == "gated"
    judge = next(m for m in answer["metrics"] if m["metric"] == "judge")
    assert judge["state"] == "FAIL" and judge["delta"] == pytest.approx(-0.75) and judge["n_cases"] == 12
    assert answer["worst_cases"][0]["head_output"] == "WORSE answer"
    assert by_name["support/other"]["status"] == "unchanged" and by_name["support/other"]["state"] is None
    assert "support/answer" in report["line"] and "support/answer" in r.stderr

    (rec,) = github_api.records
    assert rec["method"] == "POST" and rec["path"] == f"/repos/acme/prompts/statuses/{head}"
    assert rec["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert rec["body"]["state"] == "failure" and rec["body"]["context"] == "llmops/eval"
    assert rec["body"]["target_url"] == "https://github.example/acme/prompts/actions/runs/42"
    assert len(rec["body"]["description"]) <= 140 and rec["body"]["description"].startswith("FAIL")

    md = (repo.root / "gate.md").read_text()
    assert md.startswith("## ❌ llmops eval gate: FAIL") and "<details>" in md and "WORSE answer" in md
    assert md in summary.read_text()
    for text in (r.stdout, r.stderr, md, summary.read_text(), _all_files_text(repo.root), _all_files_text(tmp_path)):
        assert TOKEN not in text
        assert gp.KEY_VALUE not in text


def test_wording_change_passes_without_judge_calls_and_replays_identically(
    tmp_git_repo: GitRepo, server: FakeLLM
) -> None:
    repo = tmp_git_repo
    gp.make_repo(repo, server.url)
    warm = run_cli("eval", "run", "-q", cwd=repo.root, env=ENV)  # main's CI run fills the shared cache
    assert warm.exit_code == 0, warm.output
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly and kindly."))
    repo.commit("reword")
    server.reset_history()

    first = run_cli("eval", "gate", "--base", "main", "-f", "json", cwd=repo.root, env=ENV)
    assert first.exit_code == 0, first.output
    assert gp.kinds(server) == {"generation": 12}  # only head's reworded requests; judge answers replayed
    report = json.loads(first.stdout)
    assert report["verdict"] == "PASS"
    (answer,) = [p for p in report["prompts"] if p["status"] == "gated"]
    assert all(m["delta"] == 0 and m["state"] == "PASS" for m in answer["metrics"])
    assert "answers byte-identical" in answer["reason"]  # not "No differences": the requests differ

    server.reset_history()
    second = run_cli("eval", "gate", "--base", "main", "-f", "json", cwd=repo.root, env=ENV)
    assert second.exit_code == 0 and server.count == 0
    again = json.loads(second.stdout)
    assert again["prompts"] == report["prompts"] and again["line"] == report["line"]
    assert (repo.root / ".llmops/gate/gate.json").is_file()


def test_baseline_file_must_be_judged_the_same_way(tmp_git_repo: GitRepo, server: FakeLLM) -> None:
    from llmops_cli.evals.runner import EvalOptions, run_eval
    from llmops_cli.project import Project

    repo = tmp_git_repo
    gp.make_repo(repo, server.url)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(gp.KEY_ENV, gp.KEY_VALUE)
        run_eval(Project.open(repo.root), EvalOptions(out=str(repo.root / "base.json")))
        repo.git("checkout", "-q", "-b", "feature")
        repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
        repo.commit("degrade")
        run_eval(Project.open(repo.root), EvalOptions(out=str(repo.root / "head.json")))

    cmp = run_cli("eval", "compare", "base.json", "head.json", "-f", "markdown", cwd=repo.root, env=ENV)
    assert cmp.exit_code == 1 and "❌ FAIL" in cmp.stdout and "support/answer" in cmp.stdout
    assert server.count == 112  # base: 16 cases x (1 + 3); head: only the 12 changed x (1 + 3), "other" replayed

    repo.write("llmops.yaml", gp.config_text(server.url, samples=2))  # K changes: the judge config differs
    repo.commit("fewer judge samples")
    bad = run_cli("eval", "gate", "--base", "base.json", cwd=repo.root, env=ENV)
    assert bad.exit_code == 2
    assert "cannot compare base.json" in bad.stderr and "config_hash" in bad.stderr
    assert server.count == 112  # refused before any call


def test_added_prompt_is_listed_not_gated(tmp_git_repo: GitRepo, server: FakeLLM) -> None:
    repo = tmp_git_repo
    gp.make_repo(repo, server.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/new.prompt.yaml", gp.answer_prompt("Brand new."))
    repo.write("evals/support/new.yaml", gp.golden(3, "n"))
    repo.remove("prompts/support/other.prompt.yaml")
    repo.remove("evals/support/other.yaml")
    repo.commit("add one, remove one")
    r = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env=ENV)
    assert r.exit_code == 1, r.output  # removing a gated prompt is FAIL (#28), the new one is listed
    assert "support/new: added" in r.stdout and "support/other: prompt-removed" in r.stdout
    assert "no changed prompt to gate" not in r.stdout
    assert server.count == 0


def test_unknown_base_ref_is_bad_input(tmp_git_repo: GitRepo, server: FakeLLM) -> None:
    gp.make_repo(tmp_git_repo, server.url)
    r = run_cli("eval", "gate", "--base", "no-such-branch", cwd=tmp_git_repo.root, env=ENV)
    assert r.exit_code == 2 and "no-such-branch" in r.stderr


# -- decision rules (unit) ----------------------------------------------------------------------------------------


def _arm(name: str, scores: dict[str, list[float]], *, judge_errors: int = 0, clusters: dict | None = None) -> Arm:
    arm = Arm(name, judged_metrics={"judge"})
    for cid, s in scores.items():
        arm.cases[cid] = CaseData(cid, (clusters or {}).get(cid), {"judge": list(s)}, ["out"])
    arm.generations = len(scores)
    arm.judge_calls = sum(len(s) for s in scores.values()) + judge_errors
    arm.judge_errors = judge_errors
    return arm


def test_added_and_removed_cases_are_listed_not_paired() -> None:
    base = _arm("p", {"a": [1.0], "b": [1.0], "gone": [0.0]})
    head = _arm("p", {"a": [1.0], "b": [1.0], "new": [0.0]})
    gate = compare_arms("p", base, head, GateConfig())
    assert gate.cases_added == ["new"] and gate.cases_removed == ["gone"]
    assert gate.metrics[0].n_cases == 2 and gate.state == "PASS"


def test_judge_errors_fail_closed() -> None:
    ok = {f"c{i}": [0.8, 0.8, 0.8] for i in range(20)}
    gate = compare_arms("p", _arm("p", ok), _arm("p", ok, judge_errors=10), GateConfig())
    assert gate.state == "FAIL" and "judge errors in head" in gate.reason and "failing closed" in gate.reason
    # both within the limit, but clearly different between arms
    chk = check_errors("judge", 0, 2000, 90, 2000, 0.05, 0.05)
    assert chk.failed and "differ" in chk.reason
    assert not check_errors("judge", 3, 100, 4, 100, 0.05, 0.05).failed
    assert fisher_p(5, 100, 5, 100) == pytest.approx(1.0)
    assert fisher_p(0, 150, 12, 150) < 0.001


def test_inconclusive_drop_warns_with_the_mde() -> None:
    diffs = [-0.1, 0.05, -0.12, 0.02, -0.08, 0.03, -0.05]
    base = {f"c{i}": [0.6] for i in range(7)}
    head = {f"c{i}": [0.6 + d] for i, d in enumerate(diffs)}
    gate = compare_arms("p", _arm("p", base), _arm("p", head), GateConfig(practical=0.02))
    assert gate.state == "WARN" and "detects drops ≥" in gate.reason


def test_overrides_apply_per_prompt() -> None:
    base = {f"c{i}": [0.8] for i in range(10)}
    head = {f"c{i}": [0.8 - 0.05 - 0.01 * (i % 2)] for i in range(10)}
    strict = compare_arms("p", _arm("p", base), _arm("p", head), GateConfig(practical=0.02))
    loose = compare_arms(
        "p", _arm("p", base), _arm("p", head), GateConfig(practical=0.02, overrides={"p": {"practical": 0.1}})
    )
    assert strict.state == "FAIL" and loose.state == "PASS" and loose.thresholds.practical == 0.1


def test_collect_reads_judge_samples_errors_and_the_verdict_metric() -> None:
    rec = {
        "prompt": "p", "case_id": "a", "sample": 0, "cluster": "x", "output": "hi", "error": None,
        "status": "fail", "cost_usd": 0.002, "request_hash": "h",
        "judge": {"samples": 3, "errors": 1, "cost_usd": 0.001},
        "assertions": [
            {"type": "judge", "metric": "judge", "score": 0.5, "samples": [0.25, None, 0.75]},
            {"type": "icontains", "metric": "icontains", "score": 0.0},
        ],
    }  # fmt: skip
    err = {**rec, "sample": 1, "error": {"kind": "timeout"}, "status": "error", "assertions": [], "output": None,
           "judge": {"samples": 0, "errors": 0}}  # fmt: skip
    doc = {"schema_version": 1, "kind": "llmops-eval-results", "prompts": {"p": {"clusters": {"a": "x"}}}}
    arms = collect(results_from_dict({**doc, "samples": [rec, err]}))
    arm = arms["p"]
    assert arm.cases["a"].scores == {"judge": [0.25, 0.75], "icontains": [0.0], PASS_METRIC: [0.0]}
    assert (arm.judge_calls, arm.judge_errors, arm.generations, arm.provider_errors) == (3, 1, 2, 1)
    assert arm.cost_per_1k() == pytest.approx(2.0)


def test_verdict_line_fits_a_commit_status() -> None:
    base = {f"c{i}": [1.0] for i in range(12)}
    head = {f"c{i}": [0.25] for i in range(12)}
    report = decide({"x" * 200: _arm("x", base)}, {"x" * 200: _arm("x", head)}, GateConfig())
    assert report.verdict == "FAIL" and len(report.line) <= 140
    assert verdict_line("PASS", []) == "PASS: no changed prompt to gate"
    assert len(status_description("word " * 100)) <= 140


# -- GitHub status (unit) -----------------------------------------------------------------------------------------


def test_status_retries_once_on_5xx_and_reads_the_pr_head(github_api: Any, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "abc123"}}}))
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": github_api.url, "GITHUB_SHA": "merge"}  # fmt: skip
    github_api.statuses = [502]
    post_status("success", "PASS: all good", env)
    assert [r["path"] for r in github_api.records] == ["/repos/o/r/statuses/abc123"] * 2
    github_api.statuses = [500, 503]
    with pytest.raises(StatusError) as exc:
        post_status("failure", "FAIL", env)
    assert TOKEN not in str(exc.value)
    github_api.statuses = [404]
    with pytest.raises(StatusError):
        post_status("failure", "FAIL", env)
    assert len(github_api.records) == 5  # no retry on a 4xx
    assert head_sha({"GITHUB_SHA": "s"}) == "s"
    with pytest.raises(StatusError, match="GITHUB_TOKEN"):
        post_status("success", "x", {"GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "s"})


def test_error_rules_are_tests_not_thresholds() -> None:
    # 3% vs 3% of 150 judge calls: noise, not a reason to fail closed (the old raw-threshold rule often did)
    assert not check_errors("judge", 4, 150, 5, 150, 0.05, 0.05).failed
    assert not check_errors("judge", 9, 150, 8, 150, 0.05, 0.05).failed  # 6% observed, not shown above 5%
    lopsided = check_errors("judge", 0, 150, 12, 150, 0.05, 0.05)  # 8% in head vs 0% in base
    assert lopsided.failed and "differ" in lopsided.reason and "Fisher" in lopsided.reason
    above = check_errors("provider", 30, 150, 30, 150, 0.05, 0.05)  # 20% in both: clearly above the limit
    assert above.failed and "above max_provider_error_rate" in above.reason and "binomial" in above.reason
    assert check_errors("judge", 0, 50, 1, 50, 0.0, 0.05).failed  # no error allowed: any error fails closed
