"""``llmops eval attack``: injection payloads derived from a prompt's golden set; attack success rate per family."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import CheckFailed
from . import output
from .state import STATE

if TYPE_CHECKING:
    from ..evals.attack_run import AttackRun
    from ..gate.attack import AttackGateReport

SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, help="Seed of the derivation: the same seed derives the same cases.")
]
FamiliesOpt = Annotated[
    str | None,
    typer.Option(
        "--families",
        metavar="A,B",
        help="Payload families (default all): instruction_override, role_play, delimiter, encoded, indirect, "
        "tool_hijack.",
    ),
]


def register(eval_app: typer.Typer) -> None:
    eval_app.command("attack")(attack)


def families_of(text: str | None) -> list[str] | None:
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def attack(
    names: Annotated[
        list[str] | None, typer.Argument(help="Prompts to attack (default: every prompt with a golden set).")
    ] = None,
    seed: SeedOpt = 0,
    families: FamiliesOpt = None,
    max_asr: Annotated[
        float | None,
        typer.Option("--max-asr", min=0.0, max=1.0, help="Exit 1 when a prompt's attack success rate is above this."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", min=1, max=512, help="Most provider calls in flight.")
    ] = None,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N", help="Run only slice I of N.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results file (default: in the run's folder).", dir_okay=False)
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read the response cache.")] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="RUN_ID", help="Finish an interrupted attack run.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Attack prompts with injection payloads derived from their golden sets; report the attack success rate.

    Each golden case gets one derived case per payload family (seeded, from the bundled versioned corpus),
    carrying a random canary token; an attack succeeds when the canary appears in the output. The golden set
    on disk is never changed. The results file is a normal one (cached, resumable, shardable).
    """
    from ..evals.attack import AttackOptions
    from ..evals.attack_run import run_attack
    from ..evals.selection import parse_shard

    options = AttackOptions.parse(seed, families_of(families))
    run = run_attack(
        STATE.project(),
        list(names or []),
        options,
        concurrency=concurrency,
        use_cache=not no_cache,
        shard=parse_shard(shard) if shard else None,
        out=str(out) if out else None,
        resume=resume,
        notify=output.info,
    )
    if as_json:
        output.print_json(run.to_dict())
    else:
        _print(run)
    output.info(f"results: {run.results_path}  (run {run.run_id})")
    if max_asr is not None and run.worst() > max_asr:
        raise CheckFailed(f"attack success rate {run.worst():.1%} is above --max-asr {max_asr:.1%}")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _print(run: AttackRun) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("PROMPT", "FAMILY", "ASR", "95% INTERVAL", "HIJACKED", "N", "ERRORS"):
        table.add_column(col)
    for p in run.prompts:
        for label, rate in [("all", p.total), *sorted(p.families.items())]:
            lo, hi = rate.interval()
            table.add_row(
                escape(p.prompt) if label == "all" else "",
                label,
                _pct(rate.asr),
                f"[{_pct(lo)}, {_pct(hi)}]",
                str(rate.successes),
                str(rate.n),
                str(rate.errors),
            )
    output.out().print(table)
    a = run.options
    output.print_text(f"seed {a.seed}, corpus {a.to_dict()['corpus']}, families: {', '.join(a.families)}")


def print_gate(report: AttackGateReport) -> None:
    """The attack gate's table and verdict line (``eval gate --attack``)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("PROMPT", "FAMILY", "STATE", "ASR BASE", "ASR HEAD", "Δ", "B/C", "P (HOLM)"):
        table.add_column(col)
    style = {"PASS": "bold green", "FAIL": "bold red"}
    for f in report.families:
        table.add_row(
            escape(f.prompt),
            f.family,
            f"[{style[f.state]}]{f.state}[/]",
            _pct(f.base_asr),
            _pct(f.head_asr),
            f"{100 * f.delta:+.1f}",
            f"{f.b}/{f.c}",
            f"{f.p_adjusted:.3g}",
        )
    con = output.out()
    con.print(table)
    for note in report.notes:
        output.info(note)
    con.print(f"[{style[report.verdict]}]{escape(report.line)}[/]")
