"""A calibration record as text (terminal) or markdown (PR comment, docs)."""

from __future__ import annotations

from ..records.judging import AgreementStat, JudgeCalibration

__all__ = ["calibration_markdown", "calibration_text", "fmt_stat"]


def fmt_stat(stat: AgreementStat | None, digits: int = 2) -> str:
    """``0.78 [0.66, 0.90]`` (``n/a`` when missing or undefined)."""
    if stat is None or stat.value is None:
        return "n/a"
    if stat.low is None or stat.high is None:
        return f"{stat.value:.{digits}f}"
    return f"{stat.value:.{digits}f} [{stat.low:.{digits}f}, {stat.high:.{digits}f}]"


def _rows(cal: JudgeCalibration) -> list[tuple[str, str]]:
    rows = [(cal.statistic, fmt_stat(cal.kappa)), ("exact agreement", fmt_stat(cal.accuracy))]
    if cal.f1_fail is not None:
        rows.append(("F1 at catching fails", fmt_stat(cal.f1_fail)))
    if cal.mean_signed_error is not None:
        mse = fmt_stat(cal.mean_signed_error)
        v = cal.mean_signed_error.value or 0.0
        lean = "lenient" if v > 0 else "strict" if v < 0 else "neither"
        rows.append(("mean signed error (judge - human)", f"{mse} ({lean})"))
    if cal.human_alpha is not None:
        rows.append(("human raters' alpha (ceiling)", fmt_stat(cal.human_alpha)))
    if cal.judge_alpha is not None:
        rows.append(("alpha with the judge as a rater", fmt_stat(cal.judge_alpha)))
    return rows


def _probe_lines(cal: JudgeCalibration) -> list[tuple[str, str, str]]:
    return [(p.name, fmt_stat(p.effect), ("FLAGGED: " if p.flagged else "ok: ") + p.detail) for p in cal.probes]


def calibration_text(cal: JudgeCalibration) -> str:
    """The terminal report."""
    lines = [
        f"judge {cal.judge} ({cal.model}, K={cal.samples}) on {cal.labels_file}: "
        f"{cal.scored} of {cal.items} items scored, {cal.judge_errors} judge errors",
    ]
    width = max(len(name) for name, _ in _rows(cal))
    lines += [f"  {name.ljust(width)}  {value}" for name, value in _rows(cal)]
    lines.append("  confusion (rows: human, columns: judge)")
    cats = cal.confusion.categories
    cw = max(4, *(len(c) for c in cats))
    lines.append("    " + " " * cw + "".join(c.rjust(cw + 1) for c in cats))
    for c, row in zip(cats, cal.confusion.counts, strict=True):
        lines.append("    " + c.rjust(cw) + "".join(str(x).rjust(cw + 1) for x in row))
    if cal.probes:
        lines.append("  bias probes")
        lines += [f"    {name:<15} {effect:<24} {verdict}" for name, effect, verdict in _probe_lines(cal)]
    lines.append("  intervals: 95 %; " + cal.kappa.method)
    return "\n".join(lines) + "\n"


def calibration_markdown(cal: JudgeCalibration) -> str:
    """The markdown report (a PR comment or a docs page)."""
    out = [
        f"### Judge `{cal.judge}` calibration",
        "",
        f"{cal.scored} of {cal.items} labelled items scored ({cal.judge_errors} judge errors) by `{cal.model}`, "
        f"K={cal.samples}, labels `{cal.labels_file}`. Intervals: 95 %.",
        "",
        "| statistic | value [95 % interval] |",
        "|---|---|",
    ]
    out += [f"| {name} | {value} |" for name, value in _rows(cal)]
    cats = cal.confusion.categories
    out += ["", "Confusion (rows: human, columns: judge)", "", "| human \\ judge | " + " | ".join(cats) + " |"]
    out.append("|---" * (len(cats) + 1) + "|")
    out += [
        f"| {c} | " + " | ".join(str(x) for x in row) + " |" for c, row in zip(cats, cal.confusion.counts, strict=True)
    ]
    if cal.probes:
        out += ["", "| bias probe | effect [95 % interval] | verdict |", "|---|---|---|"]
        out += [f"| {n} | {e} | {v} |" for n, e, v in _probe_lines(cal)]
    return "\n".join(out) + "\n"
