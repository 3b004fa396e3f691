"""``llmops prompt diff``: what a change does to prompts, between any two refs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from . import output
from .options import Format
from .state import STATE

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from ..diff.report import DiffReport, PromptDiff

HELP = """Show what changed in prompts between two versions, and what it means for callers.

[bold]Forms[/]

  diff                   HEAD → working tree
  diff main              merge-base(main, HEAD) → working tree (a PR)
  diff v1 v2 [NAME ...]  two refs: branches, tags, SHAs
  diff NAME@1.2.0 NAME   release tag prompts/NAME/v1.2.0 → working tree

Per prompt: status (added, removed, renamed, modified, or affected by a
partial / model alias), impact for semver (breaking, feature, patch), the
structural changes in words, and template diffs. Files are read from git
objects: no checkout; the working tree is never touched. See docs/diff.md."""


def diff(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[REF [REF]] [NAME ...]",
            help="Zero, one or two git refs (or NAME@VERSION for a release), then prompt names or globs.",
            show_default=False,
        ),
    ] = None,
    rendered: Annotated[
        bool,
        typer.Option("--rendered", help="Render every golden case on both sides and show the messages that changed."),
    ] = False,
    cost: Annotated[
        bool,
        typer.Option(
            "--cost",
            help="Input tokens of the rendered golden cases and estimated cost per 1,000 calls, each side "
            "(litellm's bundled price table, offline; slower: loads litellm).",
        ),
    ] = False,
    fmt: Annotated[
        Format,
        typer.Option("--format", "-f", help="text (terminal), markdown (PR comment / step summary) or json (stable)."),
    ] = Format.text,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything changed, 0 when nothing did (like git diff).")
    ] = False,
) -> None:
    from ..diff.compare import diff_prompts
    from ..root import find_root

    root = find_root(STATE.root)
    report = diff_prompts(root, args or [], rendered=rendered, cost=cost)
    if fmt is Format.json:
        output.print_json(report.to_dict())
    elif fmt is Format.markdown:
        from ..diff.markdown import render_markdown

        output.print_text(render_markdown(report))
    else:
        for note in report.notes:
            output.info(f"note: {note}")
        print_report(report)
    if exit_code and report.changed:
        raise typer.Exit(1)


def register(prompt_app: typer.Typer) -> None:
    """Add ``diff`` to the ``llmops prompt`` group."""
    prompt_app.command("diff", help=HELP, short_help="What changed in prompts between two refs.")(diff)


# -- terminal rendering ----------------------------------------------------------------------------
_LEVEL_STYLE = {"breaking": "bold red", "feature": "bold yellow", "patch": "green", "none": "dim"}
_STATUS_STYLE = {
    "added": "green",
    "removed": "red",
    "renamed": "cyan",
    "modified": "yellow",
    "affected": "magenta",
    "error": "bold red",
}


def print_report(report: DiffReport) -> None:
    from rich.markup import escape

    con = output.out()
    s = report.summary()
    head = f"[bold]{escape(report.old.label)}[/] → [bold]{escape(report.new.label)}[/]"
    if not report.prompts and not report.problems:
        con.print(f"{head}: no prompt changes ({report.prompts_compared} compared)")
        return
    counts = ", ".join(f"{s[k]} {k}" for k in ("added", "removed", "renamed", "modified", "affected", "error") if s[k])
    lvl = s["highest_impact"]
    con.print(
        f"{head}: {len(report.prompts)} of {report.prompts_compared} prompts changed ({counts}); "
        f"highest impact [{_LEVEL_STYLE[lvl]}]{lvl}[/]"
    )
    for p in report.prompts:
        con.print()
        _print_prompt(con, p)
    if report.problems:
        con.print()
        con.print("[bold red]files that could not be read[/]")
        for pr in report.problems:
            con.print(f"  [red]✗[/] {escape(pr.location())} ({pr.side}): {escape(pr.message)}")


def _print_prompt(con: Console, p: PromptDiff) -> None:
    from rich.markup import escape

    from ..diff.impact import level_of

    name = f"{p.old_name} → {p.new_name}" if p.status == "renamed" else p.name
    lvl = p.impact.level if p.impact else None
    impact = f"[{_LEVEL_STYLE[lvl]}]{lvl.upper()}[/]" if lvl else "[bold red]cannot compare[/]"
    con.print(f"[bold]{escape(name)}[/]  [{_STATUS_STYLE.get(p.status, '')}]{p.status}[/]  {impact}")
    for pr in p.problems:
        con.print(f"  [red]✗[/] {escape(pr.location())}: {escape(pr.message)}")
    for reason in p.affected_by:
        con.print(f"  [magenta]↪[/] {escape(reason)}")
    for c in p.changes:
        lv = level_of(c)
        con.print(f"  • {escape(c.text)}  [{_LEVEL_STYLE[lv]}]\\[{lv}][/]")
    for d in p.template_diffs:
        con.print(f"  [bold]{escape(d.subject)}[/]")
        _print_unified(con, d.unified)
    if p.rendered is not None:
        _print_rendered(con, p)
    if p.cost is not None:
        _print_cost(con, p)


def _print_unified(con: Console, unified: str, indent: str = "    ") -> None:
    from rich.text import Text

    from ..diff.textdiff import paired_lines

    for kind, text, partner in paired_lines(unified):
        line = Text(indent)
        if kind in ("header", "note"):
            line.append(text, style="dim")
        elif kind == "hunk":
            line.append(text, style="cyan")
        elif kind in ("-", "+"):
            style = "red" if kind == "-" else "green"
            line.append(kind, style=style)
            if partner is None:
                line.append(text, style=style)
            else:
                line.append_text(_words(text, partner, kind, style))
        else:
            line.append(" " + text)
        con.print(line)


def _words(text: str, partner: str, kind: str, style: str) -> Text:
    """One changed line with the changed words emphasised (reverse video survives NO_COLOR)."""
    from rich.text import Text

    from ..diff.textdiff import word_diff

    spans = word_diff(partner, text) if kind == "+" else word_diff(text, partner)
    keep = "insert" if kind == "+" else "delete"
    out = Text()
    for op, chunk in spans:
        if op == "equal":
            out.append(chunk, style=style)
        elif op == keep:
            out.append(chunk, style=f"bold {style} reverse")
    return out


def _print_rendered(con: Console, p: PromptDiff) -> None:
    from rich.markup import escape

    r = p.rendered
    assert r is not None
    c = r.counts()
    total = sum(c.values())
    if total == 0:
        con.print("  [dim]rendered: no golden cases[/]")
        return
    con.print(f"  [bold]rendered golden cases[/] ({total}: " + ", ".join(f"{v} {k}" for k, v in c.items() if v) + ")")
    for case in r.cases:
        if case.status == "unchanged":
            continue
        con.print(f"    case [bold]{escape(case.case_id)}[/]: {case.status}")
        for e in case.errors:
            con.print(f"      [red]✗[/] {escape(e)}")
        for m in case.messages:
            con.print(f"      {escape(m.subject)}")
            _print_unified(con, m.unified, indent="        ")


def _print_cost(con: Console, p: PromptDiff) -> None:
    from rich.markup import escape

    from ..diff.cost import format_usd

    cd = p.cost
    assert cd is not None
    for label, sc in (("old", cd.old), ("new", cd.new)):
        if sc is None:
            continue
        toks = (
            "no rendered cases"
            if sc.mean_input_tokens is None
            else f"input tokens mean {sc.mean_input_tokens:.1f}, max {sc.max_input_tokens} over {sc.cases} cases"
        )
        if sc.tool_tokens:
            toks += f" (tool definitions: {sc.tool_tokens:,} in every call)"
        con.print(
            f"  {label}: {escape(sc.model)}: {toks}; {format_usd(sc.cost_per_1k_calls)} per 1,000 calls "
            f"[dim](assuming {sc.output_tokens} output tokens, {sc.output_tokens_from})[/]"
        )
    delta = cd.delta_per_1k_calls
    sign = "+" if delta is not None and delta >= 0 else ""
    con.print(f"  cost Δ per 1,000 calls: [bold]{sign}{format_usd(delta)}[/]")
