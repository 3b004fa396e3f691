"""``llmops prompt diff`` end to end: real git repos, real commits, the CLI as a user runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import GitRepo, make_sample_project

PROMPT = """
model: {model}
params: {{max_tokens: 100}}
inputs:
  question: {{type: string}}
messages:
  - role: system
    content: {system}
  - role: user
    content: "{{{{ question }}}}"
"""


def prompt(model: str = "chat", system: str = "Be brief.") -> str:
    return PROMPT.format(model=model, system=system)


def diff_json(cli, repo: GitRepo, *args: str) -> dict:
    r = cli("prompt", "diff", "--format", "json", *args, cwd=repo.root)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def by_name(data: dict) -> dict[str, dict]:
    return {p["name"]: p for p in data["prompts"]}


@pytest.fixture
def repo(tmp_git_repo: GitRepo) -> GitRepo:
    make_sample_project(tmp_git_repo.root)
    tmp_git_repo.write("prompts/other/plain.prompt.yaml", prompt())
    tmp_git_repo.commit("initial")
    return tmp_git_repo


def test_edit_between_two_commits(cli, repo: GitRepo):
    text = (repo.root / "prompts/support/answer.prompt.yaml").read_text()
    text = text.replace("params: {max_tokens: 300}", "params: {max_tokens: 300, temperature: 0.7}")
    text = text.replace("inputs:\n", "inputs:\n  tier: {type: string}\n")
    repo.write("prompts/support/answer.prompt.yaml", text)
    repo.commit("edit")
    data = diff_json(cli, repo, "HEAD~1", "HEAD")
    assert data["schema_version"] == 1
    assert data["old"]["label"] == "HEAD~1" and data["new"]["commit"] == repo.git("rev-parse", "HEAD")
    p = by_name(data)["support/answer"]
    assert p["status"] == "modified"
    assert p["impact"] == {"level": "breaking", "bump": "major", "reasons": ["input `tier` added (required, string)"]}
    texts = [c["text"] for c in p["changes"]]
    assert "temperature 0.2 → 0.7" in texts
    assert list(by_name(data)) == ["support/answer"]
    assert data["summary"]["modified"] == 1 and data["summary"]["changed"] is True

    text_out = cli("prompt", "diff", "HEAD~1", "HEAD", cwd=repo.root)
    assert text_out.exit_code == 0
    assert "support/answer  modified  BREAKING" in text_out.stdout
    assert "• temperature 0.2 → 0.7  [patch]" in text_out.stdout


def test_rename_delete_add(cli, repo: GitRepo):
    repo.git("mv", "prompts/other/plain.prompt.yaml", "prompts/other/renamed.prompt.yaml")
    repo.write("prompts/new/one.prompt.yaml", prompt(system="Something new entirely, unlike the others."))
    repo.commit("rename + add")
    repo.remove("prompts/support/answer.prompt.yaml")
    repo.commit("delete")
    data = by_name(diff_json(cli, repo, "HEAD~2", "HEAD"))
    assert data["other/renamed"]["status"] == "renamed"
    assert data["other/renamed"]["old_name"] == "other/plain"
    assert data["other/renamed"]["impact"]["level"] == "breaking"
    assert data["new/one"]["status"] == "added" and data["new/one"]["impact"]["level"] == "feature"
    assert data["support/answer"]["status"] == "removed" and data["support/answer"]["impact"]["level"] == "breaking"


def test_untracked_rename_in_working_tree(cli, repo: GitRepo):
    src = repo.root / "prompts/other/plain.prompt.yaml"
    (repo.root / "prompts/other/moved.prompt.yaml").write_text(src.read_text())
    src.unlink()
    data = by_name(diff_json(cli, repo))
    assert data["other/moved"]["status"] == "renamed" and data["other/moved"]["old_name"] == "other/plain"


def test_partial_changed_under_two_prompts(cli, repo: GitRepo):
    second = (repo.root / "prompts/support/answer.prompt.yaml").read_text()
    repo.write("prompts/support/second.prompt.yaml", second)
    repo.commit("second prompt using the partial")
    repo.write("prompts/_partials/tone.j2", "You are warm, friendly and concise.\n")
    repo.commit("partial")
    data = diff_json(cli, repo, "HEAD~1", "HEAD")
    prompts = by_name(data)
    assert set(prompts) == {"support/answer", "support/second"}
    for p in prompts.values():
        assert p["status"] == "affected"
        assert p["affected_by"] == ["partial `tone.j2` changed"]
        assert p["impact"]["level"] == "patch"
        assert p["template_diffs"][0]["subject"] == "partial tone.j2"
        assert "+You are warm, friendly and concise." in p["template_diffs"][0]["unified"]
    # other/plain includes nothing: never loaded
    assert data["summary"]["prompts_compared"] == 3 and data["summary"]["prompts_loaded"] == 2


def test_model_alias_changed_in_config(cli, repo: GitRepo):
    cfg = (repo.root / "llmops.yaml").read_text().replace("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06")
    repo.write("llmops.yaml", cfg)
    data = by_name(diff_json(cli, repo))  # working tree vs HEAD
    assert set(data) == {"support/answer", "other/plain"}
    p = data["other/plain"]
    assert p["status"] == "affected"
    assert "model alias `chat` in llmops.yaml now resolves to openai/gpt-4o-2024-08-06" in p["affected_by"][0]
    assert p["impact"]["level"] == "feature"


def test_unparseable_files_on_one_side_are_reported(cli, repo: GitRepo):
    (repo.root / "prompts/other/plain.prompt.yaml").write_bytes(b"\x00\x01\x02binary junk\x00")
    repo.write("prompts/support/answer.prompt.yaml", "model: [unclosed\n  - oops: {\n")
    repo.write("prompts/new/fine.prompt.yaml", prompt())
    repo.commit("break two, add one")
    r = cli("prompt", "diff", "HEAD~1", "HEAD", "--format", "json", cwd=repo.root)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    probs = {p["path"]: p for p in data["problems"]}
    assert probs["prompts/other/plain.prompt.yaml"]["ref"] == "HEAD"
    assert "binary" in probs["prompts/other/plain.prompt.yaml"]["message"]
    assert probs["prompts/support/answer.prompt.yaml"]["side"] == "new"
    assert "invalid YAML" in probs["prompts/support/answer.prompt.yaml"]["message"]
    assert probs["prompts/support/answer.prompt.yaml"]["line"]
    prompts = by_name(data)
    assert prompts["new/fine"]["status"] == "added"
    assert prompts["other/plain"]["status"] == "error" and prompts["other/plain"]["impact"] is None
    text = cli("prompt", "diff", "HEAD~1", "HEAD", cwd=repo.root)
    assert text.exit_code == 0
    assert "HEAD:prompts/other/plain.prompt.yaml" in text.stdout and "new/fine  added" in text.stdout


def test_invalid_config_on_one_side(cli, repo: GitRepo):
    repo.write("llmops.yaml", "models: [not, a, mapping\n")
    repo.commit("bad config")
    data = diff_json(cli, repo, "HEAD~1", "HEAD")
    assert data["problems"][0]["path"] == "llmops.yaml" and data["problems"][0]["ref"] == "HEAD"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["no-such-branch"], "unknown git ref or prompt name: 'no-such-branch'"),
        (["HEAD", "nope~3"], "unknown git ref or prompt name: 'nope~3'"),
        (["support/answer@9.9.9"], "tag 'prompts/support/answer/v9.9.9' does not exist"),
        (["main..nowhere"], "unknown git ref: 'nowhere'"),
    ],
)
def test_unknown_refs_exit_2(cli, repo: GitRepo, args, needle):
    r = cli("prompt", "diff", *args, cwd=repo.root)
    assert r.exit_code == 2, r.output
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_working_tree_untouched(cli, repo: GitRepo):
    repo.write("prompts/other/plain.prompt.yaml", prompt(system="Changed, unstaged."))
    repo.write("prompts/untracked/new.prompt.yaml", prompt())
    repo.git("add", "prompts/untracked/new.prompt.yaml")
    repo.write("prompts/untracked/new.prompt.yaml", prompt(system="staged then edited"))
    before = repo.git("status", "--porcelain=v2", "--untracked-files=all")
    index = repo.root / ".git/index"
    stat_before = index.stat().st_mtime_ns
    stash_before = repo.git("stash", "list")
    for args in ([], ["HEAD"], ["HEAD", "HEAD"], ["--rendered"]):
        assert cli("prompt", "diff", *args, cwd=repo.root).exit_code == 0
    assert index.stat().st_mtime_ns == stat_before  # the index was not even refreshed
    assert repo.git("status", "--porcelain=v2", "--untracked-files=all") == before
    assert repo.git("stash", "list") == stash_before


def test_merge_base_semantics(cli, repo: GitRepo):
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/other/plain.prompt.yaml", prompt(system="Feature wording."))
    repo.commit("feature change")
    repo.git("checkout", "-q", "main")
    repo.write(
        "prompts/support/answer.prompt.yaml",
        "# main moved on\n" + (repo.root / "prompts/support/answer.prompt.yaml").read_text(),
    )
    repo.commit("main change")
    repo.git("checkout", "-q", "feature")
    data = diff_json(cli, repo, "main")
    assert list(by_name(data)) == ["other/plain"]  # main's own change is not part of the PR
    assert data["old"]["label"].startswith("merge-base(main, HEAD)")
    assert data["new"]["commit"] is None
    # dirty tree: said, and included
    repo.write("prompts/support/answer.prompt.yaml", prompt(system="dirty"))
    r = cli("prompt", "diff", "main", "--format", "json", cwd=repo.root)
    assert "uncommitted changes included" in r.stderr or "uncommitted changes included" in r.stdout
    assert set(by_name(json.loads(r.stdout))) == {"other/plain", "support/answer"}


def test_release_ref_and_name_filter(cli, repo: GitRepo):
    repo.git("tag", "prompts/support/answer/v1.2.0")
    repo.write(
        "prompts/support/answer.prompt.yaml",
        (repo.root / "prompts/support/answer.prompt.yaml").read_text().replace("300", "500"),
    )
    repo.write("prompts/other/plain.prompt.yaml", prompt(system="also changed"))
    repo.commit("after release")
    data = diff_json(cli, repo, "support/answer@1.2.0", "support/answer")
    assert data["old"]["label"] == "support/answer@1.2.0"
    assert list(by_name(data)) == ["support/answer"]
    assert by_name(data)["support/answer"]["changes"][0]["text"] == "max_tokens 300 → 500"
    # names filter with two refs, and a glob
    assert list(by_name(diff_json(cli, repo, "HEAD~1", "HEAD", "other/*"))) == ["other/plain"]


def test_markdown_and_exit_code(cli, repo: GitRepo):
    r = cli("prompt", "diff", "--exit-code", cwd=repo.root)
    assert r.exit_code == 0 and "no prompt changes" in r.stdout
    repo.write("prompts/other/plain.prompt.yaml", prompt(system="Be | very brief."))
    r = cli("prompt", "diff", "--exit-code", cwd=repo.root)
    assert r.exit_code == 1 and "other/plain" in r.stdout
    md = cli("prompt", "diff", "--format", "markdown", "--rendered", cwd=repo.root)
    assert md.exit_code == 0
    out = md.stdout
    assert out.startswith("### Prompt diff: `HEAD` → `working tree`")
    assert "| Prompt | Status | Impact | What changed |" in out
    assert out.index("| Prompt |") < out.index("<details>")
    assert "<details><summary><b>other/plain</b> — modified, 🟢 patch</summary>" in out
    assert "```diff" in out and "+    content: Be | very brief." not in out  # the template diff, not YAML
    assert "-Be brief." in out and "+Be | very brief." in out
    assert "</details>" in out


def test_rendered_cases_paired_and_failures_reported(cli, repo: GitRepo):
    text = (repo.root / "prompts/support/answer.prompt.yaml").read_text()
    repo.write(
        "prompts/support/answer.prompt.yaml",
        text.replace("Question: {{ question }}", "Q: {{ question }} {{ question.nope }}"),
    )
    golden = (repo.root / "evals/support/answer.yaml").read_text()
    repo.write("evals/support/answer.yaml", golden + "  - id: brand-new\n    vars: {question: Hi?}\n")
    repo.commit("break rendering, add a case")
    data = by_name(diff_json(cli, repo, "HEAD~1", "HEAD", "--rendered"))
    r = data["support/answer"]["rendered"]
    cases = {c["id"]: c for c in r["cases"]}
    assert cases["refund"]["status"] == "error"
    assert cases["refund"]["errors"][0].startswith("new: ")
    assert cases["brand-new"]["status"] in ("added", "error")
    assert r["counts"]["error"] >= 2


def test_rendered_message_diff(cli, repo: GitRepo):
    text = (repo.root / "prompts/support/answer.prompt.yaml").read_text()
    repo.write("prompts/support/answer.prompt.yaml", text.replace("Question:", "Customer question:"))
    data = by_name(diff_json(cli, repo, "--rendered"))
    r = data["support/answer"]["rendered"]
    assert r["counts"] == {"changed": 2, "unchanged": 0, "added": 0, "removed": 0, "error": 0}
    msg = r["cases"][0]["messages"][0]
    assert msg["subject"] == "message 2 (user)"
    assert "+Customer question: How do refunds work?" in msg["unified"]
    assert data["support/answer"]["cost"] is None


def test_cost_known_and_unknown_model(cli, repo: GitRepo):
    text = (repo.root / "prompts/support/answer.prompt.yaml").read_text()
    repo.write("prompts/support/answer.prompt.yaml", text.replace("Question:", "The customer asks:"))
    repo.write("prompts/other/plain.prompt.yaml", prompt(model="local/no-such-model-xyz", system="Other."))
    repo.write("evals/other/plain.yaml", "- id: a\n  vars: {question: hello}\n")
    data = by_name(diff_json(cli, repo, "--cost"))
    known = data["support/answer"]["cost"]
    assert known["old"]["model"] == "openai/gpt-4o-mini-2024-07-18"
    assert known["old"]["cases"] == 2 and known["old"]["mean_input_tokens"] > 5
    assert known["new"]["max_input_tokens"] >= known["new"]["mean_input_tokens"]
    assert known["old"]["assumed_output_tokens"] == 300 and known["old"]["output_tokens_from"] == "params.max_tokens"
    assert known["old"]["cost_per_1k_calls_usd"] > 0 and known["delta_per_1k_calls_usd"] is not None
    assert data["support/answer"]["rendered"] is None  # --cost alone renders, but shows no case diffs
    unknown = data["other/plain"]["cost"]
    assert unknown["new"]["cost_per_1k_calls_usd"] is None and unknown["delta_per_1k_calls_usd"] is None
    text_out = cli("prompt", "diff", "--cost", cwd=repo.root).stdout
    assert "unknown per 1,000 calls" in text_out and "$0.00 " not in text_out
    assert "assuming 300 output tokens, params.max_tokens" in text_out


def test_project_in_subdirectory(cli, tmp_git_repo: GitRepo):
    make_sample_project(tmp_git_repo.root / "app")
    tmp_git_repo.write("README.md", "hi\n")
    tmp_git_repo.commit("one")
    tmp_git_repo.write("app/prompts/_partials/tone.j2", "Changed tone.\n")
    tmp_git_repo.commit("two")
    r = cli(
        "-C",
        str(tmp_git_repo.root / "app"),
        "prompt",
        "diff",
        "HEAD~1",
        "HEAD",
        "--format",
        "json",
        cwd=tmp_git_repo.root,
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert by_name(data)["support/answer"]["status"] == "affected"


def test_importing_diff_core_is_light():
    import subprocess
    import sys

    code = (
        "import sys, llmops_cli.diff.compare, llmops_cli.diff.markdown; "
        "print(any(m in sys.modules for m in ('litellm', 'typer', 'rich')))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"
