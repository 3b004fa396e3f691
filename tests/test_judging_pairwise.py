"""Pairwise gating on the loopback server: the base's pairwise judge sees base and head answers in both orders;
a degraded head FAILs, an identical head PASSes without a pairwise call, and the swap is visible in the requests.
Plus the exact sign test against SciPy."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from llmops_cli.judging.pairwise import sign_test_p
from tests.conftest import GitRepo
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM, all_text

PAIRWISE = """
model: chat
params: {temperature: 0}
inputs:
  question: {type: string}
  answer_a: {type: string}
  answer_b: {type: string}
output: json
messages:
  - role: system
    content: Compare two answers. Reply with JSON {"reasoning", "score"}, 1 = A better, 5 = B better, 3 = equal.
  - role: user
    content: "PAIR question={{ question }} A=<<{{ answer_a }}>> B=<<{{ answer_b }}>>"
"""


def responder(body: dict[str, Any]) -> str:
    text = all_text(body)
    if "PAIR " in text:
        a = text.split("A=<<", 1)[1].split(">>", 1)[0]
        b = text.split("B=<<", 1)[1].split(">>", 1)[0]
        score = 3 if ("WORSE" in a) == ("WORSE" in b) else (5 if "WORSE" in a else 1)
        return json.dumps({"reasoning": "compared", "score": score})
    return gp.responder(body)


@pytest.mark.parametrize(("b", "h"), [(0, 0), (5, 0), (7, 2), (3, 3), (12, 0), (0, 4)])
def test_sign_test_matches_scipy(b: int, h: int) -> None:
    from scipy.stats import binomtest

    expected = 1.0 if b + h == 0 else binomtest(b, b + h, 0.5, alternative="greater").pvalue
    assert abs(sign_test_p(b, h) - expected) < 1e-12


@pytest.fixture
def server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    return fake_llm_factory(responder=responder)


@pytest.fixture
def repo(tmp_git_repo: GitRepo, server: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv(gp.KEY_ENV, gp.KEY_VALUE)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    gp.make_repo(tmp_git_repo, server.url, n=10)
    config = (tmp_git_repo.root / "llmops.yaml").read_text().replace("samples: 3", "samples: 1")
    tmp_git_repo.write("llmops.yaml", config + "gate: {pairwise: {judge: judges/pairwise}}\n")
    tmp_git_repo.write("prompts/judges/pairwise.prompt.yaml", PAIRWISE)
    tmp_git_repo.commit("pairwise judge")
    tmp_git_repo.git("checkout", "-q", "-b", "feature")
    return tmp_git_repo


def _gate(repo: GitRepo) -> Any:
    from llmops_cli.gate.run import GateOptions, run_gate
    from llmops_cli.project import Project

    cwd = os.getcwd()
    os.chdir(repo.root)
    try:
        return run_gate(Project.open(repo.root), GateOptions(base="main"))
    finally:
        os.chdir(cwd)


def _pairs(server: FakeLLM) -> list[str]:
    return [all_text(r.body) for r in server.chat_requests if "PAIR " in all_text(r.body)]


def test_degraded_head_fails_and_both_orders_are_asked(repo: GitRepo, server: FakeLLM) -> None:
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    repo.commit("regress")
    report = _gate(repo)
    (p,) = [p for p in report.prompts if p.prompt == "support/answer"]
    assert p.pairwise["state"] == "FAIL" and p.pairwise["base_wins"] == 10 and p.pairwise["head_wins"] == 0
    assert p.pairwise["p_value"] == pytest.approx(2**-10) and p.state == "FAIL" and report.verdict == "FAIL"
    sent = _pairs(server)
    assert len(sent) == 20  # every case, both orders
    assert sum("A=<<A good answer>> B=<<WORSE answer>>" in t for t in sent) == 10
    assert sum("A=<<WORSE answer>> B=<<A good answer>>" in t for t in sent) == 10
    from llmops_cli.gate.markdown import to_markdown

    assert "pairwise judge: pairwise (judges/pairwise, both orders): base preferred on 10" in to_markdown(report)


def test_identical_head_passes_without_pairwise_calls(repo: GitRepo, server: FakeLLM) -> None:
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly, please."))
    repo.commit("wording, same answers")
    report = _gate(repo)
    (p,) = [p for p in report.prompts if p.prompt == "support/answer"]
    assert p.pairwise["state"] == "PASS" and p.pairwise["ties"] == 10 and p.pairwise["p_value"] == 1.0
    assert p.state == "PASS" and not _pairs(server)  # byte-identical answers are ties by construction


def test_a_judge_without_answer_a_and_b_is_refused(repo: GitRepo) -> None:
    from llmops_cli.errors import PromptFileError

    repo.git("checkout", "-q", "main")
    repo.write("prompts/judges/pairwise.prompt.yaml", gp.JUDGE_PROMPT)
    repo.commit("not a pairwise judge")
    repo.git("checkout", "-q", "-B", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer sloppily."))
    repo.commit("regress")
    with pytest.raises(PromptFileError, match="answer_a and answer_b"):
        _gate(repo)
