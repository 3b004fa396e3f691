"""``llmops eval …``: run golden sets through models and judges, merge shard results, show results."""

from __future__ import annotations

import gc
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .. import settings
from ..errors import CheckFailed, UsageError
from . import output
from .state import STATE

if TYPE_CHECKING:
    from ..records.results import SampleRecord, Summary

app = typer.Typer(
    help="Evaluate prompts on their golden sets (assertions and LLM judges), merge shards, show results.",
    no_args_is_help=True,
)


class _RichProgress:
    """A progress bar on stderr: cases done, errors, ETA, cost so far."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.errors = 0
        self.failed = 0
        self.cost = 0.0
        self._bar = Progress(
            TextColumn("[bold]eval[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeRemainingColumn(),
            console=output.err(),
            transient=True,
        )
        self._task: Any = None

    def start(self, total: int, done: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task("eval", total=total, completed=done, extra="")

    def advance(self, record: SampleRecord) -> None:
        self.errors += record.status == "error"
        self.failed += record.status == "fail"
        self.cost += float(record.cost_usd or 0) + float((record.judge.cost_usd if record.judge else 0) or 0)
        extra = f"fail {self.failed}  err {self.errors}  ${self.cost:.4f}"
        self._bar.update(self._task, advance=1, extra=extra)

    def tick(self) -> None:
        """The bar refreshes itself."""

    def finish(self) -> None:
        self._bar.stop()


def _progress(quiet: bool) -> Any:
    if quiet:
        return None
    if not sys.stderr.isatty():
        from ..evals.runner import PlainProgress

        return PlainProgress(sys.stderr)
    return _RichProgress()


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


@app.command("run")
def run(
    names: Annotated[
        list[str] | None, typer.Argument(help="Prompts to evaluate (default: every prompt with a golden set).")
    ] = None,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since",
            metavar="REF",
            help="Only prompts whose file, templates, partials, model alias, judges or golden set changed since "
            "merge-base(REF, HEAD).",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="REF",
            help="Send keys only to api_base/api_key_env pairings that llmops.yaml already had at "
            "merge-base(REF, HEAD) (default: --changed-since's REF; none in a pull-request job; else the "
            "working tree's).",
        ),
    ] = None,
    repeat: Annotated[
        int | None, typer.Option("--repeat", "-r", min=1, max=50, help="Generations per case (R; default eval.repeat).")
    ] = None,
    judge_samples: Annotated[
        int | None,
        typer.Option("--judge-samples", "-k", min=1, max=20, help="Judge calls per output (K; default judge.samples)."),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-j", min=1, max=512, help="Most provider calls in flight (default: concurrency)."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model alias or litellm id used for every prompt instead of its own.")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="Model alias or id for the judges (default: judge.model).")
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", metavar="URL", help="Base URL of an OpenAI-compatible server for every prompt."),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option("--shard", metavar="I/N", help="Run only slice I of N (stable hash of prompt and case id)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Results file (default: .llmops/runs/<run-id>/results.json).", dir_okay=False),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write JUnit XML for CI systems.", dir_okay=False)
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read the response cache (answers are still written to it).")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Finish an interrupted run (a run id under .llmops/runs/) with its saved options.",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.1,
            max=3600,
            callback=_finite,
            help="Per-call timeout in seconds (default eval.timeout_s).",
        ),
    ] = None,
    max_retries: Annotated[
        int | None,
        typer.Option(
            "--max-retries", min=0, max=20, help="Retries per call on 429/5xx/timeouts (default eval.max_retries)."
        ),
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost",
            metavar="USD",
            min=0.000001,
            max=1_000_000,
            callback=_finite,
            help="Start no request that could take this command's spending past USD (default budget.max_cost_usd); "
            "exit 1 when reached, --resume continues.",
        ),
    ] = None,
    estimate: Annotated[
        bool,
        typer.Option("--estimate", help="Print the run's tokens and cost (expected and at most) and call nothing."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run prompts over their golden sets; exit 1 when a pass-rate threshold is not met or the budget is reached.

    Answers are cached on disk: a re-run with nothing changed makes no provider call. Results are journaled as they finish: after a crash, [bold]--resume RUN[/] completes the run without paying twice.
    """  # noqa: E501
    from ..evals.runner import EvalOptions, run_eval
    from ..evals.selection import parse_shard

    chosen = (names, changed_since, base, shard, repeat, judge_samples, model, judge_model, api_base)
    if resume and any(chosen):
        raise UsageError(
            "--resume reuses the run's saved options; give only --concurrency, --out, --junit or --max-cost with it"
        )
    if estimate and (resume or junit or out):
        raise UsageError("--estimate runs nothing: --resume, --out and --junit do not go with it")
    options = EvalOptions(
        names=list(names) if names else None,
        changed_since=changed_since,
        repeat=repeat,
        judge_samples=judge_samples,
        concurrency=concurrency,
        model=model,
        judge_model=judge_model,
        api_base=api_base,
        shard=parse_shard(shard) if shard else None,
        use_cache=not no_cache,
        timeout_s=timeout,
        max_retries=max_retries,
        out=str(out) if out else None,
        base=base,
        max_cost_usd=max_cost,
    )
    from ..sources import check_outputs

    check_outputs({"--out": out, "--junit": junit})  # before any model call (run_eval checks its own folder too)
    check_outputs({"$GITHUB_STEP_SUMMARY": settings.GITHUB_STEP_SUMMARY.raw() or None})  # appended to
    project = STATE.project()
    if estimate:
        _print_estimate(project, options, as_json)
        return
    outcome = run_eval(project, options, resume=resume, progress=_progress(quiet), notify=output.info)
    if "litellm" in sys.modules:
        gc.freeze()  # the final garbage collection over litellm's objects would add ~1 s to the exit
    if not outcome.prompts:
        output.info("no prompts to evaluate" + (f" (none changed since {changed_since})" if changed_since else ""))
    from ..evals.report import publish_run

    publish_run(outcome.results_path, junit)
    if as_json:
        data = {"run_id": outcome.run_id, "results": outcome.results_path, **outcome.summary.to_dict()}
        if outcome.offline:
            data["offline"] = outcome.offline
        if outcome.incomplete is not None:
            data["incomplete"] = outcome.incomplete.to_dict()
        output.print_json(data)
    else:
        _print_summary(outcome.summary)
        if outcome.offline:
            output.print_text(offline_note(outcome.offline))
    output.info(f"results: {outcome.results_path}  (run {outcome.run_id})")
    if outcome.incomplete is not None and outcome.budget is not None:
        b, inc = outcome.budget, outcome.incomplete
        raise CheckFailed(
            f"budget reached: spent ${b.spent_usd:.6f} of ${b.cap_usd:.6f}; {inc.samples_missing} of "
            f"{inc.samples_planned} samples not run (results marked incomplete). Continue with: "
            f"llmops eval run --resume {outcome.run_id} --max-cost USD"
        )
    _verdict(outcome.summary)


