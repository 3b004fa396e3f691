"""Always-valid canary verdicts: PROMOTE, KEEP RUNNING or ABORT, however often the canary is checked.

A fixed-n test looked at every hour inflates its false alarms (a 5% test checked daily for a month rings
more than 20% of the time). Here every metric gets a **confidence sequence** for the difference
``θ = canary − stable`` — an interval that covers θ *at every check at once* with probability ``1 − α`` —
so a canary can be checked every hour, forever, and the chance of ever aborting an equal canary stays ≤ α.

The sequence is the normal-mixture boundary of the mixture SPRT (Robbins 1970; Johari, Pekelis & Walsh,
"Always Valid Inference", 2017/2022): with ``θ̂`` the difference of the arm means and
``V = s²_canary/n_canary + s²_stable/n_stable`` its variance, the mSPRT statistic against a value θ₀ with an
``N(θ₀, τ²)`` mixture is ``Λ = sqrt(V/(V+τ²)) · exp(τ²(θ̂−θ₀)² / (2V(V+τ²)))``, a martingale under θ₀; Ville's
inequality bounds ``P(Λ ever ≥ 1/α) ≤ α``. Inverting it gives the interval::

    θ̂ ± sqrt( V(V+τ²)/τ² · (2·log(1/α) + log((V+τ²)/V)) )

With the variances estimated from the data (plug-in) the coverage is asymptotic (Waudby-Smith et al.,
"Time-uniform central limit theory and asymptotic confidence sequences", 2021); ``min_calls`` keeps the first
checks away from tiny samples, and ``bench/canary_sequential_sim.py`` measures the false-ABORT rate of hourly
checks for a week on generated logs. τ, the scale of effects the test is tuned to, is the metric's practical
margin.

Metrics are oriented so that a positive difference is *worse* (cost, latency, error rate: canary − stable;
quality: stable − canary). With margin ``δ`` (the smallest worsening worth stopping for, from llmops.yaml)
and the interval ``[L, U]`` at level ``α/k`` for k metrics (Bonferroni, so the family's false-ABORT rate is
≤ α)::

    ABORT        some metric has L > 0 (significantly worse) and θ̂ ≥ δ (by a practical amount)
    PROMOTE      every metric has U < δ (worse by less than the margin, established), both arms ≥ min_calls
    KEEP RUNNING otherwise

An error-rate metric uses the Bernoulli variance of smoothed rates ``(k + ½)/(n + 1)`` so that two arms
without errors still have an interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["PROMOTE", "KEEP RUNNING", "ABORT"]
PROMOTE: Verdict = "PROMOTE"
KEEP_RUNNING: Verdict = "KEEP RUNNING"
ABORT: Verdict = "ABORT"


@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one arm for one metric: count, mean and sample variance of per-call values."""

    n: int
    mean: float
    var: float


@dataclass(frozen=True)
class Sequence:
    """A confidence sequence for one metric's worsening ``θ`` (positive = canary worse) at one check."""

    metric: str
    estimate: float
    low: float
    high: float
    margin: float
    alpha: float
    canary: ArmStats
    stable: ArmStats

    @property
    def worse(self) -> bool:
        """Significantly worse, by at least the margin: this metric alone ABORTs."""
        return self.low > 0 and self.estimate >= self.margin

    @property
    def within_margin(self) -> bool:
        """Worse by less than the margin, established (the upper end of the sequence is below it)."""
        return self.high < self.margin

    @property
    def state(self) -> str:
        """``worse``, ``ok`` (within the margin) or ``open`` (not decided yet)."""
        return "worse" if self.worse else "ok" if self.within_margin else "open"


def mixture_half_width(variance: float, tau: float, alpha: float) -> float:
    """Half-width of the normal-mixture confidence sequence for a mean estimate of variance ``variance``."""
    if not 0 < alpha < 1 or tau <= 0:
        raise ValueError("alpha must be in (0, 1) and tau positive")
    if variance <= 0:
        return 0.0
    t2 = tau * tau
    return math.sqrt(variance * (variance + t2) / t2 * (2 * math.log(1 / alpha) + math.log((variance + t2) / variance)))


def sequence(
    metric: str, canary: ArmStats, stable: ArmStats, *, margin: float, alpha: float, higher_is_worse: bool = True
) -> Sequence:
    """The confidence sequence of ``canary − stable`` (or ``stable − canary`` for a quality metric)."""
    if canary.n < 2 or stable.n < 2:
        return Sequence(metric, 0.0, -math.inf, math.inf, margin, alpha, canary, stable)
    diff = canary.mean - stable.mean if higher_is_worse else stable.mean - canary.mean
    variance = max(canary.var, 0.0) / canary.n + max(stable.var, 0.0) / stable.n
    half = mixture_half_width(variance, margin, alpha)
    if variance <= 0:  # two constant arms: no uncertainty left, but no evidence either way from the spread
        return Sequence(metric, diff, diff, diff, margin, alpha, canary, stable)
    return Sequence(metric, diff, diff - half, diff + half, margin, alpha, canary, stable)


def rate_stats(k: int, n: int) -> ArmStats:
    """A Bernoulli arm (``k`` events in ``n`` calls): mean ``k/n``, variance of the smoothed rate."""
    if n <= 0:
        return ArmStats(0, 0.0, 0.0)
    p = (k + 0.5) / (n + 1)
    return ArmStats(n, k / n, p * (1 - p))


@dataclass
class Decision:
    """The verdict of one check and the sequences behind it."""

    verdict: Verdict
    sequences: list[Sequence] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def decide(sequences: list[Sequence], *, enough_data: bool) -> Decision:
    """PROMOTE / KEEP RUNNING / ABORT from per-metric sequences (already at level α/k each)."""
    worse = [s for s in sequences if s.worse]
    if worse:
        return Decision(
            ABORT, sequences, [f"{s.metric} is worse by {s.estimate:.4g} (≥ margin {s.margin:g})" for s in worse]
        )
    if not enough_data or not sequences:
        return Decision(KEEP_RUNNING, sequences, ["not enough calls yet"] if not enough_data else ["no metric"])
    open_ = [s for s in sequences if not s.within_margin]
    if open_:
        return Decision(KEEP_RUNNING, sequences, [f"{s.metric} not yet shown within its margin" for s in open_])
    return Decision(PROMOTE, sequences, ["every metric is within its margin"])


__all__ = [
    "ABORT",
    "KEEP_RUNNING",
    "PROMOTE",
    "ArmStats",
    "Decision",
    "Sequence",
    "Verdict",
    "decide",
    "mixture_half_width",
    "rate_stats",
    "sequence",
]
