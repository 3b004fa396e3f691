"""The library side of what commands publish: the step summary, the commit status state, gate notes pushed to a
real remote, channel history and bundle export through ``releases/actions.py``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from llmops_cli.errors import GitError
from llmops_cli.evals.report import append_step_summary
from llmops_cli.gate.publish import status_state
from llmops_cli.releases.actions import channel_history, export_bundle, push_gate_notes, record_gate
from llmops_cli.releases.create import create_release, promote
from tests.conftest import GitRepo, make_sample_project


def test_append_step_summary_appends_redacted_markdown(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    assert append_step_summary("# nothing", env={}) is None and not path.exists()
    key = "sk-" + "a1B2c3D4e5" * 4
    assert append_step_summary(f"### one\nkey {key}", env={"GITHUB_STEP_SUMMARY": str(path)}) == str(path)
    append_step_summary("### two\n", env={"GITHUB_STEP_SUMMARY": str(path)})
    text = path.read_text(encoding="utf-8")
    assert text.startswith("### one\nkey ") and text.endswith("\n### two\n") and key not in text


@pytest.mark.parametrize(
    ("verdict", "fail_on_warn", "state"),
    [("PASS", False, "success"), ("WARN", False, "success"), ("WARN", True, "failure"), ("FAIL", False, "failure")],
)
def test_commit_status_state(verdict: str, fail_on_warn: bool, state: str) -> None:
    assert status_state(verdict, fail_on_warn) == state


@pytest.fixture
def released(tmp_git_repo: GitRepo) -> GitRepo:
    make_sample_project(tmp_git_repo.root)
    tmp_git_repo.commit("sample project")
    create_release("support/answer", root=tmp_git_repo.root, allow_no_gate=True)
    return tmp_git_repo


def test_record_gate_and_push_the_notes_to_a_real_remote(released: GitRepo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    released.git("remote", "add", "origin", str(remote))
    head = released.git("rev-parse", "HEAD")
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"run": {"git_sha": head}, "verdict": "PASS"}))
    res = record_gate(released.root, gate)
    assert (res.commit, res.record.verdict) == (head, "PASS")
    assert push_gate_notes(released.root, "origin") == "refs/notes/llmops"
    pushed = subprocess.run(
        ["git", "notes", "--ref=llmops", "show", head], cwd=remote, capture_output=True, text=True, check=True
    )
    assert "PASS" in pushed.stdout
    with pytest.raises(GitError):
        push_gate_notes(released.root, "nowhere")


def test_channel_history_newest_first_and_export(released: GitRepo, tmp_path: Path) -> None:
    assert channel_history(released.root, "support/answer") == []
    promote("support/answer@1.0.0", "staging", root=released.root)
    promote("support/answer@1.0.0", "production", root=released.root, reason="ship")
    moves = channel_history(released.root, "support/answer")
    assert {m.channel for m in moves} == {"staging", "production"}
    assert [m.moved_at for m in moves] == sorted((m.moved_at for m in moves), reverse=True)
    assert [m.channel for m in channel_history(released.root, "support/answer", "production")] == ["production"]
    out = export_bundle(released.root, None, tmp_path / "b" / "prompts.lock.json")
    assert (out.releases, out.prompts) == (1, 1) and out.path.is_file()
    assert "support/answer" in json.loads(out.path.read_text())["prompts"]
