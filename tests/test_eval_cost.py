"""``eval run --estimate`` and ``--max-cost`` / ``budget.max_cost_usd``: litellm over real HTTP to the loopback
fake server, which reports usage with the model's real tokenizer (litellm's counter), priced as
``openai/gpt-4o-mini`` from litellm's bundled table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llmops_cli.evals.estimate import RunEstimate, estimate_run
from llmops_cli.evals.results import load_results
from llmops_cli.evals.runner import EvalOptions, run_eval
from llmops_cli.models.prices import count_tokens
from tests.conftest import REPO_ROOT, GitRepo, run_cli
from tests.support import gateproj as gp
from tests.support.costproj import MODEL, Replies, project, real_usage, server_cost, spent
from tests.support.evalproj import KEY_ENV, KEY_VALUE
from tests.support.fakellm import FakeLLM

CLI_ENV = {"PYTHONPATH": str(REPO_ROOT), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.delenv("LLMOPS_CACHE_DIR", raising=False)


# -- --estimate ---------------------------------------------------------------------------------------------


def test_estimate_is_within_10_percent_of_the_measured_cost_and_prompt_tokens_are_exact(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies(), usage=real_usage) as server:
        proj = project(tmp_path, server.url)
        cold = estimate_run(proj, EvalOptions())  # no history yet: the upper bound is all it can say
        assert server.count == 0
        run_eval(proj, EvalOptions())  # the history
        n_first = server.count
        est = estimate_run(proj, EvalOptions(use_cache=False))
        assert server.count == n_first  # the estimate calls nothing
        second = run_eval(proj, EvalOptions(use_cache=False))
        results = load_results(second.results_path)
    measured = spent(results)
    assert measured > 0 and est.cost_expected_usd is not None and est.cost_max_usd is not None
    assert abs(est.cost_expected_usd - measured) <= 0.10 * measured, (est.cost_expected_usd, measured)
    assert est.cost_max_usd >= measured and cold.cost_max_usd == cold.cost_expected_usd
    assert cold.cost_max_usd is not None and cold.cost_max_usd >= measured
    # every planned call: 12 cases × R 2 + 6 × 2 generations, 12 × 2 outputs × K 2 judge calls
    assert est.samples == 36 and est.calls == 36 + 48 and est.cached == 0
    gens = {g.prompt: g for g in est.groups if g.role == "generation"}
    for name, g in gens.items():
        observed = sum(r.tokens.prompt or 0 for r in results.samples if r.prompt == name and r.tokens)
        assert g.prompt_tokens == observed and g.prompt_tokens_exact  # exact, with the model's tokenizer
        assert g.output_tokens_from == ["history"]
    judge = next(g for g in est.groups if g.role == "judge")
    assert judge.calls == 48 and not judge.prompt_tokens_exact
    assert judge.output_tokens_max == 48 * 50


def test_cached_calls_cost_nothing_and_judges_of_cached_outputs_are_counted_exactly(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies(), usage=real_usage) as server:
        proj = project(tmp_path, server.url, cases=4)
        run_eval(proj, EvalOptions())
        est = estimate_run(proj, EvalOptions())
        assert est.cached == est.calls == 4 * 2 + 2 * 2 + 4 * 2 * 2
        assert est.cost_expected_usd == est.cost_max_usd == 0.0
        # another repeat: the new samples' generations are uncached, the old ones' judges stay cached
        more = estimate_run(proj, EvalOptions(repeat=3))
        assert more.cached == est.cached and more.calls == 6 * 3 + 4 * 3 * 2
        assert more.cost_expected_usd is not None and more.cost_expected_usd > 0
        # with --no-cache a judge of a known (cached) output is still rendered with that output: exact tokens
        j = next(g for g in estimate_run(proj, EvalOptions(use_cache=False)).groups if g.role == "judge")
        assert not j.prompt_tokens_exact  # the run's own outputs are unknown without the cache


def test_unknown_price_is_unknown_never_zero(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies()) as server:
        proj = project(tmp_path, server.url, cases=2, model="openai/fake-model-without-price")
        est = estimate_run(proj, EvalOptions())
        assert est.cost_expected_usd is None and est.cost_max_usd is None
        assert est.unpriced == ["openai/fake-model-without-price"]
        assert all(g.cost_max_usd is None for g in est.groups)
        r = run_cli("eval", "run", "--estimate", cwd=tmp_path, env=CLI_ENV)
        assert r.exit_code == 0, r.stderr
        assert "unknown" in r.stdout and "$0.0000" not in r.stdout
        assert server.count == 0


def test_estimate_cli_table_and_versioned_json(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies(), usage=real_usage) as server:
        project(tmp_path, server.url, cases=3)
        r = run_cli("eval", "run", "--estimate", "--json", "-r", "3", cwd=tmp_path, env=CLI_ENV)
        assert r.exit_code == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["kind"] == "llmops-eval-estimate" and data["schema_version"] == 1
        assert data["repeat"] == 3 and data["samples"] == (3 + 1) * 3
        assert set(RunEstimate.model_fields) == set(data)
        t = run_cli("eval", "run", "--estimate", cwd=tmp_path, env=CLI_ENV)
        assert t.exit_code == 0 and "COST MAX $" in t.stdout and "judge judges/rubric" in t.stdout
        assert "estimate: 8 samples" in t.stdout
        capped = run_cli("eval", "run", "--estimate", "--max-cost", "0.000001", cwd=tmp_path, env=CLI_ENV)
        assert capped.exit_code == 0 and "it may stop early" in capped.stdout
        roomy = run_cli("eval", "run", "--estimate", "--max-cost", "100", "--json", cwd=tmp_path, env=CLI_ENV)
        assert json.loads(roomy.stdout)["max_cost_usd"] == 100
        bad = run_cli("eval", "run", "--estimate", "--resume", "x", cwd=tmp_path, env=CLI_ENV)
        assert bad.exit_code == 2
        assert server.count == 0


# -- --max-cost ----------------------------------------------------------------------------------------------


def test_max_cost_at_concurrency_32_never_overshoots_and_resume_finishes(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies(), usage=real_usage, latency=0.05) as server:
        proj = project(tmp_path, server.url, cases=60)
        full = estimate_run(proj, EvalOptions(repeat=1))
        assert full.cost_max_usd is not None
        cap = full.cost_max_usd * 0.25
        out = run_eval(proj, EvalOptions(repeat=1, concurrency=32, max_cost_usd=cap))
        billed = server_cost(server)
        b = out.budget
        assert b is not None and b.reached and out.incomplete is not None
        # the largest single request's worst case: generation or judge, from the estimate's per-call bounds
        worst = max(g.cost_max_usd / max(1, g.calls - g.cached) for g in full.groups if g.cost_max_usd)
        assert billed <= cap + worst  # the bound; the reservation keeps it within the cap itself
        assert billed <= cap * (1 + 1e-9)
        assert b.spent_usd >= billed * (1 - 1e-6)  # what it counted covers what was billed
        assert billed > cap * 0.2  # it did spend (it did not stop at the first request)
        results = load_results(out.results_path)
        assert results.run.incomplete is not None and results.run.incomplete.reason == "budget"
        assert results.run.incomplete.samples_missing == 90 - len(results.samples) > 0
        assert results.run.execution and results.run.execution.budget
        assert results.run.execution.budget.refused and results.run.execution.budget.refused >= 1
        gen_before = sum(1 for r in server.chat_requests if "GRADER" not in json.dumps(r.body))
        # --resume with no cap finishes the run; finished generations replay from the cache
        done = run_eval(proj, EvalOptions(), resume=out.run_id)
        assert done.incomplete is None
        final = load_results(done.results_path)
        assert final.run.incomplete is None and len(final.samples) == 90
        gens = [r for r in server.chat_requests if "GRADER" not in json.dumps(r.body)]
        assert len(gens) == 90 and gen_before < 90  # no generation paid twice
        assert not [k for k, n in Counter(json.dumps(r.body) for r in gens).items() if n > 1]


def test_max_cost_cli_exits_1_with_budget_reached_and_config_budget_applies(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies(), usage=real_usage) as server:
        project(tmp_path, server.url, cases=10, extra="budget: {max_cost_usd: 0.0001}")
        r = run_cli("eval", "run", "-q", "-j", "4", cwd=tmp_path, env=CLI_ENV)
        assert r.exit_code == 1, r.stderr
        assert "budget reached" in r.stderr and "--resume" in r.stderr
        first = server.count
        assert first > 0
        # the CLI wins over llmops.yaml: a bigger cap lets the run finish
        run_id = r.stderr.split("eval run --resume ")[1].split()[0]
        r2 = run_cli("eval", "run", "-q", "--resume", run_id, "--max-cost", "5", cwd=tmp_path, env=CLI_ENV)
        assert r2.exit_code in (0, 1) and "budget reached" not in r2.stderr, r2.stderr
        assert "results marked incomplete" not in r2.stderr
        nan = run_cli("eval", "run", "--max-cost", "nan", cwd=tmp_path, env=CLI_ENV)
        assert nan.exit_code == 2


def test_max_cost_with_an_unpriced_model_exits_2_before_any_call(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies()) as server:
        project(tmp_path, server.url, cases=3, model="openai/fake-model-without-price")
        r = run_cli("eval", "run", "-q", "--max-cost", "1", cwd=tmp_path, env=CLI_ENV)
        assert r.exit_code == 2 and "cannot be enforced" in r.stderr and "Traceback" not in r.stderr
        assert server.count == 0


def test_budget_in_llmops_yaml_is_validated_and_not_part_of_the_config_hash(tmp_path: Path) -> None:
    from llmops_cli.config import parse_config
    from llmops_cli.errors import UserError
    from llmops_cli.hashing import sha256_of

    plain = parse_config("concurrency: 4\n")
    capped = parse_config("concurrency: 4\nbudget: {max_cost_usd: 2.5}\n")
    assert capped.budget.max_cost_usd == 2.5
    assert sha256_of(plain.model_dump(mode="json")) == sha256_of(capped.model_dump(mode="json"))
    for bad in ("budget: {max_cost_usd: -1}", "budget: {max_cost_usd: .nan}", "budget: {max_usd: 1}"):
        with pytest.raises(UserError) as err:
            parse_config(bad + "\n")
        assert err.value.line == 1


def test_count_tokens_is_the_diff_cost_counter() -> None:
    """The estimate counts with the same function as ``prompt diff --cost``: one token counter."""
    import llmops_cli.diff.cost as diff_cost
    import llmops_cli.evals.estimate as estimate

    src = Path(estimate.__file__).read_text() + Path(diff_cost.__file__).read_text()
    assert src.count("from ..models.prices import count_tokens") == 2
    assert count_tokens(MODEL, [{"role": "user", "content": "hello"}]) > 0


# -- eval gate ----------------------------------------------------------------------------------------------


def _gate_repo(repo: GitRepo, url: str, model: str) -> None:
    gp.make_repo(repo, url)
    text = gp.config_text(url).replace("openai/fake-model", model)
    repo.write(
        "llmops.yaml",
        text.replace(f"api_key_env: {gp.KEY_ENV}}}", f"api_key_env: {gp.KEY_ENV}, params: {{max_tokens: 20}}}}"),
    )
    repo.commit("priced model")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    repo.commit("degrade")


def test_gate_honours_the_cap_over_both_sides(tmp_git_repo: GitRepo) -> None:
    env = {**CLI_ENV, gp.KEY_ENV: gp.KEY_VALUE}
    with FakeLLM(responder=gp.responder, usage=real_usage, latency=0.02) as server:
        _gate_repo(tmp_git_repo, server.url, MODEL)
        cap = 0.0003  # the gate's ~100 calls cost ~$0.0007
        r = run_cli("eval", "gate", "--base", "main", "--max-cost", str(cap), cwd=tmp_git_repo.root, env=env)
        assert r.exit_code == 1, r.output
        assert "budget reached during the gate's" in r.stderr and "no verdict" in r.stderr
        assert server.count > 0 and server_cost(server) <= cap
        # a cap in llmops.yaml applies too
        tmp_git_repo.write("llmops.yaml", tmp_git_repo.root.joinpath("llmops.yaml").read_text() +
                           "budget: {max_cost_usd: 0.0002}\n")  # fmt: skip
        tmp_git_repo.commit("cap")
        server.reset_history()
        r2 = run_cli("eval", "gate", "--base", "main", cwd=tmp_git_repo.root, env=env)
        assert r2.exit_code == 1 and "budget reached" in r2.stderr and server_cost(server) <= 0.0002


def test_gate_with_a_cap_and_an_unpriced_model_exits_2_before_any_call(tmp_git_repo: GitRepo) -> None:
    env = {**CLI_ENV, gp.KEY_ENV: gp.KEY_VALUE}
    with FakeLLM(responder=gp.responder) as server:
        _gate_repo(tmp_git_repo, server.url, "openai/fake-model")
        r = run_cli("eval", "gate", "--base", "main", "--max-cost", "1", cwd=tmp_git_repo.root, env=env)
        assert r.exit_code == 2 and "cannot be enforced" in r.stderr, r.output
        assert server.count == 0


# -- hostile inputs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incomplete", "where"),
    [
        ({"reason": "budget", "samples_missing": 5, "samples_planned": 2}, "run.incomplete.samples_missing"),
        ({"reason": "bud\x1bget"}, "run.incomplete.reason"),
        ({"samples_missing": 1}, "run.incomplete.reason"),
        ({"reason": "budget", "samples_missing": -1}, "run.incomplete.samples_missing"),
        ("yes", "run.incomplete"),
    ],
)
def test_a_hostile_incomplete_marker_is_refused_naming_its_path(incomplete: object, where: str) -> None:
    from llmops_cli.evals.results import validate_results
    from llmops_cli.records.results import EvalResults, RunInfo

    doc = EvalResults(run=RunInfo()).to_dict()
    doc["run"]["incomplete"] = incomplete
    problem = validate_results(doc)
    assert problem is not None and problem.startswith(where), problem


def test_a_hostile_budget_record_is_refused() -> None:
    from llmops_cli.evals.results import validate_results
    from llmops_cli.records.results import EvalResults, Execution, RunInfo

    doc = EvalResults(run=RunInfo(execution=Execution(id="x"))).to_dict()
    doc["run"]["execution"]["budget"] = {"max_cost_usd": -1}
    problem = validate_results(doc)
    assert problem is not None and problem.startswith("run.execution.budget.max_cost_usd")


def test_history_skips_torn_oversized_and_foreign_lines(tmp_path: Path) -> None:
    from llmops_cli.evals import history

    run = tmp_path / ".llmops" / "runs" / "20260101T000000Z-aaaaaa"
    run.mkdir(parents=True)
    good = {
        "prompt": "p",
        "case_id": "c",
        "sample": 0,
        "model": "m",
        "request_hash": "h",
        "status": "pass",
        "tokens": {"completion": 10},
    }  # a journal line: a sample record
    lines = [
        json.dumps(good),
        json.dumps({**good, "tokens": {"completion": 30}}),
        json.dumps({**good, "tokens": {"completion": True}}),  # a bool is not a count
        json.dumps({**good, "tokens": {"completion": -5}}),
        json.dumps({**good, "status": "error", "tokens": {"completion": 999}}),
        json.dumps({**good, "replay": True, "tokens": {"completion": 999}}),
        "[1, 2, 3]",
        "{not json",
        json.dumps({**good, "pad": "x" * (history.MAX_LINE_BYTES + 10), "tokens": {"completion": 999}}),
    ]
    (run / "journal.jsonl").write_text("\n".join(lines) + "\n" + json.dumps({**good, "tokens": {"completion": 999}}))
    h = history.load_history(str(tmp_path))
    assert h.generation("h", "p", "m") == (20.0, "history")  # the torn last line is not read either
    assert h.generation("other", "p", "m") == (20.0, "history (prompt)")
    assert h.generation("other", "q", "m") is None
    assert history.load_history(str(tmp_path / "nowhere")).generation("h", "p", "m") is None


def test_an_incomplete_shard_is_not_merged_and_show_says_incomplete(tmp_path: Path) -> None:
    with FakeLLM(responder=Replies(), usage=real_usage) as server:
        proj = project(tmp_path, server.url, cases=8)
        opts = [EvalOptions(repeat=1, shard=(i, 2), out=str(tmp_path / f"s{i}.json")) for i in (1, 2)]
        run_eval(proj, opts[0])
        part = run_eval(proj, EvalOptions(repeat=1, shard=(2, 2), out=opts[1].out, max_cost_usd=0.00004))
        assert part.incomplete is not None
        r = run_cli("eval", "merge", "s1.json", "s2.json", "--out", "all.json", cwd=tmp_path, env=CLI_ENV)
        assert r.exit_code == 2 and "s2.json" in r.stderr and "stopped early" in r.stderr, r.output
        show = run_cli("eval", "show", "s2.json", cwd=tmp_path, env=CLI_ENV)
        assert "incomplete: the run stopped early (budget reached)" in show.stderr, show.output
        run_eval(proj, EvalOptions(), resume=part.run_id)
        r = run_cli("eval", "merge", "s1.json", "s2.json", "--out", "all.json", cwd=tmp_path, env=CLI_ENV)
        assert r.exit_code in (0, 1) and load_results(str(tmp_path / "all.json")).run.incomplete is None
