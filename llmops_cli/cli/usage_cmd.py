"""``llmops usage …``: spend, tokens, latency and errors from request logs (report, check, compare); feedback,
online judging and production calls into golden sets (feedback, judge, sample).

Thin: parse options, call :mod:`llmops_cli.usage`, render. DuckDB is imported only when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import CheckFailed
from . import output
from .state import STATE

app = typer.Typer(
    help=(
        "Usage from request logs (JSON Lines, .jsonl.gz, Parquet): report spend per prompt/version/tag, "
        "check budgets and cost spikes (cron), compare a channel's canary with its stable arm; quality in "
        "production: feedback, judges on logged calls, failing calls back into golden sets."
    ),
    no_args_is_help=True,
)

Logs = Annotated[
    list[str] | None,
    typer.Argument(help="Log files, directories or globs (default: $LLMOPS_LOG and its rotated files)."),
]
Since = Annotated[
    str | None, typer.Option("--since", help="Start of the window: 24h, 7d, 30m, today or an ISO date/time (UTC).")
]
Until = Annotated[str | None, typer.Option("--until", help="End of the window (exclusive), same forms as --since.")]
By = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="Group by a comma list of prompt, version, model, channel, arm, outcome, guard, day, hour, tag:<name>.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output (stable schema).")]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Leave invalid records out and count them (default: stop with exit 2 at the first, naming file:line).",
    ),
]
Now = Annotated[
    str | None, typer.Option("--now", help="Evaluate as of this ISO time (replay a past check); default: now.")
]


def _open(logs: list[str] | None, skip_invalid: bool) -> Any:
    from ..usage.engine import open_records
    from ..usage.logfiles import resolve_logs

    return open_records(resolve_logs(logs or []), skip_invalid=skip_invalid)


@app.command("report")
def report(
    logs: Logs = None,
    since: Since = None,
    until: Until = None,
    by: By = None,
    as_json: AsJson = False,
    skip_invalid: SkipInvalid = False,
    now: Now = None,
) -> None:
    """Calls, tokens, cost (unpriced calls counted apart, never as $0), cost per call, p50/p95 latency and
    error rate, in total and per group."""
    from ..usage.engine import parse_now, parse_when
    from ..usage.report import build_report, parse_by

    keys = parse_by(by)
    t_now = parse_now(now)
    t_since = parse_when(since, t_now) if since else None
    t_until = parse_when(until, t_now, option="--until") if until else None
    rep = build_report(_open(logs, skip_invalid), by=keys, since=t_since, until=t_until)
    if as_json:
        output.print_json(rep.to_dict())
        return
    _render_report(rep)


def _money(x: float | None, digits: int = 4) -> str:
    return "–" if x is None else f"${x:,.{digits}f}"


def _render_report(rep: Any) -> None:
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for k in rep.by:
        table.add_column(k)
    cols = ["calls", "tokens in", "tokens out", "cost", "unpriced", "cost/call", "p50 ms", "p95 ms", "errors"]
    if rep.annotations:  # feedback and judge scores in the logs: quality beside cost and latency
        cols += ["feedback", "fb mean", "judged", "quality"]
    for col in cols:
        table.add_column(col, justify="right")

    def cells(m: dict[str, Any]) -> list[str]:
        err = f"{m['error_rate']:.1%}" if m["error_rate"] is not None else "–"
        lat = ["–" if m[k] is None else f"{m[k]:,.0f}" for k in ("latency_p50_ms", "latency_p95_ms")]
        return [
            f"{m['calls']:,}",
            f"{m['tokens_in']:,}",
            f"{m['tokens_out']:,}",
            _money(m["cost_usd"], 2),
            f"{m['unpriced_calls']:,}",
            _money(m["cost_per_call"], 6),
            *lat,
            err,
            *(_quality_cells(m) if rep.annotations else []),
        ]

    for g in rep.groups:
        table.add_row(*[output.cell(v) if v is not None else "(none)" for v in g["key"].values()], *cells(g))
    table.add_row(*(["[bold]total[/bold]"] + [""] * (len(rep.by) - 1) if rep.by else []), *cells(rep.total))
    output.out().print(table)
    window = f" from {rep.since:%Y-%m-%d %H:%M}" if rep.since else ""
    window += f" until {rep.until:%Y-%m-%d %H:%M}" if rep.until else ""
    note = f"{rep.total['calls']:,} calls{window} (UTC) from {rep.files} file{'s' if rep.files != 1 else ''}"
    if rep.invalid:
        note += f"; {rep.invalid:,} invalid records skipped"
    if rep.unknown_feedback or rep.unknown_scores:
        note += f"; {rep.unknown_feedback:,} feedback and {rep.unknown_scores:,} score records name no logged call"
    output.info(note)
    for ex in rep.invalid_examples:
        output.info(f"  {output.printable(ex)}")


def _quality_cells(m: dict[str, Any]) -> list[str]:
    """Feedback rate (count), mean feedback score, judged calls and mean judge score (0..1)."""
    rate = m.get("feedback_rate")
    fb = "–" if rate is None else f"{rate:.1%} ({m.get('feedback', 0):,})"
    mean, quality = m.get("feedback_mean"), m.get("quality")
    return [
        fb,
        "–" if mean is None else f"{mean:+.2f}",
        f"{m.get('judged_calls', 0):,}",
        "–" if quality is None else f"{quality:.3f}",
    ]


@app.command("feedback")
def feedback(
    file: Annotated[str | None, typer.Argument(help="JSON Lines of feedback collected elsewhere.")] = None,
    from_file: Annotated[str | None, typer.Option("--from", help="The feedback file (instead of FILE).")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="The request log to append feedback records to (default: $LLMOPS_LOG).")
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Write the good lines and count the bad ones (default: exit 2 at the first)."
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Append feedback collected elsewhere (request_id + score/label/comment per line) to a request log as
    feedback records; `usage report` joins them to their calls."""
    from ..errors import UsageError
    from ..usage.feedback import import_feedback

    if (file is None) == (from_file is None):
        raise UsageError("give the feedback file once: FILE or --from FILE")
    res = import_feedback(str(file or from_file), to, skip_invalid=skip_invalid)
    if as_json:
        output.print_json(res.to_dict())
        return
    output.print_text(
        output.printable(f"{res.written:,} feedback records appended to {res.target}; {res.skipped:,} lines skipped")
    )
    for ex in res.examples:
        output.info(f"  {output.printable(ex)}")


