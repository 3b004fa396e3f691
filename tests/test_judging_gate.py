"""The gate shows each judged metric's calibration (calibrated / stale / uncalibrated, read from the base), and
``gate.judges.min_kappa_lower`` makes a metric whose judge falls short reported, not decisive. Real git
repositories, real HTTP to the loopback fake server (tests/support/gateproj.py's scripted judge)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from llmops_cli.gate.markdown import to_markdown
from llmops_cli.gate.run import GateOptions, run_gate
from llmops_cli.judging.calibrate import CalibrateOptions, calibrate, write_calibration
from llmops_cli.project import Project
from tests.conftest import GitRepo
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM

DEGRADED = gp.answer_prompt("Answer sloppily.")


def _labels() -> str:
    items = []
    for i in range(12):
        good = i % 3 != 0
        answer = "A good answer" if good else "WORSE answer"
        items.append({"id": f"l{i:02d}", "vars": {"question": f"question {i}", "answer": f"{answer} {i}"},
                      "human": 5 if good else (2 if i % 2 else 1)})  # fmt: skip
    return yaml.safe_dump({"scale": "score", "defaults": {"criteria": "answers well"}, "items": items})


@pytest.fixture
def server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    return fake_llm_factory(responder=gp.responder)


@pytest.fixture
def repo(tmp_git_repo: GitRepo, server: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.setenv(gp.KEY_ENV, gp.KEY_VALUE)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    gp.make_repo(tmp_git_repo, server.url, n=8)
    tmp_git_repo.write("evals/judges/rubric.labels.yaml", _labels())
    return tmp_git_repo


def _calibrate_and_commit(repo: GitRepo) -> None:
    project = Project.open(repo.root)
    write_calibration(project, calibrate(project, "judges/rubric", CalibrateOptions(probes=())))
    repo.commit("labels and calibration of judges/rubric")


def _gate(repo: GitRepo) -> Any:
    cwd = os.getcwd()
    os.chdir(repo.root)
    try:
        return run_gate(Project.open(repo.root), GateOptions(base="main"))
    finally:
        os.chdir(cwd)


def _prompt(report: Any, name: str = "support/answer") -> Any:
    (p,) = [p for p in report.prompts if p.prompt == name]
    return p


def _regress(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", DEGRADED)
    repo.commit("regress")


def test_calibrated_judge_is_shown_and_decides(repo: GitRepo) -> None:
    _calibrate_and_commit(repo)
    _regress(repo)
    report = _gate(repo)
    p = _prompt(report)
    (status,) = p.judge_calibration["judge"]
    assert status["state"] == "calibrated" and status["judge"] == "judges/rubric" and status["kappa_low"] > 0.5
    assert p.state == "FAIL" and p.lead.metric == "judge"
    md = to_markdown(report)
    assert "judge calibration of **judge**: judges/rubric: calibrated (quadratic-weighted kappa" in md


def test_uncalibrated_judge_is_shown(repo: GitRepo) -> None:
    repo.commit("labels only")
    _regress(repo)
    p = _prompt(_gate(repo))
    assert p.judge_calibration["judge"][0]["state"] == "uncalibrated"
    assert p.state == "FAIL"  # no bound configured: every judge still decides


def test_judge_prompt_changed_since_calibration_is_stale(repo: GitRepo) -> None:
    _calibrate_and_commit(repo)
    repo.write("prompts/judges/rubric.prompt.yaml", gp.JUDGE_PROMPT.replace("strict grader", "careful grader"))
    repo.commit("judge prompt reworded after calibration")
    _regress(repo)
    p = _prompt(_gate(repo))
    (status,) = p.judge_calibration["judge"]
    assert status["state"] == "stale" and "prompt or its model changed" in status["detail"]


def test_judge_model_changed_since_calibration_is_stale(repo: GitRepo, server: FakeLLM) -> None:
    _calibrate_and_commit(repo)
    config = (repo.root / "llmops.yaml").read_text()
    repo.write("llmops.yaml", config.replace("model: openai/fake-model", "model: openai/fake-model-2025"))
    repo.commit("new judge snapshot")
    _regress(repo)
    p = _prompt(_gate(repo))
    assert p.judge_calibration["judge"][0]["state"] == "stale"


@pytest.mark.parametrize("calibrated", [True, False])
def test_below_the_kappa_bound_the_metric_is_reported_not_decisive(repo: GitRepo, calibrated: bool) -> None:
    config = (repo.root / "llmops.yaml").read_text() + "gate: {judges: {min_kappa_lower: 0.999}}\n"
    repo.write("llmops.yaml", config)
    if calibrated:
        _calibrate_and_commit(repo)  # kappa's lower bound on 12 items is far below 0.999
    else:
        repo.commit("bound, no calibration")
    _regress(repo)
    report = _gate(repo)
    p = _prompt(report)
    judge_metric = next(m for m in p.metrics if m.metric == "judge")
    assert not judge_metric.decisive
    assert any(n.kind == "uncalibrated-judge" and n.metric == "judge" for n in p.judge_notes)
    assert p.state != "FAIL"  # the judged drop is reported; the deterministic checks did not regress
    assert "min_kappa_lower is 0.999" in to_markdown(report)


def test_a_loose_bound_keeps_a_calibrated_judge_decisive(repo: GitRepo) -> None:
    repo.write("llmops.yaml", (repo.root / "llmops.yaml").read_text() + "gate: {judges: {min_kappa_lower: 0.3}}\n")
    _calibrate_and_commit(repo)
    _regress(repo)
    p = _prompt(_gate(repo))
    assert p.state == "FAIL" and next(m for m in p.metrics if m.metric == "judge").decisive


def test_label_template_from_a_results_file(repo: GitRepo) -> None:
    from llmops_cli.errors import PromptFileError, UsageError
    from llmops_cli.evals.plan import EvalOptions
    from llmops_cli.evals.runner import run_eval
    from llmops_cli.judging.labels import load_labels
    from llmops_cli.judging.template import write_label_template

    (repo.root / "evals/judges/rubric.labels.yaml").unlink()
    project = Project.open(repo.root)
    out = str(repo.root / "results.json")
    run_eval(project, EvalOptions(names=["support/answer"], out=out))
    path, count = write_label_template(project, out, "judges/rubric", 5, None)
    assert path.endswith("evals/judges/rubric.labels.yaml") and count == 5
    doc = yaml.safe_load((repo.root / "evals/judges/rubric.labels.yaml").read_text())
    assert len(doc["items"]) == 5 and all(it["human"] is None for it in doc["items"])
    assert all(set(it["vars"]) == {"criteria", "question", "answer"} for it in doc["items"])
    assert "score" not in json.dumps(doc["items"])  # the judge's own scores are left out
    with pytest.raises(PromptFileError) as info:  # unfilled: refused, naming the line of the first `human:`
        load_labels(project, "judges/rubric")
    assert info.value.line is not None and "human" in info.value.message
    with pytest.raises(UsageError, match="exists"):  # never written over
        write_label_template(project, out, "judges/rubric", 5, None)
    with pytest.raises(UsageError, match="no assertion"):
        write_label_template(project, out, "judges/other", 5, str(repo.root / "x.yaml"))
