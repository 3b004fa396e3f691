"""Request logs with content (``log_content=True`` records) of known ground truth, for ``usage judge`` and
``usage sample`` tests and ``bench/usage_judge_bench.py``.

Each call of :func:`write_logged_calls` has a question ``question number I`` and an output that is ``GOOD``
or ``BAD`` by a rule the test chooses; :func:`verdict` is a FakeLLM responder that grades a judge request 5
for a good answer and 1 for a bad one, so the expected judge scores are known exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GOOD = "a helpful answer"
BAD = "an unhelpful reply"
START = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Call:
    request_id: str
    version: str
    arm: str | None
    day: str
    outcome: str
    good: bool


def records(
    n: int,
    *,
    prompt: str = "support/answer",
    versions: tuple[str, ...] = ("1.0.0", "1.1.0"),
    arms: tuple[str | None, ...] = (None,),
    days: int = 2,
    good: Callable[[int, str], bool] = lambda i, version: True,
    error_every: int = 0,
    content: bool = True,
) -> Iterator[tuple[dict[str, Any], Call]]:
    """``n`` request records spread over ``days`` days, round-robin over versions and arms."""
    step = timedelta(seconds=days * 86400 / max(n, 1))
    for i in range(n):
        version = versions[i % len(versions)]
        arm = arms[(i // len(versions)) % len(arms)]
        ts = START + step * i
        error = bool(error_every) and i % error_every == error_every - 1
        ok = good(i, version)
        rid = f"req{i:06d}"
        rec: dict[str, Any] = {
            "v": 2, "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "request_id": rid, "prompt": prompt,
            "version": version, "channel": "production" if arm else None, "arm": arm, "content_sha256": "0" * 64,
            "git_sha": None, "model": "openai/fake-model", "params_hash": "0" * 16, "tokens_in": 20,
            "tokens_out": None if error else 5, "cost_usd": None if error else 0.0001, "latency_ms": 100.0,
            "outcome": "error" if error else "ok", "error_class": "APIError" if error else None, "retries": 0,
            "tags": {}, "guard": None,
        }  # fmt: skip
        if content:
            question = f"question number {i}"
            rec["input"] = [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": f"Q: {question}"},
            ]
            rec["output"] = None if error else (GOOD if ok else BAD) + f" #{i}"
            rec["vars"] = {"question": question}
        yield rec, Call(rid, version, arm, ts.strftime("%Y-%m-%d"), rec["outcome"], ok and not error)


def write_logged_calls(path: Path, n: int, **kw: Any) -> list[Call]:
    """Write the records of :func:`records` as JSON Lines; return the ground truth."""
    calls = []
    with open(path, "w", encoding="utf-8") as fh:
        for rec, call in records(n, **kw):
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
            calls.append(call)
    return calls


_ANSWER = re.compile(r"answer=(.*?)(?: reference=|$)", re.S)


def verdict(body: dict[str, Any]) -> str | None:
    """A judge's reply: score 5 when the graded answer is :data:`GOOD`, 1 when :data:`BAD` (None otherwise)."""
    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    if "GRADE" not in text and "RELEVANT" not in text:
        return None
    score = 5 if GOOD in text else 1 if BAD in text else 3
    return json.dumps({"reasoning": f"graded <b>{score}</b>", "score": score})
