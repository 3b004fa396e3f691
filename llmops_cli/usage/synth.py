"""Synthetic request logs with known totals, for tests and ``bench/usage_bench.py``.

Records follow the request-record format of :mod:`llmops_cli.serving` (schema ``v: 1``, keys in order).
Every cost is a whole number of micro-dollars, so sums are exact to 1e-6 whatever the summation order, and
:class:`Totals` holds the exact expected figures (calls, tokens, cost, unpriced and error counts)::

    from llmops_cli.usage.synth import Stream, write_jsonl
    totals = write_jsonl("requests.jsonl", [Stream(per_hour=500, hours=24)], start=..., seed=1)
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast

__all__ = [
    "Stream",
    "Totals",
    "canary_records",
    "generate",
    "input_text",
    "inputs_records",
    "judge_score",
    "write_jsonl",
    "write_records",
]


@dataclass(frozen=True)
class Stream:
    """Calls of one prompt version at a steady rate between ``start_h`` and ``start_h + hours``.

    Token counts are drawn uniformly within ±``spread`` of their mean; ``cost_per_call`` sets the price
    (USD per call at the mean token counts, scaled by each call's tokens); ``None`` means the model has no
    known price (``cost_usd: null``). ``cost_multiplier`` scales it (a 10× costlier release).
    """

    prompt: str = "support/answer"
    version: str | None = "1.0.0"
    model: str = "gpt-4o-mini"
    channel: str | None = None
    arm: str | None = None
    start_h: float = 0.0
    hours: float = 24.0
    per_hour: float = 100.0
    tokens_in: int = 400
    tokens_out: int = 120
    spread: float = 0.3
    cost_per_call: float | None = 0.0002
    cost_multiplier: float = 1.0
    error_rate: float = 0.01
    latency_ms: float = 800.0
    tags: Mapping[str, Sequence[str]] = field(default_factory=lambda: {"tenant": ("acme", "globex", "initech")})


@dataclass
class Totals:
    """Exact expected figures for the records written (cost in micro-dollars to stay exact)."""

    calls: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_micro_usd: int = 0
    priced: int = 0
    unpriced: int = 0

    @property
    def cost_usd(self) -> float:
        return self.cost_micro_usd / 1_000_000

    def add(self, rec: Mapping[str, Any]) -> None:
        self.calls += 1
        self.errors += rec["outcome"] == "error"
        self.tokens_in += rec["tokens_in"] or 0
        self.tokens_out += rec["tokens_out"] or 0
        if rec["cost_usd"] is None:
            self.unpriced += rec["outcome"] == "ok"
        else:
            self.priced += 1
            self.cost_micro_usd += round(rec["cost_usd"] * 1_000_000)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _records(stream: Stream, start: datetime, rng: random.Random) -> Iterator[tuple[datetime, dict[str, Any]]]:
    n = round(stream.per_hour * stream.hours)
    span = stream.hours * 3600.0
    base = start + timedelta(hours=stream.start_h)
    tag_items = list(stream.tags.items())
    for i in range(n):
        t = base + timedelta(seconds=(i + rng.random()) * span / n)
        error = rng.random() < stream.error_rate
        tin = max(1, round(stream.tokens_in * (1 + stream.spread * (2 * rng.random() - 1))))
        tout = max(1, round(stream.tokens_out * (1 + stream.spread * (2 * rng.random() - 1))))
        cost: float | None = None
        if stream.cost_per_call is not None and not error:
            scale = (tin + tout) / (stream.tokens_in + stream.tokens_out)
            cost = round(stream.cost_per_call * stream.cost_multiplier * scale * 1_000_000) / 1_000_000
        yield (
            t,
            {
                "v": 1,
                "ts": _ts(t),
                "request_id": f"{rng.getrandbits(128):032x}",
                "prompt": stream.prompt,
                "version": stream.version,
                "channel": stream.channel,
                "arm": stream.arm,
                "content_sha256": "0" * 64,
                "git_sha": None,
                "model": stream.model,
                "params_hash": "0" * 16,
                "tokens_in": None if error else tin,
                "tokens_out": None if error else tout,
                "cost_usd": cost,
                "latency_ms": round(stream.latency_ms * (0.5 + rng.random()) * (1.5 if error else 1.0), 3),
                "outcome": "error" if error else "ok",
                "error_class": "RateLimitError" if error else None,
                "retries": 0,
                "tags": {k: rng.choice(list(v)) for k, v in tag_items},
            },
        )


def generate(streams: Iterable[Stream], *, start: datetime, seed: int = 0) -> Iterator[dict[str, Any]]:
    """The records of all streams, in timestamp order (deterministic for a seed)."""
    rng = random.Random(seed)
    merged = [rec for s in streams for rec in _records(s, start.astimezone(UTC), rng)]
    merged.sort(key=lambda tr: tr[0])
    for _, rec in merged:
        yield rec


def write_jsonl(
    path: str | Path, streams: Iterable[Stream], *, start: datetime, seed: int = 0, append: bool = False
) -> Totals:
    """Write the records as JSON Lines (gzip when the name ends in ``.gz``); return their exact totals."""
    totals = Totals()
    path = Path(path)
    mode = "at" if append else "wt"
    gz = path.suffix == ".gz"
    with (
        cast(TextIO, gzip.open(path, mode, encoding="utf-8", newline="\n"))
        if gz
        else open(path, mode, encoding="utf-8", newline="\n")
    ) as fh:
        for rec in generate(streams, start=start, seed=seed):
            totals.add(rec)
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
    return totals


# ---- canaries with judge scores (the sequential verdict's tests and benches) ---------------------------------

JUDGE_LEVELS = (0.05, 0.10, 0.20, 0.35, 0.30)
"""Probabilities of judge verdicts 1..5 (mean 3.75 points) in generated score records."""


def judge_score(rng: random.Random, drop_points: float = 0.0) -> float:
    """A 1..5 verdict normalised to 0..1; ``drop_points`` lowers the mean by that many points (one point lost on
    a share ``drop_points / P(verdict > 1)`` of the calls)."""
    s = rng.choices(range(1, 6), weights=JUDGE_LEVELS)[0]
    if drop_points and s > 1 and rng.random() < drop_points / (1 - JUDGE_LEVELS[0]):
        s -= 1
    return (s - 1) / 4


def canary_records(
    *,
    start: datetime,
    hours: float = 24.0,
    per_hour: float = 500.0,
    canary_percent: float = 10.0,
    judged: float = 0.2,
    canary_drop_points: float = 0.0,
    canary_cost_multiplier: float = 1.0,
    prompt: str = "support/answer",
    channel: str = "production",
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    """Request records of a channel running a canary, and score records (``metric: rubric``) for a ``judged``
    share of the successful calls, each one minute after its call: known truth for the canary verdict."""
    p = canary_percent / 100
    streams = [
        Stream(prompt=prompt, version="1.0.0", channel=channel, arm="stable", hours=hours, per_hour=per_hour * (1 - p)),
        Stream(
            prompt=prompt, version="1.1.0", channel=channel, arm="canary", hours=hours, per_hour=per_hour * p,
            cost_multiplier=canary_cost_multiplier,
        ),
    ]  # fmt: skip
    rng = random.Random(f"scores:{seed}")
    for rec in generate(streams, start=start, seed=seed):
        yield rec
        if rec["outcome"] == "ok" and rng.random() < judged:
            t = datetime.fromisoformat(rec["ts"].replace("Z", "+00:00")) + timedelta(minutes=1)
            drop = canary_drop_points if rec["arm"] == "canary" else 0.0
            yield {
                "kind": "score",
                "schema_version": 1,
                "ts": _ts(t),
                "request_id": rec["request_id"],
                "prompt": prompt,
                "version": rec["version"],
                "channel": channel,
                "arm": rec["arm"],
                "call_ts": rec["ts"],
                "metric": "rubric",
                "judge": "judges/rubric",
                "judge_model": "openai/gpt-4o-mini",
                "score": judge_score(rng, drop),
                "passed": None,
                "threshold": 0.5,
                "error": None,
                "reasoning": None,
                "replayed": False,
            }


def write_records(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write any records as JSON Lines; returns how many."""
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
            n += 1
    return n


# ---- inputs with known drift (input-drift tests and bench) -----------------------------------------------------

TOPICS: dict[str, tuple[str, ...]] = {
    "billing": ("invoice", "charge", "refund", "payment", "card", "billing", "price", "subscription", "receipt"),
    "shipping": ("package", "delivery", "tracking", "courier", "shipment", "address", "delayed", "parcel", "arrive"),
    "account": ("password", "login", "account", "email", "reset", "profile", "settings", "locked", "username"),
    "product": ("feature", "setting", "screen", "button", "update", "version", "crash", "install", "device"),
    "security": ("breach", "phishing", "suspicious", "hacked", "fraud", "stolen", "attack", "malware", "scam"),
}
FILLER = {
    "en": ("the", "and", "you", "for", "with", "this", "that", "have", "not", "what", "how", "can", "your", "my"),
    "de": ("und", "der", "die", "das", "ist", "nicht", "ich", "mit", "ein", "eine", "wie", "was", "mein", "für"),
    "ru": ("и", "в", "не", "на", "что", "как", "мой", "это", "для", "заказ", "деньги", "помогите", "почему"),
}


def input_text(
    rng: random.Random,
    *,
    topics: Mapping[str, float] | None = None,
    languages: Mapping[str, float] | None = None,
    mean_words: float = 30.0,
) -> str:
    """One generated user input: filler words of a language mixed with words of one topic; length lognormal."""
    topics = topics or {"billing": 0.35, "shipping": 0.3, "account": 0.25, "product": 0.1}
    languages = languages or {"en": 0.9, "de": 0.1}
    topic = rng.choices(list(topics), weights=list(topics.values()))[0]
    lang = rng.choices(list(languages), weights=list(languages.values()))[0]
    n = max(3, round(rng.lognormvariate(math.log(mean_words), 0.5)))
    words = [rng.choice(TOPICS[topic]) if rng.random() < 0.35 else rng.choice(FILLER[lang]) for _ in range(n)]
    return " ".join(words)


def inputs_records(
    *,
    start: datetime,
    hours: float,
    per_hour: float,
    prompt: str = "support/answer",
    seed: int = 0,
    change_at_h: float | None = None,
    after: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Content-logged request records with ``vars: {"question": …}``; from ``change_at_h`` on, the inputs are
    drawn with ``after`` (keyword arguments of :func:`input_text`): known drift."""
    rng = random.Random(f"inputs:{seed}")
    for rec in generate([Stream(prompt=prompt, hours=hours, per_hour=per_hour, error_rate=0)], start=start, seed=seed):
        t = datetime.fromisoformat(rec["ts"].replace("Z", "+00:00"))
        hours_in = (t - start).total_seconds() / 3600
        kw = dict(after or {}) if change_at_h is not None and hours_in >= change_at_h else {}
        rec["vars"] = {"question": input_text(rng, **kw)}
        yield rec
