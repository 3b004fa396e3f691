"""One self-contained HTML file for a results file or a gate report: inline CSS and JS, no network.

The data is embedded as JSON in a ``<script type="application/json">`` element, with ``<``, ``>``, ``&``
and U+2028/U+2029 escaped, so no model output can close the element or start markup; the page's script
builds the DOM with ``textContent`` only (never ``innerHTML``). A Content-Security-Policy meta tag allows
nothing but the page's own inline script and style, pinned by their SHA-256 hashes: no remote load, no
injected script, no form posts.

Inputs are the dicts the library already produces — a results file as read by
:func:`llmops_cli.evals.results.load_results` and a gate report's ``to_dict()`` — read tolerantly (optional
fields may be missing). Every string shown is clipped (:data:`MAX_TEXT`), so a huge output cannot make a
huge page.
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


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (results and reports are read tolerantly)."""
    return value if isinstance(value, dict) else {}


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


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


def _assertion(a: dict[str, Any]) -> dict[str, Any]:
    reasons = a.get("reasonings")
    return {
        "type": str(a.get("type") or ""),
        "metric": str(a.get("metric") or a.get("type") or ""),
        "score": _num(a.get("score")),
        "threshold": _num(a.get("threshold")),
        "passed": a.get("passed") if isinstance(a.get("passed"), bool) else None,
        "reason": _clip(a.get("reason")) or "",
        "samples": [_num(s) for s in a["samples"]] if isinstance(a.get("samples"), list) else None,
        "reasonings": [_clip(r, 4000) for r in reasons] if isinstance(reasons, list) else None,
        "judge_errors": a.get("judge_errors") if isinstance(a.get("judge_errors"), int) else None,
    }


def _sample(rec: dict[str, Any]) -> dict[str, Any]:
    err = rec.get("error")
    judge = _mapping(rec.get("judge"))
    status = rec.get("status") if rec.get("status") in _RANK else "error"
    return {
        "sample": rec.get("sample"),
        "status": status,
        "score": _num(rec.get("score")),
        "output": _clip(rec.get("output")),
        "error": _clip(f"{err.get('kind', 'error')}: {err.get('message', '')}") if isinstance(err, dict) else None,
        "latency_ms": _num(rec.get("latency_ms")),
        "cost_usd": _num(rec.get("cost_usd")),
        "judge_cost_usd": _num(judge.get("cost_usd")),
        "judge_errors": judge.get("errors") if isinstance(judge.get("errors"), int) else 0,
        "assertions": [_assertion(a) for a in rec.get("assertions") or [] if isinstance(a, dict)],
    }


