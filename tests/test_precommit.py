"""The pre-commit hooks (``.pre-commit-hooks.yaml``): run by the real ``pre-commit`` tool against temporary git
repos, installing this checkout as pre-commit installs any hook repository (its own virtualenv, non-editable).

The hook environment gets ``PIP_NO_DEPS`` and sees the test run's installed dependencies through
``PYTHONPATH`` (no download of litellm and friends); everything else is pre-commit's own doing. The tests that
need the tool skip only when the ``pre_commit`` module is missing (it is a dev extra: CI installs it).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from llmops_cli.lint import prompts_for_files
from llmops_cli.project import Project
from tests.conftest import GitRepo, make_sample_project, run_cli
from tests.support.cleanvenv import REPO_ROOT, copy_checkout

HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"
PINNED_CONFIG = "models:\n  chat:\n    model: openai/gpt-4o-mini-2024-07-18\n"
BROKEN = "model: chat\nmessages:\n  - role: user\n    content: '{{ question }'\n"

needs_pre_commit = pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed (dev extra)"
)


# -- which prompts a set of changed files affects (no pre-commit needed) ------------------------------------


def _project(tmp_path: Path) -> Project:
    root = make_sample_project(tmp_path / "proj")
    (root / "prompts/support/other.prompt.yaml").write_text("model: chat\nmessages: [{role: user, content: hi}]\n")
    return Project.open(root)


def test_changed_files_map_to_the_prompts_they_affect(tmp_path: Path) -> None:
    project = _project(tmp_path)
    root = str(project.root)
    assert prompts_for_files(project, ["prompts/support/answer.prompt.yaml"], root) == ["support/answer"]
    assert prompts_for_files(project, ["evals/support/answer.yaml", "README.md"], root) == ["support/answer"]
    assert prompts_for_files(project, ["README.md", "src/app.py"], root) == []
    # the configuration or a partial can change any prompt
    assert prompts_for_files(project, ["llmops.yaml"], root) is None
    assert prompts_for_files(project, ["prompts/_partials/tone.j2"], root) is None
    # a golden set without its prompt is a finding of the whole-project lint
    assert prompts_for_files(project, ["evals/nope.yaml"], root) is None
    # paths relative to the repository root when the project is a subfolder; outside paths are ignored
    assert prompts_for_files(project, ["proj/prompts/support/other.prompt.yaml"], str(tmp_path)) == ["support/other"]
    assert prompts_for_files(project, ["../etc/passwd", "/etc/passwd"], root) == []


def test_lint_files_flag_lints_only_the_affected_prompts(tmp_path: Path) -> None:
    project = _project(tmp_path)
    root = Path(str(project.root))
    (root / "llmops.yaml").write_text(PINNED_CONFIG)
    (root / "prompts/support/broken.prompt.yaml").write_text(BROKEN)
    ok = run_cli("prompt", "lint", "--files", "prompts/support/other.prompt.yaml", "README.md", cwd=root)
    assert ok.exit_code == 0, ok.output
    assert "1 prompt checked" in ok.output
    none = run_cli("prompt", "lint", "--files", "README.md", cwd=root)
    assert none.exit_code == 0 and "nothing to lint" in none.output
    bad = run_cli("prompt", "lint", "--files", "prompts/support/broken.prompt.yaml", cwd=root)
    assert bad.exit_code == 1 and "prompts/support/broken.prompt.yaml" in bad.output


def test_schema_write_keeps_the_schema_file_in_step(tmp_path: Path) -> None:
    root = make_sample_project(tmp_path / "proj")
    first = run_cli("schema", "--write", cwd=root)
    assert first.exit_code == 1 and "rewritten" in first.output
    assert (root / "schemas/prompt.schema.json").read_text() == run_cli("schema").stdout
    second = run_cli("schema", "--write", cwd=root)
    assert second.exit_code == 0 and "up to date" in second.output


def test_hooks_file_declares_both_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert set(hooks) == {"llmops-lint", "llmops-schema"}
    assert all(h["language"] == "python" and h["entry"].startswith("llmops ") for h in hooks.values())


# -- the real pre-commit ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's shipped files as a git repository, as a project's config names it (repo + rev)."""
    path = copy_checkout(tmp_path_factory.mktemp("hooks"))
    repo = GitRepo(path)
    return path, repo.commit("llmops")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")  # the hook environment is built once per module


