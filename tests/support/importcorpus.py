"""The importer fixture corpus (``tests/fixtures/importers/*``): import, lint and evaluate each project.

Each fixture folder holds the source files and an ``expect.yaml``: ``format``, ``files`` (what to import),
``error: true`` when the import must fail with exit 2, ``unmapped`` (constructs the report must list),
``stub: true`` when a prompt is kept as an import stub (``eval run`` must refuse it, exit 2) and ``cases`` (how
many golden cases must land).
Used by ``tests/test_import_corpus.py`` and ``bench/import_corpus.py``.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "importers"
KEY_ENV = "FAKE_LLM_KEY"
VERDICT = '{"reasoning": "Matches the criteria.", "score": 4}'


def fixtures() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if (p / "expect.yaml").is_file())


def expectation(fixture: Path) -> dict[str, Any]:
    return yaml.safe_load((fixture / "expect.yaml").read_text(encoding="utf-8"))


def seed_project(root: Path, url: str) -> None:
    """An llmops project whose aliases `chat` and `judge` reach the loopback server."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "llmops.yaml").write_text(
        "models:\n"
        f"  chat:\n    model: openai/fake-model\n    api_base: {url}\n    api_key_env: {KEY_ENV}\n"
        f"  judge:\n    model: openai/fake-model\n    api_base: {url}\n    api_key_env: {KEY_ENV}\n"
        "judge: {prompt: judges/rubric, model: judge}\n"
        "concurrency: 8\n"
        "eval: {timeout_s: 5, max_retries: 1, backoff_s: 0.05}\n",
        encoding="utf-8",
    )


def reply(body: dict[str, Any]) -> str:
    """Judges (JSON prompts) get a verdict; generations a plain answer."""
    if body.get("response_format"):
        return VERDICT
    return "Summary - ui api Nairobi Hello A short answer."


@dataclass
class Outcome:
    name: str
    imported: bool
    error: str | None = None
    lint_errors: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    eval_ok: bool | None = None
    eval_detail: str = ""
    samples: int = 0
    seconds: float = 0.0
    cases: int = 0
    stubs: list[str] = field(default_factory=list)  # prompts kept as import stubs
    stub_refused: bool | None = None  # eval run refused the stubs with exit 2 (None: no stub)


def run_fixture(fixture: Path, work: Path, url: str | None, *, evaluate: bool = True) -> Outcome:
    """Import one fixture into a fresh project under ``work``, lint it and (with ``url``) evaluate it."""
    from llmops_cli.errors import UserError
    from llmops_cli.evals.runner import EvalOptions, run_eval
    from llmops_cli.importers import import_files
    from llmops_cli.lint import lint_project
    from llmops_cli.project import Project
    from llmops_cli.spec import import_stub

    exp = expectation(fixture)
    start = time.perf_counter()
    out = work / fixture.name
    shutil.rmtree(out, ignore_errors=True)
    seed_project(out, url or "http://127.0.0.1:9/v1")
    cwd = os.getcwd()
    os.chdir(fixture)
    try:
        report = import_files(exp["format"], list(exp["files"]), str(out))
    except UserError as exc:
        return Outcome(fixture.name, False, error=str(exc), seconds=time.perf_counter() - start)
    finally:
        os.chdir(cwd)
    result = Outcome(fixture.name, True, unmapped=[g.construct for g in report.unmapped], cases=report.cases)
    project = Project.open(out)
    result.lint_errors = [
        f"{f.location()}: [{f.code}] {f.message}" for f in lint_project(project) if f.severity == "error"
    ]
    result.stubs = [n for n in project.prompt_names() if import_stub(project.load(n).spec.metadata)]
    if evaluate and url:
        evaluated = [n for n in project.golden_names() if n in project.prompt_names() and n not in result.stubs]
        stubbed = [n for n in result.stubs if project.golden_file(n)]
        if stubbed:
            try:
                run_eval(Project.open(out), EvalOptions(names=stubbed, model="chat"))
                result.stub_refused = False
            except UserError as exc:
                result.stub_refused = exc.exit_code == 2 and "import stub" in exc.message
        if evaluated:
            outcome = run_eval(Project.open(out), EvalOptions(names=evaluated, model="chat", concurrency=8))
            totals = outcome.summary.totals
            samples, errors, judge_errors = totals.samples, totals.errors, totals.judge_errors
            result.samples = samples
            result.eval_ok = errors == 0 and judge_errors == 0
            result.eval_detail = f"{samples} samples, {errors} errors, {judge_errors} judge errors"
        else:
            result.eval_ok = bool(result.stub_refused) or not stubbed
            result.eval_detail = "only import stubs: eval refused them" if stubbed else "nothing to evaluate"
    result.seconds = time.perf_counter() - start
    return result
