"""``llmops eval drift``: a release's baseline re-checked against the loopback provider, before and after it
changes behaviour; the baseline note is bounded, hashed and never overwritten."""
# ruff: noqa: F811  (pytest fixtures imported by name)

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project, many_cases
from tests.support.fakellm import FakeLLM
from tests.support.fixtures import fake_llm  # noqa: F401

NAME = "support/answer"
ENV = {KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def released(tmp_path: Path, fake_llm: FakeLLM) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "t@example.com"), ("user.name", "t"), ("commit.gpgsign", "false")):
        _git(root, "config", k, v)
    make_eval_project(root, fake_llm.url, golden=many_cases(24))
    (root / ".gitignore").write_text(".llmops/\n", encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "prompt")
    results = tmp_path / "admitted.json"
    r = run_cli("eval", "run", "--out", str(results), cwd=root, env=ENV)
    assert r.exit_code == 0, r.output
    # the eval that admitted the release becomes its baseline (release create --gate-result RESULTS)
    r = run_cli("release", "create", NAME, "--gate-result", str(results), cwd=root, env=ENV)
    assert r.exit_code == 0 and "eval baseline of 24 cases recorded" in r.stderr, r.output
    assert run_cli("release", "promote", f"{NAME}@1.0.0", "--to", "production", cwd=root, env=ENV).exit_code == 0
    return root, results


def test_unchanged_provider_passes_and_a_degraded_one_fails(released: tuple[Path, Path], fake_llm: FakeLLM) -> None:
    root, _ = released
    before = len(fake_llm.requests) if hasattr(fake_llm, "requests") else None
    r = run_cli("eval", "drift", f"{NAME}@production", "--json", cwd=root, env=ENV)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["drifted"] is False and data["prompt"] == NAME and data["version"] == "1.0.0"
    if before is not None:
        assert len(fake_llm.requests) > before  # fresh calls, not the cache
    fake_llm.on("question number", "I cannot help with that.")  # the provider switched models behind the pin
    r = run_cli("eval", "drift", f"{NAME}@production", cwd=root, env=ENV)
    assert r.exit_code == 1, r.output
    assert f"eval drift: {NAME}@1.0.0 scores lower now" in r.stderr and "FAIL" in r.stdout


def test_baseline_is_refused_twice_for_other_content_and_when_tampered(
    released: tuple[Path, Path], tmp_path: Path
) -> None:
    root, results = released
    r = run_cli("release", "baseline", f"{NAME}@1.0.0", str(results), cwd=root, env=ENV)
    assert r.exit_code == 2 and "never overwritten" in r.stderr
    r = run_cli("release", "baseline", f"{NAME}@9.9.9", str(results), cwd=root, env=ENV)
    assert r.exit_code == 2
    other = json.loads(results.read_text(encoding="utf-8"))
    other["prompts"][NAME]["prompt_sha256"] = "0" * 64
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps(other), encoding="utf-8")
    tag_obj = _git(root, "rev-parse", f"refs/tags/prompts/{NAME}/v1.0.0").strip()
    note = _git(root, "notes", "--ref=refs/notes/llmops-baseline", "show", tag_obj)
    data = json.loads(note.splitlines()[0])
    data["cases"][0]["scores"] = {k: [1.0] for k in data["cases"][0]["scores"]} | {"x": [1.0]}
    _git(root, "notes", "--ref=refs/notes/llmops-baseline", "add", "-f", "-m", json.dumps(data), tag_obj)
    r = run_cli("eval", "drift", f"{NAME}@1.0.0", cwd=root, env=ENV)
    assert r.exit_code == 2 and "modified" in r.stderr and "Traceback" not in r.output
    _git(root, "notes", "--ref=refs/notes/llmops-baseline", "add", "-f", "-m", "{not json", tag_obj)
    r = run_cli("eval", "drift", f"{NAME}@1.0.0", cwd=root, env=ENV)
    assert r.exit_code == 2 and "not JSON" in r.stderr
    _git(root, "notes", "--ref=refs/notes/llmops-baseline", "add", "-f", "-m", json.dumps({"kind": "x"}), tag_obj)
    r = run_cli("eval", "drift", f"{NAME}@1.0.0", cwd=root, env=ENV)
    assert r.exit_code == 2 and "$.kind" in r.stderr


def test_release_without_baseline_is_exit_2(tmp_path: Path, fake_llm: FakeLLM) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "t@example.com"), ("user.name", "t"), ("commit.gpgsign", "false")):
        _git(root, "config", k, v)
    make_eval_project(root, fake_llm.url, golden=many_cases(3))
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "prompt")
    assert run_cli("release", "create", NAME, "--allow-no-gate", cwd=root, env=ENV).exit_code == 0
    r = run_cli("eval", "drift", f"{NAME}@1.0.0", cwd=root, env=ENV)
    assert r.exit_code == 2 and "has no eval baseline" in r.stderr and "llmops release baseline" in r.stderr
    results = tmp_path / "r.json"
    assert run_cli("eval", "run", "--out", str(results), cwd=root, env=ENV).exit_code == 0
    r = run_cli("release", "baseline", f"{NAME}@1.0.0", str(results), cwd=root, env=ENV)
    assert r.exit_code == 0 and "baseline of 3 cases recorded" in r.stdout, r.output


def test_baseline_record_refuses_hostile_scores() -> None:
    from llmops_cli.records.base import RecordError, load_record
    from llmops_cli.records.baseline import BaselineCase

    for scores in ({"m": [float("nan")]}, {"m": [1.5]}, {"m": [True]}, {"m": [0.5] * 201}, {"": [1.0]}):
        with pytest.raises(RecordError, match=r"\$\.scores"):
            load_record(BaselineCase, {"case_id": "c", "scores": scores}, source="note")
    ok = load_record(BaselineCase, {"case_id": "c", "scores": {"(pass)": [1, 0.5]}}, source="note")
    assert ok.scores == {"(pass)": [1.0, 0.5]}
