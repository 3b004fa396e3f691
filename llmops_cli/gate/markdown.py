"""The gate report as GitHub-flavoured markdown: verdict first, one line per prompt, then details.

Layout: a verdict heading and line; a table with one row per gated prompt that did not PASS (state,
decisive metric, Δ, interval, MDE, p-value Holm-adjusted within the prompt and across the PR, n, clusters, K,
generation cost per 1k calls base → head — "unknown"
when unpriced), followed by the reason with the regressed clusters named; the PASS prompts folded in a
``<details>`` block (``verbose``: every metric of every prompt in the table); prompts not gated; then per
non-PASS prompt a collapsible block with each metric's reason, error counts, added/removed cases and the
worst regressed cases with base and head outputs side by side.
"""

from __future__ import annotations

import html
from typing import Any

from .decide import GateReport, PromptGate
from .stats import MetricComparison

ICONS = {"PASS": "✅", "WARN": "⚠️", "FAIL": "❌"}


def _f(x: float | None, fmt: str = "+.3f") -> str:
    return "—" if x is None else format(x, fmt)


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def cost_text(x: float | None) -> str:
    """A cost per 1k calls: ``$0.0123``, or ``unknown`` (never ``$0`` for an unpriced model)."""
    return "unknown" if x is None else f"${x:.4f}"


def prompt_cost(p: PromptGate) -> str:
    return f"{cost_text(p.base.cost_per_1k if p.base else None)} → {cost_text(p.head.cost_per_1k if p.head else None)}"


def interval_text(m: MetricComparison | None) -> str:
    return "—" if m is None or m.lb is None or m.ub is None else f"[{m.lb:+.3f}, {m.ub:+.3f}]"


def p_text(x: float | None) -> str:
    """A p-value for a table cell (3 significant digits; ``—`` when there is none)."""
    return "—" if x is None else f"{x:.3g}"


HEADER = (
    "| prompt | state | metric | Δ | {level}% interval | MDE | p (prompt) | p (PR) | n | clusters | K "
    "| $/1k calls base → head |"
)
RULE = "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|"


def _row(p: PromptGate, m: MetricComparison | None, k: object, state: str | None = None) -> str:
    state = state or p.state or "WARN"
    metric = "errors" if m is None else _cell(m.metric) + ("" if m.decisive else " (info)")
    return (
        f"| `{_cell(p.prompt)}` | {ICONS[state]} {state} | {metric} | {_f(m.delta if m else None)} "
        f"| {interval_text(m)} | {_f(m.mde if m else None, '.3f')} | {p_text(m.p_adjusted if m else None)} "
        f"| {p_text(m.p_pr if m else None)} | {m.n_cases if m else ''} "
        f"| {m.n_clusters if m else ''} | {k} | {prompt_cost(p)} |"
    )


def _rows(p: PromptGate, k: object, verbose: bool) -> list[str]:
    if any(e.failed for e in p.errors) and not verbose:
        return [_row(p, None, k, "FAIL")]
    if verbose:
        return [_row(p, m, k, m.state) for m in p.metrics] or [_row(p, None, k)]
    return [_row(p, p.lead, k)]


def _table(report: GateReport, prompts: list[PromptGate], verbose: bool) -> list[str]:
    level = round(100 * (1 - 2 * float(report.settings.get("alpha", 0.05))))
    k = report.settings.get("judge_samples")
    lines = [HEADER.format(level=level), RULE]
    for p in prompts:
        lines += _rows(p, k, verbose)
    return lines


def _calibration_text(status: dict[str, Any]) -> str:
    """``judges/rubric: calibrated (kappa 0.81, lower bound 0.72)`` / ``…: stale (why)`` / ``…: uncalibrated``."""
    name, state = str(status.get("judge", "")), str(status.get("state", ""))
    if state == "calibrated":
        low, kappa = status.get("kappa_low"), status.get("kappa")
        low_s = "n/a" if not isinstance(low, float | int) else f"{low:.2f}"
        kappa_s = "n/a" if not isinstance(kappa, float | int) else f"{kappa:.2f}"
        return f"{name}: calibrated ({status.get('statistic')} {kappa_s}, 95% lower bound {low_s})"
    detail = status.get("detail")
    return f"{name}: {state}" + (f" ({detail})" if detail and state == "stale" else "")


def _judges_lines(report: GateReport) -> list[str]:
    """One line with each judge's calibration status, and a warning per metric a judge could not decide."""
    seen: dict[str, dict[str, Any]] = {}
    for p in report.gated:
        for statuses in p.judge_calibration.values():
            for st in statuses:
                seen.setdefault(str(st.get("judge")), st)
    out: list[str] = []
    if seen:
        out += ["", "Judges: " + " · ".join(_cell(_calibration_text(seen[j])) for j in sorted(seen))]
    for p in report.gated:
        for n in p.judge_notes:
            if n.kind == "uncalibrated-judge":
                out += ["", f"> ⚠️ `{_cell(p.prompt)}` **{_cell(n.metric)}**: {_cell(n.detail)}"]
    return out