PromptName = Annotated[str, typer.Option("--prompt", help="The prompt whose logged calls to use.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the sample (same seed, same calls).")]


@app.command("judge")
def judge(
    prompt: PromptName,
    logs: Logs = None,
    sample_share: Annotated[
        str | None, typer.Option("--sample", help="Share of the calls of every stratum to judge: 5% or 0.05.")
    ] = None,
    n: Annotated[int | None, typer.Option("--n", help="Number of calls to judge, split over the strata.")] = None,
    since: Since = None,
    until: Until = None,
    seed: Seed = 0,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Where the score records go (default: llmops-scores.jsonl beside the first log)."),
    ] = None,
    rescore: Annotated[
        bool, typer.Option("--rescore", help="Judge calls again even when they already have scores.")
    ] = False,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Judge calls in flight.")] = None,
    as_json: AsJson = False,
    skip_invalid: SkipInvalid = False,
    now: Now = None,
) -> None:
    """Run the prompt's reference-free judges on a seeded sample of logged calls, stratified by version, arm
    and day; append score records (cached like eval run: judging again pays nothing)."""
    from ..usage.engine import parse_now, parse_when
    from ..usage.judge import judge_logged, parse_share

    t_now = parse_now(now)
    shown = [0]

    def progress(done: int, total: int) -> None:  # a line at every tenth, on stderr
        tenth = done * 10 // total
        if tenth > shown[0]:
            shown[0] = tenth
            output.info(f"judged {done:,}/{total:,} calls")

    run = judge_logged(
        STATE.project(),
        logs or [],
        prompt,
        n=n,
        fraction=parse_share(sample_share) if sample_share is not None else None,
        since=parse_when(since, t_now) if since else None,
        until=parse_when(until, t_now, option="--until") if until else None,
        seed=seed,
        to=to,
        rescore=rescore,
        skip_invalid=skip_invalid,
        concurrency=concurrency,
        progress=None if as_json else progress,
    )
    if as_json:
        output.print_json(run.to_dict())
        return
    for note in run.notices:
        output.info(output.printable(note))
    output.print_text(
        output.printable(
            f"{run.judged:,} calls judged of {run.sampled:,} sampled ({run.matched:,} in the window); "
            f"{run.already_scored:,} already scored; {run.no_content:,} without logged content; "
            f"{run.judge_errors:,} judge errors; "
            f"{run.calls:,} judge calls, {run.replayed:,} from the cache; scores in {run.scores_file}"
        )
    )
    for metric, m in run.metrics.items():
        mean = "–" if m["mean"] is None else f"{m['mean']:.3f}"
        output.print_text(output.printable(f"  {metric}: {m['scored']:,} scored, mean {mean}"))


