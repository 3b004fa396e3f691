"""One self-contained HTML file for a results file or a gate report: inline CSS and JS, no network.

The data is embedded as JSON in a ``<script type="application/json">`` element, with ``<``, ``>``, ``&``
and U+2028/U+2029 escaped, so no model output can close the element or start markup; the page's script
builds the DOM with ``textContent`` only (never ``innerHTML``). A Content-Security-Policy meta tag allows
nothing but the page's own inline script and style, pinned by their SHA-256 hashes: no remote load, no
injected script, no form posts.

Inputs are a results file as read and validated by :func:`llmops_cli.evals.results.load_results` (the typed
:class:`~llmops_cli.records.results.EvalResults`) and a gate report (the typed
:class:`~llmops_cli.records.gate_report.GateReportRecord`): rendered from their typed fields, never re-read
as dicts. Every string shown is clipped (:data:`MAX_TEXT`), so a huge output cannot make a huge page.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import math
import re
from importlib import resources
from typing import Any

from .._version import __version__
from ..records.content import content_text, media_parts, part_label
from ..records.gate_report import (
    ArmRecord,
    CaseChangeRecord,
    GateReportRecord,
    MetricRecord,
    PromptGateRecord,
)
from ..records.results import AssertionRecord, EvalResults, Execution, PromptInfo, PromptSummary, SampleRecord
from ..redact import redact

MAX_TEXT = 20_000  # characters of any one output, message, reason or expected value shown
MAX_THUMB_BYTES = 256_000  # an image larger than this is listed by its label, without a thumbnail
_THUMB_URL = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*$")
MAX_DIFF_TOKENS = 2_000  # words per side diffed; longer texts are diffed on their first words
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")
_WORD = re.compile(r"\s+|\S+\s*")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _finite(value: Any, depth: int = 0) -> Any:
    """``value`` with non-finite floats as None (JSON has no NaN) and nesting bounded."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 40:
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, depth + 1) for v in value]
    return value


def embed_json(data: Any) -> str:
    """JSON that is safe as the text of a ``<script type="application/json">`` element."""
    text = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    text = redact(text)  # outputs and errors may echo keys; the replacement is JSON-safe text
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES[m.group()], text)