def _details(p: PromptGate) -> list[str]:
    out = [
        f"<details><summary><b>{html.escape(p.prompt)}</b> — {ICONS[p.state or 'WARN']} {p.state}: "
        f"{html.escape(p.reason)}</summary>",
        "",
    ]
    for m in p.metrics:
        role = "decisive" if m.decisive else "reported, not decisive"
        flips = f" Flips pass→fail/fail→pass {m.flips[0]}/{m.flips[1]}." if m.flips else ""
        out.append(f"- **{_cell(m.metric)}** ({m.kind}, {role}): {_cell(m.reason)}{flips}")
    for e in p.errors:
        note = f" — **{_cell(e.reason)}**" if e.failed else ""
        out.append(
            f"- {e.kind} errors: base {e.base_errors}/{e.base_total}, head {e.head_errors}/{e.head_total} "
            f"(max {e.max_rate:.1%}){note}"
        )
    for n in p.judge_notes:
        out.append(f"- judge note on **{_cell(n.metric)}** ({n.kind}): {_cell(n.detail)}")
    if p.pairwise:
        out.append(f"- pairwise judge: {_cell(str(p.pairwise.get('reason', '')))} → **{p.pairwise.get('state')}**")
    if p.flaky:
        named = ", ".join(f"`{_cell(str(c['case']))}` ({c['passes']}/{c['samples']} pass)" for c in p.flaky)
        out.append(f"- flaky in head (the verdict flips across samples): {named}")
    for metric, statuses in p.judge_calibration.items():
        text = "; ".join(_calibration_text(s) for s in statuses)
        out.append(f"- judge calibration of **{_cell(metric)}**: {_cell(text)}")
    if p.cases_added:
        out.append(f"- cases added in head (not paired): {', '.join(f'`{_cell(c)}`' for c in p.cases_added)}")
    if p.cases_removed:
        out.append(f"- cases removed in head (not paired): {', '.join(f'`{_cell(c)}`' for c in p.cases_removed)}")
    if p.cases_not_run:
        out.append(
            "- cases listed on both sides but run on one only (counted as provider errors): "
            + ", ".join(f"`{_cell(c)}`" for c in p.cases_not_run)
        )
    if p.base and p.head:
        out.append(
            f"- eval cost: base {cost_text(p.base.eval_cost)}, head {cost_text(p.head.eval_cost)}; "
            f"generation cost per 1k calls: {prompt_cost(p)}"
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


def _holm_note(report: GateReport) -> str:
    family = int(report.settings.get("holm_family") or 1)
    if family <= 1:
        return ""
    return f", Holm over the {family} decisive metrics of the gated prompts (p (PR) decides)"


def to_markdown(report: GateReport, *, verbose: bool = False) -> str:
    """The report as markdown for a PR comment or ``$GITHUB_STEP_SUMMARY`` (``verbose``: every metric row)."""
    lines = [f"## {ICONS[report.verdict]} llmops eval gate: {report.verdict}", "", _cell(report.line), ""]
    base = report.base.get("label") or "base"
    lines.append(
        f"Base: `{_cell(str(base))}` · head: `{_cell(str(report.head.get('label') or 'head'))}` · "
        f"R = {report.settings.get('repeat')}, K = {report.settings.get('judge_samples')}, "
        f"practical {report.settings['practical']}, α {report.settings['alpha']} (one-sided)" + _holm_note(report)
    )
    changed = report.policy.changed_line() if report.policy is not None else None
    if changed and report.policy is not None:
        lines += ["", f"> ⚠️ **{_cell(changed)}** (gate settings from {_cell(report.policy.source)})"]
    if report.judge is not None:
        for judge_line in (report.judge.changed_line(), report.judge.new_line()):
            if judge_line:
                lines += ["", f"> ⚠️ **{_cell(judge_line)}** (judges from {_cell(report.judge.source)})"]
    lines += _judges_lines(report)
    lines.append("")
    removals = [p for p in report.prompts if p.status != "gated" and p.state is not None]
    if removals:
        for p in removals:
            lines.append(f"- {ICONS[p.state or 'WARN']} `{_cell(p.prompt)}` — {p.status}: {_cell(p.reason)}")
        lines.append("")
    shown = [p for p in report.gated if verbose or p.state != "PASS"]
    passed = [p for p in report.gated if not verbose and p.state == "PASS"]
    if shown:
        lines += _table(report, shown, verbose)
        lines.append("")
        for p in shown:
            if p.state != "PASS":
                lines.append(f"- {ICONS[p.state or 'WARN']} `{_cell(p.prompt)}` — {_cell(p.reason)}")
        lines.append("")
    if passed:
        lines += [f"<details><summary>✅ {len(passed)} prompt{'s' if len(passed) != 1 else ''} PASS</summary>", ""]
        lines += _table(report, passed, False)
        lines += ["", "</details>", ""]
    others = [p for p in report.prompts if p.status != "gated" and p.state is None]
    if others:
        lines += ["Not gated:", ""]
        for p in others:
            lines.append(f"- `{_cell(p.prompt)}` — {p.status}: {_cell(p.reason)}")
        lines.append("")
    for p in report.gated:
        if verbose or p.state != "PASS":
            lines += _details(p)
    return "\n".join(lines).rstrip() + "\n"