@app.command("sample")
def sample(
    prompt: PromptName,
    logs: Logs = None,
    where: Annotated[
        str | None,
        typer.Option(
            "--where",
            help='Which calls: e.g. "feedback < 0 or judge.rubric < 3 or outcome = error" (docs: usage sample).',
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="At most this many new cases.")] = 20,
    to: Annotated[
        str | None, typer.Option("--to", help="The golden set to append to (default: the prompt's, under evals/).")
    ] = None,
    keep_output: Annotated[
        bool, typer.Option("--keep-output", help="Keep the logged output as the case's reference answer (expected).")
    ] = False,
    since: Since = None,
    until: Until = None,
    seed: Seed = 0,
    as_json: AsJson = False,
    skip_invalid: SkipInvalid = False,
    now: Now = None,
) -> None:
    """Production calls back into the golden set: append up to N matching calls as redacted cases (ids from
    request ids, vars from the logged inputs), never a duplicate; running it twice adds nothing."""
    from ..usage.engine import parse_now, parse_when
    from ..usage.sample import sample_to_golden
    from ..usage.where import parse_where

    condition = parse_where(where) if where is not None else None
    t_now = parse_now(now)
    res = sample_to_golden(
        STATE.project(),
        _open(logs, skip_invalid),
        prompt,
        where=condition,
        n=n,
        to=to,
        keep_output=keep_output,
        since=parse_when(since, t_now) if since else None,
        until=parse_when(until, t_now, option="--until") if until else None,
        seed=seed,
    )
    if as_json:
        output.print_json(res.to_dict())
        return
    output.print_text(
        output.printable(
            f"{len(res.added)} case(s) appended to {res.file} ({res.matched:,} calls matched, {res.picked} picked; "
            f"skipped: {res.duplicates} already there, {res.no_content} without logged content, "
            f"{res.refused} refused by the prompt)"
        )
    )
    for ex in res.examples:
        output.info(f"  {output.printable(ex)}")


