"""Synthetic results files and gate reports for the HTML report's tests and bench (bench/html_bench.py).

The results are what ``eval run`` writes (they pass :func:`validate_results`); the gate report is the real
gate's (:func:`llmops_cli.gate.decide.decide`) on two such files.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from llmops_cli.config import GateConfig
from llmops_cli.evals.results import results_from_dict
from llmops_cli.gate.collect import collect
from llmops_cli.gate.decide import decide
from llmops_cli.records.gate_report import GateSide

# Each would set window.pwned (or load something) if the report let markup or script through.
XSS = [
    "<script>window.pwned = 1</script>",
    '<img src=x onerror="window.pwned = 2">',
    "</textarea><svg onload=window.pwned=3>",
    "</script><script>window.pwned = 4</script>",
    "\u2028</script ><img src=x onerror=window.pwned=5>&lt;",
    '<a href="javascript:window.pwned=6">x</a><iframe src="https://example.com/"></iframe>',
]

WORDS = [
    "refund",
    "return",
    "policy",
    "within",
    "days",
    "delivery",
    "order",
    "shipping",
    "free",
    "over",
    "store",
    "credit",
    "receipt",
    "item",
    "damaged",
    "exchange",
    "label",
    "warehouse",
    "customer",
    "agent",
    "answer",
    "please",
    "thanks",
]


# Debian chromium, headless, with nothing reaching for the network (tests and bench/html_bench.py)
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def synthetic_results(
    n_cases: int = 40,
    *,
    prompts: tuple[str, ...] = ("support/answer", "tickets/triage"),
    seed: int = 7,
    degrade: float = 0.0,
    payloads: bool = False,
    drop_case: str | None = None,
    add_case: str | None = None,
) -> dict[str, Any]:
    """A results file of ``n_cases`` cases spread over ``prompts``, two clusters, one judge (K = 2) and a
    deterministic assertion per case. ``degrade``: the share of ``returns`` cases whose judge score drops
    (a head that regressed); ``payloads``: XSS payloads in outputs, reasons and judge reasoning."""
    rng = random.Random(seed)
    samples = []
    infos: dict[str, dict[str, Any]] = {}
    ids_of: dict[str, list[str]] = {p: [] for p in prompts}
    for i in range(n_cases):
        ids_of[prompts[i % len(prompts)]].append(f"case-{i:05d}")
    for p in prompts:
        if add_case:
            ids_of[p].append(add_case)
        if drop_case and drop_case in ids_of[p]:
            ids_of[p].remove(drop_case)
    for p, ids in ids_of.items():
        clusters = {cid: ("returns" if k % 2 == 0 else "catalogue") for k, cid in enumerate(ids)}
        infos[p] = {
            "prompt_sha256": f"sha-{p}",
            "model": "openai/gpt-4o-mini-2024-07-18",
            "golden_set": {"file": f"evals/{p}.yaml", "sha256": "g", "cases": len(ids)},
            "min_pass_rate": 0.8,
            "clusters": clusters,
            "judges": ["judges/rubric"],
        }
        for k, cid in enumerate(ids):
            local = random.Random(f"{p}/{cid}")  # same case, same answer on both sides unless degraded
            out = _text(local, 12 + local.randrange(20))
            judge_scores = [round(local.uniform(0.7, 1.0), 2) for _ in range(2)]
            contains = "30 days" if local.random() < 0.85 else "a month"
            if degrade and clusters[cid] == "returns" and rng.random() < degrade:
                judge_scores = [round(s - 0.5, 2) for s in judge_scores]
                out = out.replace("return", "send back") + " Contact an agent."
                contains = "a month"
            out = f"{out} Returns are accepted within {contains} of delivery."
            reasonings = [
                f"The answer is {'grounded' if s > 0.6 else 'vague'} (sample {j})." for j, s in enumerate(judge_scores)
            ]
            reason_ok = "contains all values"
            error = None
            if payloads and k < len(XSS):
                out = f"{XSS[k]} {out} {XSS[-1 - k]}"
                reasonings = [f"{XSS[(k + 1) % len(XSS)]} judged", f"{XSS[(k + 2) % len(XSS)]}"]
                reason_ok = f"found {XSS[k]}"
            judge_mean = sum(judge_scores) / 2
            det_pass = contains == "30 days"
            status = "pass" if det_pass and judge_mean >= 0.6 else "fail"
            if k == 3 and not payloads:
                error = {"kind": "timeout", "message": "the provider did not answer in 5 s", "attempts": 2}
                status = "error"
            rec: dict[str, Any] = {
                "prompt": p,
                "case_id": cid,
                "sample": 0,
                "cluster": clusters[cid],
                "request_hash": f"h-{p}-{cid}",
                "model": infos[p]["model"],
                "output": None if error else out,
                "replay": False,
                "tokens": {"prompt": 120, "completion": 30},
                "cost_usd": None if error else 0.000036,
                "latency_ms": None if error else round(200 + 300 * local.random(), 3),
                "attempts": 1,
                "error": error,
                "status": status,
                "score": None if error else round((judge_mean + det_pass) / 2, 6),
                "assertions": []
                if error
                else [
                    {
                        "index": 0,
                        "type": "icontains",
                        "metric": "icontains",
                        "weight": 1.0,
                        "threshold": 1.0,
                        "score": 1.0 if det_pass else 0.0,
                        "passed": det_pass,
                        "reason": reason_ok if det_pass else "missing 1 of 1: '30 days'",
                    },
                    {
                        "index": 1,
                        "type": "llm-rubric",
                        "metric": "rubric",
                        "weight": 1.0,
                        "threshold": 0.6,
                        "score": round(judge_mean, 6),
                        "passed": judge_mean >= 0.6,
                        "reason": reasonings[0],
                        "samples": judge_scores,
                        "judge_errors": 0,
                        "reasonings": reasonings,
                    },
                ],
                "judge": {
                    "samples": 0 if error else 2,
                    "errors": 0,
                    "replays": 0,
                    "tokens": {"prompt": 0 if error else 400, "completion": 0 if error else 60},
                    "cost_usd": 0.0 if error else 0.00012,
                },
            }
            samples.append(rec)
    samples.sort(key=lambda r: (r["prompt"], r["case_id"], r["sample"]))
    doc = {
        "schema_version": 1,
        "kind": "llmops-eval-results",
        "run": {
            "llmops_version": "0.1.0",
            "git_sha": "0123456789abcdef0123456789abcdef01234567",
            "source": "working tree",
            "config_hash": "cfg",
            "repeat": 1,
            "judge_samples": 2,
            "judges": {},
            "execution": {"id": "20261127-120000-abcd", "started_at": "2026-11-27T12:00:00Z"},
        },
        "prompts": infos,
        "samples": samples,
    }  # no summary: from_dict computes it from the samples, as load_results does
    return results_from_dict(doc).to_dict()


def synthetic_gate(
    n_cases: int = 40, *, payloads: bool = False
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(base, head, gate report dict)``: head regressed on the ``returns`` cluster of every prompt, with one
    case added and one removed."""
    base = synthetic_results(n_cases, drop_case=None, add_case="case-removed")
    head = synthetic_results(n_cases, degrade=0.8, payloads=payloads, add_case="case-added")
    for data in (base, head):  # the added/removed cases exist on one side only
        drop = "case-added" if data is base else "case-removed"
        data["samples"] = [r for r in data["samples"] if r["case_id"] != drop]
    names = sorted(head["prompts"])
    report = decide(
        collect(results_from_dict(base), names),
        collect(results_from_dict(head), names),
        GateConfig(),
        base_meta=GateSide(label="main (merge-base 0123456789ab)"),
        head_meta=GateSide(label="head"),
        repeat_and_k=(1, 2),
    )
    return base, head, report.to_dict()


def synthetic_context(results: dict[str, Any], *, payloads: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """What :func:`llmops_cli.report.context.case_context` would return for ``results``: rendered messages,
    the expected answer and tags per case (``payloads``: XSS payloads in the messages and expected values)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in results["samples"]:
        k = int(rec["case_id"].rsplit("-", 1)[-1]) if rec["case_id"][-1].isdigit() else 0
        evil = XSS[k % len(XSS)] if payloads and k < len(XSS) else ""
        out.setdefault(rec["prompt"], {})[rec["case_id"]] = {
            "messages": [
                {"role": "system", "content": "You answer questions about the store's return policy. " + evil},
                {"role": "user", "content": f"Question {rec['case_id']}: how long do I have to return an item?"},
            ],
            "expected": "Within 30 days of delivery." + evil,
            "tags": ["policy"] if k % 3 == 0 else (["shipping", "policy"] if k % 3 == 1 else []),
        }
    return out


def save(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
