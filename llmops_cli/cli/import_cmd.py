"""``llmops import …``: bring prompts and tests from promptfoo, GitHub Models and Prompty."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import output
from .state import STATE

if TYPE_CHECKING:
    from ..importers.report import Gap

app = typer.Typer(
    help="Import prompts and tests from promptfoo, GitHub Models (.prompt.yml) or Prompty (.prompty).",
    no_args_is_help=True,
)

OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out", metavar="DIR", help="Project folder to write into (default: the project root).", file_okay=False
    ),
]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Report what would be written; write nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable report.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing files that differ.")]
NameOpt = Annotated[
    str | None, typer.Option("--name", help="Prompt name (a folder for several prompts) instead of the file's.")
]


@app.command("promptfoo")
def promptfoo(
    config: Annotated[Path, typer.Argument(help="promptfooconfig.yaml to import.", dir_okay=False)],
    out: OutOpt = None,
    dry_run: DryOpt = False,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
    name: NameOpt = None,
) -> None:
    """Import a promptfoo config: prompts, providers, tests and defaultTest."""
    _run("promptfoo", [config], out, dry_run, as_json, force, name)


@app.command("gh-models")
def gh_models(
    files: Annotated[list[Path], typer.Argument(help=".prompt.yml files to import.", dir_okay=False)],
    out: OutOpt = None,
    dry_run: DryOpt = False,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
    name: NameOpt = None,
) -> None:
    """Import GitHub Models .prompt.yml files: messages, model, testData and evaluators."""
    _run("gh-models", files, out, dry_run, as_json, force, name)


@app.command("prompty")
def prompty(
    files: Annotated[list[Path], typer.Argument(help=".prompty files to import.", dir_okay=False)],
    out: OutOpt = None,
    dry_run: DryOpt = False,
    as_json: JsonOpt = False,
    force: ForceOpt = False,
    name: NameOpt = None,
) -> None:
    """Import .prompty files: front matter model, parameters, inputs, sample and the role-marked template."""
    _run("prompty", files, out, dry_run, as_json, force, name)


def _gap(g: Gap) -> str:
    return f"{g.location()}: {g.construct}" + (f" — {g.detail}" if g.detail else "")


def _run(
    fmt: str, files: list[Path], out: Path | None, dry_run: bool, as_json: bool, force: bool, name: str | None
) -> None:
    from ..importers import import_files
    from ..root import find_root

    target = out if out is not None else (STATE.root or find_root())
    report = import_files(fmt, [str(f) for f in files], str(target), force=force, dry_run=dry_run, name=name)
    if as_json:
        output.print_json(report.to_dict())
        return
    # names, constructs and details come from the imported config: shown with control characters escaped
    for rel, action in report.files:
        output.print_text(output.printable(f"{action:<15} {Path(target) / rel}"))
    verb = "would import" if dry_run else "imported"
    output.info(
        output.printable(
            f"{verb} {len(report.prompts)} prompt(s), {report.cases} case(s) from {', '.join(report.sources)}"
            + (f"; aliases added to llmops.yaml: {', '.join(report.aliases)}" if report.aliases else "")
        )
    )
    if report.unmapped:
        output.warning(f"{len(report.unmapped)} construct(s) not imported (marked for `llmops prompt lint`):")
        for g in report.unmapped:
            output.print_text(output.printable(f"  unmapped     {_gap(g)}"))
    for g in report.approximated:
        output.print_text(output.printable(f"  approximated {_gap(g)}"))
    if not dry_run:
        output.info("next: llmops prompt lint · llmops eval run")
