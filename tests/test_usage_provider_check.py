"""``llmops usage check``: price changes since a release's baseline, model deprecations (litellm's bundled table)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from llmops_cli.hashing import sha256_of
from llmops_cli.models.prices import price_of
from llmops_cli.records.base import dump_record
from llmops_cli.records.baseline import BaselineCase, Price, ReleaseBaseline
from llmops_cli.usage.synth import Stream, write_jsonl
from tests.conftest import make_sample_project, run_cli

NAME = "support/answer"
MODEL = "openai/gpt-4o-mini-2024-07-18"
START = datetime(2026, 12, 1, tzinfo=UTC)
NOW = "2026-12-01T23:30:00Z"
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "t@example.com"), ("user.name", "t"), ("commit.gpgsign", "false")):
        _git(root, "config", k, v)
    make_sample_project(root)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "sample")
    assert run_cli("release", "create", NAME, "--allow-no-gate", cwd=root, env=ENV).exit_code == 0
    return root


def _note(root: Path, price: Price | None) -> None:
    """A baseline recorded when the model cost ``price`` (as `llmops release baseline` writes it)."""
    tag = f"prompts/{NAME}/v1.0.0"
    sha = json.loads(run_cli("release", "show", f"{NAME}@1.0.0", "--json", cwd=root, env=ENV).stdout)
    b = ReleaseBaseline(
        prompt=NAME, version="1.0.0", tag=tag, prompt_sha256=sha.get("sha256") or sha["manifest"]["sha256"],
        model=MODEL, price=price, recorded_at="2026-11-01T00:00:00+00:00", results_sha256="0" * 64,
        cases=[BaselineCase(case_id="c1", scores={"(pass)": [1.0]})],
    )  # fmt: skip
    data = dump_record(b)
    data.pop("sha256")
    b.sha256 = sha256_of(data)
    obj = _git(root, "rev-parse", f"refs/tags/{tag}").strip()
    _git(root, "notes", "--ref=refs/notes/llmops-baseline", "add", "-f", "-m", json.dumps(dump_record(b)), obj)


def _logs(tmp_path: Path, model: str = MODEL) -> Path:
    path = tmp_path / "requests.jsonl"
    write_jsonl(path, [Stream(version="1.0.0", model=model, hours=24, per_hour=30, error_rate=0)], start=START, seed=2)
    return path


def test_price_change_since_release_is_a_finding(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    now = price_of(MODEL)
    assert now is not None
    logs = _logs(tmp_path)
    _note(root, Price(input_per_token=now.input_per_token, output_per_token=now.output_per_token))
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--no-spikes", "--budget-per-day", "1000", cwd=root, env=ENV)
    assert r.exit_code == 0, r.output  # same price as at release: nothing to say
    _note(root, Price(input_per_token=now.input_per_token / 2, output_per_token=now.output_per_token))
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--json", "--budget-per-day", "1000", cwd=root, env=ENV)
    assert r.exit_code == 1, r.output
    found = [f for f in json.loads(r.stdout)["findings"] if f["kind"] == "price-change"]
    assert len(found) == 1 and found[0]["group"] == {"prompt": NAME, "version": "1.0.0"}
    assert "price changed since release 2026-11-01" in found[0]["message"] and found[0]["model"] == MODEL
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--no-provider", "--budget-per-day", "1000", cwd=root,
                env=ENV)  # fmt: skip
    assert r.exit_code == 0


def test_no_baseline_and_no_repository_are_notes_not_findings(tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--budget-per-day", "1000", cwd=tmp_path, env=ENV)
    assert r.exit_code == 0 and "prices at release not checked" in r.stderr, r.output
    root = _repo(tmp_path)
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--budget-per-day", "1000", cwd=root, env=ENV)
    assert r.exit_code == 0 and "have no release baseline" in r.stderr, r.output


def test_tampered_baseline_is_a_note_never_a_crash(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    obj = _git(root, "rev-parse", f"refs/tags/prompts/{NAME}/v1.0.0").strip()
    _git(
        root, "notes", "--ref=refs/notes/llmops-baseline", "add", "-f", "-m", '{"kind": "llmops-release-baseline"}', obj
    )
    r = run_cli("usage", "check", str(_logs(tmp_path)), "--now", NOW, "--budget-per-day", "1000", cwd=root, env=ENV)
    assert r.exit_code == 0 and "baseline unreadable" in r.stderr and "Traceback" not in r.output, r.output


def test_deprecated_model_is_a_finding(tmp_path: Path) -> None:
    logs = _logs(tmp_path, model="anthropic.claude-3-haiku-20240307-v1:0")  # litellm: deprecated 2026-09-10
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--budget-per-day", "1000", cwd=tmp_path, env=ENV)
    assert r.exit_code == 1 and "MODEL-DEPRECATION model=anthropic.claude-3-haiku-20240307-v1:0" in r.stdout, r.output
    assert "deprecated since 2026-09-10" in r.stdout
    r = run_cli("usage", "check", str(logs), "--now", NOW, "--deprecation-days", "99999", cwd=tmp_path, env=ENV)
    assert r.exit_code == 2