def _print_estimate(project: Any, options: Any, as_json: bool) -> None:
    """``eval run --estimate``: the table (or the JSON record) of what the run would cost."""
    from ..evals.estimate import ESTIMATE_HEADERS, estimate_cells, estimate_line, estimate_run

    est = estimate_run(project, options)
    if as_json:
        output.print_json(est.to_dict())
        return
    output.print_columns(ESTIMATE_HEADERS, estimate_cells(est))
    output.print_text(estimate_line(est))


def offline_note(offline: list[dict[str, str]]) -> str:
    """What a run on the offline stand-in means, and the one change that switches to the real models."""
    from ..models import PROVIDER_KEY_ENV, provider_of

    aliases = ", ".join(f"{o['alias']} ({o['replaces']})" for o in offline)
    stand_ins = ", ".join(sorted({o["model"] for o in offline}))
    envs = sorted({PROVIDER_KEY_ENV.get(provider_of(o["replaces"]), "the provider's API key") for o in offline})
    first = offline[0]["alias"]
    return (
        f"note: this run used the offline stand-in {stand_ins} for {aliases}, because no API key was set.\n"
        "  Deterministic assertions (contains, regex, JSON schema, word count, latency) mean what they always do;\n"
        "  judge scores come from a tiny local model: use them to check the pipeline, never compare them with\n"
        "  a hosted model's or read them as quality.\n"
        f"  To evaluate with the real models: export {' and '.join(envs)}=... — or, in llmops.yaml, point the\n"
        f"  `model:` line of models.{first} at a model you can reach (e.g. a local server with api_base)."
    )


