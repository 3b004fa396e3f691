"""Agreement between a judge and human raters: pure functions, standard library only.

Which statistic for which scale, and how its interval is made:

========================  =====================================  ==============================================
statistic                 use                                    95 % interval
========================  =====================================  ==============================================
Cohen's κ (unweighted)    pass/fail or nominal labels, 2 raters   analytic: Fleiss, Cohen & Everitt (1969)
weighted κ (linear,       ordinal scores (1-5), 2 raters          analytic: Fleiss, Cohen & Everitt (1969)
quadratic)                                                        large-sample variance, Wald interval
accuracy                  pass/fail                               analytic: Wilson score interval
F1                        pass/fail, one class positive           bootstrap over items (seeded, percentile)
Krippendorff's α          several raters, missing ratings,       bootstrap over units (seeded, percentile)
                          nominal / ordinal / interval
mean signed error         judge − human on the score scale        analytic: normal (z) interval on the mean
                          (> 0: the judge is lenient)
========================  =====================================  ==============================================

Weights follow the usual disagreement form: nominal ``w_ij = [i ≠ j]``, linear ``|i − j| / (k − 1)``,
quadratic ``(i − j)² / (k − 1)²`` over the ordered categories; ``κ_w = 1 − Σ w·p_obs / Σ w·p_exp``
(the definition scikit-learn's ``cohen_kappa_score`` computes). Krippendorff's α is computed from the
coincidence matrix (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, TypeVar

__all__ = [
    "Estimate",
    "Weights",
    "accuracy",
    "bootstrap_interval",
    "cohen_kappa",
    "confusion_matrix",
    "f1_score",
    "krippendorff_alpha",
    "mean_signed_error",
]

Weights = Literal["none", "linear", "quadratic"]
Level = Literal["nominal", "ordinal", "interval"]
T = TypeVar("T")
H = TypeVar("H", bound=Hashable)

#: Bootstrap resamples and the seed every interval of this module uses unless told otherwise.
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20240601


@dataclass(frozen=True)
class Estimate:
    """A statistic with its interval and how the interval was made (``analytic: …`` or ``bootstrap …``)."""

    value: float
    low: float | None
    high: float | None
    method: str
    n: int


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError("level must be in (0, 1)")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _categories(*series: Sequence[H], given: Sequence[H] | None) -> list[H]:
    if given is not None:
        cats = list(given)
        if len(set(cats)) != len(cats):
            raise ValueError("categories must be distinct")
        seen = {v for s in series for v in s}
        unknown = seen - set(cats)
        if unknown:
            raise ValueError(f"values outside the categories: {sorted(map(repr, unknown))}")
        return cats
    return sorted({v for s in series for v in s})  # type: ignore[type-var]


def confusion_matrix(
    human: Sequence[H], judge: Sequence[H], categories: Sequence[H] | None = None
) -> tuple[list[H], list[list[int]]]:
    """``(categories, counts)``: ``counts[i][j]`` = items the human put in category ``i`` and the judge in ``j``."""
    if len(human) != len(judge):
        raise ValueError("the two raters must rate the same items")
    cats = _categories(human, judge, given=categories)
    index = {c: i for i, c in enumerate(cats)}
    counts = [[0] * len(cats) for _ in cats]
    for h, j in zip(human, judge, strict=True):
        counts[index[h]][index[j]] += 1
    return cats, counts


def _disagreement(k: int, weights: Weights) -> list[list[float]]:
    if weights == "none" or k < 2:
        return [[0.0 if i == j else 1.0 for j in range(k)] for i in range(k)]
    span = k - 1
    if weights == "linear":
        return [[abs(i - j) / span for j in range(k)] for i in range(k)]
    if weights == "quadratic":
        return [[(i - j) ** 2 / span**2 for j in range(k)] for i in range(k)]
    raise ValueError(f"unknown weights {weights!r}: none, linear or quadratic")


def kappa_with_se(
    human: Sequence[H],
    judge: Sequence[H],
    *,
    weights: Weights = "none",
    categories: Sequence[H] | None = None,
) -> tuple[float, float]:
    """``(κ, standard error)``: the point estimate and the Fleiss–Cohen–Everitt (1969) large-sample standard
    error (``nan, nan`` when the chance agreement is 1)."""
    cats, counts = confusion_matrix(human, judge, categories)
    n = len(human)
    if n == 0:
        raise ValueError("no items to compare")
    k = len(cats)
    w = _disagreement(k, weights)
    agree = [[1.0 - w[i][j] for j in range(k)] for i in range(k)]
    p = [[counts[i][j] / n for j in range(k)] for i in range(k)]
    row = [sum(p[i]) for i in range(k)]
    col = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum(agree[i][j] * p[i][j] for i in range(k) for j in range(k))
    pe = sum(agree[i][j] * row[i] * col[j] for i in range(k) for j in range(k))
    if math.isclose(pe, 1.0, rel_tol=0.0, abs_tol=1e-15):
        return math.nan, math.nan
    kappa = (po - pe) / (1.0 - pe)
    wi = [sum(col[j] * agree[i][j] for j in range(k)) for i in range(k)]
    wj = [sum(row[i] * agree[i][j] for i in range(k)) for j in range(k)]
    total = sum(p[i][j] * (agree[i][j] - (wi[i] + wj[j]) * (1.0 - kappa)) ** 2 for i in range(k) for j in range(k))
    var = (total - (kappa - pe * (1.0 - kappa)) ** 2) / (n * (1.0 - pe) ** 2)
    return kappa, math.sqrt(max(var, 0.0))


def cohen_kappa(
    human: Sequence[H],
    judge: Sequence[H],
    *,
    weights: Weights = "none",
    categories: Sequence[H] | None = None,
    level: float = 0.95,
) -> Estimate:
    """Cohen's κ (``weights="none"``) or weighted κ for ordered ``categories`` (default: the sorted values),
    with the Fleiss–Cohen–Everitt (1969) large-sample Wald interval, clipped to [−1, 1]. A κ whose chance
    agreement is 1 (both raters always gave the same single category) is undefined: ``nan``."""
    kappa, se = kappa_with_se(human, judge, weights=weights, categories=categories)
    n = len(human)
    if math.isnan(kappa):
        return Estimate(math.nan, None, None, "undefined: chance agreement is 1", n)
    z = _z(level)
    low, high = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
    name = "Cohen's kappa" if weights == "none" else f"{weights}-weighted kappa"
    return Estimate(kappa, low, high, f"analytic: {name}, Fleiss-Cohen-Everitt 1969 variance, Wald", n)


def accuracy(human: Sequence[H], judge: Sequence[H], *, level: float = 0.95) -> Estimate:
    """The share of items on which the judge agrees with the human exactly, with a Wilson score interval."""
    if len(human) != len(judge):
        raise ValueError("the two raters must rate the same items")
    n = len(human)
    if n == 0:
        raise ValueError("no items to compare")
    hits = sum(1 for h, j in zip(human, judge, strict=True) if h == j)
    phat = hits / n
    z = _z(level)
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return Estimate(phat, max(0.0, centre - half), min(1.0, centre + half), "analytic: Wilson score", n)


def _f1(human: Sequence[H], judge: Sequence[H], positive: H) -> float:
    tp = sum(1 for h, j in zip(human, judge, strict=True) if h == positive and j == positive)
    fp = sum(1 for h, j in zip(human, judge, strict=True) if h != positive and j == positive)
    fn = sum(1 for h, j in zip(human, judge, strict=True) if h == positive and j != positive)
    if tp == 0:
        return 0.0 if fp or fn else math.nan
    return 2 * tp / (2 * tp + fp + fn)


def bootstrap_interval(
    items: Sequence[T],
    statistic: Callable[[Sequence[T]], float],
    *,
    level: float = 0.95,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap over ``items`` (resampled with replacement, ``seed`` fixed so a rerun gives the same
    interval). Resamples whose statistic is undefined (``nan``) are dropped; ``(None, None)`` when fewer than
    half remain."""
    _z(level)
    if not items:
        return None, None
    rng = random.Random(seed)
    n = len(items)
    values = []
    for _ in range(draws):
        v = statistic([items[rng.randrange(n)] for _ in range(n)])
        if not math.isnan(v):
            values.append(v)
    if len(values) < draws / 2:
        return None, None
    values.sort()
    lo_i = max(0, math.floor((1 - level) / 2 * len(values)))
    hi_i = min(len(values) - 1, math.ceil((1 + level) / 2 * len(values)) - 1)
    return values[lo_i], values[hi_i]


