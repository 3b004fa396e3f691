"""``--format markdown``: a PR comment / ``$GITHUB_STEP_SUMMARY``: a summary table first, then a
collapsible ``<details>`` per prompt with structural changes, template diffs, rendered cases and cost."""

from __future__ import annotations

from .cost import format_usd
from .impact import level_of
from .report import DiffReport, PromptDiff

MAX_DIFF_LINES = 200  # per diff block, so a big change still fits a PR comment
_ICON = {"breaking": "🔴", "feature": "🟡", "patch": "🟢", "none": "⚪"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"``{text}``"


def _fence(body: str, lang: str = "diff") -> str:
    lines = body.rstrip("\n").splitlines()
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more lines"]
    text = "\n".join(lines)
    ticks = "````" if "```" in text else "```"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _name(p: PromptDiff) -> str:
    if p.status == "renamed":
        return f"{_code(p.old_name or '')} → {_code(p.new_name or '')}"
    return _code(p.name)


def _impact(p: PromptDiff) -> str:
    if p.impact is None:
        return "?"
    return f"{_ICON[p.impact.level]} {p.impact.level}"


def _cost_cell(p: PromptDiff) -> str:
    if p.cost is None:
        return ""
    a = p.cost.old.cost_per_1k_calls if p.cost.old else None
    b = p.cost.new.cost_per_1k_calls if p.cost.new else None
    if p.cost.old is None:
        return format_usd(b)
    if p.cost.new is None:
        return f"{format_usd(a)} → —"
    return f"{format_usd(a)} → {format_usd(b)}"


def _headline(p: PromptDiff) -> str:
    if p.problems:
        return "; ".join(f"cannot read {pr.location()}" for pr in p.problems[:2])
    if p.impact and p.impact.reasons:
        more = len(p.impact.reasons) - 2
        return "; ".join(p.impact.reasons[:2]) + (f" (+{more} more)" if more > 0 else "")
    if p.affected_by:
        return "; ".join(p.affected_by[:2])
    return "metadata only" if p.impact and p.impact.level == "none" else ""


def render_markdown(report: DiffReport) -> str:
    """The whole report as GitHub-flavoured markdown."""
    s = report.summary()
    out = [f"### Prompt diff: {_code(report.old.label)} → {_code(report.new.label)}", ""]
    if not report.prompts and not report.problems:
        out.append(f"No prompt changes ({report.prompts_compared} prompts compared).")
        return "\n".join(out) + "\n"
    counts = ", ".join(f"{s[k]} {k}" for k in ("added", "removed", "renamed", "modified", "affected", "error") if s[k])
    out.append(
        f"**{len(report.prompts)} prompt(s) changed** ({counts}) of {report.prompts_compared} · "
        f"highest impact: **{s['highest_impact']}**"
    )
    out.append("")
    if report.prompts:
        cols = ["Prompt", "Status", "Impact", "What changed"] + (["Cost / 1k calls"] if report.cost else [])
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "---|" * len(cols))
        for p in report.prompts:
            row = [_name(p), p.status, _impact(p), _cell(_headline(p))]
            if report.cost:
                row.append(_cell(_cost_cell(p)))
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    if report.problems:
        out.append("**Files that could not be read**")
        out.append("")
        for pr in report.problems:
            out.append(f"- {_code(pr.location())} ({pr.side}): {pr.message}")
        out.append("")
    for note in report.notes:
        out.append(f"> {note}")
        out.append("")
    for p in report.prompts:
        out.extend(_details(p))
    return "\n".join(out).rstrip("\n") + "\n"


def _details(p: PromptDiff) -> list[str]:
    import html

    out = [f"<details><summary><b>{html.escape(p.name)}</b> — {p.status}, {_impact(p)}</summary>", ""]
    if p.status == "renamed":
        out.append(f"Renamed from {_code(p.old_file or '')} to {_code(p.new_file or '')}.")
        out.append("")
    for pr in p.problems:
        out.append(f"- ❌ {_code(pr.location())}: {pr.message}")
    for reason in p.affected_by:
        out.append(f"- ↪ {reason}")
    for c in p.changes:
        out.append(f"- {c.text} _({level_of(c)})_")
    out.append("")
    for d in p.template_diffs:
        out.append(f"**{d.subject}**")
        out.append("")
        out.append(_fence(d.unified))
        out.append("")
    if p.rendered is not None:
        out.extend(_rendered(p))
    if p.cost is not None:
        out.extend(_cost(p))
    out.append("</details>")
    out.append("")
    return out


def _rendered(p: PromptDiff) -> list[str]:
    r = p.rendered
    assert r is not None
    c = r.counts()
    total = sum(c.values())
    if total == 0:
        return ["_No golden cases to render._", ""]
    summary = ", ".join(f"{v} {k}" for k, v in c.items() if v)
    out = [f"**Rendered golden cases** ({total}: {summary})", ""]
    for case in r.cases:
        if case.status == "unchanged":
            continue
        out.append(f"- case {_code(case.case_id)}: {case.status}")
        for e in case.errors:
            out.append(f"  - ❌ {e}")
    out.append("")
    for case in r.cases:
        for m in case.messages:
            out.append(f"case {_code(case.case_id)}, {m.subject}:")
            out.append("")
            out.append(_fence(m.unified))
            out.append("")
    return out


def _cost(p: PromptDiff) -> list[str]:
    cd = p.cost
    assert cd is not None
    out = ["**Tokens and cost** (input tokens over the rendered golden cases)", ""]
    out.append("| Side | Model | Cases | Mean input tokens | Max | Assumed output tokens | Cost / 1k calls |")
    out.append("|---|---|---|---|---|---|---|")
    for label, sc in (("old", cd.old), ("new", cd.new)):
        if sc is None:
            continue
        mean = "—" if sc.mean_input_tokens is None else f"{sc.mean_input_tokens:.1f}"
        mx = "—" if sc.max_input_tokens is None else str(sc.max_input_tokens)
        out.append(
            f"| {label} | {_code(sc.model)} | {sc.cases} | {mean} | {mx} | "
            f"{sc.output_tokens} ({sc.output_tokens_from}) | {format_usd(sc.cost_per_1k_calls)} |"
        )
    delta = cd.delta_per_1k_calls
    sign = "+" if delta is not None and delta >= 0 else ""
    tool_lines = [
        f"{label}: {sc.tool_tokens:,}" for label, sc in (("old", cd.old), ("new", cd.new)) if sc and sc.tool_tokens
    ]
    if tool_lines:
        out.append("")
        out.append("Tool definitions (input tokens in every call, included above): " + ", ".join(tool_lines))
    out.append("")
    out.append(f"Δ cost per 1,000 calls: **{sign}{format_usd(delta)}**")
    out.append("")
    return out