def _prompt_summary(name: str, s: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    metrics = _mapping(s.get("metrics"))
    return {
        "name": name,
        "status": s.get("status"),
        "model": info.get("model"),
        "cases": s.get("cases"),
        "samples": s.get("samples"),
        "passed": s.get("passed"),
        "failed": s.get("failed"),
        "errors": s.get("errors"),
        "judge_errors": s.get("judge_errors"),
        "pass_rate": _num(s.get("pass_rate")),
        "min_pass_rate": _num(s.get("min_pass_rate")),
        "metrics": {str(m): _num(_get(v, "mean")) for m, v in metrics.items()},
        "cost_total": _num(_get(s, "cost_usd", "total")),
        "cost_generation": _num(_get(s, "cost_usd", "generation")),
        "cost_judge": _num(_get(s, "cost_usd", "judge")),
        "p50_ms": _num(_get(s, "latency_ms", "p50")),
        "p95_ms": _num(_get(s, "latency_ms", "p95")),
    }


def results_payload(
    results: dict[str, Any], context: dict[str, dict[str, dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The results view's data: run facts, per-prompt summaries and one row per prompt × case.

    ``context`` (optional, see :func:`llmops_cli.report.context.case_context`): per prompt and case id the
    rendered ``messages``, ``expected`` value and ``tags``.
    """
    context = context or {}
    infos = _mapping(results.get("prompts"))
    summaries = _get(results, "summary", "prompts") or {}
    cases: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in results.get("samples") or []:
        if not isinstance(rec, dict):
            continue
        prompt, cid = str(rec.get("prompt")), str(rec.get("case_id"))
        row = cases.get((prompt, cid))
        if row is None:
            ctx = _get(context, prompt, cid) or {}
            msgs = ctx.get("messages") if isinstance(ctx.get("messages"), list) else None
            row = cases[(prompt, cid)] = {
                "prompt": prompt,
                "id": cid,
                "cluster": rec.get("cluster") if isinstance(rec.get("cluster"), str) else None,
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
        s = _sample(rec)
        row["samples"].append(s)
        if _RANK[s["status"]] > _RANK[row["status"]]:
            row["status"] = s["status"]
    run = _mapping(results.get("run"))
    ex = _mapping(run.get("execution"))
    return {
        "passed": bool(_get(results, "summary", "passed")),
        "run": {
            "id": ex.get("id"),
            "git_sha": run.get("git_sha"),
            "source": run.get("source"),
            "repeat": run.get("repeat"),
            "judge_samples": run.get("judge_samples"),
            "started_at": ex.get("started_at"),
            "finished_at": ex.get("finished_at"),
            "llmops_version": run.get("llmops_version"),
        },
        "totals": _get(results, "summary", "totals") or {},
        "prompts": [
            _prompt_summary(str(n), s, infos.get(n) or {}) for n, s in sorted(summaries.items()) if isinstance(s, dict)
        ],
        "cases": list(cases.values()),
    }


def results_html(
    results: dict[str, Any], *, context: dict[str, dict[str, dict[str, Any]]] | None = None, title: str | None = None
) -> str:
    """The results view of a results file as one self-contained HTML page."""
    payload = {"kind": "results", "generator": f"llmops {__version__}", "results": results_payload(results, context)}
    return render_page(payload, title or "llmops eval report")


# -- gate ---------------------------------------------------------------------------------------------------


def _metric(m: dict[str, Any]) -> dict[str, Any]:
    clusters = [
        {"cluster": c.get("cluster"), "n": c.get("n"), "delta": _num(c.get("delta"))}
        for c in m.get("clusters") or []
        if isinstance(c, dict)
    ]
    return {
        "metric": str(m.get("metric") or ""),
        "kind": m.get("kind"),
        "decisive": m.get("decisive") is not False,
        "state": m.get("state"),
        "delta": _num(m.get("delta")),
        "lb": _num(m.get("lb")),
        "ub": _num(m.get("ub")),
        "mde": _num(m.get("mde")),
        "base_mean": _num(m.get("base_mean")),
        "head_mean": _num(m.get("head_mean")),
        "p_value": _num(m.get("p_value")),
        "p_adjusted": _num(m.get("p_adjusted")),
        "n_cases": m.get("n_cases"),
        "n_clusters": m.get("n_clusters"),
        "test": m.get("test"),
        "reason": _clip(m.get("reason")) or "",
        "clusters": clusters,
    }


def _arm(a: Any) -> dict[str, Any] | None:
    if not isinstance(a, dict):
        return None
    return {
        "model": a.get("model"),
        "cases": a.get("cases"),
        "cost_per_1k": _num(a.get("cost_per_1k")),
        "eval_cost": _num(a.get("eval_cost")),
        "provider_errors": a.get("provider_errors"),
        "judge_errors": a.get("judge_errors"),
        "generations": a.get("generations"),
        "judge_calls": a.get("judge_calls"),
    }


def _worst(w: dict[str, Any]) -> dict[str, Any]:
    base, head = _clip(w.get("base_output")), _clip(w.get("head_output"))
    return {
        "case_id": str(w.get("case_id")),
        "metric": w.get("metric"),
        "base": _num(w.get("base")),
        "head": _num(w.get("head")),
        "delta": _num(w.get("delta")),
        "base_output": base,
        "head_output": head,
        "diff": word_diff(base, head) if base is not None and head is not None else None,
    }


def gate_payload(report: dict[str, Any]) -> dict[str, Any]:
    """The gate view's data from a gate report dict (``GateReport.to_dict()``)."""
    prompts: list[dict[str, Any]] = []
    for p in report.get("prompts") or []:
        if not isinstance(p, dict):
            continue
        prompts.append(
            {
                "prompt": str(p.get("prompt")),
                "status": p.get("status") or "gated",
                "state": p.get("state"),
                "reason": _clip(p.get("reason")) or "",
                "decisive_metric": p.get("decisive_metric"),
                "regressed_clusters": [c for c in p.get("regressed_clusters") or [] if isinstance(c, dict)],
                "metrics": [_metric(m) for m in p.get("metrics") or [] if isinstance(m, dict)],
                "errors": [
                    {
                        "kind": e.get("kind"),
                        "failed": bool(e.get("failed")),
                        "reason": _clip(e.get("reason")) or "",
                        "base": _mapping(e.get("base")),
                        "head": _mapping(e.get("head")),
                    }
                    for e in p.get("errors") or []
                    if isinstance(e, dict)
                ],
                "cases_added": [str(c) for c in p.get("cases_added") or []],
                "cases_removed": [str(c) for c in p.get("cases_removed") or []],
                "worst_cases": [_worst(w) for w in p.get("worst_cases") or [] if isinstance(w, dict)],
                "base": _arm(p.get("base")),
                "head": _arm(p.get("head")),
            }
        )
    settings = _mapping(report.get("settings"))
    return {
        "verdict": report.get("verdict") or "WARN",
        "line": _clip(report.get("line")) or "",
        "base": {"label": _clip(_get(report, "base", "label"), 300)},
        "head": {"label": _clip(_get(report, "head", "label"), 300)},
        "settings": {k: v for k, v in settings.items() if isinstance(v, str | int | float | bool) or v is None},
        "prompts": prompts,
    }


def gate_html(
    report: dict[str, Any],
    *,
    head_results: dict[str, Any] | None = None,
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