def f1_score(
    human: Sequence[H], judge: Sequence[H], *, positive: H, level: float = 0.95, seed: int = BOOTSTRAP_SEED
) -> Estimate:
    """F1 of the judge for the ``positive`` class against the human labels (bootstrap interval over items)."""
    if len(human) != len(judge):
        raise ValueError("the two raters must rate the same items")
    if not human:
        raise ValueError("no items to compare")
    pairs = list(zip(human, judge, strict=True))
    value = _f1(human, judge, positive)

    def stat(sample: Sequence[tuple[H, H]]) -> float:
        return _f1([h for h, _ in sample], [j for _, j in sample], positive)

    low, high = bootstrap_interval(pairs, stat, level=level, seed=seed)
    return Estimate(value, low, high, f"bootstrap over items, percentile, {BOOTSTRAP_DRAWS} draws", len(pairs))


def mean_signed_error(human: Sequence[float], judge: Sequence[float], *, level: float = 0.95) -> Estimate:
    """Mean of ``judge − human``: above 0 the judge is lenient, below 0 strict (normal interval on the mean)."""
    if len(human) != len(judge):
        raise ValueError("the two raters must rate the same items")
    n = len(human)
    if n == 0:
        raise ValueError("no items to compare")
    diffs = [float(j) - float(h) for h, j in zip(human, judge, strict=True)]
    mean = math.fsum(diffs) / n
    if n < 2:
        return Estimate(mean, None, None, "analytic: normal interval on the mean", n)
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = _z(level) * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, "analytic: normal interval on the mean", n)