@app.command("check")
def check(
    logs: Logs = None,
    budget_per_day: Annotated[
        float | None,
        typer.Option(
            "--budget-per-day", help="USD per UTC day (per --by group); exit 1 on a breach or projected breach."
        ),
    ] = None,
    by: By = None,
    since: Annotated[
        str | None, typer.Option("--since", help="First day the budget covers (default: today, UTC).")
    ] = None,
    spikes: Annotated[
        bool, typer.Option("--spikes/--no-spikes", help="Detect version cost spikes and hourly spend spikes.")
    ] = True,
    version_ratio: Annotated[
        float, typer.Option("--version-ratio", help="Flag a version costing this many times its predecessor per call.")
    ] = 2.0,
    version_min_calls: Annotated[
        int, typer.Option("--version-min-calls", help="Priced calls each version needs before it is compared.")
    ] = 100,
    hourly_ratio: Annotated[
        float, typer.Option("--hourly-ratio", help="Flag the last hour's spend above this many times the median hour.")
    ] = 3.0,
    hourly_min_usd: Annotated[
        float, typer.Option("--hourly-min-usd", help="Ignore hourly spikes below this spend (USD).")
    ] = 0.0,
    lookback_hours: Annotated[
        int, typer.Option("--lookback-hours", help="History used by spike detection (hours, 24-720).")
    ] = 168,
    token_check: Annotated[
        bool,
        typer.Option(
            "--token-check/--no-token-check",
            help="With spike detection: flag a prompt whose p95 input tokens per call in the last hour jumped.",
        ),
    ] = True,
    token_ratio: Annotated[
        float,
        typer.Option(
            "--token-ratio", help="Flag the last hour's p95 input tokens above this many times the median hour."
        ),
    ] = 1.5,
    provider: Annotated[
        bool,
        typer.Option(
            "--provider/--no-provider",
            help="Report price changes since each release's baseline and model deprecations (litellm's table).",
        ),
    ] = True,
    input_drift: Annotated[
        bool,
        typer.Option(
            "--input-drift/--no-input-drift",
            help="Flag a prompt whose logged inputs (lengths, scripts/languages, topic words) moved against the "
            "7 days before (content-logged calls only).",
        ),
    ] = True,
    deprecation_days: Annotated[
        int, typer.Option("--deprecation-days", help="Flag a model deprecated within this many days (0-3650).")
    ] = 90,
    as_json: AsJson = False,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Append a markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)."),
    ] = None,
    skip_invalid: SkipInvalid = False,
    now: Now = None,
) -> None:
    """Budgets, cost spikes and input-token anomalies, for cron or a scheduled workflow: one line per finding,
    exit 1 on any."""
    from ..errors import UsageError
    from ..usage.check import CheckOptions, run_check
    from ..usage.engine import parse_now, parse_when
    from ..usage.report import parse_by

    if budget_per_day is None and not spikes:
        raise UsageError("nothing to check: give --budget-per-day and/or leave spike detection on")
    if budget_per_day is not None and not budget_per_day > 0:
        raise UsageError("--budget-per-day must be a positive amount of USD")
    if not 24 <= lookback_hours <= 720 or min(version_ratio, hourly_ratio, token_ratio) <= 1 or version_min_calls < 1:
        raise UsageError("--lookback-hours must be 24-720, the ratios above 1 and --version-min-calls at least 1")
    if not 0 <= deprecation_days <= 3650:
        raise UsageError("--deprecation-days must be 0-3650")
    t_now = parse_now(now)
    opts = CheckOptions(
        budget_per_day=budget_per_day,
        by=tuple(parse_by(by)),
        since=parse_when(since, t_now) if since else None,
        spikes=spikes,
        lookback_h=lookback_hours,
        version_ratio=version_ratio,
        version_min_calls=version_min_calls,
        hourly_ratio=hourly_ratio,
        hourly_min_usd=hourly_min_usd,
        tokens=token_check,
        token_ratio=token_ratio,
        provider=provider,
        inputs=input_drift,
        deprecation_days=deprecation_days,
        root=str(STATE.root) if STATE.root else None,
    )
    res = run_check(_open(logs, skip_invalid), opts, now=t_now)
    if markdown is not None:
        res.append_markdown(markdown)
    if as_json:
        output.print_json(res.to_dict())
    else:
        for line in res.lines():
            output.print_text(output.printable(line))
        for note in res.notes:
            output.info(output.printable(note))
    if not res.ok:
        raise CheckFailed(f"usage check: {len(res.findings)} finding(s)")