def csp_hash(text: str) -> str:
    """The CSP source expression pinning an inline script or style to its exact text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def render_page(payload: dict[str, Any], title: str) -> str:
    """The HTML document: CSP, style, the embedded payload and the script that renders it."""
    css = _asset("report.css")
    js = _asset("report.js")
    csp = (
        f"default-src 'none'; script-src {csp_hash(js)}; style-src {csp_hash(css)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_escape_text(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        '<noscript>This report needs JavaScript (inline only; it loads nothing).</noscript>\n<div id="app"></div>\n'
        f'<script type="application/json" id="llmops-data">{embed_json(payload)}</script>\n'
        f"<script>{js}</script>\n</body>\n</html>\n"
    )


# -- helpers ------------------------------------------------------------------------------------------------


def _clip(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A string for display, clipped to ``limit`` characters (structured values as JSON)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit} more characters)"


def _thumbs(content: Any) -> list[dict[str, Any]] | None:
    """The image/file parts of a message for the report: a label each, and for an image of at most
    :data:`MAX_THUMB_BYTES` its data URL as the thumbnail source (PNG, JPEG, GIF, WebP only: never SVG, never
    a remote URL — the page loads nothing)."""
    out: list[dict[str, Any]] = []
    try:
        parts = media_parts(content)
    except ValueError:
        return None
    for part in parts[:16]:
        url = part.url or ""
        ok = (
            part.type == "image"
            and part.size is not None
            and part.size <= MAX_THUMB_BYTES
            and _THUMB_URL.match(url) is not None
            and url.startswith(f"data:{part.media_type};")
        )
        out.append({"label": part_label(part), "name": part.name, "src": url if ok else None})
    return out or None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def word_diff(base: str | None, head: str | None, limit: int = MAX_DIFF_TOKENS) -> list[list[str]]:
    """Word-level diff of two texts: ``[[op, text], …]`` with op ``=`` (same), ``-`` (only base), ``+``
    (only head). A word keeps its trailing whitespace, so joining the ``=``/``-`` parts gives the base
    back and the ``=``/``+`` parts the head (up to ``limit`` tokens per side; the rest is one ``-``/``+``)."""
    a, b = _WORD.findall(base or ""), _WORD.findall(head or "")
    tail_a, tail_b = "".join(a[limit:]), "".join(b[limit:])
    a, b = a[:limit], b[:limit]
    ops: list[list[str]] = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if ops and ops[-1][0] == op:
            ops[-1][1] += text
        else:
            ops.append([op, text])

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("=", "".join(a[i1:i2]))
        else:
            put("-", "".join(a[i1:i2]))
            put("+", "".join(b[j1:j2]))
    put("-", tail_a)
    put("+", tail_b)
    return ops


# -- results ------------------------------------------------------------------------------------------------

_RANK = {"pass": 0, "fail": 1, "error": 2}


def _assertion(a: AssertionRecord) -> dict[str, Any]:
    return {
        "type": a.type or "",
        "metric": a.metric or a.type or "",
        "score": _num(a.score),
        "threshold": _num(a.threshold),
        "passed": a.passed,
        "reason": _clip(a.reason) or "",
        "samples": [_num(s) for s in a.samples] if a.samples is not None else None,
        "reasonings": [_clip(r, 4000) for r in a.reasonings] if a.reasonings is not None else None,
        "judge_errors": a.judge_errors,
    }


def _sample(rec: SampleRecord) -> dict[str, Any]:
    err, judge = rec.error, rec.judge
    return {
        "sample": rec.sample,
        "status": rec.status or "error",
        "score": _num(rec.score),
        "output": _clip(rec.output),
        "error": _clip(f"{err.kind or 'error'}: {err.message or ''}") if err is not None else None,
        "latency_ms": _num(rec.latency_ms),
        "cost_usd": _num(rec.cost_usd),
        "judge_cost_usd": _num(judge.cost_usd) if judge is not None else None,
        "judge_errors": (judge.errors or 0) if judge is not None else 0,
        "assertions": [_assertion(a) for a in rec.assertions],
    }


def _prompt_summary(name: str, s: PromptSummary, info: PromptInfo | None) -> dict[str, Any]:
    return {
        "name": name,
        "status": s.status,
        "model": info.model if info is not None else None,
        "cases": s.cases,
        "samples": s.samples,
        "passed": s.passed,
        "failed": s.failed,
        "errors": s.errors,
        "judge_errors": s.judge_errors,
        "pass_rate": _num(s.pass_rate),
        "min_pass_rate": _num(s.min_pass_rate),
        "metrics": {m: _num(v.mean) for m, v in s.metrics.items()},
        "cost_total": _num(s.cost_usd.total),
        "cost_generation": _num(s.cost_usd.generation),
        "cost_judge": _num(s.cost_usd.judge),
        "p50_ms": _num(s.latency_ms.p50),
        "p95_ms": _num(s.latency_ms.p95),
    }


def _case_row(rec: SampleRecord, ctx: dict[str, Any]) -> dict[str, Any]:
    msgs = ctx.get("messages") if isinstance(ctx.get("messages"), list) else None
    return {
        "prompt": rec.prompt,
        "id": rec.case_id,
        "cluster": rec.cluster,
        "tags": [str(t) for t in ctx.get("tags") or []],
        "expected": _clip(ctx.get("expected")),
        "messages": [
            {
                "role": str(m.get("role", "")),
                "content": _clip(content_text(m.get("content"))),
                "images": _thumbs(m.get("content")),
            }
            for m in msgs or []
            if isinstance(m, dict)
        ]
        or None,
        "status": "pass",
        "samples": [],
    }


def results_payload(
    results: EvalResults, context: dict[str, dict[str, dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The results view's data: run facts, per-prompt summaries and one row per prompt × case.

    ``context`` (optional, see :func:`llmops_cli.report.context.case_context`): per prompt and case id the
    rendered ``messages``, ``expected`` value and ``tags``.
    """
    context = context or {}
    cases: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in results.samples:
        row = cases.get((rec.prompt, rec.case_id))
        if row is None:
            ctx = (context.get(rec.prompt) or {}).get(rec.case_id) or {}
            row = cases[(rec.prompt, rec.case_id)] = _case_row(rec, ctx)
        s = _sample(rec)
        row["samples"].append(s)
        if _RANK[s["status"]] > _RANK[row["status"]]:
            row["status"] = s["status"]
    run, summary = results.run, results.summary
    ex = run.execution or Execution()
    return {
        "passed": summary.passed,
        "run": {
            "id": ex.id,
            "git_sha": run.git_sha,
            "source": run.source,
            "repeat": run.repeat,
            "judge_samples": run.judge_samples,
            "started_at": ex.started_at,
            "finished_at": ex.finished_at,
            "llmops_version": run.llmops_version,
        },
        "totals": summary.totals.to_dict(),
        "prompts": [_prompt_summary(n, s, results.prompts.get(n)) for n, s in sorted(summary.prompts.items())],
        "cases": list(cases.values()),
    }


