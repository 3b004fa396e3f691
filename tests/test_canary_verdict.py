"""The canary decision: always-valid sequences, generated logs with known truth, the --finish guard, hostile logs."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmops_cli.config import CanaryConfig
from llmops_cli.usage.compare import run_compare
from llmops_cli.usage.engine import open_records
from llmops_cli.usage.logfiles import resolve_logs
from llmops_cli.usage.sequential import (
    ABORT,
    KEEP_RUNNING,
    PROMOTE,
    ArmStats,
    decide,
    mixture_half_width,
    rate_stats,
    sequence,
)
from llmops_cli.usage.synth import canary_records, write_records
from tests.conftest import make_sample_project, run_cli

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 12, 1, tzinfo=UTC)
NAME = "support/answer"


def _sim() -> object:
    spec = importlib.util.spec_from_file_location("canary_sim", ROOT / "bench/canary_sequential_sim.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- the sequences ----------------------------------------------------------------------------------------------


def test_mixture_boundary_is_the_inverted_msprt() -> None:
    v, tau, a = 0.004, 0.05, 0.05
    h = mixture_half_width(v, tau, a)
    # at the boundary the mSPRT statistic equals 1/alpha
    lam = math.sqrt(v / (v + tau**2)) * math.exp(tau**2 * h**2 / (2 * v * (v + tau**2)))
    assert lam == pytest.approx(1 / a, rel=1e-9)
    # wider than the fixed-n 95% interval at the same variance: the price of looking at any time
    assert h > 1.96 * math.sqrt(v)
    assert mixture_half_width(0.0, tau, a) == 0.0
    with pytest.raises(ValueError):
        mixture_half_width(v, 0.0, a)


def test_sequence_orientation_and_states() -> None:
    good, bad = ArmStats(5000, 0.70, 0.08), ArmStats(5000, 0.60, 0.08)
    worse = sequence("quality", bad, good, margin=0.05, alpha=0.01, higher_is_worse=False)
    assert worse.estimate == pytest.approx(0.10) and worse.low > 0 and worse.state == "worse"
    same = sequence("quality", good, good, margin=0.05, alpha=0.01, higher_is_worse=False)
    assert same.state == "ok" and same.high < 0.05
    tiny = sequence("quality", ArmStats(1, 0.0, 0.0), good, margin=0.05, alpha=0.01)
    assert tiny.low == -math.inf and tiny.state == "open"
    assert rate_stats(0, 100).var > 0  # smoothed: two error-free arms still have an interval
    assert decide([worse, same], enough_data=True).verdict == ABORT
    assert decide([same], enough_data=True).verdict == PROMOTE
    assert decide([same], enough_data=False).verdict == KEEP_RUNNING
    assert decide([same, tiny], enough_data=True).verdict == KEEP_RUNNING


def test_hourly_checks_for_a_week_simulated() -> None:
    """A smaller run of bench/canary_sequential_sim.py (the README's figures come from 1,000 repetitions)."""
    sim = _sim()
    equal = sim.simulate(200, scenario="equal", seed=11)  # type: ignore[attr-defined]
    assert equal["abort_share"] <= 0.05 and equal["promote_share"] >= 0.9
    worse = sim.simulate(200, scenario="worse", seed=12)  # type: ignore[attr-defined]
    assert worse["abort_share"] >= 0.95 and worse["promote_share"] == 0
    assert worse["to_abort"]["canary_calls_p95"] <= 2500  # README: ABORTed within 2,500 canary calls in 95% of runs
    naive = sim.simulate(200, scenario="equal", seed=11, fixed_n=True)  # type: ignore[attr-defined]
    assert naive["abort_share"] > equal["abort_share"]  # peeking at a fixed-n interval inflates false alarms


# ---- generated logs with known truth ---------------------------------------------------------------------------


def _log(tmp_path: Path, name: str, **kw: object) -> Path:
    path = tmp_path / name
    write_records(path, canary_records(start=START, hours=72, per_hour=500, seed=5, **kw))  # type: ignore[arg-type]
    return path


def test_equal_canary_promotes_and_worse_one_aborts(tmp_path: Path) -> None:
    equal = run_compare(open_records(resolve_logs([str(_log(tmp_path, "eq.jsonl"))])), "production", resamples=200)
    assert equal.decision is not None and equal.decision.verdict == PROMOTE, equal.decision.to_dict()
    assert {m["metric"] for m in equal.decision.to_dict()["metrics"]} == {
        "error_rate", "cost_per_call", "latency_ms", "quality:rubric",
    }  # fmt: skip
    worse_log = _log(tmp_path, "worse.jsonl", canary_drop_points=0.3)
    worse = run_compare(open_records(resolve_logs([str(worse_log)])), "production", resamples=200)
    assert worse.decision is not None and worse.decision.verdict == ABORT
    assert "quality:rubric" in worse.decision.line()
    # cost, errors and latency alone would have promoted it: quality decides
    assert worse.worse == []
    costly = _log(tmp_path, "costly.jsonl", canary_cost_multiplier=1.5)
    comp = run_compare(open_records(resolve_logs([str(costly)])), "production", resamples=200)
    assert comp.decision is not None and comp.decision.verdict == ABORT and "cost_per_call" in comp.decision.line()
    # margins come from llmops.yaml: a 60% cost margin tolerates it
    wide = CanaryConfig.model_validate({"margins": {"cost_per_call": 0.6}})
    comp = run_compare(open_records(resolve_logs([str(costly)])), "production", resamples=200, canary=wide)
    assert comp.decision is not None and comp.decision.verdict == PROMOTE


def test_cli_decision_json_and_fail_on_abort(tmp_path: Path) -> None:
    worse = _log(tmp_path, "worse.jsonl", canary_drop_points=0.3)
    r = run_cli("usage", "compare", "production", str(worse), "--resamples", "200", "--json", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["decision"]["verdict"] == "ABORT" and data["decision"]["schema"] == "llmops.canary-verdict/1"
    r = run_cli("usage", "compare", "production", str(worse), "--resamples", "200", "--fail-on-abort", cwd=tmp_path)
    assert r.exit_code == 1 and "DECISION ABORT support/answer on production" in r.stdout, r.output
    r = run_cli("usage", "compare", "production", str(worse), "--prompt", "nosuch", "--resamples", "200", cwd=tmp_path)
    assert r.exit_code == 0 and "DECISION KEEP RUNNING" in r.stdout  # no calls of that prompt: nothing decided


def test_margins_in_llmops_yaml_are_validated(tmp_path: Path) -> None:
    (tmp_path / "llmops.yaml").write_text("canary:\n  margins:\n    quality: 3\n", encoding="utf-8")
    log = _log(tmp_path, "eq.jsonl")
    r = run_cli("usage", "compare", "production", str(log), cwd=tmp_path)
    assert r.exit_code == 2 and "llmops.yaml" in r.stderr and "quality" in r.stderr, r.output
    (tmp_path / "llmops.yaml").write_text("canary:\n  alpha: 0.7\n", encoding="utf-8")
    r = run_cli("usage", "compare", "production", str(log), cwd=tmp_path)
    assert r.exit_code == 2 and "alpha" in r.stderr
    (tmp_path / "llmops.yaml").write_text("canary:\n  margins:\n    latency_ms: null\n    quality: 0.5\n", "utf-8")
    r = run_cli("usage", "compare", "production", str(_log(tmp_path, "w.jsonl", canary_drop_points=0.3)),
                "--json", cwd=tmp_path)  # fmt: skip
    metrics = {m["metric"] for m in json.loads(r.stdout)["decision"]["metrics"]}
    assert "latency_ms" not in metrics and json.loads(r.stdout)["decision"]["verdict"] != "ABORT"


# ---- hostile logs ----------------------------------------------------------------------------------------------


def test_hostile_score_records_are_counted_or_refused(tmp_path: Path) -> None:
    log = _log(tmp_path, "eq.jsonl")
    stray = {
        "kind": "score", "schema_version": 1, "ts": "2026-12-01T01:00:00Z", "request_id": "nosuchcall",
        "prompt": NAME, "call_ts": "2026-12-01T01:00:00Z", "metric": "rubric", "judge": "j", "judge_model": "m",
        "score": 0.0, "threshold": 0.5,
    }  # fmt: skip
    with log.open("a", encoding="utf-8") as fh:
        for i in range(50):
            fh.write(json.dumps({**stray, "request_id": f"nosuch{i}"}) + "\n")
    comp = run_compare(open_records(resolve_logs([str(log)])), "production", resamples=200)
    assert comp.decision is not None and comp.decision.unjoined == 50
    assert any("50 score/feedback records name no call" in n for n in comp.decision.notes)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({**stray, "score": 7}) + "\n")
        fh.write(json.dumps({**stray, "request_id": "x; rm -rf /", "score": 1}) + "\n")
    r = run_cli("usage", "compare", "production", str(log), cwd=tmp_path)
    assert r.exit_code == 2 and "score: expected a number between 0 and 1" in r.stderr and "Traceback" not in r.output
    r = run_cli("usage", "compare", "production", str(log), "--skip-invalid", "--json", cwd=tmp_path)
    assert r.exit_code == 0 and json.loads(r.stdout)["decision"]["verdict"] in ("PROMOTE", "KEEP RUNNING")


# ---- release promote --finish held to the verdict --------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def canary_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "t@example.com"), ("user.name", "t"), ("commit.gpgsign", "false")):
        _git(root, "config", k, v)
    make_sample_project(root)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "sample")
    assert run_cli("release", "create", NAME, "--allow-no-gate", cwd=root).exit_code == 0
    prompt = root / "prompts/support/answer.prompt.yaml"
    prompt.write_text(prompt.read_text(encoding="utf-8").replace("Answer in", "Reply in", 1), encoding="utf-8")
    _git(root, "commit", "-qam", "reword")
    assert run_cli("release", "create", NAME, "--allow-no-gate", cwd=root).exit_code == 0
    assert run_cli("release", "promote", f"{NAME}@1.0.0", "--to", "production", cwd=root).exit_code == 0
    r = run_cli("release", "promote", f"{NAME}@1.0.1", "--to", "production", "--canary", "10", cwd=root)
    assert r.exit_code == 0, r.output
    return root


