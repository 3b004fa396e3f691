"""``llmops eval compare`` and ``llmops eval gate``: base vs head on the same cases, PASS / WARN / FAIL."""

from __future__ import annotations

import gc
import math
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import settings
from ..errors import CheckFailed, UserError
from . import output
from .options import Format
from .state import STATE

if TYPE_CHECKING:
    from ..gate.decide import GateReport


class FailOn(StrEnum):
    fail = "fail"
    warn = "warn"


STYLE = {"PASS": "bold green", "WARN": "bold yellow", "FAIL": "bold red"}


VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Every metric of every prompt (default: one line per prompt).")
]
HtmlOpt = Annotated[
    Path | None,
    typer.Option("--html", metavar="FILE", help="Also write the self-contained HTML report.", dir_okay=False),
]


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


def register(eval_app: typer.Typer) -> None:
    eval_app.command("compare")(compare)
    eval_app.command("gate")(gate)


def _print_text(report: GateReport, verbose: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ..gate.markdown import interval_text, prompt_cost

    con = output.out()
    level = round(100 * (1 - 2 * float(report.settings.get("alpha", 0.05))))
    k = report.settings.get("judge_samples")
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in (
        "PROMPT",
        "STATE",
        "METRIC",
        "Δ",
        f"{level}% INTERVAL",
        "MDE",
        "N",
        "CLUSTERS",
        "K",
        "$/1K B→H",
    ):
        table.add_column(col, overflow="fold")
    shown = [p for p in report.gated if verbose or p.state != "PASS"]
    for p in shown:
        errors = any(e.failed for e in p.errors)
        rows = p.metrics if verbose else ([] if errors else [p.lead])
        if errors or not rows:
            table.add_row(escape(p.prompt), f"[{STYLE[p.state or 'WARN']}]{p.state}[/]", "errors" if errors else "—",
                          *[""] * 5, str(k), prompt_cost(p))  # fmt: skip
        for m in rows:
            if m is None:
                continue
            table.add_row(
                escape(p.prompt),
                f"[{STYLE[m.state]}]{m.state}[/]",
                escape(m.metric) + ("" if m.decisive else " (info)"),
                "—" if m.delta is None else f"{m.delta:+.3f}",
                interval_text(m),
                "—" if m.mde is None else f"{m.mde:.3f}",
                str(m.n_cases),
                str(m.n_clusters),
                str(k),
                prompt_cost(p),
            )
    if shown:
        con.print(table)
    passed = [p for p in report.gated if p.state == "PASS"]
    if passed and not verbose:
        names = escape(", ".join(p.prompt for p in passed))
        con.print(f"[green]{len(passed)} prompt(s) PASS[/] (--verbose lists them): {names}")
    for p in report.prompts:
        if p.status != "gated":
            style = STYLE[p.state] if p.state else "dim"  # a removal the gate does not let through has a state
            con.print(f"[{style}]{escape(p.prompt)}: {p.status} — {escape(p.reason)}[/]")
        elif p.state != "PASS":
            con.print(f"[{STYLE[p.state or 'WARN']}]{escape(p.prompt)}[/]: {escape(p.reason)}")
            for c in (p.cases_added, p.cases_removed):
                if c:
                    what = "added" if c is p.cases_added else "removed"
                    con.print(f"    cases {what} (not paired): {escape(', '.join(c))}")
            if p.cases_not_run:
                con.print(f"    cases run on one side only (provider errors): {escape(', '.join(p.cases_not_run))}")
    changed = report.policy.changed_line() if report.policy else None
    if changed:
        con.print(f"[bold yellow]{escape(changed)}[/]")
    for judge_line in (report.judge.changed_line(), report.judge.new_line()) if report.judge else ():
        if judge_line:
            con.print(f"[bold yellow]{escape(judge_line)}[/]")
    con.print(f"[{STYLE[report.verdict]}]{escape(report.line)}[/]  (K = {k}, R = {report.settings.get('repeat')})")


def _render(report: GateReport, fmt: Format, verbose: bool = False) -> None:
    if fmt is Format.json:
        output.print_json(report.to_dict())
    elif fmt is Format.markdown:
        from ..gate.markdown import to_markdown

        output.print_text(to_markdown(report, verbose=verbose))
    else:
        _print_text(report, verbose)


def _exit(report: GateReport, fail_on: FailOn) -> None:
    if report.verdict == "FAIL" or (report.verdict == "WARN" and fail_on is FailOn.warn):
        raise CheckFailed(f"gate {report.line}")


def compare(
    base_results: Annotated[Path, typer.Argument(help="Results file of the base (from `llmops eval run`).")],
    head_results: Annotated[Path, typer.Argument(help="Results file of the head, judged the same way.")],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text (terminal), markdown (PR comment) or json (stable).")
    ] = Format.text,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on FAIL only (default) or on WARN too.")
    ] = FailOn.fail,
    verbose: VerboseOpt = False,
    html: HtmlOpt = None,
) -> None:
    """Compare two results files case by case: paired Δ per prompt and metric, PASS / WARN / FAIL.

    Both files must be judged the same way: same judges, K and R, and the same config hash unless the base was
    evaluated by `eval gate` under head's configuration (else exit 2). Invalid files: exit 2. Exit 1 on FAIL.
    """
    from ..evals.results import load_results
    from ..gate.run import compare_results
    from ..sources import check_outputs

    check_outputs({"--html": html})
    base = load_results(str(base_results))
    head = load_results(str(head_results))
    report = compare_results(base, head, STATE.project(), base_label=str(base_results), head_label=str(head_results))
    if html:
        from ..report.publish import write_html_report

        write_html_report(html, results=head, gate=report.to_dict(), root=STATE.root)
    _render(report, fmt, verbose or STATE.verbose)
    _exit(report, fail_on)