def results_html(
    results: EvalResults, *, context: dict[str, dict[str, dict[str, Any]]] | None = None, title: str | None = None
) -> str:
    """The results view of a results file as one self-contained HTML page."""
    payload = {"kind": "results", "generator": f"llmops {__version__}", "results": results_payload(results, context)}
    return render_page(payload, title or "llmops eval report")


# -- gate ---------------------------------------------------------------------------------------------------


def _metric(m: MetricRecord) -> dict[str, Any]:
    return {
        "metric": m.metric,
        "kind": m.kind,
        "decisive": m.decisive,
        "state": m.state,
        "delta": _num(m.delta),
        "lb": _num(m.lb),
        "ub": _num(m.ub),
        "mde": _num(m.mde),
        "base_mean": _num(m.base_mean),
        "head_mean": _num(m.head_mean),
        "p_value": _num(m.p_value),
        "p_adjusted": _num(m.p_adjusted),
        "n_cases": m.n_cases,
        "n_clusters": m.n_clusters,
        "test": m.test,
        "reason": _clip(m.reason) or "",
        "clusters": [{"cluster": c.cluster, "n": c.n, "delta": _num(c.delta)} for c in m.clusters],
    }


def _arm(a: ArmRecord | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "model": a.model,
        "cases": a.cases,
        "cost_per_1k": _num(a.cost_per_1k),
        "eval_cost": _num(a.eval_cost),
        "provider_errors": a.provider_errors,
        "judge_errors": a.judge_errors,
        "generations": a.generations,
        "judge_calls": a.judge_calls,
    }


def _worst(w: CaseChangeRecord) -> dict[str, Any]:
    base, head = _clip(w.base_output), _clip(w.head_output)
    return {
        "case_id": w.case_id,
        "metric": w.metric,
        "base": _num(w.base),
        "head": _num(w.head),
        "delta": _num(w.delta),
        "base_output": base,
        "head_output": head,
        "diff": word_diff(base, head) if base is not None and head is not None else None,
    }


def _prompt(p: PromptGateRecord) -> dict[str, Any]:
    return {
        "prompt": p.prompt,
        "status": p.status,
        "state": p.state,
        "reason": _clip(p.reason) or "",
        "decisive_metric": p.decisive_metric,
        "regressed_clusters": [c.to_dict() for c in p.regressed_clusters],
        "metrics": [_metric(m) for m in p.metrics],
        "errors": [
            {
                "kind": e.kind,
                "failed": e.failed,
                "reason": _clip(e.reason) or "",
                "base": e.base.to_dict(),
                "head": e.head.to_dict(),
            }
            for e in p.errors
        ],
        "cases_added": p.cases_added,
        "cases_removed": p.cases_removed,
        "worst_cases": [_worst(w) for w in p.worst_cases],
        "base": _arm(p.base),
        "head": _arm(p.head),
    }


def gate_payload(report: GateReportRecord) -> dict[str, Any]:
    """The gate view's data from a gate report (``GateReport.record()``)."""
    settings = report.settings.to_dict()
    return {
        "verdict": report.verdict,
        "line": _clip(report.line) or "",
        "base": {"label": _clip(report.base.label, 300)},
        "head": {"label": _clip(report.head.label, 300)},
        "settings": {k: v for k, v in settings.items() if isinstance(v, str | int | float | bool) or v is None},
        "prompts": [_prompt(p) for p in report.prompts],
    }


def gate_html(
    report: GateReportRecord,
    *,
    head_results: EvalResults | None = None,
    context: dict[str, dict[str, dict[str, Any]]] | None = None,
    title: str | None = None,
) -> str:
    """The gate view of a gate report as one self-contained HTML page; with ``head_results`` the head's
    results view is a second tab."""
    payload: dict[str, Any] = {"kind": "gate", "generator": f"llmops {__version__}", "gate": gate_payload(report)}
    if head_results is not None:
        payload["results"] = results_payload(head_results, context)
    verdict = payload["gate"]["verdict"]
    return render_page(payload, title or f"llmops eval gate: {verdict}")