def _alpha_point(units: Sequence[Sequence[float | None]], level: Level) -> float:
    """Krippendorff's α of ``units`` (each a list of the values raters gave it, ``None`` = missing)."""
    pairable = [[v for v in u if v is not None] for u in units]
    pairable = [u for u in pairable if len(u) >= 2]
    values = sorted({v for u in pairable for v in u})
    if len(values) < 2:
        return math.nan
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    o = [[0.0] * k for _ in range(k)]
    for u in pairable:
        m = len(u)
        for a in range(m):
            for b in range(m):
                if a != b:
                    o[index[u[a]]][index[u[b]]] += 1.0 / (m - 1)
    nc = [sum(row) for row in o]
    total = sum(nc)
    delta = _delta(values, nc, level)
    observed = sum(o[c][d] * delta[c][d] for c in range(k) for d in range(k))
    expected = sum(nc[c] * nc[d] * delta[c][d] for c in range(k) for d in range(k))
    if expected == 0.0:
        return math.nan
    return 1.0 - (total - 1.0) * observed / expected


def _delta(values: Sequence[float], nc: Sequence[float], level: Level) -> list[list[float]]:
    k = len(values)
    if level == "nominal":
        return [[0.0 if c == d else 1.0 for d in range(k)] for c in range(k)]
    if level == "interval":
        return [[(values[c] - values[d]) ** 2 for d in range(k)] for c in range(k)]
    if level == "ordinal":
        out = [[0.0] * k for _ in range(k)]
        for c in range(k):
            for d in range(k):
                lo, hi = min(c, d), max(c, d)
                s = sum(nc[lo : hi + 1]) - (nc[c] + nc[d]) / 2.0
                out[c][d] = s * s
        return out
    raise ValueError(f"unknown level {level!r}: nominal, ordinal or interval")


def krippendorff_alpha(
    units: Sequence[Sequence[float | None]],
    *,
    level: Level = "ordinal",
    ci_level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
    draws: int = BOOTSTRAP_DRAWS,
) -> Estimate:
    """Krippendorff's α over ``units`` — one sequence per judged item holding each rater's value (``None`` where
    a rater gave none) — for any number of raters, with a percentile bootstrap interval over units."""
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"unknown level {level!r}: nominal, ordinal or interval")
    data = [list(u) for u in units]
    value = _alpha_point(data, level)
    low, high = bootstrap_interval(data, lambda s: _alpha_point(s, level), level=ci_level, seed=seed, draws=draws)
    n = sum(1 for u in data if sum(v is not None for v in u) >= 2)
    return Estimate(value, low, high, f"bootstrap over units, percentile, {draws} draws", n)
