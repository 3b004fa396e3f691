"""``llmops usage check``: the input-token anomaly per prompt (a sudden growth of p95 input tokens per call)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from llmops_cli.usage import open_records, resolve_logs
from llmops_cli.usage.check import CheckOptions, CheckResult, run_check
from llmops_cli.usage.synth import Stream, write_jsonl
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 20, tzinfo=UTC)
NOW = START + timedelta(hours=48)


def check(path: Path, now: datetime = NOW, **kw: Any) -> CheckResult:
    return run_check(open_records(resolve_logs([str(path)])), CheckOptions(**kw), now=now)


def tokens(res: CheckResult) -> list[Any]:
    return [f for f in res.findings if f.kind == "token-anomaly"]


def steady(path: Path, hours: float = 48, **kw: Any) -> None:
    streams = [
        Stream(prompt="support/answer", hours=hours, per_hour=60, tokens_in=400, cost_per_call=None),
        Stream(prompt="tickets/triage", hours=hours, per_hour=40, tokens_in=900, cost_per_call=None),
    ]
    write_jsonl(path, streams, start=START, seed=1, **kw)


def test_steady_traffic_raises_no_token_alarm(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    steady(log)
    assert tokens(check(log)) == []


def test_injected_long_inputs_are_flagged_for_that_prompt_only(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    steady(log)
    attack = Stream(
        prompt="support/answer", version="1.0.0", start_h=47.2, hours=0.7, per_hour=20, tokens_in=3000,
        cost_per_call=None,
    )  # fmt: skip
    write_jsonl(log, [attack], start=START, seed=2, append=True)
    res = check(log)
    (f,) = tokens(res)
    assert f.group == {"prompt": "support/answer"} and "possible injection" in f.message
    assert f.details["tokens_in"] > f.details["threshold_tokens_in"] > f.details["median_tokens_in"]
    assert "1.0.0" in f.message and f.details["baseline_hours"] == 47
    assert tokens(check(log, tokens=False)) == []
    assert tokens(check(log, spikes=False, budget_per_day=1000.0)) == []


def test_no_alarm_without_a_baseline_or_enough_calls(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    steady(log, hours=12)  # half a day: under the 24 baseline hours needed
    write_jsonl(
        log, [Stream(start_h=11.5, hours=0.4, per_hour=30, tokens_in=5000, cost_per_call=None)], start=START,
        seed=3, append=True,
    )  # fmt: skip
    assert tokens(check(log, now=START + timedelta(hours=12))) == []
    quiet = tmp_path / "quiet.jsonl"
    write_jsonl(quiet, [Stream(hours=48, per_hour=10, tokens_in=400, cost_per_call=None)], start=START, seed=4)
    write_jsonl(
        quiet, [Stream(start_h=47.5, hours=0.4, per_hour=10, tokens_in=5000, cost_per_call=None)], start=START,
        seed=5, append=True,
    )  # fmt: skip
    assert tokens(check(quiet)) == []  # 10 calls an hour: below the 20-call floor on both sides


def test_cli_reports_the_anomaly_and_exits_1(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    steady(log)
    write_jsonl(
        log, [Stream(prompt="tickets/triage", start_h=47.1, hours=0.8, per_hour=40, tokens_in=4000, cost_per_call=None)],
        start=START, seed=6, append=True,
    )  # fmt: skip
    env = {"PYTHONPATH": str(ROOT)}
    now = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    r = run_cli("usage", "check", str(log), "--now", now, "--json", cwd=tmp_path, env=env)
    assert r.exit_code == 1, r.output
    kinds = [f["kind"] for f in json.loads(r.stdout)["findings"]]
    assert kinds == ["token-anomaly"]
    r = run_cli("usage", "check", str(log), "--now", now, "--no-token-check", cwd=tmp_path, env=env)
    assert r.exit_code == 0, r.output
    r = run_cli("usage", "check", str(log), "--now", now, "--token-ratio", "1", cwd=tmp_path, env=env)
    assert r.exit_code == 2
