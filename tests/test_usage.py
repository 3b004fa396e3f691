"""``llmops usage``: report/check/compare on generated logs with known totals, hostile input, exit codes."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmops_cli.usage import resolve_logs
from llmops_cli.usage.check import CheckOptions, run_check
from llmops_cli.usage.compare import newcombe, run_compare, welch, wilson
from llmops_cli.usage.engine import LogFileError, open_records, parse_when, record_problem
from llmops_cli.usage.report import build_report, parse_by
from llmops_cli.usage.synth import Stream, Totals, generate, write_jsonl
from tests.conftest import run_cli

START = datetime(2026, 11, 20, tzinfo=UTC)


def _report(*paths: Path | str, skip: bool = False, **kw):  # type: ignore[no-untyped-def]
    return build_report(open_records(resolve_logs([str(p) for p in paths]), skip_invalid=skip), **kw)


def _lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def mixed_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Totals]:
    """Two prompts, two versions, an unpriced model and errors over 48 hours."""
    path = tmp_path_factory.mktemp("usage") / "requests.jsonl"
    totals = write_jsonl(
        path,
        [
            Stream(version="1.0.0", hours=30, per_hour=60, error_rate=0.05),
            Stream(version="1.1.0", start_h=30, hours=18, per_hour=60, cost_multiplier=1.5),
            Stream(prompt="triage", version=None, model="local/smollm2", hours=48, per_hour=20, cost_per_call=None),
            Stream(prompt="triage", version="2.0.0", hours=48, per_hour=10, cost_per_call=0.003),
        ],
        start=START,
        seed=7,
    )
    return path, totals


# ---- report ----------------------------------------------------------------------------------------------------


def test_report_totals_are_exact(mixed_log: tuple[Path, Totals]) -> None:
    path, totals = mixed_log
    rep = _report(path, by=["prompt", "version"])
    t = rep.total
    assert t["calls"] == totals.calls and t["errors"] == totals.errors
    assert t["tokens_in"] == totals.tokens_in and t["tokens_out"] == totals.tokens_out
    assert round(t["cost_usd"] * 1e6) == totals.cost_micro_usd
    assert t["priced_calls"] == totals.priced and t["unpriced_calls"] == totals.unpriced > 0
    assert t["cost_per_call"] == pytest.approx(totals.cost_usd / totals.priced)
    assert sum(g["calls"] for g in rep.groups) == totals.calls
    assert round(sum(g["cost_usd"] or 0 for g in rep.groups) * 1e6) == totals.cost_micro_usd
    # the unpriced working-tree prompt: cost unknown, never $0
    local = next(g for g in rep.groups if g["key"] == {"prompt": "triage", "version": None})
    assert local["cost_usd"] is None and local["cost_per_call"] is None
    assert local["unpriced_calls"] == local["calls"] - local["errors"] > 0
    # latency percentiles agree with Python's on the same records
    lat = sorted(r["latency_ms"] for r in _lines(path))
    assert t["latency_p50_ms"] == pytest.approx((lat[len(lat) // 2 - 1] + lat[len(lat) // 2]) / 2, abs=1e-3)


def test_report_by_tag_and_day(mixed_log: tuple[Path, Totals]) -> None:
    path, _ = mixed_log
    records = _lines(path)
    rep = _report(path, by=parse_by("tag:tenant,day"))
    for g in rep.groups:
        mine = [r for r in records if r["tags"]["tenant"] == g["key"]["tag:tenant"] and r["ts"][:10] == g["key"]["day"]]
        assert g["calls"] == len(mine)
        assert round((g["cost_usd"] or 0) * 1e6) == sum(round((r["cost_usd"] or 0) * 1e6) for r in mine)
    assert {g["key"]["tag:tenant"] for g in rep.groups} == {"acme", "globex", "initech"}
    dotted = path.with_name("dotted.jsonl")
    dotted.write_text(json.dumps({**GOOD, "tags": {"team.name": "core", "a:b": "x"}}) + "\n", encoding="utf-8")
    assert [g["key"] for g in _report(dotted, by=parse_by("tag:team.name,tag:a:b")).groups] == [
        {"tag:team.name": "core", "tag:a:b": "x"}
    ]
    missing = _report(path, by=["tag:nosuchtag"])
    assert [g["key"] for g in missing.groups] == [{"tag:nosuchtag": None}]


def test_report_since_until_window(mixed_log: tuple[Path, Totals]) -> None:
    path, _ = mixed_log
    now = START + timedelta(hours=48)
    since, until = parse_when("24h", now), parse_when("2026-11-21T14:00:00Z", now)
    rep = _report(path, since=since, until=until)
    mine = [r for r in _lines(path) if "2026-11-21T00:00:00" <= r["ts"][:19] < "2026-11-21T14:00:00"]
    assert since == datetime(2026, 11, 21, 0, tzinfo=UTC)
    assert rep.total["calls"] == len(mine) > 0
    assert round(rep.total["cost_usd"] * 1e6) == sum(round((r["cost_usd"] or 0) * 1e6) for r in mine)
    assert parse_when("7d", now) == now - timedelta(days=7)
    assert parse_when("today", now + timedelta(hours=5)) == datetime(2026, 11, 22, tzinfo=UTC)


def test_parquet_gzip_directory_and_rotations_read_the_same(tmp_path: Path, mixed_log: tuple[Path, Totals]) -> None:
    import duckdb

    path, totals = mixed_log
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    third = len(lines) // 3
    (logs / "requests.jsonl").write_text("".join(lines[:third]), encoding="utf-8")
    (logs / "requests.jsonl.1").write_text("".join(lines[third : 2 * third]), encoding="utf-8")
    with gzip.open(logs / "requests.jsonl.2.gz", "wt", encoding="utf-8") as fh:
        fh.write("".join(lines[2 * third :]))
    (logs / "notes.txt").write_text("not a log", encoding="utf-8")
    by_dir = _report(logs, by=["prompt", "version"])
    by_env = build_report(open_records(resolve_logs([], {"LLMOPS_LOG": str(logs / "requests.jsonl")})))
    con = duckdb.connect()
    src = f"read_json_auto('{path}')"
    con.execute(f"COPY (SELECT * FROM {src}) TO '{tmp_path / 'struct.parquet'}' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT * REPLACE (map_from_entries([('tenant', tags.tenant)]) AS tags) FROM {src}) "
        f"TO '{tmp_path / 'map.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT * REPLACE (to_json(tags)::VARCHAR AS tags, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts) "
        f"FROM {src}) "
        f"TO '{tmp_path / 'text.parquet'}' (FORMAT parquet)"
    )
    ref = _report(path, by=["prompt", "version", "tag:tenant"]).to_dict()
    for name in ("struct.parquet", "map.parquet", "text.parquet"):
        got = _report(tmp_path / name, by=["prompt", "version", "tag:tenant"]).to_dict()
        assert got["total"] == ref["total"] and got["groups"] == ref["groups"], name
    for rep in (by_dir, by_env):
        assert rep.files == 3 and rep.total["calls"] == totals.calls
        assert round(rep.total["cost_usd"] * 1e6) == totals.cost_micro_usd


# ---- invalid input ---------------------------------------------------------------------------------------------

GOOD = next(iter(generate([Stream(per_hour=1, hours=1, error_rate=0)], start=START, seed=1)))
BAD = [
    ("{not json", "not"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({**GOOD, "v": 3}), "v: expected 1 or 2"),
    (json.dumps({**GOOD, "v": True}), "v: expected 1 or 2"),
    (json.dumps({**GOOD, "ts": "yesterday"}), "ts:"),
    (json.dumps({**GOOD, "ts": 1764000000}), "ts:"),
    (json.dumps({**GOOD, "ts": {"at": GOOD["ts"]}}), "ts:"),
    (json.dumps({**GOOD, "ts": [GOOD["ts"]]}), "ts:"),
    (json.dumps({**GOOD, "prompt": ""}), "prompt:"),
    (json.dumps({**GOOD, "prompt": 12}), "prompt:"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "model"}), "model:"),
    (json.dumps({**GOOD, "version": 1.3}), "version:"),
    (json.dumps({**GOOD, "tokens_in": "12"}), "tokens_in:"),
    (json.dumps({**GOOD, "tokens_in": 1.5}), "tokens_in:"),
    (json.dumps({**GOOD, "tokens_out": -3}), "tokens_out:"),
    (json.dumps({**GOOD, "cost_usd": "0.01"}), "cost_usd:"),
    (json.dumps({**GOOD, "cost_usd": -0.5}), "cost_usd:"),
    (json.dumps({**GOOD, "cost_usd": True}), "cost_usd:"),
    ('{"v": 1, "cost_usd": 1e400}', "ts:"),
    (json.dumps(GOOD).replace('"cost_usd": ' + json.dumps(GOOD["cost_usd"]), '"cost_usd": 1e400'), "cost_usd:"),
    (json.dumps({**GOOD, "latency_ms": None}), "latency_ms:"),
    (json.dumps({**GOOD, "outcome": "maybe"}), "outcome:"),
    (json.dumps({**GOOD, "outcome": ["ok"]}), "outcome:"),
    (json.dumps({**GOOD, "outcome": True}), "outcome:"),
    (json.dumps({**GOOD, "tags": ["a"]}), "tags:"),
    (json.dumps({**GOOD, "tags": "tenant=acme"}), "tags:"),
]


@pytest.mark.parametrize(("line", "reason"), BAD, ids=[r for _, r in BAD])
def test_invalid_records_strict_and_skipped(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "requests.jsonl"
    good = json.dumps(GOOD)
    path.write_text(f"{good}\n\n{good}\n{line}\n{good}\n", encoding="utf-8")
    with pytest.raises(LogFileError) as exc:
        _report(path)
    assert f"{path}:4: {reason}" in str(exc.value) and "1 invalid record" in str(exc.value)
    assert reason in (record_problem(line) or "")  # the Python re-check words it as the SQL check does
    rep = _report(path, skip=True)
    assert rep.invalid == 1 and rep.total["calls"] == 3
    assert rep.invalid_examples and reason.split(":")[0] in rep.invalid_examples[0]


def test_invalid_parquet_row_is_named(tmp_path: Path) -> None:
    import duckdb

    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(json.dumps({**GOOD, "cost_usd": c}) for c in (0.1, 0.2, -1.0, 0.3)) + "\n", encoding="utf-8"
    )
    out = tmp_path / "bad.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_json_auto('{src}')) TO '{out}' (FORMAT parquet)")
    with pytest.raises(LogFileError, match=r"bad\.parquet: row 3: cost_usd: expected a finite non-negative number"):
        _report(out)
    rep = _report(out, skip=True)
    assert rep.invalid == 1 and rep.total["calls"] == 3 and rep.total["cost_usd"] == pytest.approx(0.6)


def test_odd_but_valid_values_are_accepted(tmp_path: Path) -> None:
    odd = {**GOOD, "v": 1, "tokens_in": 1e3, "cost_usd": 0, "latency_ms": 7, "ts": "2026-11-20T02:00:00+02:00"}
    odd.pop("tags")
    path = tmp_path / "odd.jsonl"
    escaped = json.dumps({**GOOD, "prompt": "p\\q \u00e9"}).replace('"ok"', '"\\u006fk"').replace('Z"', '\\u005a"')
    path.write_text(json.dumps(odd) + "\n" + escaped + "\n", encoding="utf-8")
    assert record_problem(escaped) is None and "\\u005a" in escaped
    assert record_problem(json.dumps(odd)) is None
    rep = _report(path, by=["prompt", "hour"])
    assert rep.total["calls"] == 2 and rep.total["tokens_in"] == 1000 + GOOD["tokens_in"]
    keys = {g["key"]["prompt"]: g["key"]["hour"] for g in rep.groups}
    assert keys["support/answer"] == "2026-11-20T00:00Z"  # the +02:00 offset converted to UTC
    assert "p\\q \u00e9" in keys


def test_empty_truncated_and_binary_files(tmp_path: Path, mixed_log: tuple[Path, Totals]) -> None:
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "blank.jsonl").write_text("\n  \n", encoding="utf-8")
    assert _report(tmp_path / "empty.jsonl", tmp_path / "blank.jsonl").total["calls"] == 0
    data = gzip.compress(mixed_log[0].read_bytes())
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(LogFileError, match=r"cut\.jsonl\.gz"):
        _report(tmp_path / "cut.jsonl.gz", skip=True)
    (tmp_path / "bin.jsonl").write_bytes(json.dumps(GOOD).encode() + b"\n\xff\xfe\x00garbage\n")
    with pytest.raises(LogFileError, match=r"bin\.jsonl:2: not valid JSON"):
        _report(tmp_path / "bin.jsonl")


def test_bad_sources_and_options(tmp_path: Path) -> None:
    from llmops_cli.errors import NotFoundError, UsageError

    with pytest.raises(NotFoundError):
        resolve_logs([str(tmp_path / "nope.jsonl")])
    with pytest.raises(NotFoundError):
        resolve_logs([str(tmp_path / "*.jsonl")])
    with pytest.raises(UsageError, match="LLMOPS_LOG"):
        resolve_logs([], {})
    with pytest.raises(UsageError, match="unknown key"):
        parse_by("prompt,tag:bad name")
    with pytest.raises(UsageError, match="--since"):
        parse_when("last tuesday", START)
    with pytest.raises(LogFileError):  # passed to DuckDB: without its httpfs extension (or network), exit 2
        _report("https://example.invalid/requests.jsonl")
    bogus = tmp_path / "x.parquet"
    bogus.write_bytes(b"PAR1 not really")
    with pytest.raises(LogFileError, match="Parquet"):
        _report(bogus)


# ---- check: budget ---------------------------------------------------------------------------------------------


def _check(path: Path, now: datetime, **kw) -> object:  # type: ignore[no-untyped-def]
    return run_check(open_records(resolve_logs([str(path)])), CheckOptions(**kw), now=now)


def test_budget_breach_projection_and_quiet_start(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    day = datetime(2026, 11, 27, tzinfo=UTC)
    # $0.01 per call, 200 calls/h for support/answer; triage is cheap
    write_jsonl(
        path,
        [
            Stream(hours=24, per_hour=200, cost_per_call=0.01, spread=0, error_rate=0),
            Stream(prompt="triage", hours=24, per_hour=50, cost_per_call=0.0001, spread=0, error_rate=0),
        ],
        start=day,
        seed=2,
    )
    # 12:00 — spent $24.06 so far, rate ~$2.005/h → projected ~$48.1
    res = _check(path, day + timedelta(hours=12), budget_per_day=40.0, spikes=False)
    assert [f.kind for f in res.findings] == ["budget-projected"]
    f = res.findings[0]
    assert 24.0 < f.details["spent_usd"] < 24.2 and 47.5 < f.details["projected_usd"] < 48.5
    assert "top: support/answer@1.0.0 $24.00 (100%), triage@1.0.0 $0.06 (0%)" in f.message
    # 21:00 — spent $42 > $40: an actual breach
    res = _check(path, day + timedelta(hours=21), budget_per_day=40.0, spikes=False)
    assert [f.kind for f in res.findings] == ["budget"]
    assert res.lines()[0].startswith("BUDGET 2026-11-27: spent $42.")
    # 00:30 — the same pace, but too early in the day to project
    res = _check(path, day + timedelta(minutes=30), budget_per_day=20.0, spikes=False)
    assert res.ok and res.budget[0]["projected_usd"] is None
    # per prompt: only support/answer breaches a $5 budget at 12:00
    res = _check(path, day + timedelta(hours=12), budget_per_day=5.0, by=("prompt",), spikes=False)
    assert [(f.kind, f.group) for f in res.findings] == [("budget", {"prompt": "support/answer"})]
    md = res.to_markdown()
    assert "| budget | prompt=support/answer |" in md and "| 2026-11-27 | prompt=triage |" in md
    # generous budget: fine
    assert _check(path, day + timedelta(hours=12), budget_per_day=100.0, spikes=False).ok


# ---- check: spikes ---------------------------------------------------------------------------------------------

SPIKE_H = 24 * 6 + 10  # hour at which the costly release starts (hours after START)


def _traffic(version: str, start_h: int, hours: int, seed: int, **kw: object) -> list[Stream]:
    """Hour-by-hour streams with a day/night swing (±50%) and noise, like real traffic."""
    import math
    import random

    rng = random.Random(seed)
    return [
        Stream(
            version=version,
            start_h=h,
            hours=1,
            per_hour=round(300 * (1 + 0.5 * math.sin(2 * math.pi * h / 24)) * rng.uniform(0.8, 1.2)),
            **kw,  # type: ignore[arg-type]
        )
        for h in range(start_h, start_h + hours)
    ]


@pytest.fixture(scope="module")
def spike_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spike") / "requests.jsonl"
    streams = _traffic("1.0.0", 0, SPIKE_H, 1) + _traffic("1.1.0", SPIKE_H, 6, 2, cost_multiplier=10.0)
    streams.append(Stream(prompt="triage", version="3.1.0", hours=SPIKE_H + 6, per_hour=40, cost_per_call=0.0005))
    write_jsonl(path, streams, start=START, seed=5)
    return path


def test_spike_is_flagged_at_the_first_check_after_the_release_and_not_before(spike_log: Path) -> None:
    release = START + timedelta(hours=SPIKE_H)
    for before in (timedelta(hours=-3), timedelta(hours=-1), timedelta(minutes=-1)):
        assert _check(spike_log, release + before).ok, before
    res = _check(spike_log, release + timedelta(hours=1))  # the first hourly cron run after the release
    kinds = {f.kind: f for f in res.findings}
    assert set(kinds) == {"version-cost-spike", "hourly-spend-spike"}
    v = kinds["version-cost-spike"]
    assert v.group == {"prompt": "support/answer", "version": "1.1.0"} and v.details["previous"] == "1.0.0"
    assert 9 < v.details["ratio"] < 11 and v.details["calls"] >= 100
    assert "support/answer@1.1.0" in kinds["hourly-spend-spike"].message  # names the cause
    assert all(line.split()[0] in ("VERSION-COST-SPIKE", "HOURLY-SPEND-SPIKE") for line in res.lines())


def test_no_false_alarm_on_a_normal_release_with_noise(tmp_path: Path) -> None:
    path = tmp_path / "calm.jsonl"
    streams = _traffic("1.0.0", 0, SPIKE_H, 3) + _traffic("1.1.0", SPIKE_H, 12, 4, cost_multiplier=1.2)
    # a rarely used prompt: one call every ~3 hours, each of a very different size
    streams.append(Stream(prompt="rare", hours=SPIKE_H + 12, per_hour=0.3, spread=0.95, cost_per_call=0.05))
    write_jsonl(path, streams, start=START, seed=6)
    release = START + timedelta(hours=SPIKE_H)
    for h in (-12, -1, 1, 3, 6, 12):
        for by in ((), ("prompt",)):
            res = _check(path, release + timedelta(hours=h), by=by)
            assert res.ok, (h, by, res.lines())


def test_version_order_is_semver_not_text(tmp_path: Path) -> None:
    path = tmp_path / "semver.jsonl"
    write_jsonl(
        path,
        [
            Stream(version="1.9.0", hours=10, per_hour=50),
            Stream(version="1.10.0", start_h=10, hours=10, per_hour=50, cost_multiplier=5),
        ],
        start=START,
        seed=1,
    )
    res = _check(path, START + timedelta(hours=20))
    spikes = [f for f in res.findings if f.kind == "version-cost-spike"]
    assert [(f.group["version"], f.details["previous"]) for f in spikes] == [("1.10.0", "1.9.0")]


# ---- compare ---------------------------------------------------------------------------------------------------


def test_interval_formulas_match_published_values() -> None:
    low, high = wilson(81, 263, 0.95)  # Newcombe (1998) table I: 0.2553–0.3662
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    iv = newcombe(56, 70, 48, 80, 0.95)  # Newcombe (1998) table II, method 10: 0.0524–0.3339
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.0524, 0.3339)
    iv = welch(10**6, 1.0, 1.0, 10**6, 0.0, 1.0, 0.95)  # large samples: the normal interval
    assert iv.high - iv.estimate == pytest.approx(1.959964 * (2 / 10**6) ** 0.5, rel=1e-4)


@pytest.fixture(scope="module")
def canary_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("canary") / "requests.jsonl"
    write_jsonl(
        path,
        [
            Stream(version="1.0.0", channel="production", arm="stable", hours=24, per_hour=360),
            Stream(version="1.1.0", channel="production", arm="canary", hours=24, per_hour=40, cost_multiplier=1.5),
            Stream(version="2.0.0", channel="staging", arm=None, hours=24, per_hour=10),
        ],
        start=START,
        seed=9,
    )
    return path


def test_compare_finds_the_costlier_canary_and_is_seeded(canary_log: Path) -> None:
    def run(seed: int):  # type: ignore[no-untyped-def]
        return run_compare(open_records(resolve_logs([str(canary_log)])), "production", seed=seed, resamples=300)

    comp = run(1)
    assert comp.arms["canary"]["calls"] == 960 and comp.arms["stable"]["calls"] == 8640
    assert comp.arms["canary"]["versions"] == ["1.1.0"]
    cost = comp.differences["cost_per_call"]
    assert cost.direction == "higher" and 0.4 < cost.relative < 0.6
    assert comp.differences["error_rate"].direction == "unclear"
    assert comp.differences["latency_p50_ms"].direction == "unclear"
    assert comp.worse == ["cost_per_call"] and "canary is WORSE on cost_per_call" in comp.verdict
    again = run(1).to_dict()
    assert again["differences"] == comp.to_dict()["differences"]
    other = run(2).to_dict()["differences"]["latency_p95_ms"]
    assert other["estimate"] == again["differences"]["latency_p95_ms"]["estimate"]


def test_compare_not_enough_data_and_unknown_channel(canary_log: Path) -> None:
    from llmops_cli.errors import NotFoundError

    comp = run_compare(open_records(resolve_logs([str(canary_log)])), "staging")
    assert not comp.enough_data and "not enough data" in comp.verdict
    with pytest.raises(NotFoundError):
        run_compare(open_records(resolve_logs([str(canary_log)])), "nosuch")


# ---- the CLI ---------------------------------------------------------------------------------------------------


def test_cli_report_check_compare_exit_codes(tmp_path: Path, spike_log: Path, canary_log: Path) -> None:
    release = START + timedelta(hours=SPIKE_H)
    before = (release - timedelta(hours=1)).isoformat()
    after = (release + timedelta(hours=1)).isoformat()
    r = run_cli("usage", "report", str(spike_log), "--by", "prompt,version", "--now", after, "--since", "24h")
    assert r.exit_code == 0, r.stderr
    assert "support/answer" in r.stdout and "1.1.0" in r.stdout and "total" in r.stdout
    r = run_cli("usage", "report", "--json", env={"LLMOPS_LOG": str(spike_log)})
    data = json.loads(r.stdout)
    assert data["schema"] == "llmops.usage.report/1" and data["sources"]["files"] == 1
    r = run_cli("usage", "check", str(spike_log), "--now", before, cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout.startswith("OK usage check"), r.output
    r = run_cli("usage", "check", str(spike_log), "--now", "2026-12-30T00:00:00Z", cwd=tmp_path)
    assert r.exit_code == 0 and "no calls logged in the last hour" in r.stderr
    assert not list(tmp_path.iterdir())  # nothing written to the working directory (DuckDB spills elsewhere)
    md = tmp_path / "summary.md"
    r = run_cli("usage", "check", str(spike_log), "--now", after, "--markdown", str(md), "--budget-per-day", "1000")
    assert r.exit_code == 1, r.output
    assert r.stdout.count("\n") == 2 and "VERSION-COST-SPIKE prompt=support/answer version=1.1.0" in r.stdout
    assert md.read_text(encoding="utf-8").startswith("### llmops usage check: ❌ 2 findings")
    r = run_cli("usage", "check", str(spike_log), "--now", after, "--json")
    assert r.exit_code == 1 and len(json.loads(r.stdout)["findings"]) == 2
    r = run_cli("usage", "compare", "production", str(canary_log), "--resamples", "200")
    assert r.exit_code == 0 and "canary is WORSE on cost_per_call" in r.stdout.splitlines()[-1]
    r = run_cli("usage", "compare", "production", str(canary_log), "--resamples", "200", "--fail-if-worse")
    assert r.exit_code == 1


def test_cli_bad_input_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(GOOD) + "\n" + '{"v": 1, "ts": \n', encoding="utf-8")
    r = run_cli("usage", "report", str(bad))
    assert r.exit_code == 2 and f"{bad}:2: not valid JSON" in r.stderr and "Traceback" not in r.output
    r = run_cli("usage", "report", str(bad), "--skip-invalid", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["sources"]["invalid_skipped"] == 1
    for args in (
        ("report", str(bad), "--by", "nonsense"),
        ("report", str(bad), "--since", "soon"),
        ("report", str(tmp_path / "missing.jsonl")),
        ("check", str(bad), "--budget-per-day", "-1"),
        ("check", str(bad), "--no-spikes"),
    ):
        r = run_cli("usage", *args)
        assert r.exit_code == 2 and r.stderr.startswith("error:"), (args, r.output)
    r = run_cli("usage", "report", env={"LLMOPS_LOG": ""})
    assert r.exit_code == 2 and "LLMOPS_LOG" in r.stderr


def test_duckdb_is_imported_only_by_usage_commands(sample_project: Path) -> None:
    import subprocess
    import sys

    for code in (
        "import llmops_cli",
        "from llmops_cli import load_prompt",
        "import llmops_cli.usage, llmops_cli.usage.report, llmops_cli.usage.check, llmops_cli.usage.compare",
        "from llmops_cli.cli.app import main; main(['prompt', 'render', 'support/answer', '--var', 'question=x'])",
    ):
        out = subprocess.run(
            [sys.executable, "-c", f"{code}\nimport sys; print('duckdb' in sys.modules)"],
            cwd=sample_project,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip().splitlines()[-1] == "False", code
