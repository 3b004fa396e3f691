"""``llmops prompt …``: list, render and lint prompts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import CheckFailed
from . import output
from .state import STATE

app = typer.Typer(help="Work with prompt files: list, render, lint, diff.", no_args_is_help=True)


@app.command("list")
def list_prompts(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List prompts with model, inputs, content hash and file."""
    project = STATE.project()
    rows = []
    for name in project.prompt_names():
        p = project.load(name)
        rows.append(
            {
                "name": name,
                "model": p.model_name,
                "resolved_model": p.model,
                "inputs": {k: {"type": v.type, "required": v.is_required} for k, v in p.spec.inputs.items()},
                "output": p.spec.output.format,
                "sha256": p.sha256,
                "file": p.file,
            }
        )
    if as_json:
        output.print_json(rows)
        return
    table = []
    for r in rows:
        inputs = ", ".join(k if v["required"] else f"{k}?" for k, v in r["inputs"].items())
        model = r["model"] if r["model"] == r["resolved_model"] else f"{r['model']} → {r['resolved_model']}"
        table.append([r["name"], model, inputs, r["output"], r["sha256"][:12], r["file"]])
    if table:
        output.print_columns(["NAME", "MODEL", "INPUTS", "OUTPUT", "SHA256", "FILE"], table)
    else:
        output.info(f"no prompts found under {project.prompts_dir}/ (llmops init scaffolds one)")


@app.command("render")
def render(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. support/answer.")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="KEY=VALUE (repeatable); VALUE as JSON for non-string inputs; @FILE reads a file."),
    ] = None,
    vars_file: Annotated[
        Path | None, typer.Option("--vars", help="YAML or JSON file with the variables.", dir_okay=False)
    ] = None,
    case: Annotated[str | None, typer.Option("--case", help="Render a golden-set case by id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Render a prompt with real variables (validated against its inputs)."""
    from ..errors import NotFoundError
    from ..variables import parse_assignments, read_vars_file

    project = STATE.project()
    prompt = project.load(name)
    variables: dict[str, Any] = {}
    if case is not None:
        gs = project.golden_set(name)
        if gs is None:
            raise NotFoundError(f"prompt '{name}' has no golden set, so no case {case!r}")
        variables.update(gs.vars_for(gs.case(case)))
    if vars_file is not None:
        variables.update(read_vars_file(str(vars_file)))
    variables.update(parse_assignments(prompt.spec.inputs, var or []))
    rendered = prompt.render(variables)
    if as_json:
        output.print_json(rendered.to_dict())
        return
    params = ", ".join(f"{k}={v}" for k, v in rendered.params.items())
    lines = [
        f"{output.style(name, 'bold')}  model {output.style(rendered.model, 'cyan')}"
        + (f"  {params}" if params else "")
    ]
    from ..records.content import content_text

    for m in rendered.messages:
        lines += [output.style(output.rule(m["role"]), "dim"), content_text(m["content"])]
    if rendered.tools or rendered.tool_choice is not None:
        from ..toolspec import describe_tools

        title = f"tools ({len(rendered.tools)})"
        lines += [output.style(output.rule(title), "dim"), *describe_tools(rendered.tools, rendered.tool_choice,
                                                                        rendered.parallel_tool_calls)]  # fmt: skip
    if rendered.response_format:
        lines += [output.style(output.rule("response_format"), "dim"), str(rendered.response_format)]
    output.print_text("\n".join(lines))


@app.command("lint")
def lint(
    names: Annotated[list[str] | None, typer.Argument(help="Prompts to lint (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 1).")] = False,
    files: Annotated[
        bool,
        typer.Option(
            "--files",
            help="The arguments are changed file paths (as pre-commit passes them): lint the prompts they affect.",
        ),
    ] = False,
) -> None:
    """Check prompts and golden sets; exit 1 when errors are found."""
    from ..lint import lint_project, prompts_for_files, summarize

    project = STATE.project()
    if files:
        affected = prompts_for_files(project, names or [], os.getcwd())
        if affected == []:
            output.info("no prompt, golden set, partial or llmops.yaml among the given files: nothing to lint")
            return
        names = affected
    findings = lint_project(project, names or None)
    errors, warnings = summarize(findings)
    checked = len(names) if names else len(project.prompt_names())
    if as_json:
        output.print_json(
            {
                "prompts_checked": checked,
                "errors": errors,
                "warnings": warnings,
                "findings": [f.to_dict() for f in findings],
            }
        )
    else:
        from rich.markup import escape

        con = output.out()
        for f in findings:
            style = "bold red" if f.severity == "error" else "yellow"
            con.print(f"{escape(f.location())}: [{style}]{f.severity}[/] [dim]\\[{f.code}][/] {escape(f.message)}")
        verdict = "[bold red]✗[/]" if errors else "[bold green]✓[/]"
        con.print(f"{verdict} {checked} prompt{'s' * (checked != 1)} checked: {errors} error(s), {warnings} warning(s)")
    if errors or (strict and warnings):
        raise CheckFailed(f"lint found {errors} error(s) and {warnings} warning(s)")
