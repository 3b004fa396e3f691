"""The gate report as GitHub-flavoured markdown: verdict first, a per-prompt table, then details.

Layout: a verdict heading and line; a table with one row per gated prompt × metric (state, Δ, interval,
MDE, n, clusters, K, flips, cost of base and head per 1k calls); prompts not gated; then, per prompt, a
collapsible ``<details>`` block with the reasons, error counts, added/removed cases and the worst regressed
cases with base and head outputs side by side.
"""

from __future__ import annotations

import html

from .decide import GateReport, PromptGate

ICONS = {"PASS": "✅", "WARN": "⚠️", "FAIL": "❌"}


def _f(x: float | None, fmt: str = "+.3f") -> str:
    return "—" if x is None else format(x, fmt)


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _cost(x: float | None) -> str:
    return "—" if x is None else f"${x:.4f}"


def _table(report: GateReport) -> list[str]:
    k = report.settings.get("judge_samples")
    level = round(100 * (1 - 2 * float(report.settings.get("alpha", 0.05))))
    lines = [
        f"| prompt | metric | state | Δ | {level}% interval | MDE | n | clusters | K | flips ↓/↑ "
        "| $/1k calls base → head |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for p in report.gated:
        cost = f"{_cost(p.base.cost_per_1k if p.base else None)} → {_cost(p.head.cost_per_1k if p.head else None)}"
        if not p.metrics:
            lines.append(
                f"| `{_cell(p.prompt)}` | — | {ICONS[p.state or 'WARN']} {p.state} | | | | | | {k} | | {cost} |"
            )
            continue
        for m in p.metrics:
            state = m.state
            interval = "—" if m.lb is None else f"[{m.lb:+.3f}, {m.ub:+.3f}]"
            flips = f"{m.flips[0]}/{m.flips[1]}" if m.flips else ""
            lines.append(
                f"| `{_cell(p.prompt)}` | {_cell(m.metric)} | {ICONS[state]} {state} | {_f(m.delta)} | {interval} "
                f"| {_f(m.mde, '.3f')} | {m.n_cases} | {m.n_clusters} | {k} | {flips} | {cost} |"
            )
        if _error_failed(p):
            lines.append(f"| `{_cell(p.prompt)}` | errors | ❌ FAIL | | | | | | {k} | | {cost} |")
    return lines


def _error_failed(p: PromptGate) -> bool:
    return any(e.failed for e in p.errors)


def _details(p: PromptGate) -> list[str]:
    out = [
        f"<details><summary><b>{html.escape(p.prompt)}</b> — {ICONS[p.state or 'WARN']} {p.state}: "
        f"{html.escape(p.reason)}</summary>",
        "",
    ]
    for m in p.metrics:
        extra = f" McNemar p = {m.mcnemar_p:.3g}." if m.mcnemar_p is not None and m.flips != (0, 0) else ""
        out.append(f"- **{_cell(m.metric)}** ({m.kind}): {_cell(m.reason)}{extra}")
    for e in p.errors:
        note = f" — **{_cell(e.reason)}**" if e.failed else ""
        out.append(
            f"- {e.kind} errors: base {e.base_errors}/{e.base_total}, head {e.head_errors}/{e.head_total} "
            f"(max {e.max_rate:.1%}){note}"
        )
    if p.cases_added:
        out.append(f"- cases added in head (not paired): {', '.join(f'`{_cell(c)}`' for c in p.cases_added)}")
    if p.cases_removed:
        out.append(f"- cases removed in head (not paired): {', '.join(f'`{_cell(c)}`' for c in p.cases_removed)}")
    if p.base and p.head:
        out.append(
            f"- eval cost: base ${p.base.eval_cost:.4f}, head ${p.head.eval_cost:.4f}; "
            f"generation cost per 1k calls: base {_cost(p.base.cost_per_1k)}, head {_cost(p.head.cost_per_1k)}"
        )
    if p.worst:
        out += ["", "Worst regressed cases:", "", "| case | metric | base | head | base output | head output |"]
        out.append("|---|---|---:|---:|---|---|")
        for w in p.worst:
            out.append(
                f"| `{_cell(w.case_id)}` | {_cell(w.metric)} | {w.base_score:.3f} | {w.head_score:.3f} "
                f"| {_cell(w.base_output or '(error)')} | {_cell(w.head_output or '(error)')} |"
            )
    out += ["", "</details>", ""]
    return out


def to_markdown(report: GateReport) -> str:
    """The report as markdown for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    lines = [f"## {ICONS[report.verdict]} llmops eval gate: {report.verdict}", "", _cell(report.line), ""]
    base = report.base.get("label") or "base"
    lines.append(
        f"Base: `{_cell(str(base))}` · head: `{_cell(str(report.head.get('label') or 'head'))}` · "
        f"R = {report.settings.get('repeat')}, K = {report.settings.get('judge_samples')}, "
        f"practical {report.settings['practical']}, margin {report.settings['margin']}, "
        f"α {report.settings['alpha']} (one-sided)"
    )
    lines.append("")
    if report.gated:
        lines += _table(report)
        lines.append("")
    others = [p for p in report.prompts if p.status != "gated"]
    if others:
        lines.append("Not gated:")
        lines.append("")
        for p in others:
            lines.append(f"- `{_cell(p.prompt)}` — {p.status}: {_cell(p.reason)}")
        lines.append("")
    for p in report.gated:
        lines += _details(p)
    return "\n".join(lines).rstrip() + "\n"
