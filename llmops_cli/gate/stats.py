"""Statistics core of the PR gate: paired, cluster-aware comparison of base vs head scores.

Pure functions, pure Python (no numpy/scipy), deterministic.

Estimate (per metric)
---------------------
* Per case and arm, the score is the mean of its valid samples (R generations × K judge samples).
  A case with no valid sample in either arm (or present in only one arm) is dropped and counted in
  ``n_dropped``.
* Paired difference ``d_i = head_i - base_i``. Cases sharing a ``cluster`` key are averaged first
  (``d_c``); a case with no cluster is its own cluster. ``C`` = number of clusters.
* ``Δ = mean(d_c)``, ``SE = sd(d_c)/√C`` (sample sd, C-1 denominator), ``t = t_{1-α, C-1}``,
  ``UB = Δ + t·SE``, ``LB = Δ - t·SE`` (a two-sided 90% interval for α = 0.05),
  ``MDE = (t_{1-α, C-1} + t_{power, C-1})·SE``.
* ``p_value``: one-sided paired t-test of H0 ``Δ ≥ 0`` on the cluster differences
  (``t_cdf(Δ/SE, C-1)``; with ``SE = 0`` it is 0 when ``Δ < 0`` and 1 otherwise).

Confirmation test
-----------------
The t-test is only trusted on its own when ``C ≥ 30`` and fewer than half of the ``d_c`` are exactly
zero. Otherwise (small C, or mostly-zero differences such as mostly cached answers) a one-sided
sign-flip permutation test on ``Σ d_c`` is run: exact (meet-in-the-middle enumeration) for up to 24
non-zero cluster differences, Monte-Carlo with a fixed seed (10 000 draws) beyond. Its p-value is
``confirm_p``. It is computed whenever it is required and ``p_value < α`` (when ``p_value ≥ α`` it
cannot change any decision, see below). For a pass/fail metric with one sample per case and no
clusters this test is exactly the one-sided McNemar test.

Gate p-value and Holm
---------------------
``p_gate = max(p_value, confirm_p)`` when the confirmation test was run, else ``p_value`` (the max
of two valid p-values is a valid p-value, so FAIL needs *both* tests). The ``p_gate`` of all
metrics of one prompt are Holm-adjusted together (``p_adjusted``), controlling the family-wise rate
of false FAILs per prompt at α. Skipping the confirmation when ``p_value ≥ α`` is harmless: such a
``p_gate`` is ≥ α either way, and Holm's rejections only depend on the p-values below α.

States (checked in this order)
------------------------------
* ``C == 0`` or ``C == 1`` → **WARN** (nothing to compare / cannot estimate the uncertainty).
* **FAIL** iff ``p_adjusted < α`` and ``Δ ≤ -practical``. (``p_adjusted < α`` implies the raw
  ``UB < 0``; for a single metric without confirmation it is exactly ``UB < 0``.)
* **PASS** iff ``LB ≥ -margin`` (non-inferiority; all-zero differences give ``Δ = SE = 0`` → PASS).
  PASS is not multiplicity-adjusted: a prompt passes only if *every* metric passes, an
  intersection-union test, which is valid at α without adjustment.
* **WARN** otherwise (inconclusive: the reason quotes Δ, the interval and the MDE).

A statistically significant but practically small drop (``Δ > -practical``) can still PASS if it
is within the margin, else it WARNs.

Pass/fail metrics (``kind="pass"``)
-----------------------------------
Samples are 0/1; the estimate above runs on pass rates. In addition each case is classified by
majority (``mean ≥ 0.5`` passes) and the flips ``b`` (pass→fail) and ``c`` (fail→pass) are counted;
``mcnemar_p = P(Binom(b + c, ½) ≥ b)`` is the exact one-sided McNemar p-value (reported; it ignores
clusters, so the decision uses the cluster-level tests above).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Any, Literal

__all__ = [
    "MetricComparison",
    "Thresholds",
    "betainc",
    "binom_sf",
    "compare_metric",
    "compare_prompt",
    "holm",
    "mcnemar_p",
    "overall_state",
    "sign_flip_p",
    "t_cdf",
    "t_ppf",
]

Kind = Literal["score", "pass"]
State = Literal["PASS", "WARN", "FAIL"]
Arm = Mapping[str, Sequence[float]]

CONFIRM_MIN_CLUSTERS = 30
"""Below this many clusters the t-test must be confirmed by the sign-flip test."""
MOSTLY_ZERO_FRACTION = 0.5
"""At or above this fraction of exactly-zero cluster differences the t-test must be confirmed."""
EXACT_MAX_NONZERO = 24
MC_DRAWS = 10_000
MC_SEED = 20_240_917
_ZERO = 1e-12

# --------------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = tiny if abs(d) < tiny else d
    d = 1.0 / d
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = tiny if abs(d) < tiny else d
        c = 1.0 + aa / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0``, ``0 ≤ x ≤ 1``."""
    if a <= 0 or b <= 0:
        raise ValueError("betainc needs a > 0 and b > 0")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_bt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    bt = math.exp(log_bt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, 1.0 - x) / b


