"""Reports from a results file: summary rows, JUnit XML for CI systems, a Markdown summary."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

from .. import settings
from ..records.results import EvalResults, PromptSummary, SampleRecord, Summary


@dataclass(frozen=True)
class SummaryRow:
    """One prompt of a summary as the tables show it (text and markdown)."""

    prompt: str
    status: str
    pass_rate: str
    samples: int
    errors: int
    judge_errors: int
    tokens_gen: str
    tokens_judge: str
    cost_usd: str
    latency_ms: str
    metrics: str


def summary_row(name: str, s: PromptSummary) -> SummaryRow:
    return SummaryRow(
        prompt=name,
        status=s.status,
        pass_rate=f"{fmt_rate(s.pass_rate)} ({fmt_rate(s.min_pass_rate)})",
        samples=s.samples,
        errors=s.errors,
        judge_errors=s.judge_errors,
        tokens_gen=f"{s.tokens.generation.prompt}/{s.tokens.generation.completion}",
        tokens_judge=f"{s.tokens.judge.prompt}/{s.tokens.judge.completion}",
        cost_usd=fmt_num(s.cost_usd.total, 4),
        latency_ms=f"{fmt_num(s.latency_ms.p50)}/{fmt_num(s.latency_ms.p95)}",
        metrics=", ".join(f"{m} {v.mean:.2f}" for m, v in s.metrics.items() if v.mean is not None),
    )


def summary_rows(summary: Summary) -> list[SummaryRow]:
    """One row per prompt for tables (``eval run``/``show``/``merge`` and the markdown summary)."""
    return [summary_row(name, s) for name, s in summary.prompts.items()]


def totals_line(summary: Summary) -> str:
    """``12 samples, 10 passed, 1 failed, 1 errors, 0 judge errors, $0.0123`` (after the verdict)."""
    t = summary.totals
    return (
        f"{t.samples} samples, {t.passed} passed, {t.failed} failed, {t.errors} errors, "
        f"{t.judge_errors} judge errors, ${t.cost_usd or 0:.4f}"
    )


SUMMARY_HEADERS = (
    "PROMPT", "STATUS", "PASS (MIN)", "SAMPLES", "ERR", "GEN TOK IN/OUT", "JUDGE TOK IN/OUT", "COST $",
    "P50/P95 MS", "METRICS (MEAN)",
)  # fmt: skip
"""Columns of the per-prompt summary table (:func:`summary_cells`)."""


def summary_cells(summary: Summary) -> list[list[str]]:
    """The per-prompt summary table's cells (columns :data:`SUMMARY_HEADERS`), one row per prompt."""
    cells = []
    for r in summary_rows(summary):
        err = str(r.errors) + (f" (+{r.judge_errors} judge)" if r.judge_errors else "")
        status = "pass" if r.status == "pass" else "FAIL"
        cells.append(
            [r.prompt, status, r.pass_rate, str(r.samples), err, r.tokens_gen, r.tokens_judge, r.cost_usd,
             r.latency_ms, r.metrics or "—"]
        )  # fmt: skip
    return cells


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def fmt_num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def failed_samples(results: EvalResults) -> Iterator[SampleRecord]:
    return (r for r in results.samples if r.status != "pass")


def sample_problems(rec: SampleRecord) -> list[str]:
    """Human-readable reasons a sample did not pass."""
    if rec.error is not None:
        e = rec.error
        return [_printable(f"error: {e.kind}: {e.message} (after {e.attempts} attempt(s))")]
    out = []
    for a in rec.assertions:  # results files may come from a PR: most fields are optional
        reason = _printable(str(a.reason or "no reason recorded"))
        if a.passed is False:
            score = "" if a.score is None else f" (score {a.score:.2f}"
            score += "" if not score else (f" < {a.threshold})" if a.threshold is not None else ")")
            out.append(f"{a.metric}: {reason}{score}")
        elif a.passed is None:
            out.append(f"{a.metric}: {reason}")
    return out


