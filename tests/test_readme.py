"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    return [line.strip() for line in re.findall(r"^(\./scripts/bootstrap.*)$", quick, re.M)]


def test_readme_has_a_main_job_and_a_test_command() -> None:
    cmds = _readme_commands()
    assert len(cmds) == 2, cmds
    assert "llmops eval run" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()