def gate(
    base: Annotated[
        str,
        typer.Option(
            "--base",
            metavar="REF_OR_RESULTS",
            help="Git ref to compare against (evaluated at merge-base(REF, HEAD); both arms judged with the base's "
            "judges), or a results file judged the same way as head.",
        ),
    ],
    head: Annotated[
        Path | None,
        typer.Option(
            "--head", metavar="RESULTS", help="Head results file (default: evaluate the working tree).", dir_okay=False
        ),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on FAIL only (default) or on WARN too.")
    ] = FailOn.fail,
    github_status: Annotated[
        bool,
        typer.Option(
            "--github-status",
            help="Post the commit status 'llmops/eval' for the PR head (needs GITHUB_TOKEN, GITHUB_REPOSITORY).",
        ),
    ] = False,
    status_context: Annotated[
        str | None,
        typer.Option(
            "--status-context",
            metavar="NAME",
            help="Name of the commit status --github-status posts (default llmops/eval), e.g. one per shard or suite.",
        ),
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", metavar="FILE", help="Also write the markdown report to FILE.", dir_okay=False),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text (terminal), markdown or json (stable, schema_version).")
    ] = Format.text,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir", help="Where base.json, head.json and gate.json go (default .llmops/gate).", file_okay=False
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", min=1, max=512, help="Most provider calls in flight.")
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Evaluate only slice I of N of the cases, on both sides (merge the shards' base.json and "
            "head.json with `eval merge`, then `eval gate --base base.json --head head.json`).",
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
            help="Start no request that could take the gate's spending (both sides) past USD (default "
            "budget.max_cost_usd); exit 1 with no verdict when reached.",
        ),
    ] = None,
    verbose: VerboseOpt = False,
    html: HtmlOpt = None,
    attack: Annotated[
        bool,
        typer.Option(
            "--attack",
            help="Gate injection resistance instead: both sides on the same derived attack cases (`eval attack`); "
            "FAIL naming the family whose attack success rate rose beyond --attack-margin (McNemar, Holm).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, help="With --attack: the derivation seed.")] = 0,
    families: Annotated[
        str | None, typer.Option("--families", metavar="A,B", help="With --attack: payload families (default all).")
    ] = None,
    attack_margin: Annotated[
        float,
        typer.Option("--attack-margin", min=0.0, max=0.99, help="With --attack: tolerated rise of the attack rate."),
    ] = 0.05,
) -> None:
    """Gate a change: evaluate the changed prompts at the base and at head on the same cases, block regressions.

    Only prompts whose eval inputs changed are evaluated; unchanged requests replay from the cache, so a
    re-run gives the same verdict. Exit 0 on PASS (and WARN unless --fail-on warn), 1 on FAIL (or when --max-cost
    stops it, with no verdict), 2 on bad input.
    Appends the markdown report to $GITHUB_STEP_SUMMARY when set.
    """
    from ..evals.selection import parse_shard
    from ..gate.github import StatusError
    from ..gate.publish import GateOutputs, default_out_dir, post_error_status, post_gate_status, write_gate_outputs
    from ..gate.run import GateOptions, run_gate
    from ..sources import check_outputs

    if attack:
        md = str(markdown) if markdown else None
        _attack_gate(base, head, out_dir, concurrency, seed, families, attack_margin, fmt, md)
        return
    started = time.time()
    if status_context is not None:
        from ..gate.github import status_context as checked_context

        checked_context(status_context)  # a bad name is refused before any model call
    try:
        project = STATE.project()
        folder = str(out_dir) if out_dir else default_out_dir(project)
        written = {f"--out-dir {name}": os.path.join(folder, name) for name in ("base.json", "head.json", "gate.json")}
        # before the first model call: a report that cannot be written must not cost the evaluation
        check_outputs({"--markdown": markdown, "--html": html}, {"--out-dir": folder}, written)
        check_outputs({"$GITHUB_STEP_SUMMARY": settings.GITHUB_STEP_SUMMARY.raw() or None})  # appended to
        options = GateOptions(
            base=base,
            head=str(head) if head else None,
            out_dir=folder,
            concurrency=concurrency,
            shard=parse_shard(shard) if shard else None,
            max_cost_usd=max_cost,
        )
        report = run_gate(project, options, notify=output.info)
        if "litellm" in sys.modules:
            gc.freeze()  # skip the final garbage collection over litellm's objects at exit
    except UserError as exc:
        if github_status:
            try:
                post_error_status(exc.message, context=status_context)
            except StatusError as serr:
                output.warning(serr.message)
        raise
    verbose = verbose or STATE.verbose
    outputs = GateOutputs(
        folder,
        markdown=str(markdown) if markdown else None,
        html=str(html) if html else None,
        head=str(head) if head else None,
        verbose=verbose,
        started=started,
    )
    write_gate_outputs(report, outputs, root=STATE.root)
    _render(report, fmt, verbose)
    if github_status:
        try:
            state = post_gate_status(report, fail_on_warn=fail_on is FailOn.warn, context=status_context)
            output.info(f"commit status {status_context or 'llmops/eval'}: {state}")
        except StatusError as exc:
            output.warning(exc.message)
    _exit(report, fail_on)


def _attack_gate(
    base: str,
    head: Path | None,
    out_dir: Path | None,
    concurrency: int | None,
    seed: int,
    families: str | None,
    margin: float,
    fmt: Format,
    markdown: str | None,
) -> None:
    """``eval gate --attack``: the injection-resistance gate (:mod:`llmops_cli.gate.attack`)."""
    from ..evals.attack import AttackOptions
    from ..gate.attack import run_attack_gate
    from ..gate.publish import default_out_dir
    from ..gate.run import GateOptions
    from .attack_cmd import families_of, print_gate

    project = STATE.project()
    options = GateOptions(
        base=base,
        head=str(head) if head else None,
        out_dir=str(out_dir) if out_dir else default_out_dir(project),
        concurrency=concurrency,
    )
    attack = AttackOptions.parse(seed, families_of(families))
    report = run_attack_gate(project, options, attack, margin=margin, notify=output.info, markdown=markdown)
    if fmt is Format.json:
        output.print_json(report.to_dict())
    elif fmt is Format.markdown:
        output.print_text(report.to_markdown())
    else:
        print_gate(report)
    if report.verdict == "FAIL":
        raise CheckFailed(f"gate {report.line}")