def test_finish_refuses_an_abort_verdict_unless_forced(canary_repo: Path, tmp_path: Path) -> None:
    worse = _log(tmp_path, "worse.jsonl", canary_drop_points=0.3)
    r = run_cli("release", "promote", NAME, "--to", "production", "--finish", "--logs", str(worse), cwd=canary_repo)
    assert r.exit_code == 1 and "not finishing" in r.stderr and "ABORT" in r.stderr, r.output
    r = run_cli(
        "release", "promote", NAME, "--to", "production", "--finish", "--logs", str(worse), "--force",
        "-m", "ship it anyway", cwd=canary_repo,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "FORCED over verdict ABORT" in r.stdout
    r = run_cli("release", "history", NAME, "--channel", "production", "--json", cwd=canary_repo)
    assert r.exit_code == 0, r.output
    newest = json.loads(r.stdout)[0]
    assert newest["action"] == "finish" and newest["verdict"] == {"decision": "ABORT", "forced": True}


def test_finish_with_a_promote_verdict_and_without_logs(canary_repo: Path, tmp_path: Path) -> None:
    equal = _log(tmp_path, "eq.jsonl")
    r = run_cli(
        "release", "promote", NAME, "--to", "production", "--finish", "--json", cwd=canary_repo,
        env={"LLMOPS_LOG": str(equal)},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["verdict"]["verdict"] == "PROMOTE" and data["moved"]["verdict"] == {
        "decision": "PROMOTE",
        "forced": False,
    }


def test_a_replaced_canary_version_is_not_mixed_in(tmp_path: Path) -> None:
    """1.1.0 was a bad canary (aborted); 1.2.0 runs now and is fine: the decision is about 1.2.0 alone."""
    from datetime import timedelta

    old = canary_records(start=START, hours=48, per_hour=500, seed=7, canary_drop_points=0.6)
    new = []
    for rec in canary_records(start=START + timedelta(hours=48), hours=72, per_hour=500, seed=8):
        if rec.get("arm") == "canary" and rec.get("version") == "1.1.0":
            rec = {**rec, "version": "1.2.0"}
        new.append(rec)
    path = tmp_path / "two-canaries.jsonl"
    write_records(path, [*old, *new])
    comp = run_compare(open_records(resolve_logs([str(path)])), "production", resamples=200)
    assert comp.decision is not None and comp.decision.versions == {"stable": "1.0.0", "canary": "1.2.0"}
    assert comp.decision.verdict == PROMOTE, comp.decision.to_dict()
    assert comp.decision.calls["canary"] == 72 * 50  # only 1.2.0's calls


def test_feedback_joins_by_request_id_and_decides(tmp_path: Path) -> None:
    """Thumbs (±1) from users, in the same log: the canary's are worse (60% up vs 80%); judge scores equal."""
    import random as _random

    rng = _random.Random(4)
    out = []
    for rec in canary_records(start=START, hours=72, per_hour=500, seed=9):
        out.append(rec)
        if rec.get("kind") is None and rec["outcome"] == "ok" and rng.random() < 0.3:
            up = rng.random() < (0.6 if rec["arm"] == "canary" else 0.8)
            out.append({
                "kind": "feedback", "schema_version": 1, "ts": rec["ts"], "request_id": rec["request_id"],
                "prompt": NAME, "score": 1 if up else -1, "label": None,
                "comment": "<img src=x onerror=alert(1)> '; DROP TABLE records; --", "source": "app",
            })  # fmt: skip
    out.append({"kind": "feedback", "schema_version": 1, "ts": "2026-12-01T00:00:00Z", "request_id": "unknown-call",
                "score": 1})  # fmt: skip
    path = tmp_path / "feedback.jsonl"
    write_records(path, out)
    comp = run_compare(open_records(resolve_logs([str(path)])), "production", resamples=200)
    assert comp.decision is not None and comp.decision.verdict == ABORT, comp.decision.to_dict()
    metrics = {m["metric"]: m for m in comp.decision.to_dict()["metrics"]}
    assert metrics["feedback"]["state"] == "worse" and metrics["quality:rubric"]["state"] != "worse"
    assert metrics["feedback"]["canary"]["mean"] == pytest.approx(0.6, abs=0.05)  # thumbs → 0/1
    assert comp.decision.unjoined == 1
