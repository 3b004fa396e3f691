"""``llmops judge calibrate`` / ``judge label`` end to end: real HTTP to the loopback fake server, whose scripted
judge grades by a quality marker in the answer (and, in some modes, is biased or noisy)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_cli.judging.agreement import cohen_kappa
from llmops_cli.judging.probes import shift_effect
from llmops_cli.records.base import load_record
from llmops_cli.records.judging import JudgeCalibration
from tests.conftest import run_cli, write
from tests.support.fakellm import FakeLLM, all_text

KEY_ENV = "FAKE_LLM_KEY"
ROOT = Path(__file__).resolve().parent.parent
ENV = {KEY_ENV: "sk-fake-judge-key-0123456789", "PYTHONPATH": str(ROOT)}

JUDGE = """
model: chat
params: {temperature: 0}
inputs:
  criteria: {type: string}
  question: {type: string}
  answer: {type: string}
output: json
messages:
  - role: system
    content: You are a strict grader. Reply with JSON {"reasoning", "score"}.
  - role: user
    content: "GRADE criteria={{ criteria }} question={{ question }} answer={{ answer }}"
"""

MODE: dict[str, str] = {"mode": "fair"}


def judge_score(question: str, answer: str, mode: str) -> int:
    """The scripted judge: the answer's QUALITY marker when it is about the question's topic, else 1."""
    m = re.search(r"QUALITY(\d)", answer)
    topic = re.search(r"topic-\d+", question)
    score = int(m.group(1)) if m else 1
    if mode != "ignores_question" and (topic is None or topic.group(0) not in answer):
        score = 1
    if mode == "verbose" and len(answer) > 60:
        score = min(5, score + 1)
    if mode == "noisy":
        h = int(hashlib.sha256(answer.encode()).hexdigest(), 16) % 3
        score = min(5, max(1, score + h - 1))
    return score


def responder(body: dict[str, Any]) -> str:
    text = all_text(body)
    question = text.split("question=", 1)[1].split(" answer=", 1)[0]
    answer = text.split(" answer=", 1)[1]
    return json.dumps({"reasoning": "graded", "score": judge_score(question, answer, MODE["mode"])})


# 30 items: quality 1-5 spread; the humans disagree with the marker by one point on 4 of them
QUALITIES = [5, 4, 3, 2, 1] * 6
HUMANS = [q if i not in (2, 9, 17, 25) else max(1, min(5, q + (1 if i % 2 else -1))) for i, q in enumerate(QUALITIES)]


def labels_yaml(raters: bool = False, scale: str = "score") -> str:
    items = []
    for i, (q, h) in enumerate(zip(QUALITIES, HUMANS, strict=True)):
        human: Any = h
        if scale == "pass_fail":
            human = "pass" if h >= 4 else "fail"
        elif raters:
            human = {"ana": h, "ben": h if i % 5 else max(1, h - 1)}
        items.append(
            {
                "id": f"item-{i:02d}",
                "vars": {"question": f"What about topic-{i}?", "answer": f"About topic-{i}: QUALITY{q}."},
                "human": human,
            }
        )
    doc = {"judge": "judges/rubric", "scale": scale, "defaults": {"criteria": "answers the question"}, "items": items}
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, ENV[KEY_ENV])


@pytest.fixture
def server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    MODE["mode"] = "fair"
    return fake_llm_factory(responder=responder)


@pytest.fixture
def project(tmp_path: Path, server: FakeLLM) -> Path:
    root = tmp_path / "proj"
    write(root, "llmops.yaml", f"""
        models:
          chat: {{model: openai/fake-judge, api_base: '{server.url}', api_key_env: {KEY_ENV}}}
        judge: {{prompt: judges/rubric, model: chat, samples: 1}}
        concurrency: 4
        eval: {{timeout_s: 5, max_retries: 1, backoff_s: 0.05}}
    """)  # fmt: skip
    write(root, "prompts/judges/rubric.prompt.yaml", JUDGE)
    write(root, "evals/judges/rubric.labels.yaml", labels_yaml())
    return root


def _lib(root: Path, **kw: Any) -> dict[str, Any]:
    """Calibrate in-process (the library call the command makes), as the JSON record."""
    from llmops_cli.judging.calibrate import CalibrateOptions, calibrate
    from llmops_cli.project import Project
    from llmops_cli.records.base import dump_record

    return dump_record(calibrate(Project.open(root), "judges/rubric", CalibrateOptions(**kw)), exclude_none=True)


def _calibrate(root: Path, *args: str, code: int = 0) -> dict[str, Any]:
    r = run_cli("judge", "calibrate", "judges/rubric", "-f", "json", *args, cwd=root, env=ENV)
    assert r.exit_code == code, r.output
    return json.loads(r.stdout)


def _probe(report: dict[str, Any], name: str) -> dict[str, Any]:
    (p,) = [p for p in report["probes"] if p["name"] == name]
    return p


def test_calibration_matches_the_statistics_and_is_written(project: Path, server: FakeLLM) -> None:
    rep = _calibrate(project, "--write", "--probes", "none")
    judge = [judge_score(f"topic-{i}", f"About topic-{i}: QUALITY{q}.", "fair") for i, q in enumerate(QUALITIES)]
    ref = cohen_kappa(HUMANS, judge, weights="quadratic", categories=[1, 2, 3, 4, 5])
    assert rep["statistic"] == "quadratic-weighted kappa"
    assert abs(rep["kappa"]["value"] - ref.value) < 1e-9 and abs(rep["kappa"]["low"] - ref.low) < 1e-9  # type: ignore[operator]
    assert rep["items"] == rep["scored"] == 30 and rep["judge_errors"] == 0
    assert sum(map(sum, rep["confusion"]["counts"])) == 30
    assert rep["mean_signed_error"]["value"] == pytest.approx(
        sum(j - h for j, h in zip(judge, HUMANS, strict=True)) / 30
    )
    assert server.count == 30
    saved = project / "evals/judges/rubric.calibration.json"
    cal = load_record(JudgeCalibration, json.loads(saved.read_text()), source=str(saved))
    assert cal.kappa.value == rep["kappa"]["value"] and cal.model == "openai/fake-judge"
    assert len(cal.labels_sha256) == 64 and len(cal.judge_config_sha256) == 64
    # a rerun replays every judgement from the cache
    _calibrate(project, "--probes", "none")
    assert server.count == 30


def test_text_and_markdown_reports(project: Path) -> None:
    r = run_cli("judge", "calibrate", "judges/rubric", cwd=project, env=ENV)
    assert r.exit_code == 0, r.output
    assert "quadratic-weighted kappa" in r.stdout and "confusion (rows: human, columns: judge)" in r.stdout
    assert "verbosity" in r.stdout and "sensitivity" in r.stdout
    r = run_cli("judge", "calibrate", "judges/rubric", "-f", "markdown", cwd=project, env=ENV)
    assert r.exit_code == 0 and "| quadratic-weighted kappa |" in r.stdout and "| bias probe |" in r.stdout


def test_verbosity_biased_judge_is_caught_and_a_fair_one_is_not(project: Path) -> None:
    fair = _lib(project)
    assert not _probe(fair, "verbosity")["flagged"] and _probe(fair, "verbosity")["effect"]["value"] == 0
    MODE["mode"] = "verbose"
    biased = _lib(project, use_cache=False)
    v = _probe(biased, "verbosity")
    assert v["flagged"] and v["effect"]["low"] > 0
    MODE["mode"] = "noisy"  # unbiased but noisy: padding changes the answer, so its noise is redrawn
    noisy = _lib(project, use_cache=False)
    assert not _probe(noisy, "verbosity")["flagged"]


def test_sensitivity_probe_catches_a_judge_that_ignores_the_question(project: Path) -> None:
    fair = _lib(project, probes=["sensitivity"])
    assert not _probe(fair, "sensitivity")["flagged"] and _probe(fair, "sensitivity")["effect"]["value"] == 1.0
    MODE["mode"] = "ignores_question"
    blind = _lib(project, probes=["sensitivity"], use_cache=False)
    assert _probe(blind, "sensitivity")["flagged"]


def test_probes_are_bounded_by_probe_items(project: Path, server: FakeLLM) -> None:
    _lib(project, probe_items=5)
    assert server.count == 30 + 5 + 5  # the labels, 5 padded answers, 5 swapped answers


def test_min_kappa_exits_one_below_the_bound(project: Path) -> None:
    _calibrate(project, "--min-kappa", "0.5", "--probes", "none")
    rep = _calibrate(project, "--min-kappa", "0.99", "--probes", "none", code=1)
    assert rep["kappa"]["low"] < 0.99


def test_several_raters_give_the_human_ceiling(project: Path) -> None:
    write(project, "evals/judges/rubric.labels.yaml", labels_yaml(raters=True))
    rep = _lib(project, probes=[])
    assert rep["human_alpha"]["value"] is not None and rep["judge_alpha"]["value"] is not None
    assert rep["human_alpha"]["n"] == 30


def test_pass_fail_scale(project: Path) -> None:
    write(project, "evals/judges/rubric.labels.yaml", labels_yaml(scale="pass_fail"))
    rep = _lib(project, probes=[])
    assert rep["statistic"] == "Cohen's kappa" and rep["confusion"]["categories"] == ["pass", "fail"]
    assert rep["f1_fail"]["value"] is not None and "mean_signed_error" not in rep


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda t: t.replace("human: 5", "human: 7", 1), "integer from 1 to 5", True),
        (lambda t: t.replace("human: 5", "human: pass", 1), "scale is score", True),
        (lambda t: t.replace("id: item-01", "id: item-00", 1), "duplicate id 'item-00'", True),
        (lambda t: t.replace("scale: score", "scale: score\nsurprise: 1", 1), "unknown field", True),
        (lambda t: t.replace("human: 5", "human: null", 1), "human", True),
        (lambda t: t.replace("id: item-00", "id: ../../etc", 1), "relative path", True),
        (lambda t: "items: [1, 2", "", False),
        (lambda t: "- just a list", "mapping with 'items'", True),
    ],
)
def test_hostile_labels_exit_2_naming_file_and_line(
    project: Path, server: FakeLLM, edit: Callable[[str], str], message: str, line: bool
) -> None:
    from llmops_cli.errors import PromptFileError, exit_code_for

    path = project / "evals/judges/rubric.labels.yaml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(PromptFileError) as info:
        _lib(project)
    assert exit_code_for(info.value) == 2
    assert info.value.file == "evals/judges/rubric.labels.yaml" and message in info.value.message
    if line:
        assert info.value.line is not None and info.value.line >= 1
    assert server.count == 0


def test_hostile_labels_on_the_command_line(project: Path, server: FakeLLM) -> None:
    path = project / "evals/judges/rubric.labels.yaml"
    path.write_text(path.read_text().replace("human: 5", "human: 7", 1))
    r = run_cli("judge", "calibrate", "judges/rubric", cwd=project, env=ENV)
    assert r.exit_code == 2, r.output
    assert re.search(r"evals/judges/rubric\.labels\.yaml:\d+", r.stderr) and "1 to 5" in r.stderr, r.stderr
    assert "Traceback" not in r.output and server.count == 0


def test_missing_labels_and_missing_answer(project: Path, server: FakeLLM) -> None:
    (project / "evals/judges/rubric.labels.yaml").unlink()
    r = run_cli("judge", "calibrate", "judges/rubric", cwd=project, env=ENV)
    assert r.exit_code == 2 and "has no labels" in r.stderr
    write(project, "evals/judges/rubric.labels.yaml", "items:\n  - {id: a, vars: {question: q}, human: 3}\n")
    r = run_cli("judge", "calibrate", "judges/rubric", cwd=project, env=ENV)
    assert r.exit_code == 2 and "no 'answer'" in r.stderr and "rubric.labels.yaml:2" in r.stderr
    write(project, "evals/judges/rubric.labels.yaml", "items:\n  - {id: a, vars: {answer: x}, human: 3}\n")
    r = run_cli("judge", "calibrate", "judges/rubric", cwd=project, env=ENV)
    assert r.exit_code == 2 and "the judge needs" in r.stderr and server.count == 0


def test_labels_are_not_an_orphan_golden_set(project: Path) -> None:
    r = run_cli("prompt", "lint", cwd=project, env=ENV)
    assert "orphan" not in r.output, r.output


def test_verbosity_decision_false_alarm_and_power() -> None:
    """1,000 simulated probes of 50 items: an unbiased judge with noise (scores move -1/0/+1 at random when the
    answer is padded) is flagged in at most 5 % of runs; a judge that adds +1 to a third of padded answers is
    caught in most."""
    rng = random.Random(7)
    false_alarms = caught = 0
    for _ in range(1000):
        base = [float(rng.randint(1, 5)) for _ in range(50)]
        fair = [(b, min(5.0, max(1.0, b + rng.choice((-1, 0, 0, 1))))) for b in base]
        false_alarms += shift_effect([(b, p) for b, p in fair if 1 < b < 5])[1]
        biased = [(b, min(5.0, b + (1 if rng.random() < 1 / 3 else 0))) for b in base]
        caught += shift_effect(biased)[1]
    assert false_alarms / 1000 <= 0.05
    assert caught / 1000 >= 0.9