_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN``: a reason may quote a model's output, and an
    escape sequence in it must not drive the terminal that prints it."""
    return _TERMINAL_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


# Characters XML 1.0 cannot carry at all (not even escaped): C0 controls other than tab/LF/CR, surrogates,
# U+FFFE/U+FFFF. Results files may come from a PR (eval compare), so case ids are cleaned, not trusted.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_clean(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def escape(text: str) -> str:
    return _xml_escape(_xml_clean(text))


def quoteattr(text: str) -> str:
    return _xml_quoteattr(_xml_clean(text))


def junit_xml(results: EvalResults) -> str:
    """JUnit XML: a test suite per prompt, a test case per case x sample."""
    suites = []
    by_prompt: dict[str, list[SampleRecord]] = {}
    for rec in results.samples:
        by_prompt.setdefault(rec.prompt, []).append(rec)
    total = fails = errs = 0
    repeated = (results.run.repeat or 1) > 1
    for name in sorted(results.summary.prompts):
        recs = by_prompt.get(name, [])
        cases = []
        s_fail = s_err = 0
        for rec in recs:
            tname = rec.case_id + (f" #{rec.sample}" if repeated else "")
            secs = (rec.latency_ms or 0) / 1000
            body = ""
            problems = "\n".join(sample_problems(rec))
            if rec.status == "fail":
                s_fail += 1
                first = problems.splitlines()[0] if problems else "assertion failed"
                body = f"<failure message={quoteattr(first)}>{escape(problems)}</failure>"
            elif rec.status == "error":
                s_err += 1
                first = problems.splitlines()[0] if problems else "error"
                body = f"<error message={quoteattr(first)}>{escape(problems)}</error>"
            cases.append(
                f"    <testcase classname={quoteattr('llmops.eval.' + name)} name={quoteattr(tname)} "
                f'time="{secs:.3f}">{body}</testcase>'
            )
        total += len(recs)
        fails += s_fail
        errs += s_err
        suites.append(
            f'  <testsuite name={quoteattr(name)} tests="{len(recs)}" failures="{s_fail}" errors="{s_err}">\n'
            + "\n".join(cases)
            + ("\n" if cases else "")
            + "  </testsuite>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="llmops eval" tests="{total}" failures="{fails}" errors="{errs}">\n'
        + "\n".join(suites)
        + ("\n" if suites else "")
        + "</testsuites>\n"
    )


def markdown_summary(results: EvalResults, max_failures: int = 20) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``)."""
    verdict = "✅ passed" if results.summary.passed else "❌ failed"
    lines = [
        f"### llmops eval: {verdict}",
        "",
        "| prompt | status | pass rate (min) | samples | errors | metrics | cost $ | p50/p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summary_rows(results.summary):
        lines.append(
            f"| `{r.prompt}` | {r.status} | {r.pass_rate} | {r.samples} | {r.errors} | {r.metrics} | {r.cost_usd} "
            f"| {r.latency_ms} |"
        )
    failed = list(failed_samples(results))
    if failed:
        lines += ["", f"<details><summary>{len(failed)} sample(s) not passing</summary>", ""]
        for rec in failed[:max_failures]:
            why = "; ".join(sample_problems(rec)).replace("|", "\\|")
            lines.append(f"- `{rec.prompt}` / `{rec.case_id}` #{rec.sample}: {why}")
        if len(failed) > max_failures:
            lines.append(f"- … and {len(failed) - max_failures} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def write_junit(path: str | os.PathLike[str], results: EvalResults) -> None:
    """Write :func:`junit_xml` of ``results`` to ``path`` (parents created, redacted)."""
    from ..redact import redact

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(redact(junit_xml(results)))


def append_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> str | None:
    """Append ``markdown`` (redacted) to ``$GITHUB_STEP_SUMMARY`` when it is set; returns the path written.

    The one writer of the GitHub Actions step summary: ``eval run`` and ``eval gate`` both go through it.
    """
    env = settings.environ() if env is None else env
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    from ..redact import redact

    markdown = redact(markdown)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path


def publish_run(results_path: str, junit: str | os.PathLike[str] | None = None) -> None:
    """After ``eval run``: write the JUnit XML (when asked) and append the markdown summary to the GitHub step
    summary (when ``$GITHUB_STEP_SUMMARY`` is set). The results file is read only when one of them is wanted."""
    if junit is None and not settings.GITHUB_STEP_SUMMARY.raw():
        return
    from .results import load_results

    results = load_results(results_path)
    if junit is not None:
        write_junit(junit, results)
    append_step_summary(markdown_summary(results) + "\n")