def _check_df(df: float) -> None:
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")


def _t_sf_pos(x: float, df: float) -> float:
    """Upper tail ``P(T > x)`` for ``x ≥ 0``."""
    if math.isinf(df):
        return NormalDist().cdf(-x)
    return 0.5 * betainc(df / 2.0, 0.5, df / (df + x * x))


def _t_pdf(x: float, df: float) -> float:
    if math.isinf(df):
        return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    log_c = math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1.0) / 2.0 * math.log1p(x * x / df))


def t_cdf(x: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom (``df`` may be ``inf``)."""
    _check_df(df)
    if math.isnan(x):
        return math.nan
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    if x >= 0:
        return 1.0 - _t_sf_pos(x, df)
    return _t_sf_pos(-x, df)


@lru_cache(maxsize=4096)
def t_ppf(q: float, df: float) -> float:
    """Quantile function of Student's t: the ``x`` with ``t_cdf(x, df) == q``."""
    _check_df(df)
    if not 0.0 < q < 1.0:
        if q == 0.0:
            return -math.inf
        if q == 1.0:
            return math.inf
        raise ValueError(f"quantile must be in [0, 1], got {q}")
    if q == 0.5:
        return 0.0
    tail = min(q, 1.0 - q)
    sign = 1.0 if q > 0.5 else -1.0
    z = NormalDist().inv_cdf(1.0 - tail)
    if math.isinf(df):
        return sign * z
    # Cornish-Fisher start, then safeguarded Newton on the upper tail (accurate far out in the tail).
    x = z + (z**3 + z) / (4.0 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96.0 * df * df)
    x = max(x, 1e-8)
    lo, hi = 0.0, x
    while _t_sf_pos(hi, df) > tail:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        sf = _t_sf_pos(x, df)
        if sf > tail:
            lo = max(lo, x)
        else:
            hi = min(hi, x)
        pdf = _t_pdf(x, df)
        x_new = x + (sf - tail) / pdf if pdf > 0 else (lo + hi) / 2.0
        if not lo < x_new < hi:
            x_new = (lo + hi) / 2.0
        if abs(x_new - x) <= 1e-14 * max(1.0, x):
            x = x_new
            break
        x = x_new
    return sign * x


def binom_sf(k: int, n: int, p: float = 0.5) -> float:
    """Exact upper tail ``P(X ≥ k)`` for ``X ~ Binomial(n, p)`` (exact integer arithmetic at ½)."""
    if n < 0 or not 0.0 <= p <= 1.0:
        raise ValueError("binom_sf needs n ≥ 0 and 0 ≤ p ≤ 1")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p == 0.5:
        return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
    return betainc(k, n - k + 1, p)


def mcnemar_p(b: int, c: int) -> float:
    """Exact one-sided McNemar p-value for a regression: ``P(Binom(b + c, ½) ≥ b)``.

    ``b`` counts pass→fail flips, ``c`` fail→pass flips; 1.0 when nothing flipped.
    """
    if b + c == 0:
        return 1.0
    return binom_sf(b, b + c, 0.5)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in input order (monotone in the sorted order, capped at 1)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def _subset_sums(values: Sequence[float]) -> list[float]:
    sums = [0.0]
    for v in values:
        sums = [s + v for s in sums] + [s - v for s in sums]
    return sums


def sign_flip_p(diffs: Sequence[float], *, seed: int = MC_SEED, draws: int = MC_DRAWS) -> float:
    """One-sided sign-flip permutation p-value for H0 "differences symmetric about 0" vs a drop.

    ``P(Σ ±|d| ≤ Σ d)`` over independent random signs. Exact for up to ``EXACT_MAX_NONZERO``
    non-zero differences (meet-in-the-middle), otherwise Monte-Carlo with a fixed seed.
    """
    vals = [abs(d) for d in diffs if abs(d) > _ZERO]
    m = len(vals)
    if m == 0:
        return 1.0
    observed = sum(d for d in diffs if abs(d) > _ZERO)
    tol = 1e-9 * max(1.0, sum(vals))
    if m <= EXACT_MAX_NONZERO:
        left = _subset_sums(vals[: m // 2])
        right = sorted(_subset_sums(vals[m // 2 :]))
        bound = observed + tol
        count = sum(bisect_right(right, bound - a) for a in left)
        return count / 2**m
    # Monte-Carlo: one random bit per difference; tables of partial sums per chunk of 8 differences.
    tables = []
    for start in range(0, m, 8):
        chunk = vals[start : start + 8]
        table = []
        for mask in range(1 << len(chunk)):
            table.append(sum(v if (mask >> j) & 1 else -v for j, v in enumerate(chunk)))
        tables.append(table)
    rng = random.Random(seed)
    bound = observed + tol
    count = 0
    shifts = [(8 * k, t) for k, t in enumerate(tables)]
    for _ in range(draws):
        r = rng.getrandbits(m)
        if sum(t[(r >> s) & 255] for s, t in shifts) <= bound:
            count += 1
    return (count + 1) / (draws + 1)


# --------------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Gate thresholds on the metric's 0–1 scale."""

    practical: float = 0.02
    """A FAIL needs a drop of at least this much (δ_practical)."""
    margin: float = 0.05
    """PASS needs the lower bound of the difference to be ≥ -margin (δ_margin)."""
    alpha: float = 0.05
    """One-sided significance level."""
    power: float = 0.8
    """Power used for the minimum detectable effect (1 - β)."""


@dataclass
class MetricComparison:
    """Result of comparing one metric between base and head. Interval fields are None when C < 2."""

    metric: str
    kind: str
    n_cases: int
    n_clusters: int
    n_dropped: int
    base_mean: float | None
    head_mean: float | None
    delta: float | None
    se: float | None
    lb: float | None
    ub: float | None
    mde: float | None
    t_crit: float | None
    p_value: float | None
    p_adjusted: float | None
    confirm_p: float | None
    confirm_method: str | None
    state: str
    reason: str
    flips: tuple[int, int] | None = None
    mcnemar_p: float | None = None

    @property
    def p_gate(self) -> float | None:
        """p-value entering Holm: ``max(p_value, confirm_p)`` when the confirmation test ran."""
        if self.p_value is None:
            return None
        if self.confirm_p is None:
            return self.p_value
        return max(self.p_value, self.confirm_p)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (flips as a list)."""
        out = asdict(self)
        out["flips"] = list(self.flips) if self.flips is not None else None
        return out


def _valid(samples: Sequence[float] | None) -> list[float]:
    if not samples:
        return []
    return [float(s) for s in samples if s is not None and not math.isnan(s)]


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def _estimate(
    metric: str,
    base: Arm,
    head: Arm,
    clusters: Mapping[str, str | None] | None,
    thresholds: Thresholds,
    kind: Kind,
) -> MetricComparison:
    """Everything except the Holm adjustment and the state."""
    if kind not in ("score", "pass"):
        raise ValueError(f"kind must be 'score' or 'pass', got {kind!r}")
    clusters = clusters or {}
    all_ids = sorted(set(base) | set(head))
    paired: list[tuple[str, float, float]] = []
    n_dropped = 0
    for case_id in all_ids:
        b = _valid(base.get(case_id))
        h = _valid(head.get(case_id))
        if not b or not h:
            n_dropped += 1
            continue
        if kind == "pass" and any(v not in (0.0, 1.0) for v in (*b, *h)):
            raise ValueError(f"pass metric {metric!r}: case {case_id!r} has samples other than 0/1")
        paired.append((case_id, _mean(b), _mean(h)))

    groups: dict[Any, list[tuple[float, float]]] = {}
    for case_id, b_mean, h_mean in paired:
        key = clusters.get(case_id)
        groups.setdefault(("cluster", key) if key is not None else ("case", case_id), []).append((b_mean, h_mean))
    base_c = [_mean([b for b, _ in g]) for g in groups.values()]
    head_c = [_mean([h for _, h in g]) for g in groups.values()]
    diffs = [_mean([h - b for b, h in g]) for g in groups.values()]
    n_cl = len(diffs)

    flips: tuple[int, int] | None = None
    mc_p: float | None = None
    if kind == "pass":
        n_b = sum(1 for _, b, h in paired if b >= 0.5 and h < 0.5)
        n_c = sum(1 for _, b, h in paired if b < 0.5 and h >= 0.5)
        flips, mc_p = (n_b, n_c), mcnemar_p(n_b, n_c)

    comp = MetricComparison(
        metric=metric,
        kind=kind,
        n_cases=len(paired),
        n_clusters=n_cl,
        n_dropped=n_dropped,
        base_mean=_mean(base_c) if n_cl else None,
        head_mean=_mean(head_c) if n_cl else None,
        delta=_mean(diffs) if n_cl else None,
        se=None,
        lb=None,
        ub=None,
        mde=None,
        t_crit=None,
        p_value=None,
        p_adjusted=None,
        confirm_p=None,
        confirm_method=None,
        state="WARN",
        reason="",
        flips=flips,
        mcnemar_p=mc_p,
    )
    if n_cl < 2:
        return comp

    df = n_cl - 1
    delta = _mean(diffs)
    if all(abs(d) <= _ZERO for d in diffs):
        delta, sd = 0.0, 0.0
    else:
        sd = math.sqrt(math.fsum((d - delta) ** 2 for d in diffs) / df)
    se = sd / math.sqrt(n_cl)
    t_crit = t_ppf(1.0 - thresholds.alpha, df)
    comp.delta, comp.se, comp.t_crit = delta, se, t_crit
    comp.lb, comp.ub = delta - t_crit * se, delta + t_crit * se
    comp.mde = (t_crit + t_ppf(thresholds.power, df)) * se
    if se > 0:
        comp.p_value = t_cdf(delta / se, df)
    else:
        comp.p_value = 0.0 if delta < 0 else 1.0

    n_zero = sum(1 for d in diffs if abs(d) <= _ZERO)
    needs_confirm = n_cl < CONFIRM_MIN_CLUSTERS or n_zero >= MOSTLY_ZERO_FRACTION * n_cl
    if needs_confirm and comp.p_value < thresholds.alpha:
        n_nonzero = n_cl - n_zero
        comp.confirm_method = "sign-flip exact" if n_nonzero <= EXACT_MAX_NONZERO else "sign-flip monte-carlo"
        comp.confirm_p = sign_flip_p(diffs)
    return comp


def _fmt(x: float) -> str:
    return f"{x:+.3f}"


def _decide(comp: MetricComparison, p_adjusted: float | None, thresholds: Thresholds) -> None:
    """Set ``p_adjusted``, ``state`` and ``reason`` in place."""
    comp.p_adjusted = p_adjusted
    if comp.n_clusters == 0:
        comp.state = "WARN"
        comp.reason = f"No case has valid samples in both arms ({comp.n_dropped} dropped); nothing to compare."
        return
    if comp.n_clusters < 2 or p_adjusted is None:
        comp.state = "WARN"
        comp.reason = (
            f"Only one independent cluster (Δ = {_fmt(comp.delta or 0.0)}); the uncertainty cannot be "
            "estimated, add cases from more sources."
        )
        return
    assert comp.delta is not None and comp.lb is not None and comp.ub is not None and comp.mde is not None
    level = round(100 * (1 - 2 * thresholds.alpha))
    interval = f"{level}% interval [{_fmt(comp.lb)}, {_fmt(comp.ub)}]"
    if comp.se == 0 and comp.delta == 0:
        comp.state = "PASS"
        comp.reason = f"No differences: all {comp.n_cases} paired cases scored identically."
        return
    significant = p_adjusted < thresholds.alpha
    practical = comp.delta <= -thresholds.practical
    if significant and practical:
        comp.state = "FAIL"
        confirm = f", confirmed by {comp.confirm_method} p = {comp.confirm_p:.3g}" if comp.confirm_p is not None else ""
        comp.reason = (
            f"Regression: Δ = {_fmt(comp.delta)}, {interval} below 0 (Holm-adjusted p = {p_adjusted:.3g}{confirm})."
        )
        return
    if comp.lb >= -thresholds.margin:
        comp.state = "PASS"
        comp.reason = f"Non-inferior: Δ = {_fmt(comp.delta)}, {interval} ≥ -{thresholds.margin:g}."
        return
    comp.state = "WARN"
    p_value = comp.p_value if comp.p_value is not None else 1.0
    if significant:
        why = f"significant drop smaller than the practical threshold {thresholds.practical:g}"
    elif practical and p_value < thresholds.alpha:
        if comp.confirm_p is not None and comp.confirm_p >= thresholds.alpha:
            why = f"t-test significant but not confirmed by {comp.confirm_method} (p = {comp.confirm_p:.3g})"
        else:
            why = f"drop not significant after Holm correction (p = {p_adjusted:.3g})"
    else:
        why = "inconclusive"
    comp.reason = (
        f"Inconclusive ({why}): Δ = {_fmt(comp.delta)}, {interval}, "
        f"minimum detectable effect {comp.mde:.3f} with C = {comp.n_clusters}."
    )


def compare_metric(
    metric: str,
    base: Arm,
    head: Arm,
    clusters: Mapping[str, str | None] | None = None,
    *,
    thresholds: Thresholds = Thresholds(),
    kind: Kind = "score",
) -> MetricComparison:
    """Compare one metric on its own (Holm over a family of one: ``p_adjusted == p_gate``).

    ``base``/``head`` map case id → the valid sample scores of that case (0–1; 0/1 for ``"pass"``).
    ``clusters`` maps case id → source/cluster key (None or missing: the case is its own cluster).
    """
    comp = _estimate(metric, base, head, clusters, thresholds, kind)
    _decide(comp, comp.p_gate, thresholds)
    return comp


def compare_prompt(
    metrics: Mapping[str, tuple[Arm, Arm, Kind]],
    clusters: Mapping[str, str | None] | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[MetricComparison]:
    """Compare all metrics of one prompt, Holm-adjusting their gate p-values together.

    ``metrics`` maps metric name → ``(base, head, kind)``. Returns one comparison per metric, in order.
    """
    comps = [_estimate(name, base, head, clusters, thresholds, kind) for name, (base, head, kind) in metrics.items()]
    testable = [i for i, c in enumerate(comps) if c.p_gate is not None]
    adjusted = holm([comps[i].p_gate for i in testable])  # type: ignore[misc]
    adj_by_index = dict(zip(testable, adjusted, strict=True))
    for i, comp in enumerate(comps):
        _decide(comp, adj_by_index.get(i), thresholds)
    return comps


def overall_state(states: Sequence[str]) -> str:
    """FAIL if any FAIL, else WARN if any WARN, else PASS (PASS for an empty sequence)."""
    if "FAIL" in states:
        return "FAIL"
    if "WARN" in states:
        return "WARN"
    return "PASS"
