"""Hostile inputs, round three (#28, finding 3 and part of 9): a pull request cannot weaken its own gate.

The gate reads ``gate:`` (and R, K) from the base's llmops.yaml and reports a PR's changes to them; deleting a
gated prompt, its golden set, its cases or renaming it without a declared move FAILs (``gate.accept_removal``
turns that into a WARN named in the status line). Also: ``eval merge`` refuses missing or mislabelled shards,
and ``eval gate`` refuses base and head results given the wrong way round. Real git repositories, real HTTP to
the loopback fake server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo, run_cli
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM

ENV = {gp.KEY_ENV: gp.KEY_VALUE, "GITHUB_BASE_REF": ""}
DEGRADED = gp.answer_prompt("Answer sloppily.")


@pytest.fixture
def repo(tmp_git_repo: GitRepo, fake_llm_factory: Callable[..., FakeLLM]) -> GitRepo:
    server = fake_llm_factory(responder=gp.responder)
    gp.make_repo(tmp_git_repo, server.url)
    tmp_git_repo.git("checkout", "-q", "-b", "feature")
    return tmp_git_repo


def _gate(repo: GitRepo, *args: str) -> tuple[int, dict[str, Any], str]:
    r = run_cli("eval", "gate", "--base", "main", "-f", "json", *args, cwd=repo.root, env=ENV)
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout), r.stderr


def _config(repo: GitRepo) -> str:
    return (repo.root / "llmops.yaml").read_text()


def _state(report: dict[str, Any], name: str) -> tuple[str, str | None]:
    (p,) = [p for p in report["prompts"] if p["prompt"] == name]
    return p["status"], p["state"]


# -- settings come from the base ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weakening",
    [
        "gate: {practical: 1.0}\n",
        "gate: {alpha: 1.0e-300}\n",
        "gate: {overrides: {support/answer: {practical: 1.0}}}\n",
        "gate: {max_judge_error_rate: 1.0, max_provider_error_rate: 1.0, practical: 0.9}\n",
    ],
)
def test_a_pr_that_weakens_its_gate_is_gated_with_the_base_settings(repo: GitRepo, weakening: str) -> None:
    repo.write("llmops.yaml", _config(repo) + weakening)
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("regress and weaken the gate")
    code, report, stderr = _gate(repo)
    assert code == 1 and report["verdict"] == "FAIL", report["line"]
    assert _state(report, "support/answer") == ("gated", "FAIL")
    assert report["policy"]["changed"] and report["policy"]["source"].startswith("llmops.yaml at main")
    assert "gate settings changed in this PR" in stderr
    assert report["settings"]["practical"] == 0.02 and report["settings"]["alpha"] == 0.05  # the base's
    text = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env=ENV)
    assert text.exit_code == 1 and "gate settings changed in this PR: gate." in text.stdout
    md = run_cli("eval", "gate", "--base", "main", "-f", "markdown", cwd=repo.root, env=ENV)
    assert "gate settings changed in this PR" in md.stdout and "gate settings from llmops.yaml at main" in md.stdout


def test_results_files_are_gated_with_the_settings_of_the_base_commit(repo: GitRepo) -> None:
    """The sharded workflow's last step gates two results files: the policy comes from base.json's commit."""
    repo.write("llmops.yaml", _config(repo) + "gate: {practical: 1.0}\n")
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("regress and weaken the gate")
    assert _gate(repo, "--out-dir", "g")[0] == 1
    r = run_cli("eval", "gate", "--base", "g/base.json", "--head", "g/head.json", "-f", "json", cwd=repo.root, env=ENV)
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    assert report["verdict"] == "FAIL" and "the commit of g/base.json" in report["policy"]["source"]
    assert report["policy"]["changed"] == ["gate.practical 0.02 → 1.0"]


def test_policy_changes_name_each_setting() -> None:
    from llmops_cli.config import parse_config
    from llmops_cli.gate.policy import policy_changes

    base = parse_config("gate: {practical: 0.02}\n")
    head = parse_config(
        "gate: {practical: 1.0, overrides: {a: {alpha: 0.4}}, moves: {x: y}, accept_removal: {z: why}}\n"
        "judge: {samples: 3}\n"
    )
    assert policy_changes(base, head) == [
        "gate.overrides.a.alpha (unset) → 0.4",
        "gate.practical 0.02 → 1.0",
        "judge.samples 1 → 3",
    ]
    assert policy_changes(base, base) == []


def test_unchanged_settings_are_not_reported(repo: GitRepo) -> None:
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly, please."))
    repo.commit("wording")
    code, report, stderr = _gate(repo)
    assert code == 0 and report["policy"]["changed"] == [] and "gate settings changed" not in stderr


def test_lower_repeat_in_the_pr_is_not_used(repo: GitRepo) -> None:
    """R and K set the gate's power: a PR lowering them is gated with the base's."""
    repo.write("llmops.yaml", _config(repo).replace("samples: 3", "samples: 1"))
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("fewer judge samples")
    code, report, _ = _gate(repo)
    assert code == 1 and report["settings"]["judge_samples"] == 3
    assert any("judge.samples 3 → 1" in c for c in report["policy"]["changed"])


# -- removals fail ------------------------------------------------------------------------------------------


def test_deleting_the_golden_set_fails(repo: GitRepo) -> None:
    repo.remove("evals/support/answer.yaml")
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("drop the golden set")
    code, report, _ = _gate(repo)
    assert code == 1 and report["verdict"] == "FAIL"
    assert _state(report, "support/answer") == ("golden-set-removed", "FAIL")
    assert "no changed prompt to gate" not in report["line"] and "support/answer" in report["line"]


def test_emptying_the_golden_set_fails(repo: GitRepo) -> None:
    repo.write("evals/support/answer.yaml", "cases: []\n")
    repo.commit("empty")
    code, report, _ = _gate(repo)
    assert code == 1 and _state(report, "support/answer") == ("golden-set-emptied", "FAIL")


def test_deleting_the_prompt_fails(repo: GitRepo) -> None:
    repo.remove("prompts/support/answer.prompt.yaml")
    repo.remove("evals/support/answer.yaml")
    repo.commit("delete")
    code, report, _ = _gate(repo)
    assert code == 1 and _state(report, "support/answer") == ("prompt-removed", "FAIL")


def test_renaming_the_prompt_without_a_declared_move_fails(repo: GitRepo) -> None:
    repo.git("mv", "prompts/support/answer.prompt.yaml", "prompts/support/reply.prompt.yaml")
    repo.git("mv", "evals/support/answer.yaml", "evals/support/reply.yaml")
    repo.write("prompts/support/reply.prompt.yaml", DEGRADED)
    repo.commit("rename and regress")
    code, report, _ = _gate(repo)
    assert code == 1 and _state(report, "support/answer") == ("prompt-removed", "FAIL")


def test_a_declared_move_is_gated_old_against_new(repo: GitRepo) -> None:
    repo.git("mv", "prompts/support/answer.prompt.yaml", "prompts/support/reply.prompt.yaml")
    repo.git("mv", "evals/support/answer.yaml", "evals/support/reply.yaml")
    repo.write("prompts/support/reply.prompt.yaml", DEGRADED)
    repo.write("llmops.yaml", _config(repo) + "gate: {moves: {support/answer: support/reply}}\n")
    repo.commit("declared rename, regressed")
    code, report, _ = _gate(repo)
    assert code == 1 and _state(report, "support/reply") == ("gated", "FAIL")  # the regression is caught
    assert not [p for p in report["prompts"] if p["prompt"] == "support/answer"]
    assert report["policy"]["changed"] == []  # a declaration, not a settings change
    repo.write("prompts/support/reply.prompt.yaml", gp.answer_prompt("Answer briefly."))
    repo.commit("no regression")
    code, report, _ = _gate(repo)
    assert code == 0 and _state(report, "support/reply") == ("gated", "PASS")


def test_sharded_gate_with_a_declared_move_merges_back(repo: GitRepo) -> None:
    repo.git("mv", "prompts/support/answer.prompt.yaml", "prompts/support/reply.prompt.yaml")
    repo.git("mv", "evals/support/answer.yaml", "evals/support/reply.yaml")
    repo.write("prompts/support/reply.prompt.yaml", DEGRADED)
    repo.write("llmops.yaml", _config(repo) + "gate: {moves: {support/answer: support/reply}}\n")
    repo.commit("declared rename")
    for i in (1, 2):
        r = run_cli("eval", "gate", "--base", "main", "--shard", f"{i}/2", "--out-dir", f"s{i}", cwd=repo.root, env=ENV)
        assert r.exit_code in (0, 1), r.output
    for arm in ("base", "head"):
        r = run_cli("eval", "merge", f"s1/{arm}.json", f"s2/{arm}.json", "--out", f"{arm}.json", cwd=repo.root)
        assert r.exit_code in (0, 1), r.output
    r = run_cli("eval", "gate", "--base", "base.json", "--head", "head.json", "-f", "json", cwd=repo.root, env=ENV)
    assert r.exit_code == 1, r.output
    assert _state(json.loads(r.stdout), "support/reply") == ("gated", "FAIL")


@pytest.mark.parametrize("keep", [0, 3])
def test_removing_most_cases_fails(repo: GitRepo, keep: int) -> None:
    """12 base cases; keeping 0 (renamed ids) or 3 of them is far beyond max_removed_cases (20%)."""
    fresh = gp.golden(12, prefix="x")  # new ids: the base's cases are gone from the pairing
    kept = gp.golden(keep).split("\n", 1)[1] if keep else ""
    repo.write("evals/support/answer.yaml", fresh + kept)
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("rename case ids")
    code, report, _ = _gate(repo)
    assert code == 1
    (p,) = [p for p in report["prompts"] if p["prompt"] == "support/answer"]
    assert p["state"] == "FAIL" and "max_removed_cases" in p["reason"]


def test_removing_a_few_cases_is_allowed(repo: GitRepo) -> None:
    text = gp.golden(12)
    repo.write("evals/support/answer.yaml", "\n".join(text.splitlines()[:-2]) + "\n")  # 2 of 12 = 17 %
    repo.commit("drop two cases")
    code, report, _ = _gate(repo)
    assert code == 0 and _state(report, "support/answer") == ("gated", "PASS"), report["line"]


def test_a_pr_raising_max_removed_cases_is_gated_with_the_base_limit(repo: GitRepo) -> None:
    repo.write("llmops.yaml", _config(repo) + "gate: {max_removed_cases: 1.0}\n")
    repo.write("evals/support/answer.yaml", gp.golden(2))
    repo.commit("drop ten cases and allow it")
    code, report, _ = _gate(repo)
    assert code == 1 and "max_removed_cases 20%" in json.dumps(report)


def test_accepted_removal_is_a_visible_warn(repo: GitRepo) -> None:
    repo.remove("evals/support/answer.yaml")
    repo.write("llmops.yaml", _config(repo) + "gate: {accept_removal: {support/answer: replaced by the FAQ bot}}\n")
    repo.commit("retire")
    code, report, _ = _gate(repo)
    assert code == 0 and report["verdict"] == "WARN"
    assert _state(report, "support/answer") == ("golden-set-removed", "WARN")
    assert "accepted removal: support/answer" in report["line"]
    strict = run_cli("eval", "gate", "--base", "main", "--fail-on", "warn", cwd=repo.root, env=ENV)
    assert strict.exit_code == 1 and "accepted removal" in strict.stdout


@pytest.mark.parametrize(
    "bad",
    [
        "gate: {moves: {'../x': y}}\n",
        'gate: {accept_removal: {a: "two\\nlines"}}\n',
        "gate: {max_removed_cases: 2}\n",
    ],
)
def test_bad_declarations_exit_2(repo: GitRepo, bad: str) -> None:
    repo.write("llmops.yaml", _config(repo) + bad)
    r = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env=ENV)
    assert r.exit_code == 2 and "llmops.yaml" in r.stderr and "Traceback" not in r.output, r.output


# -- results files: swapped sides, and merges that are not the whole run -----------------------------------


@pytest.fixture
def gated(repo: GitRepo) -> GitRepo:
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("regress")
    assert _gate(repo, "--out-dir", "g")[0] == 1
    return repo


def test_swapped_gate_results_exit_2(gated: GitRepo) -> None:
    r = run_cli("eval", "gate", "--base", "g/head.json", "--head", "g/base.json", cwd=gated.root, env=ENV)
    assert r.exit_code == 2 and "swapped" in r.stderr, r.output
    ok = run_cli("eval", "gate", "--base", "g/base.json", "--head", "g/head.json", cwd=gated.root, env=ENV)
    assert ok.exit_code == 1, ok.output
    ref = run_cli("eval", "gate", "--base", "main", "--head", "g/base.json", cwd=gated.root, env=ENV)
    assert ref.exit_code == 2 and "swapped" in ref.stderr, ref.output


def test_swapped_plain_runs_are_caught_by_commit_order(gated: GitRepo) -> None:
    """Results of `eval run` carry no arm: the commits tell which side is newer."""
    root = gated.root
    assert run_cli("eval", "run", "-q", "-o", "new.json", cwd=root, env=ENV).exit_code in (0, 1)
    gated.git("checkout", "-q", "main")
    assert run_cli("eval", "run", "-q", "-o", "old.json", cwd=root, env=ENV).exit_code in (0, 1)
    gated.git("checkout", "-q", "feature")
    r = run_cli("eval", "gate", "--base", "new.json", "--head", "old.json", cwd=root, env=ENV)
    assert r.exit_code == 2 and "swapped" in r.stderr and "newer" in r.stderr, r.output


def _shards(repo: GitRepo) -> Path:
    root = repo.root
    for i in (1, 2, 3):
        r = run_cli("eval", "run", "-q", "--shard", f"{i}/3", "-o", f"s{i}.json", cwd=root, env=ENV)
        assert r.exit_code in (0, 1), r.output
    return root


def test_merge_with_a_missing_shard_fails(repo: GitRepo) -> None:
    root = _shards(repo)
    r = run_cli("eval", "merge", "s1.json", "s3.json", "--out", "m.json", cwd=root)
    assert r.exit_code == 2 and "2/3" in r.stderr and "missing" in r.stderr, r.output
    assert not (root / "m.json").exists()
    assert run_cli("eval", "merge", "s1.json", "s2.json", "s3.json", "--out", "m.json", cwd=root).exit_code in (0, 1)


def _relabel(path: Path, label: str | None) -> None:
    doc = json.loads(path.read_text())
    if label is None:
        del doc["run"]["execution"]["shard"]
    else:
        doc["run"]["execution"]["shard"] = label
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("label", "message"),
    [("3/3", "belongs to shard"), ("2/4", "belongs to shard"), (None, "not a shard"), ("1/3", "given twice")],
)
def test_merge_with_a_mislabelled_shard_fails(repo: GitRepo, label: str | None, message: str) -> None:
    root = _shards(repo)
    _relabel(root / "s2.json", label)
    r = run_cli("eval", "merge", "s1.json", "s2.json", "s3.json", "--out", "m.json", cwd=root)
    assert r.exit_code == 2 and message in r.stderr and "Traceback" not in r.output, r.output
