"""Stability over repeated samples: pass@k / pass^k against brute-force enumeration, flip fraction, the
flakiest cases, ``llmops judge stability`` on a real results file and the gate naming flaky head cases (loopback
server whose answers alternate for some questions)."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.judging.stability import pass_at_k, pass_hat_k, stability
from tests.conftest import GitRepo, run_cli
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM, all_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("n", "c", "k"), [(5, 2, 1), (5, 2, 2), (5, 2, 3), (6, 0, 2), (6, 6, 4), (7, 3, 7), (4, 1, 2)])
def test_pass_at_k_and_pass_hat_k_match_enumeration(n: int, c: int, k: int) -> None:
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(outcomes, k))
    assert abs(pass_at_k(n, c, k) - sum(any(s) for s in subsets) / len(subsets)) < 1e-12
    assert abs(pass_hat_k(n, c, k) - sum(all(s) for s in subsets) / len(subsets)) < 1e-12


def test_pass_at_k_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_hat_k(3, 1, 4)


def test_stability_flip_fraction_and_flakiest() -> None:
    verdicts = {
        "steady-pass": [True, True, True],
        "steady-fail": [False, False, False],
        "half": [True, False, True, False],
        "mostly": [True, True, False],
        "single": [True],  # one verdict: not counted
    }
    s = stability(verdicts, k=2)
    assert s.cases == 4 and s.flaky == 2 and s.flip_fraction == 0.5
    assert [c.case for c in s.flakiest] == ["half", "mostly"]
    expect_at = (1 + 0 + pass_at_k(4, 2, 2) + 1) / 4
    expect_hat = (1 + 0 + pass_hat_k(4, 2, 2) + pass_hat_k(3, 2, 2)) / 4
    assert s.pass_at_k == pytest.approx(expect_at) and s.pass_hat_k == pytest.approx(expect_hat)
    assert stability({"a": [True]}).cases == 0


def flaky_responder() -> Callable[[dict[str, Any]], str]:
    """Judge: 5 unless the answer says WORSE. Generation: questions ending in an odd digit alternate between a
    good and a WORSE answer on successive requests; the others always answer well."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def reply(body: dict[str, Any]) -> str:
        text = all_text(body)
        if "GRADE" in text:
            return gp.responder(body)
        with lock:
            seen[text] += 1
            n = seen[text]
        flaky = text.rstrip()[-1:] in "13579"
        return "WORSE answer" if flaky and n % 2 == 0 else "A good answer"

    return reply


@pytest.fixture
def server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    return fake_llm_factory(responder=flaky_responder())


@pytest.fixture
def repo(tmp_git_repo: GitRepo, server: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv(gp.KEY_ENV, gp.KEY_VALUE)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    gp.make_repo(tmp_git_repo, server.url, n=6)
    config = (tmp_git_repo.root / "llmops.yaml").read_text().replace("samples: 3", "samples: 1")
    tmp_git_repo.write("llmops.yaml", config.replace("eval: {", "eval: {repeat: 3, "))
    tmp_git_repo.commit("repeat 3")
    return tmp_git_repo


def test_stability_command_on_a_real_results_file(repo: GitRepo) -> None:
    env = {gp.KEY_ENV: gp.KEY_VALUE, "PYTHONPATH": str(ROOT)}
    r = run_cli("eval", "run", "support/answer", "--out", "r.json", cwd=repo.root, env=env)
    assert r.exit_code in (0, 1), r.output
    r = run_cli("judge", "stability", "r.json", "--json", cwd=repo.root, env=env)
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["support/answer"]
    assert s["cases"] == 6 and s["flaky"] == 3 and s["flip_fraction"] == 0.5 and s["k"] == 3
    assert {c["case"] for c in s["flakiest"]} == {"c01", "c03", "c05"}
    assert all(c["passes"] == 2 and c["samples"] == 3 for c in s["flakiest"])
    assert s["pass_at_k"] == 1.0 and s["pass_hat_k"] == 0.5
    r = run_cli("judge", "stability", "r.json", cwd=repo.root, env=env)
    assert "3 of 6 cases flip (50.0%); pass@3 1.000, pass^3 0.500" in r.stdout and "flaky: c01 (2/3 pass)" in r.stdout


def test_gate_names_flaky_head_cases(repo: GitRepo) -> None:
    from llmops_cli.gate.markdown import to_markdown
    from llmops_cli.gate.run import GateOptions, run_gate
    from llmops_cli.project import Project

    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly, please."))
    repo.commit("wording")
    cwd = os.getcwd()
    os.chdir(repo.root)
    try:
        report = run_gate(Project.open(repo.root), GateOptions(base="main"))
    finally:
        os.chdir(cwd)
    (p,) = [p for p in report.prompts if p.prompt == "support/answer"]
    assert {c["case"] for c in p.flaky} == {"c01", "c03", "c05"}
    assert "flaky_cases" in p.to_dict()
    assert "flaky in head (the verdict flips across samples): `c01`" in to_markdown(report, verbose=True)
