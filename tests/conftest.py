"""Shared fixtures: a CLI runner, real temporary git repos, a sample project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fixtures import fake_llm, fake_llm_factory  # noqa: F401  (shared fixtures)

REPO_ROOT = Path(__file__).resolve().parent.parent

# Deterministic, offline, uncoloured output for every test.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "200"
os.environ.pop("GITHUB_STEP_SUMMARY", None)
os.environ.pop("GITHUB_BASE_REF", None)  # a pull-request job: no api_base/key pairing would be trusted
os.environ.pop("LLMOPS_ROOT", None)
if os.environ.get("PYTEST_XDIST_WORKER"):  # 2 workers on 2 cores: one llama.cpp thread each
    os.environ.setdefault("LLMOPS_LOCAL_THREADS", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite tests/golden/* from the current output (also: LLMOPS_UPDATE_GOLDENS=1); review the git diff.",
    )


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> CliResult:
    """Run ``llmops ARGS`` in a subprocess, exactly as a user would."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


def write(root: Path, rel: str, text: str) -> Path:
    """Write dedented ``text`` to ``root/rel`` (parents created)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


class GitRepo:
    """A real git repository in a temporary directory, driven through the git CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "test@example.com")
        self.git("config", "user.name", "Test")
        self.git("config", "commit.gpgsign", "false")
        self.git("config", "tag.gpgsign", "false")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True).stdout.strip()

    def write(self, rel: str, text: str) -> Path:
        return write(self.root, rel, text)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def tmp_git_repo(tmp_path: Path) -> Iterator[GitRepo]:
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    yield GitRepo(repo_dir)


SAMPLE_CONFIG = """
models:
  chat:
    model: openai/gpt-4o-mini-2024-07-18
    params: {temperature: 0.2}
"""

SAMPLE_PROMPT = """
description: Answer a support question from retrieved context.
model: chat
params: {max_tokens: 300}
inputs:
  question: {type: string, description: The customer's question}
  context: {type: array, default: []}
  locale: {type: string, enum: [en, de], default: en}
output: text
messages:
  - role: system
    content: |
      {% include "tone.j2" %}
      Answer in {{ locale }} using only the context.
  - role: user
    content: |
      {% for c in context %}- {{ c }}
      {% endfor %}
      Question: {{ question }}
"""

SAMPLE_GOLDEN = """
cases:
  - id: refund
    vars: {question: How do refunds work?, context: [Refunds take 5 days.]}
    expected: Refunds take 5 days.
    cluster: billing
    assert:
      - {type: icontains, value: 5 days}
  - id: shipping
    vars: {question: Do you ship to Mars?}
    cluster: shipping
"""


def make_sample_project(root: Path) -> Path:
    """A small, valid project: one prompt with a partial and a golden set."""
    write(root, "llmops.yaml", SAMPLE_CONFIG)
    write(root, "prompts/_partials/tone.j2", "You are friendly and concise.\n")
    write(root, "prompts/support/answer.prompt.yaml", SAMPLE_PROMPT)
    write(root, "evals/support/answer.yaml", SAMPLE_GOLDEN)
    return root


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path / "proj")
