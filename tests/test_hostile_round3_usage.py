"""Hostile inputs, round three (#28): globs that cannot loop, `usage` that counts each record once and never
prints invalid JSON, a log sink that cannot block exit, control characters from data kept off the terminal,
importer writes kept inside the project."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmops_cli.errors import UsageError
from llmops_cli.pathsafe import confined, expand_glob
from llmops_cli.usage import resolve_logs
from llmops_cli.usage.check import CheckOptions
from llmops_cli.usage.engine import LogFileError, literal_path, open_records, record_problem
from llmops_cli.usage.report import build_report
from llmops_cli.usage.synth import Stream, generate
from tests.conftest import GitRepo, make_sample_project, run_cli, write

START = datetime(2026, 11, 20, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
HERE = {"PYTHONPATH": str(ROOT)}  # a CLI run from another folder imports this checkout, not an installed one
GOOD = next(iter(generate([Stream(per_hour=1, hours=1, error_rate=0)], start=START, seed=1)))


def rec(**over: object) -> str:
    return json.dumps({**GOOD, **over})


def log(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    return path


def report(*args: str, skip: bool = False, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return build_report(open_records(resolve_logs(list(args), env), skip_invalid=skip))


def strict_json(text: str) -> object:
    def refuse(const: str) -> object:
        raise ValueError(f"{const} is not JSON")

    return json.loads(text, parse_constant=refuse)


# -- finding 4: globs that cannot loop ------------------------------------------------------------------------


@pytest.fixture
def looped_logs(tmp_path: Path) -> Path:
    """logs/ with 3 records in 2 files, a link back to itself, a link to its parent and a file link."""
    logs = tmp_path / "logs"
    log(logs / "a" / "requests.jsonl", rec(), rec())
    log(logs / "requests.jsonl.1", rec())
    os.symlink(".", logs / "a" / "self")
    os.symlink("..", logs / "a" / "up")
    os.symlink("requests.jsonl.1", logs / "current.jsonl")  # a link to an already-selected file
    return logs


def test_a_recursive_glob_over_a_link_loop_ends_and_counts_each_record_once(looped_logs: Path) -> None:
    t0 = time.monotonic()
    rep = report(str(looped_logs / "**" / "*.jsonl*"))
    assert time.monotonic() - t0 < 5
    assert rep.total["calls"] == 3 and rep.files == 2


def test_the_cli_glob_over_a_loop_exits_in_time(looped_logs: Path) -> None:
    r = run_cli("usage", "report", str(looped_logs / "**" / "*.jsonl*"), "--json", timeout=30)
    assert r.exit_code == 0, r.output
    assert strict_json(r.stdout)["total"]["calls"] == 3  # type: ignore[index]


def test_llmops_log_glob_over_a_loop(looped_logs: Path) -> None:
    rep = report(env={"LLMOPS_LOG": str(looped_logs / "**" / "*.jsonl*")})
    assert rep.total["calls"] == 3


def test_a_link_to_a_selected_file_counts_once_by_name_directory_and_rotation(looped_logs: Path) -> None:
    assert report(str(looped_logs / "current.jsonl"), str(looped_logs / "requests.jsonl.1")).total["calls"] == 1
    assert report(str(looped_logs)).total["calls"] == 3
    rot = looped_logs.parent / "rot"
    log(rot / "requests.jsonl.1", rec())
    os.symlink("requests.jsonl.1", rot / "requests.jsonl")
    assert report(env={"LLMOPS_LOG": str(rot / "requests.jsonl")}).total["calls"] == 1


def test_file_names_with_glob_characters_are_read_literally(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    log(logs / "a[1].jsonl", rec(prompt="bracket"))
    log(logs / "a1.jsonl", rec(prompt="plain"), rec(prompt="plain"))
    log(logs / "b*.jsonl", rec(prompt="star"))
    log(logs / "bz.jsonl", rec(prompt="bz"))
    log(logs / "c?.jsonl", rec(prompt="question"))
    log(logs / "dir[x]" / "d.jsonl", rec(prompt="in-dir"))
    rep = build_report(open_records(resolve_logs([str(logs)])), by=["prompt"])
    counts = {g["key"]["prompt"]: g["calls"] for g in rep.groups}
    assert counts == {"bracket": 1, "plain": 2, "star": 1, "bz": 1, "question": 1, "in-dir": 1}
    assert report(str(logs / "a[1].jsonl")).total["calls"] == 1  # an existing file is that file, not a pattern
    assert (
        literal_path("x/a[1]*?.jsonl") == "x/a[[]1][*][?].jsonl" and literal_path("s3://b/*.jsonl") == "s3://b/*.jsonl"
    )


def test_invalid_record_in_a_file_with_glob_characters_is_named(tmp_path: Path) -> None:
    path = log(tmp_path / "x[1].jsonl", rec(), "{not json")
    with pytest.raises(LogFileError, match=r"x\[1\]\.jsonl:2:"):
        report(str(path))


def test_expand_glob_agrees_with_python_glob_where_there_is_no_link(tmp_path: Path) -> None:
    for rel in ("a/b/c.jsonl", "a/.hidden/h.jsonl", "a/.h.jsonl", "a/x.txt", "z.jsonl", "a/b/d/e.jsonl"):
        log(tmp_path / rel, rec())
    for pattern in ("**/*.jsonl", "a/**", "a/*/*.jsonl", "a/.*", "*.jsonl", "a/b/**/e.jsonl", "a/[bx]*", "**"):
        full = str(tmp_path / pattern)
        want = sorted(p for p in glob.glob(full, recursive=True) if os.path.isfile(p))
        assert expand_glob(full, max_matches=100) == want, pattern


def test_expand_glob_is_bounded(tmp_path: Path) -> None:
    for i in range(5):
        log(tmp_path / f"f{i}.jsonl", rec())
    with pytest.raises(UsageError, match="more than 3"):
        expand_glob(str(tmp_path / "*.jsonl"), max_matches=3)


def test_an_importer_glob_over_a_loop_imports_each_file_once(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "prompts/a.txt", "Answer {{q}}\n")
    write(src, "prompts/b.txt", "Summarise {{q}}\n")
    os.symlink("..", src / "prompts" / "up")
    os.symlink(".", src / "prompts" / "self")
    os.symlink("a.txt", src / "prompts" / "again.txt")
    write(src, "promptfooconfig.yaml", "prompts: ['file://prompts/**/*.txt']\nproviders: [openai:gpt-4o-mini]\n")
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = run_cli(
        "import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), "--json", cwd=src, env=HERE, timeout=60
    )
    assert time.monotonic() - t0 < 30 and r.exit_code == 0, r.output
    prompts = sorted(p.name for p in (out / "prompts").rglob("*.prompt.yaml"))
    assert len(prompts) == 2, prompts


# -- finding 6: usage miscounts -----------------------------------------------------------------------------------


def test_a_duplicated_key_is_refused_with_file_and_line_or_counted_invalid(tmp_path: Path) -> None:
    dup = rec(cost_usd=0.001)[:-1] + ', "cost_usd": 5.0}'
    path = log(tmp_path / "requests.jsonl", rec(cost_usd=0.001), dup, rec(cost_usd=0.001))
    with pytest.raises(LogFileError, match=r"requests\.jsonl:2: duplicate key"):
        report(str(path))
    rep = report(str(path), skip=True)
    assert rep.total["calls"] == 2 and rep.invalid == 1 and rep.total["cost_usd"] == pytest.approx(0.002)
    r = run_cli("usage", "report", str(path))
    assert r.exit_code == 2 and f"{path}:2: duplicate key" in r.stderr and "Traceback" not in r.output
    assert record_problem(dup) == "duplicate key in the record"


def test_only_the_files_the_fast_reader_stops_at_are_read_record_by_record(tmp_path: Path) -> None:
    clean = log(tmp_path / "requests.jsonl.1", rec(), rec())
    broken = log(tmp_path / "requests.jsonl", rec(), '{"v": 1, "ts": "2026-11-20T00:0')  # a writer killed mid-line
    recs = open_records(resolve_logs([str(clean), str(broken)]), skip_invalid=True)
    rep = build_report(recs)
    assert rep.total["calls"] == 3 and rep.invalid == 1
    assert recs.params["jsonl"] == [str(clean)] and recs.params["jsonl_bad"] == [str(broken)]


def test_a_duplicated_tag_key_is_refused(tmp_path: Path) -> None:
    line = rec(tags={"tenant": "a"})[:-1].replace('"tenant": "a"}', '"tenant": "a", "tenant": "b"}') + "}"
    assert '"tenant": "a", "tenant": "b"' in line
    path = log(tmp_path / "requests.jsonl", rec(), line)
    with pytest.raises(LogFileError, match=r"requests\.jsonl:2: .*duplicate key"):
        report(str(path))
    assert report(str(path), skip=True).invalid == 1


@pytest.mark.parametrize("cost", ["1e308", "NaN", "Infinity", "-1e-9", "1e10"])
def test_costs_that_overflow_or_are_not_finite_never_reach_the_json(tmp_path: Path, cost: str) -> None:
    huge = rec(cost_usd=0.5).replace('"cost_usd": 0.5', f'"cost_usd": {cost}')
    path = log(tmp_path / "requests.jsonl", huge, huge, rec(cost_usd=0.5))
    r = run_cli("usage", "report", str(path), "--json")
    assert r.exit_code == 2 and "requests.jsonl:1: cost_usd" in r.stderr, r.output
    r = run_cli("usage", "report", str(path), "--json", "--skip-invalid")
    assert r.exit_code == 0, r.output
    data = strict_json(r.stdout)
    assert data["total"]["cost_usd"] == 0.5 and data["sources"]["invalid_skipped"] == 2  # type: ignore[index]


def test_the_largest_accepted_costs_still_sum_to_finite_json(tmp_path: Path) -> None:
    path = log(tmp_path / "requests.jsonl", *(rec(cost_usd=1e9) for _ in range(50)))
    r = run_cli("usage", "report", str(path), "--json", "--by", "prompt")
    assert r.exit_code == 0 and strict_json(r.stdout)["total"]["cost_usd"] == 5e10  # type: ignore[index]


# -- finding 9 (usage): naive timestamps, non-finite options, Parquet tags that are not JSON ---------------------


@pytest.mark.parametrize("ts", ["2026-11-20T10:00:00", "2026-11-20 10:00:00", "2026-11-20"])
def test_a_naive_timestamp_is_refused(tmp_path: Path, ts: str) -> None:
    path = log(tmp_path / "requests.jsonl", rec(), rec(ts=ts))
    with pytest.raises(LogFileError, match=r"requests\.jsonl:2: ts: .*offset"):
        report(str(path))
    assert record_problem(rec(ts=ts)) is not None


@pytest.mark.parametrize("ts", ["2026-11-20T10:00:00Z", "2026-11-20T10:00:00.5+02:00", "2026-11-20T10:00:00-05:30"])
def test_timestamps_with_their_offset_are_read(tmp_path: Path, ts: str) -> None:
    path = log(tmp_path / "requests.jsonl", rec(ts=ts))
    assert report(str(path)).total["calls"] == 1 and record_problem(rec(ts=ts)) is None


@pytest.mark.parametrize(
    "args",
    [
        ["--budget-per-day", "inf"],
        ["--budget-per-day", "nan"],
        ["--version-ratio", "nan"],
        ["--hourly-ratio", "inf"],
        ["--hourly-min-usd", "nan"],
    ],
)
def test_non_finite_check_thresholds_exit_2(tmp_path: Path, args: list[str]) -> None:
    path = log(tmp_path / "requests.jsonl", rec())
    r = run_cli("usage", "check", str(path), *args)
    assert r.exit_code == 2 and ("finite" in r.stderr or "positive" in r.stderr), r.output
    assert "Traceback" not in r.output


def test_check_options_refuse_non_finite_values() -> None:
    with pytest.raises(UsageError, match="--version-ratio"):
        CheckOptions(version_ratio=float("nan"))
    with pytest.raises(UsageError, match="--budget-per-day"):
        CheckOptions(budget_per_day=float("inf"))


def test_parquet_tags_that_are_not_json_are_invalid_not_empty(tmp_path: Path) -> None:
    import duckdb

    src = log(tmp_path / "requests.jsonl", rec(), rec())
    out = tmp_path / "tags.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN prompt IS NOT NULL THEN 'tenant=acme' END AS tags, "
        f"strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts) FROM read_json_auto('{src}')) TO '{out}' (FORMAT parquet)"
    )
    with pytest.raises(LogFileError, match="tags: expected an object"):
        report(str(out))
    assert report(str(out), skip=True).invalid == 2


# -- finding 9: control characters from log data and release notes ----------------------------------------------


def test_escape_sequences_in_log_data_are_not_printed_raw(tmp_path: Path) -> None:
    evil = "\x1b]0;owned\x07\x1b[2J\rprompt"
    path = log(tmp_path / "requests.jsonl", rec(prompt=evil, tags={"tenant": "[bold]x\x1b[31m"}))
    r = run_cli("usage", "report", str(path), "--by", "prompt,tag:tenant")
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.stdout and "\r" not in r.stdout and "\x07" not in r.stdout
    assert "\\x1b]0;owned" in r.stdout and "[bold]x" in r.stdout


def test_escape_sequences_in_release_notes_are_not_printed_raw(tmp_git_repo: GitRepo) -> None:
    from llmops_cli.releases.create import create_release, promote

    make_sample_project(tmp_git_repo.root)
    tmp_git_repo.commit("sample")
    res = create_release(
        "support/answer", root=tmp_git_repo.root, message="fix\x1b[2J\x1b]8;;http://x\x07", allow_no_gate=True
    )
    promote(f"support/answer@{res.version}", "production", root=tmp_git_repo.root, reason="go\x1b[31m\rlive")
    for args in (("release", "show", f"support/answer@{res.version}"), ("release", "history", "support/answer")):
        r = run_cli(*args, cwd=tmp_git_repo.root, env=HERE)
        assert r.exit_code == 0, r.output
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\r" not in r.stdout, repr(r.stdout)
        assert "\\x1b" in r.stdout
    r = run_cli("release", "list", cwd=tmp_git_repo.root, env=HERE)
    assert r.exit_code == 0 and "\x1b" not in r.stdout


# -- finding 7: a log sink that never blocks exit -----------------------------------------------------------------

SINK_SCRIPT = """
from llmops_cli.serving.sinks import env_sink, flush_all
sink = env_sink()
sink.emit({"v": 1, "prompt": "p"})
flush_all()
print(sink.write_errors, sink.dropped, sink.written)
"""


@pytest.mark.parametrize("reader", [False, True], ids=["no-reader", "with-reader"])
def test_llmops_log_on_a_fifo_never_blocks_flush_or_exit(tmp_path: Path, reader: bool) -> None:
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    drain = None
    if reader:
        drain = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", SINK_SCRIPT],
            env={**os.environ, "LLMOPS_LOG": str(fifo)},
            capture_output=True,
            text=True,
            timeout=5,
            cwd=ROOT,
        )
    finally:
        if drain is not None:
            os.close(drain)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "1", "0"]  # refused: one write error, the record dropped
    assert "not a regular file" in proc.stderr or "No such device" in proc.stderr


def test_a_regular_log_file_is_still_written(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", SINK_SCRIPT],
        env={**os.environ, "LLMOPS_LOG": str(path)},
        capture_output=True,
        text=True,
        timeout=5,
        cwd=ROOT,
    )
    assert proc.stdout.split() == ["0", "0", "1"] and path.read_text().count("\n") == 1


# -- finding 9: importing into a linked evals/ -------------------------------------------------------------------


def test_import_into_a_linked_evals_folder_writes_nothing_outside(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src,
        "promptfooconfig.yaml",
        "prompts: ['{{q}}']\nproviders: [openai:gpt-4o-mini]\ntests:\n  - vars: {q: hi}\n",
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(outside, out / "evals")
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), cwd=src, env=HERE)
    assert r.exit_code == 2 and "outside" in r.stderr and "Traceback" not in r.output, r.output
    assert list(outside.rglob("*")) == []


def test_confined_refuses_links_and_climbs_out(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    os.symlink(tmp_path, tmp_path / "in" / "up")
    with pytest.raises(UsageError):
        confined(tmp_path / "in", "up/x.txt")
    with pytest.raises(UsageError):
        confined(tmp_path / "in", "../x.txt")
    assert confined(tmp_path / "in", "a/b.txt") == str(tmp_path / "in" / "a/b.txt")
