"""The GitHub workflows: valid YAML, fork-safe, and every `llmops …` line they run exists with those flags."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml")) + sorted(
    (ROOT / "llmops_cli/scaffold/dot-github/workflows").glob("*.yml")
)
PR_WORKFLOW = ROOT / ".github/workflows/llmops-pr.yml"
SCAFFOLD_PR_WORKFLOW = ROOT / "llmops_cli/scaffold/dot-github/workflows/llmops-pr.yml"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _triggers(data: dict[str, Any]) -> dict[str, Any]:
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on:` key as True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on or {})


def _run_scripts(data: dict[str, Any]) -> list[str]:
    return [step["run"] for job in data.get("jobs", {}).values() for step in job.get("steps", []) if "run" in step]


def llmops_invocations(script: str) -> list[list[str]]:
    """Every ``llmops …`` command in a shell script, as argument lists (expressions replaced, redirects cut)."""
    script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", script).replace("\\\n", " ")
    found = []
    for line in script.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            cut = next((i for i, w in enumerate(words) if w.startswith((">", "<", "2>"))), len(words))
            words = words[:cut]
            if words and Path(words[0]).name == "llmops":
                found.append(words[1:])
    return found


def check_against_cli(args: list[str]) -> list[str]:
    """Problems of one invocation against the click command tree (unknown subcommand or option)."""
    import typer.main

    from llmops_cli.cli.app import app

    cmd: Any = typer.main.get_command(app)
    path = ["llmops"]
    rest = list(args)
    while hasattr(cmd, "commands"):  # a group (typer vendors click: match by shape)
        if not rest or rest[0].startswith("-"):
            return [f"{' '.join(path)}: no subcommand"]
        name = rest.pop(0)
        if name not in cmd.commands:
            return [f"{' '.join(path)}: unknown subcommand {name!r}"]
        cmd = cmd.commands[name]
        path.append(name)
    options = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
    problems = []
    for word in rest:
        if word.startswith("-") and word != "-":
            flag = word.split("=", 1)[0]
            if flag not in options:
                problems.append(f"{' '.join(path)}: unknown option {flag}")
    return problems


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_is_valid_and_fork_safe(path: Path) -> None:
    data = _load(path)
    assert "pull_request_target" not in _triggers(data)
    assert "pull_request_target" not in path.read_text(encoding="utf-8")
    assert data.get("jobs")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_llmops_command_exists_with_its_flags(path: Path) -> None:
    problems = []
    for script in _run_scripts(_load(path)):
        for args in llmops_invocations(script):
            problems += check_against_cli(args)
    assert not problems, problems


def test_pr_workflow_does_what_the_gate_needs() -> None:
    data = _load(PR_WORKFLOW)
    assert "pull_request" in _triggers(data)
    assert data["permissions"] == {"contents": "read", "statuses": "write"}
    steps = data["jobs"]["gate"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    cache = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache"))
    assert "hashFiles(" in cache["with"]["key"] and cache["with"]["restore-keys"].strip()
    commands = [a for s in _run_scripts(data) for a in llmops_invocations(s)]
    assert ["prompt", "lint"] in commands
    gate = next(a for a in commands if a[:2] == ["eval", "gate"])
    assert {"--base", "--github-status", "--markdown"} <= set(gate)
    gate_step = next(s for s in steps if "llmops eval gate" in str(s.get("run", "")))
    assert "OPENAI_API_KEY" in gate_step["if"]  # fork PRs (no secrets) skip the model calls
    assert any("skipped" in str(s.get("run", "")) and "OPENAI_API_KEY == ''" in str(s.get("if")) for s in steps)
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact") for s in steps)


def test_scaffolded_pr_workflow_is_the_repository_one(tmp_path: Path) -> None:
    assert SCAFFOLD_PR_WORKFLOW.read_bytes() == PR_WORKFLOW.read_bytes()
    from llmops_cli.scaffolding import init_project

    init_project(tmp_path)
    assert (tmp_path / ".github/workflows/llmops-pr.yml").read_bytes() == PR_WORKFLOW.read_bytes()


def test_the_checker_catches_bad_lines() -> None:
    (args,) = llmops_invocations('llmops eval gate --base origin/${{ github.base_ref }} --nope >> "$X"')
    assert check_against_cli(args) == ["llmops eval gate: unknown option --nope"]
    assert check_against_cli(["eval", "gates"]) == ["llmops eval: unknown subcommand 'gates'"]
    assert llmops_invocations("pip install x && llmops prompt lint") == [["prompt", "lint"]]


def _commented_commands(path: Path) -> list[list[str]]:
    """``llmops …`` lines of the commented matrix workflow at the end of a workflow file."""
    text = path.read_text(encoding="utf-8")
    block = text[text.index("#  gate-shard:") :].splitlines()
    lines = [line.lstrip("# ").removeprefix("- run: ") for line in block]
    return [a for line in lines if line.startswith("llmops ") for a in llmops_invocations(line)]


def test_commented_matrix_workflow_uses_existing_commands() -> None:
    commands = _commented_commands(SCAFFOLD_PR_WORKFLOW)
    assert [c[:2] for c in commands] == [["eval", "gate"], ["eval", "merge"], ["eval", "merge"], ["eval", "gate"]]
    assert "--shard" in commands[0]
    assert any(c[:2] == ["eval", "gate"] and "base.json" in c and "head.json" in c for c in commands)
    problems = [p for args in commands for p in check_against_cli(args)]
    assert not problems, problems
