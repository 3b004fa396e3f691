"""``llmops usage compare CHANNEL``: the canary arm against the stable arm of a channel, with intervals.

Records whose ``channel`` is CHANNEL are split by ``arm`` (``stable``/``canary``). Differences are canary
minus stable, each with a two-sided interval at ``confidence`` (95%):

* cost per priced call: Welch's t interval for the difference of means (Welch–Satterthwaite df);
* error rate: Newcombe's hybrid score interval (from the two Wilson intervals) for the difference;
* p50 and p95 latency: the point estimate is the difference of the exact percentiles; the interval is a
  percentile bootstrap (``resamples`` resamples of each arm, seeded by ``seed``, vectorised; an arm with more than
  ``max_sample`` calls is first subsampled to ``max_sample`` with the same seed). Same seed, same interval.

The verdict names each metric whose interval lies wholly on the worse side (higher) or the better side
(lower); a metric whose interval straddles 0 shows no clear difference. An arm with fewer than
:data:`MIN_CALLS` calls gives "not enough data". These fixed-n intervals describe one look at the data.

The **decision** (PROMOTE / KEEP RUNNING / ABORT, :mod:`.verdict`) is the one to act on, every hour if you
like: it comes from always-valid confidence sequences (:mod:`.sequential`) over cost, errors, latency and
quality (judge scores and feedback joined by request id), with the margins of llmops.yaml's ``canary:``.
It is made per prompt: ``prompt`` names it, or the one prompt with canary calls on the channel is taken.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any

from ..config import CanaryConfig
from ..errors import NotFoundError, UsageError
from .engine import Records
from .verdict import CanaryVerdict, canary_verdict

SCHEMA = "llmops.usage.compare/1"
ARMS = ("stable", "canary")
MIN_CALLS = 30


@dataclass
class Interval:
    """A canary − stable difference with its interval and the method that gave it."""

    estimate: float | None
    low: float | None
    high: float | None
    method: str
    relative: float | None = None

    @property
    def direction(self) -> str:
        """``higher``, ``lower`` or ``unclear`` (interval includes 0 or is missing)."""
        if self.low is None or self.high is None:
            return "unclear"
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return "unclear"

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "relative": self.relative,
            "method": self.method,
            "direction": self.direction,
        }


@dataclass
class Comparison:
    """Per-arm figures, the four differences and the verdict."""

    channel: str
    confidence: float
    seed: int
    arms: dict[str, dict[str, Any]]
    differences: dict[str, Interval] = field(default_factory=dict)
    verdict: str = ""
    worse: list[str] = field(default_factory=list)
    better: list[str] = field(default_factory=list)
    enough_data: bool = True
    decision: CanaryVerdict | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON (schema ``llmops.usage.compare/1``)."""
        return {
            "schema": SCHEMA,
            "channel": self.channel,
            "confidence": self.confidence,
            "seed": self.seed,
            "arms": self.arms,
            "differences": {k: v.to_dict() for k, v in self.differences.items()},
            "enough_data": self.enough_data,
            "worse": self.worse,
            "better": self.better,
            "verdict": self.verdict,
            "decision": self.decision.to_dict() if self.decision else None,
            "notes": self.notes,
        }


def welch(n1: int, m1: float, v1: float, n2: int, m2: float, v2: float, confidence: float) -> Interval:
    """Welch interval for ``m1 − m2`` (sample variances ``v1``, ``v2``)."""
    from ..gate.pvalues import t_ppf

    diff = m1 - m2
    if n1 < 2 or n2 < 2:
        return Interval(diff, None, None, "welch")
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    if se == 0:
        return Interval(diff, diff, diff, "welch")
    df = (a + b) ** 2 / ((a * a / (n1 - 1) if a else 0.0) + (b * b / (n2 - 1) if b else 0.0))
    t = t_ppf(0.5 + confidence / 2, df)
    return Interval(diff, diff - t * se, diff + t * se, "welch")


def wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k/n``."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, confidence: float) -> Interval:
    """Newcombe's hybrid score interval for ``k1/n1 − k2/n2``."""
    if n1 == 0 or n2 == 0:
        return Interval(None, None, None, "newcombe")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, confidence)
    l2, u2 = wilson(k2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(d, low, high, "newcombe")


def quantile(sorted_xs: list[float], q: float) -> float:
    """Linear-interpolation quantile (DuckDB's ``quantile_cont``) of sorted data."""
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def bootstrap_quantile_diffs(
    xs: list[float], ys: list[float], qs: tuple[float, ...], *, confidence: float, resamples: int, seed: int
) -> list[tuple[float, float]]:
    """Percentile-bootstrap intervals of ``quantile(xs, q) − quantile(ys, q)`` for each ``q`` (seeded: NumPy's
    PCG64 from ``seed``; all resamples of an arm drawn, sorted and read at once)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    xa, ya = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    chunk = max(1, 4_000_000 // max(len(xs), len(ys), 1))  # at most ~32 MB of resampled values at a time
    diffs: list[list[Any]] = [[] for _ in qs]
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        a = np.sort(xa[rng.integers(0, len(xs), size=(k, len(xs)))], axis=1)
        b = np.sort(ya[rng.integers(0, len(ys), size=(k, len(ys)))], axis=1)
        for i, q in enumerate(qs):  # linear interpolation, as quantile() and DuckDB's quantile_cont
            diffs[i].append(np.quantile(a, q, axis=1) - np.quantile(b, q, axis=1))
    alpha = (1 - confidence) / 2
    out = []
    for parts in diffs:
        d = np.concatenate(parts)
        out.append((float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha))))
    return out


def run_compare(
    recs: Records,
    channel: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    resamples: int = 1000,
    max_sample: int = 2000,
    prompt: str | None = None,
    canary: CanaryConfig | None = None,
) -> Comparison:
    """Compare the canary and stable arms of ``channel`` over ``[since, until)``, and decide ``prompt``'s
    canary (``canary``: llmops.yaml's settings, defaults when None)."""
    if not 0.5 <= confidence < 1:
        raise UsageError(f"--confidence: expected a value in [0.5, 1), got {confidence}")
    if not 100 <= resamples <= 100_000 or not 100 <= max_sample <= 1_000_000:
        raise UsageError("--resamples must be in [100, 100000] and the sample cap in [100, 1000000]")
    recs.materialize(since=since, until=until)
    rows = recs.query(
        """SELECT arm, count(*), count(*) FILTER (outcome = 'error'), count(cost_usd), avg(cost_usd),
                  var_samp(cost_usd), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95),
                  list(DISTINCT version ORDER BY version) FILTER (version IS NOT NULL), fsum(cost_usd)
           FROM records WHERE channel = $c GROUP BY arm""",
        {"c": channel},
    )
    if not rows:
        raise NotFoundError(f"no request records with channel {channel!r} in the logs (and window) given")
    arms: dict[str, dict[str, Any]] = {}
    for arm, calls, errors, priced, mean, var, p50, p95, versions, cost in rows:
        if arm not in ARMS:
            continue
        arms[arm] = {
            "calls": calls,
            "errors": errors,
            "error_rate": errors / calls if calls else None,
            "priced_calls": priced,
            "cost_usd": cost,
            "cost_per_call": mean,
            "cost_per_call_var": var,
            "latency_p50_ms": p50,
            "latency_p95_ms": p95,
            "versions": versions or [],
        }
    other = sum(r[1] for r in rows if r[0] not in ARMS)
    comp = Comparison(channel=channel, confidence=confidence, seed=seed, arms=arms)
    _decide(recs, comp, prompt, canary or CanaryConfig())
    missing = [a for a in ARMS if arms.get(a, {}).get("calls", 0) < MIN_CALLS]
    if missing:
        comp.enough_data = False
        have = ", ".join(f"{a}: {arms[a]['calls'] if a in arms else 0} calls" for a in ARMS)
        comp.verdict = f"{channel}: not enough data to compare the arms ({have}; at least {MIN_CALLS} each)"
        if other:
            comp.verdict += f"; {other} calls without a stable/canary arm ignored"
        return comp
    c, s = arms["canary"], arms["stable"]
    if c["priced_calls"] and s["priced_calls"]:
        iv = welch(
            c["priced_calls"], c["cost_per_call"], c["cost_per_call_var"] or 0.0,
            s["priced_calls"], s["cost_per_call"], s["cost_per_call_var"] or 0.0, confidence,
        )  # fmt: skip
        iv.relative = iv.estimate / s["cost_per_call"] if s["cost_per_call"] else None
        comp.differences["cost_per_call"] = iv
    comp.differences["error_rate"] = newcombe(c["errors"], c["calls"], s["errors"], s["calls"], confidence)
    lat = {a: _latencies(recs, channel, a, max_sample, seed) for a in ARMS}
    names = ("latency_p50_ms", "latency_p95_ms")
    ivs = bootstrap_quantile_diffs(
        lat["canary"], lat["stable"], (0.5, 0.95), confidence=confidence, resamples=resamples, seed=seed
    )
    for name, (low, high) in zip(names, ivs, strict=True):
        est = c[name] - s[name]
        comp.differences[name] = Interval(est, low, high, "bootstrap", est / s[name] if s[name] else None)
    comp.worse = [k for k, iv in comp.differences.items() if iv.direction == "higher"]
    comp.better = [k for k, iv in comp.differences.items() if iv.direction == "lower"]
    cv = ", ".join(c["versions"]) or "?"
    sv = ", ".join(s["versions"]) or "?"
    head = f"{channel}: canary {cv} ({c['calls']} calls) vs stable {sv} ({s['calls']} calls)"
    if comp.worse:
        tail = f"canary is WORSE on {', '.join(comp.worse)}"
        if comp.better:
            tail += f" and better on {', '.join(comp.better)}"
    elif comp.better:
        tail = f"canary is better on {', '.join(comp.better)}, no worse elsewhere"
    else:
        tail = "no clear difference"
    comp.verdict = f"{head}: {tail} ({confidence:.0%} intervals)"
    return comp


def _decide(recs: Records, comp: Comparison, prompt: str | None, cfg: CanaryConfig) -> None:
    """The sequential decision for ``prompt`` (or the one prompt with canary calls on the channel)."""
    if prompt is None:
        names = [
            r[0]
            for r in recs.query(
                "SELECT DISTINCT prompt FROM records WHERE channel = $c AND arm = 'canary' ORDER BY 1 LIMIT 11",
                {"c": comp.channel},
            )
        ]
        if len(names) != 1:
            comp.notes.append(
                "no canary calls on this channel: no decision"
                if not names
                else f"{len(names) if len(names) <= 10 else 'over 10'} prompts have canary calls here: "
                "pass --prompt NAME for a decision"
            )
            return
        prompt = names[0]
    comp.decision = canary_verdict(recs, comp.channel, prompt, cfg)


def _latencies(recs: Records, channel: str, arm: str, cap: int, seed: int) -> list[float]:
    rows = recs.query(
        "SELECT latency_ms FROM records WHERE channel = $c AND arm = $a ORDER BY latency_ms", {"c": channel, "a": arm}
    )
    xs = [r[0] for r in rows]
    if len(xs) > cap:
        xs = sorted(random.Random(f"{seed}:{arm}").sample(xs, cap))
    return xs