def _env(home: Path) -> dict[str, str]:
    deps = sysconfig.get_paths()["purelib"]
    # (a PYTHONPATH naming this checkout would shadow the installed hook: keep only other entries)
    extra = os.pathsep.join(
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO_ROOT
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LLMOPS_", "PRE_COMMIT"))},
        "PRE_COMMIT_HOME": str(home),
        "PIP_NO_DEPS": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (extra, deps) if p),
    }


def _user_repo(repo: GitRepo, hook_repo: tuple[Path, str]) -> None:
    path, rev = hook_repo
    make_sample_project(repo.root)
    repo.write("llmops.yaml", PINNED_CONFIG)
    config = {"repos": [{"repo": str(path), "rev": rev, "hooks": [{"id": "llmops-lint"}, {"id": "llmops-schema"}]}]}
    repo.write(".pre-commit-config.yaml", yaml.safe_dump(config))
    repo.write("README.md", "# prompts\n")
    assert run_cli("schema", "--write", cwd=repo.root).exit_code == 1  # the file `llmops init` writes
    repo.commit("project")


def _pre_commit(repo: GitRepo, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo.root,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )


@needs_pre_commit
def test_pre_commit_blocks_a_broken_prompt_and_lets_a_good_one_through(
    tmp_git_repo: GitRepo, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    repo = tmp_git_repo
    _user_repo(repo, hook_repo)
    installed = _pre_commit(repo, pre_commit_home, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    repo.write("prompts/support/broken.prompt.yaml", BROKEN)
    repo.git("add", "-A")
    commit = subprocess.run(
        ["git", "commit", "-q", "-m", "add a broken prompt"],
        cwd=repo.root,
        env=_env(pre_commit_home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode != 0, out
    assert "llmops prompt lint" in out and "Failed" in out and "prompts/support/broken.prompt.yaml" in out
    assert repo.git("log", "--oneline").count("\n") == 0  # still one commit: the hook blocked it

    repo.remove("prompts/support/broken.prompt.yaml")
    repo.write("prompts/support/answer.prompt.yaml", (repo.root / "prompts/support/answer.prompt.yaml").read_text()
               .replace("Answer in", "Reply in"))  # fmt: skip
    repo.git("add", "-A")
    good = _pre_commit(repo, pre_commit_home, "run")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "llmops prompt lint" in good.stdout and "Passed" in good.stdout


@needs_pre_commit
def test_pre_commit_schema_hook_rewrites_a_stale_schema(
    tmp_git_repo: GitRepo, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    repo = tmp_git_repo
    _user_repo(repo, hook_repo)
    repo.write("schemas/prompt.schema.json", "{}\n")
    repo.git("add", "-A")
    first = _pre_commit(repo, pre_commit_home, "run", "--files", "schemas/prompt.schema.json")
    assert first.returncode == 1 and "llmops prompt schema" in first.stdout and "Failed" in first.stdout
    assert (repo.root / "schemas/prompt.schema.json").read_text() == run_cli("schema").stdout
    unrelated = _pre_commit(repo, pre_commit_home, "run", "--files", "README.md")
    assert unrelated.returncode == 0 and "(no files to check)Skipped" in unrelated.stdout


def test_schema_write_refuses_to_write_through_a_link(tmp_path: Path) -> None:
    root = make_sample_project(tmp_path / "proj")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (root / "schemas").mkdir()
    (root / "schemas/prompt.schema.json").symlink_to(victim)
    r = run_cli("schema", "--write", cwd=root)
    assert r.exit_code == 2 and "link" in r.stderr
    assert victim.read_text() == "keep me\n"
