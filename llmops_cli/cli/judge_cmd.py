"""``llmops judge …``: label a judge's answers, calibrate it against the labels (agreement, bias probes).

Thin: parse options, call :mod:`llmops_cli.judging`, render.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from . import output
from .options import Format
from .state import STATE

app = typer.Typer(
    help="Judges you can trust: write a label template from a results file, calibrate a judge against its human "
    "labels (kappa with intervals, confusion matrix, bias probes).",
    no_args_is_help=True,
)


PROBES = ("verbosity", "sensitivity", "self_preference")


@app.command("calibrate")
def calibrate(
    judge: Annotated[
        str, typer.Argument(help="The judge prompt, e.g. judges/rubric (labels: evals/<judge>.labels.yaml).")
    ],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text (terminal), markdown (PR comment) or json (the record).")
    ] = Format.text,
    judge_samples: Annotated[
        int | None, typer.Option("--judge-samples", help="Judge calls per item (K); default llmops.yaml judge.samples.")
    ] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model", help="Judge with this model alias or id.")] = None,
    api_base: Annotated[
        str | None, typer.Option("--api-base", help="Send --judge-model's calls to this server.")
    ] = None,
    probes: Annotated[
        str, typer.Option("--probes", help="Comma list of bias probes: verbosity, sensitivity, self_preference, none.")
    ] = ",".join(PROBES),
    probe_items: Annotated[
        int, typer.Option("--probe-items", help="Items each probe re-judges (bounds its cost).")
    ] = 50,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the judge again instead of replaying.")] = False,
    write: Annotated[
        bool, typer.Option("--write", help="Write the record to evals/<judge>.calibration.json (commit it).")
    ] = False,
    min_kappa: Annotated[
        float | None, typer.Option("--min-kappa", help="Exit 1 when the interval's lower end is below this.")
    ] = None,
) -> None:
    """Run the judge on its human-labelled items (cached like evals) and report agreement with 95 % intervals:
    weighted kappa (scores 1-5) or Cohen's kappa, accuracy and F1 (pass/fail), Krippendorff's alpha among
    several raters (the ceiling), the confusion matrix, the mean signed error, and bias probes. With --min-kappa,
    exits 1 when the lower end of kappa's interval is below it or a bias probe is flagged."""
    from ..errors import CheckFailed
    from ..judging.calibrate import CalibrateOptions, write_calibration
    from ..judging.calibrate import calibrate as run
    from ..judging.render import calibration_markdown, calibration_text
    from ..records.base import dump_record

    chosen = tuple(p.strip() for p in probes.split(",") if p.strip() and p.strip() != "none")
    unknown = [p for p in chosen if p not in PROBES]
    if unknown:
        raise UsageError(f"--probes: unknown probe {unknown[0]!r} (verbosity, sensitivity, self_preference, none)")
    if probe_items < 0:
        raise UsageError("--probe-items must be at least 0")
    project = STATE.project()
    options = CalibrateOptions(
        samples=judge_samples,
        judge_model=judge_model,
        api_base=api_base,
        use_cache=not no_cache,
        probes=chosen,
        probe_items=probe_items,
    )
    record = run(project, judge, options)
    if fmt is Format.json:
        output.print_json(dump_record(record, exclude_none=True))
    elif fmt is Format.markdown:
        output.print_text(calibration_markdown(record))
    else:
        output.print_text(calibration_text(record))
    if write:
        output.info(f"wrote {write_calibration(project, record)}")
    low = record.kappa.low
    problems: list[str] = [f"{p.name} probe flagged" for p in record.probes if p.flagged]
    if min_kappa is not None and (low is None or low < min_kappa):
        problems.insert(0, f"kappa's lower bound {low if low is None else round(low, 3)} < {min_kappa}")
    if problems and (min_kappa is not None):
        raise CheckFailed(f"judge {judge}: " + ", ".join(problems))


@app.command("label")
def label(
    results: Annotated[str, typer.Argument(help="A results file of `llmops eval run` (the answers to label).")],
    judge: Annotated[str, typer.Option("--judge", help="The judge prompt the labels are for, e.g. judges/rubric.")],
    n: Annotated[int, typer.Option("--n", help="How many answers to pick (spread over the judge's scores).")] = 40,
    out: Annotated[
        str | None, typer.Option("--out", help="Where to write the template (default evals/<judge>.labels.yaml).")
    ] = None,
) -> None:
    """Write a label template from a results file: N answers graded by JUDGE, spread from its lowest to its
    highest scores, with the judge's inputs filled in and `human:` left empty for you to fill (1-5). The
    judge's own score is left out so it does not anchor the human."""
    from ..judging.template import write_label_template

    if n < 1:
        raise UsageError("--n must be at least 1")
    path, count = write_label_template(STATE.project(), results, judge, n, out)
    output.info(f"wrote {count} items to {path}: fill in each `human:` (1-5), then `llmops judge calibrate {judge}`")


@app.command("stability")
def stability_cmd(
    results: Annotated[str, typer.Argument(help="A results file of `llmops eval run --repeat R` (R >= 2).")],
    k: Annotated[int | None, typer.Option("--k", help="k of pass@k and pass^k (default: the fewest samples).")] = None,
    top: Annotated[int, typer.Option("--top", help="How many flakiest cases to name per prompt.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Per-case stability of repeated verdicts: the share of cases whose verdict flips across samples, pass@k
    (at least one of k tries passes) and pass^k (all k pass) per prompt, and the flakiest cases by name."""
    from ..evals.results import load_results
    from ..judging.stability import results_stability

    if (k is not None and k < 1) or top < 0:
        raise UsageError("--k must be at least 1 and --top at least 0")
    report = results_stability(load_results(results), k, top)
    if as_json:
        output.print_json({p: s.to_dict() for p, s in report.items()})
        return
    for prompt, s in report.items():
        if not s.cases:
            output.print_text(f"{output.printable(prompt)}: no case has 2 or more verdicts (run with --repeat 2+)")
            continue
        at = "n/a" if s.pass_at_k is None else f"{s.pass_at_k:.3f}"
        hat = "n/a" if s.pass_hat_k is None else f"{s.pass_hat_k:.3f}"
        output.print_text(
            f"{output.printable(prompt)}: {s.flaky} of {s.cases} cases flip ({s.flip_fraction:.1%}); "
            f"pass@{s.k} {at}, pass^{s.k} {hat}"
        )
        for c in s.flakiest:
            output.print_text(f"  flaky: {output.printable(c.case)} ({c.passes}/{c.samples} pass)")