@app.command("compare")
def compare(
    channel: Annotated[str, typer.Argument(help="Channel whose arms to compare, e.g. production.")],
    logs: Logs = None,
    since: Since = None,
    until: Until = None,
    confidence: Annotated[float, typer.Option("--confidence", help="Interval confidence level.")] = 0.95,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the latency bootstrap (same seed, same result).")] = 0,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples for latency intervals.")] = 1000,
    fail_if_worse: Annotated[
        bool, typer.Option("--fail-if-worse", help="Exit 1 when the canary is clearly worse on any metric.")
    ] = False,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", help="Prompt whose canary to decide (default: the one with canary calls)."),
    ] = None,
    fail_on_abort: Annotated[
        bool, typer.Option("--fail-on-abort", help="Exit 1 when the decision is ABORT (for a scheduled check).")
    ] = False,
    as_json: AsJson = False,
    skip_invalid: SkipInvalid = False,
    now: Now = None,
) -> None:
    """Canary vs stable arm of CHANNEL: cost per call, error rate, latency and quality (judge scores, feedback),
    with intervals, and the decision PROMOTE / KEEP RUNNING / ABORT from an always-valid sequential test."""
    from ..usage.compare import run_compare
    from ..usage.engine import parse_now, parse_when
    from ..usage.verdict import project_canary_config

    t_now = parse_now(now)
    comp = run_compare(
        _open(logs, skip_invalid),
        channel,
        since=parse_when(since, t_now) if since else None,
        until=parse_when(until, t_now, option="--until") if until else None,
        confidence=confidence,
        seed=seed,
        resamples=resamples,
        prompt=prompt,
        canary=project_canary_config(str(STATE.root) if STATE.root else None),
    )
    if as_json:
        output.print_json(comp.to_dict())
    else:
        _render_compare(comp)
    if fail_on_abort and comp.decision is not None and comp.decision.verdict == "ABORT":
        raise CheckFailed(comp.decision.line())
    if fail_if_worse and comp.worse:
        raise CheckFailed(comp.verdict)


def _render_compare(comp: Any) -> None:
    if comp.differences:
        rows = []
        labels = {
            "cost_per_call": ("cost/call", 6, "$"),
            "error_rate": ("error rate", 4, ""),
            "latency_p50_ms": ("p50 latency ms", 1, ""),
            "latency_p95_ms": ("p95 latency ms", 1, ""),
        }
        for key, iv in comp.differences.items():
            label, digits, unit = labels[key]
            st, ca = comp.arms["stable"].get(key), comp.arms["canary"].get(key)

            def f(x: float | None, signed: bool = False, d: int = digits, u: str = unit) -> str:
                if x is None:
                    return "–"
                sign = ("+" if x >= 0 else "-") if signed else ("-" if x < 0 else "")
                return f"{sign}{u}{abs(x):.{d}f}"

            interval = f"[{f(iv.low, True)}, {f(iv.high, True)}]"
            rows.append([label, f(st), f(ca), f(iv.estimate, True), interval, iv.direction])
        output.print_columns(
            ["metric", "stable", "canary", "canary − stable", f"{comp.confidence:.0%} interval", ""], rows
        )
    if comp.decision is not None:
        _render_decision(comp.decision)
    for note in comp.notes:
        output.info(output.printable(note))
    output.print_text(output.printable(comp.verdict))


def _render_decision(dec: Any) -> None:
    rows = []
    for m in dec.to_dict()["metrics"]:

        def f(x: float | None) -> str:
            return "–" if x is None else f"{x:+.4g}"

        rows.append(
            [m["metric"], f(m["worsening"]), f"[{f(m['low'])}, {f(m['high'])}]", f"{m['margin']:.4g}", m["state"]]
        )
    if rows:
        output.print_columns(["metric", "worsening", "always-valid interval", "margin", "state"], rows)
    for note in dec.notes:
        output.info(output.printable(note))
    output.print_text(output.printable(f"DECISION {dec.line()}"))
