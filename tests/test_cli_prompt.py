"""The prompt commands as a user runs them: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_sample_project, run_cli, write


def test_version() -> None:
    from llmops_cli import __version__

    r = run_cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"llmops {__version__}"


def test_list_text_and_json(sample_project: Path) -> None:
    r = run_cli("prompt", "list", cwd=sample_project)
    assert r.exit_code == 0, r.stderr
    assert "support/answer" in r.stdout and "question, context?, locale?" in r.stdout
    data = json.loads(run_cli("prompt", "list", "--json", cwd=sample_project).stdout)
    assert data[0]["name"] == "support/answer"
    assert data[0]["resolved_model"] == "openai/gpt-4o-mini-2024-07-18"
    assert len(data[0]["sha256"]) == 64
    assert data[0]["file"] == "prompts/support/answer.prompt.yaml"


def test_render_with_vars_file_and_case(sample_project: Path) -> None:
    r = run_cli(
        "prompt", "render", "support/answer", "--var", "question=Hi?", "--var", 'context=["A", "B"]', cwd=sample_project
    )
    assert r.exit_code == 0, r.stderr
    assert "- A\n- B\nQuestion: Hi?" in r.stdout
    write(sample_project, "vars.yaml", "question: From file\nlocale: de\n")
    r = run_cli("prompt", "render", "support/answer", "--vars", "vars.yaml", "--json", cwd=sample_project)
    data = json.loads(r.stdout)
    assert data["messages"][1]["content"] == "Question: From file"
    assert "Answer in de" in data["messages"][0]["content"]
    r = run_cli("prompt", "render", "support/answer", "--case", "refund", "--json", cwd=sample_project)
    assert "Refunds take 5 days." in json.loads(r.stdout)["messages"][1]["content"]


def test_root_option(sample_project: Path, tmp_path: Path) -> None:
    r = run_cli("-C", str(sample_project), "prompt", "list", "--json", cwd=tmp_path)
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["name"] == "support/answer"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["prompt", "render", "support/answer"], "`question`: missing required input"),
        (["prompt", "render", "support/answer", "--var", "question=q", "--var", "x=1"], "`x`: unknown input"),
        (["prompt", "render", "support/answr"], "did you mean 'support/answer'"),
        (["prompt", "render", "support/answer", "--case", "nope"], "no case 'nope'"),
        (["prompt", "render", "support/answer", "--vars", "missing.yaml"], "missing.yaml"),
        (["prompt", "render", "support/answer", "--var", "novalue"], "KEY=VALUE"),
        (["prompt", "render"], "Missing argument"),
        (["prompt", "frobnicate"], "No such command"),
    ],
)
def test_user_errors_exit_2_with_one_line(sample_project: Path, args: list[str], needle: str) -> None:
    r = run_cli(*args, cwd=sample_project)
    assert r.exit_code == 2, r.output
    assert needle in r.stderr
    assert "Traceback" not in r.output
    assert r.stderr.startswith("error: ") or "Usage" in r.stderr or needle in r.stderr.splitlines()[0]


def test_sandbox_escape_exits_2(sample_project: Path) -> None:
    write(
        sample_project,
        "prompts/evil.prompt.yaml",
        """
        model: chat
        messages: [{role: user, content: "{{ cycler.__init__.__globals__.os.system('echo pwned') }}"}]
    """,
    )
    r = run_cli("prompt", "render", "evil", cwd=sample_project)
    assert r.exit_code == 2
    assert "pwned" not in r.stdout
    assert "unsafe" in r.stderr and "prompts/evil.prompt.yaml" in r.stderr


def test_malformed_yaml_names_file_and_line(sample_project: Path) -> None:
    (sample_project / "prompts/bad.prompt.yaml").write_text("model: chat\nmessages:\n  - role: user\n   content: x\n")
    r = run_cli("prompt", "render", "bad", cwd=sample_project)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: prompts/bad.prompt.yaml:4: invalid YAML")
    assert len(r.stderr.strip().splitlines()) == 1


def test_verbose_shows_traceback(sample_project: Path) -> None:
    r = run_cli("--verbose", "prompt", "render", "support/answer", cwd=sample_project)
    assert r.exit_code == 2 and "Traceback" in r.stderr


def test_lint_clean_project_passes(sample_project: Path) -> None:
    r = run_cli("prompt", "lint", cwd=sample_project)
    assert r.exit_code == 0, r.output
    assert "1 prompt checked: 0 error(s)" in r.stdout


def test_lint_finds_problems(tmp_path: Path) -> None:
    root = make_sample_project(tmp_path)
    write(root, "llmops.yaml", "models:\n  chat: {model: openai/gpt-4o}\n")
    write(
        root,
        "prompts/p.prompt.yaml",
        """
        model: chat
        inputs:
          used: {type: string}
          unused: {type: integer, default: 1}
          bad_default: {type: integer, default: nope}
        messages:
          - role: user
            content: "{{ used }} {{ undeclared }} {{ bad_default }} {{ used.__class__ }}"
    """,
    )
    write(
        root,
        "evals/p.yaml",
        """
        cases:
          - {id: a, vars: {used: x, extra: 1}}
          - {id: a, vars: {}}
    """,
    )
    write(root, "evals/ghost.yaml", "cases: []\n")
    write(root, "prompts/broken.prompt.yaml", "model: chat\nmessages:\n  - role: user\n    content: '{% for %}'\n")
    r = run_cli("prompt", "lint", "--json", cwd=root)
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    codes = {(f["code"], f["severity"]) for f in data["findings"]}
    for expected in [
        ("undeclared-variable", "error"),
        ("unused-input", "warning"),
        ("bad-default", "error"),
        ("unsafe-attribute", "error"),
        ("case-vars", "error"),
        ("duplicate-case-id", "error"),
        ("orphan-golden-set", "error"),
        ("unpinned-model", "warning"),
        ("template", "error"),
    ]:
        assert expected in codes, (expected, codes)
    by_code = {f["code"]: f for f in data["findings"]}
    assert by_code["template"]["file"] == "prompts/broken.prompt.yaml" and by_code["template"]["line"] == 4
    assert by_code["duplicate-case-id"]["line"] == 3
    text = run_cli("prompt", "lint", "p", cwd=root)
    assert text.exit_code == 1
    assert "prompts/p.prompt.yaml" in text.stdout and "undeclared" in text.stdout


def test_lint_strict_fails_on_warnings(sample_project: Path) -> None:
    write(sample_project, "llmops.yaml", "models:\n  chat: {model: openai/gpt-4o}\n")
    assert run_cli("prompt", "lint", cwd=sample_project).exit_code == 0
    assert run_cli("prompt", "lint", "--strict", cwd=sample_project).exit_code == 1


def test_bad_config_is_reported(sample_project: Path) -> None:
    write(sample_project, "llmops.yaml", "models:\n  chat: {modle: x}\n")
    r = run_cli("prompt", "list", cwd=sample_project)
    assert r.exit_code == 2
    assert "llmops.yaml:2" in r.stderr


def test_init_scaffolds_a_working_project(tmp_path: Path) -> None:
    target = tmp_path / "new"
    r = run_cli("init", str(target))
    assert r.exit_code == 0, r.output
    assert (target / "llmops.yaml").is_file()
    assert run_cli("prompt", "lint", cwd=target).exit_code == 0
    listed = json.loads(run_cli("prompt", "list", "--json", cwd=target).stdout)
    assert listed
    again = run_cli("init", str(target))
    assert again.exit_code == 0 and "kept" in again.stderr


def test_schema_command() -> None:
    r = run_cli("schema")
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    assert schema["title"] == "llmops prompt file" and "messages" in schema["properties"]


def test_scaffold_judges_are_the_repo_judges() -> None:
    """The judges `llmops init` writes are exactly this repo's (one source of truth, tested)."""
    root = Path(__file__).resolve().parent.parent
    scaffold = root / "llmops_cli/scaffold"
    for f in [
        *sorted((scaffold / "prompts/judges").glob("*.prompt.yaml")),
        scaffold / "prompts/_partials/judge_output.j2",
    ]:
        rel = f.relative_to(scaffold)
        assert f.read_text() == (root / rel).read_text(), f"{rel} differs from the repo's copy"
    assert len(list((scaffold / "prompts/judges").glob("*.prompt.yaml"))) == len(
        list((root / "prompts/judges").glob("*.prompt.yaml"))
    )
