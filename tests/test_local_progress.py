"""Progress without a terminal: ``llmops eval run`` with stderr redirected (CI logs) prints plain progress lines
every ~10% of the cases or 30 s, with cases done, errors, elapsed time and an ETA; the offline summary note."""

# ruff: noqa: F811  (pytest fixtures imported by name)

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from llmops_cli.evals.runner import PlainProgress
from llmops_cli.records.results import JudgeStats, SampleRecord, Status
from tests.conftest import run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project, many_cases
from tests.support.fakellm import FakeLLM
from tests.support.fixtures import fake_llm  # noqa: F401


def _rec(status: Status, judge_errors: int = 0) -> SampleRecord:
    return SampleRecord(
        prompt="p", case_id="c", sample=0, status=status, judge=JudgeStats(samples=1, errors=judge_errors)
    )


LINE = re.compile(
    r"^eval: (\d+)/(\d+) cases \((\d+)%\), (\d+) failed, (\d+) errors, (\d+) judge errors, "
    r"elapsed (\S+), ETA (\S+)$"
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_progress_every_ten_percent_and_thirty_seconds() -> None:
    out, clock = io.StringIO(), FakeClock()
    p = PlainProgress(out, clock=clock)
    p.start(40, 0)
    for i in range(40):
        clock.t += 0.5
        p.advance(_rec("error" if i == 3 else "pass", judge_errors=1 if i == 5 else 0))
    lines = out.getvalue().splitlines()
    assert lines[0] == "eval: 40 cases to run"
    rows = [LINE.match(line) for line in lines[1:]]
    assert all(rows), lines
    assert [int(m.group(1)) for m in rows] == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]  # every 10%
    first, last = rows[0], rows[-1]
    assert first.group(5) == "1" and first.group(6) == "0" and first.group(7) == "2s" and first.group(8) == "18s"
    assert last.group(3) == "100" and last.group(5) == "1" and last.group(6) == "1" and last.group(8) == "0s"

    # slow cases: a line at least every 30 s even between 10% steps
    out, clock = io.StringIO(), FakeClock()
    p = PlainProgress(out, clock=clock)
    p.start(1000, 0)
    for _ in range(10):
        clock.t += 16
        p.advance(_rec("fail"))
    rows = [LINE.match(line) for line in out.getvalue().splitlines()[1:]]
    assert [int(m.group(1)) for m in rows] == [2, 4, 6, 8, 10]
    assert rows[-1].group(4) == "10" and rows[-1].group(7) == "2m40s" and rows[-1].group(8) == "264m00s"


def test_a_line_every_thirty_seconds_while_no_case_finishes() -> None:
    out, clock = io.StringIO(), FakeClock()
    p = PlainProgress(out, clock=clock)
    p.start(100, 0)
    for _ in range(95):  # the runner ticks about once a second
        clock.t += 1
        p.tick()
    rows = [LINE.match(line) for line in out.getvalue().splitlines()[1:]]
    assert len(rows) == 3 and all(rows)  # at 30, 60 and 90 s
    assert [m.group(7) for m in rows] == ["30s", "1m00s", "1m30s"] and rows[0].group(8) == "?"  # no rate yet


def test_resumed_run_counts_done_cases_and_eta_from_this_run() -> None:
    out, clock = io.StringIO(), FakeClock()
    p = PlainProgress(out, clock=clock)
    p.start(10, 5)
    clock.t = 10.0
    p.advance(_rec("pass"))
    lines = out.getvalue().splitlines()
    assert lines[0] == "eval: 10 cases to run (5 already done)"
    m = LINE.match(lines[1])
    assert m and m.group(1) == "6" and m.group(8) == "40s"  # 10 s per case, 4 left


def test_eval_run_without_a_terminal_prints_progress_lines(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.default_reply = "fake answer"
    root = make_eval_project(tmp_path, fake_llm.url, golden=many_cases(30))
    env = {KEY_ENV: KEY_VALUE, "LLMOPS_CACHE_DIR": str(tmp_path / "cache")}
    r = run_cli("eval", "run", "--out", "r.json", cwd=root, env=env)  # stderr is a pipe, not a TTY
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stderr.splitlines() if line.startswith("eval: ")]
    assert lines[0] == "eval: 30 cases to run"
    rows = [LINE.match(line) for line in lines[1:]]
    assert all(rows) and len(rows) >= 9, lines  # about every 10%
    done = [int(m.group(1)) for m in rows]
    assert done == sorted(done) and done[-1] == 30 and rows[-1].group(8) == "0s"
    assert "\x1b[" not in r.stderr  # plain text, no terminal control sequences

    quiet = run_cli("eval", "run", "-q", "--out", "r2.json", cwd=root, env=env)
    assert quiet.exit_code == 0 and not [ln for ln in quiet.stderr.splitlines() if ln.startswith("eval: ")]


def test_offline_summary_note_names_the_stand_in_and_the_switch() -> None:
    from llmops_cli.cli.eval_cmd import offline_note

    note = offline_note(
        [
            {"alias": "chat", "model": "local/smollm2", "replaces": "openai/gpt-4o-mini-2024-07-18"},
            {"alias": "judge", "model": "local/smollm2", "replaces": "openai/gpt-4o-2024-08-06"},
        ]
    )
    assert "offline stand-in local/smollm2" in note
    assert "chat (openai/gpt-4o-mini-2024-07-18)" in note and "judge (openai/gpt-4o-2024-08-06)" in note
    assert "Deterministic assertions" in note and "never compare them" in note
    assert "export OPENAI_API_KEY=" in note and "llmops.yaml" in note


@pytest.mark.parametrize("total", [1, 3])
def test_tiny_runs_end_with_a_final_line(total: int) -> None:
    out, clock = io.StringIO(), FakeClock()
    p = PlainProgress(out, clock=clock)
    p.start(total, 0)
    for _ in range(total):
        clock.t += 1
        p.advance(_rec("pass"))
    assert out.getvalue().splitlines()[-1].startswith(f"eval: {total}/{total} cases (100%)")