def _verdict(summary: Summary) -> None:
    if not summary.passed:
        bad = [n for n, s in summary.prompts.items() if s.status != "pass"]
        raise CheckFailed(f"{len(bad)} prompt(s) below their thresholds: {', '.join(bad)}")


def _print_summary(summary: Summary) -> None:
    """The per-prompt table and the verdict line (plain columns: no rich import on the cached fast path)."""
    from ..evals.report import SUMMARY_HEADERS, summary_cells, totals_line

    output.print_columns(SUMMARY_HEADERS, summary_cells(summary))
    verdict = output.style("✓ passed", "bold", "green") if summary.passed else output.style("✗ failed", "bold", "red")
    output.print_text(f"{verdict}: {totals_line(summary)}")


@app.command("merge")
def merge(
    files: Annotated[
        list[Path], typer.Argument(help="Shard results files (from --shard I/N runs).", exists=True, dir_okay=False)
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Merged results file.", dir_okay=False)],
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write JUnit XML.", dir_okay=False)] = None,
) -> None:
    """Join shard results into one results file (same content as an unsharded run); exit 1 if it fails.

    Every shard I/N must be given exactly once, each holding only its own cases (else exit 2)."""
    from ..evals.results import merge_results, save_results
    from ..sources import check_outputs

    check_outputs({"--out": out, "--junit": junit})
    merged = merge_results([str(f) for f in files])  # exit 2 when a shard is missing, repeated or mislabelled
    save_results(str(out), merged)
    if junit:
        from ..evals.report import write_junit

        write_junit(junit, merged)
    _print_summary(merged.summary)
    output.info(f"merged {len(files)} file(s) into {out}")
    _verdict(merged.summary)


@app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="A results file.", exists=True, dir_okay=False)],
    failed: Annotated[
        bool, typer.Option("--failed", help="List every sample that did not pass, with reasons.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a results file: the per-prompt summary, and with --failed the samples that did not pass."""
    from ..evals.report import failed_samples, sample_problems
    from ..evals.results import load_results

    results = load_results(str(file))
    if as_json:
        data: dict[str, Any] = {"run": results.run.to_dict(), "summary": results.summary.to_dict()}
        if failed:
            data["failed"] = [
                {"prompt": r.prompt, "case_id": r.case_id, "sample": r.sample, "status": r.status,
                 "problems": sample_problems(r)}
                for r in failed_samples(results)
            ]  # fmt: skip
        output.print_json(data)
        return
    _print_summary(results.summary)
    if results.run.incomplete is not None:
        inc = results.run.incomplete
        output.warning(
            f"incomplete: the run stopped early ({inc.reason} reached); {inc.samples_missing} of "
            f"{inc.samples_planned} samples were not run"
        )
    if failed:
        from rich.markup import escape

        con = output.out()
        for r in failed_samples(results):
            style = "red" if r.status == "fail" else "yellow"
            con.print(f"[{style}]{r.status}[/] {escape(r.prompt)} / {escape(r.case_id)} #{r.sample}")
            for p in sample_problems(r):
                con.print(f"    {escape(p)}")


@app.command("report")
def report(
    file: Annotated[Path, typer.Argument(help="A results file.", exists=True, dir_okay=False)],
    html: Annotated[
        Path, typer.Option("--html", metavar="FILE", help="Write the self-contained HTML report here.", dir_okay=False)
    ],
) -> None:
    """Write a results file as one self-contained HTML page: summary, filterable cases, every assertion."""
    from ..evals.results import load_results
    from ..report.publish import write_html_report
    from ..sources import check_outputs

    check_outputs({"--html": html})
    results = load_results(str(file))
    write_html_report(html, results=results, root=STATE.root)
    output.info(f"wrote {html}")


@app.command("drift")
def drift(
    ref: Annotated[str, typer.Argument(help="NAME@CHANNEL or NAME@VERSION: the release to re-check.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the fresh results file here.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Provider calls in flight.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Re-run a release's golden set now (same pinned model and params, no cache) and compare it case by
    case with the baseline recorded at release: exit 1, naming the prompt, when quality dropped beyond the
    gate's margin (the provider changed behaviour)."""
    from ..releases.drift import check_drift, run_drift

    res = run_drift(ref, root=STATE.root, out=str(out) if out else None, notify=output.info, concurrency=concurrency)
    if as_json:
        output.print_json(res.to_dict())
    else:
        for line in res.lines():
            output.print_text(output.printable(line))
    check_drift(res)
