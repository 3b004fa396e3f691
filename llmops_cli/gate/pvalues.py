"""P-values and distributions of the PR gate: Student's t and the incomplete beta (from SciPy, imported on
first use), the exact binomial tail at ½ (McNemar), the exact sign-flip permutation test, the Monte-Carlo
sign-flip test studentized within clusters (:mod:`llmops_cli.gate.randomisation`) and the choice among them
(:func:`choose_test`); Holm's adjustment. Every test is a randomisation test, exact under H0 "head and base
are exchangeable on every case" whatever the clusters, and none can return p = 0. The comparison that uses
them is :mod:`llmops_cli.gate.stats`.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from statistics import NormalDist
from typing import Any

from .power import PowerModel
from .randomisation import DRAWS as MC_TEST_DRAWS
from .randomisation import group_sizes, robust_variance, singleton_share, studentized_sign_flip_p, tie_key

EXACT_MAX_NONZERO = 22
"""Up to this many non-zero differences the exact sign-flip test is used; the Monte-Carlo one beyond."""
_ENUMERATE_MAX = 24
MC_DRAWS = 10_000
MC_SEED = 20_240_917
ZERO = 1e-12
"""Differences smaller than this are zero."""


def _special() -> Any:
    """``scipy.special``, imported on first use (SciPy costs ~0.4 s to import: only the gate pays it)."""
    return import_module("scipy.special")


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0``, ``0 ≤ x ≤ 1``."""
    if a <= 0 or b <= 0:
        raise ValueError("betainc needs a > 0 and b > 0")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return float(_special().betainc(a, b, x))


def _check_df(df: float) -> None:
    if not df > 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")


def t_cdf(x: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom (``df`` may be ``inf``)."""
    _check_df(df)
    if math.isnan(x):
        return math.nan
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    if math.isinf(df):
        return 1.0 - NormalDist().cdf(-x) if x >= 0 else NormalDist().cdf(x)
    return float(_special().stdtr(df, x))


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
    if math.isinf(df):
        return (1.0 if q > 0.5 else -1.0) * NormalDist().inv_cdf(1.0 - min(q, 1.0 - q))
    return float(_special().stdtrit(df, q))


def binom_sf(k: int, n: int, p: float = 0.5) -> float:
    """Exact upper tail ``P(X ≥ k)`` for ``X ~ Binomial(n, p)`` (exact integer arithmetic at ½)."""
    if n < 0 or not 0.0 <= p <= 1.0:
        raise ValueError("binom_sf needs n ≥ 0 and 0 ≤ p ≤ 1")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p == 0.5:
        return float(sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n)
    return betainc(k, n - k + 1, p)


def mcnemar_p(b: int, c: int) -> float:
    """Exact one-sided McNemar p-value for a regression: ``P(Binom(b + c, ½) ≥ b)``.

    ``b`` counts pass→fail flips, ``c`` fail→pass flips; 1.0 when nothing flipped.
    """
    if b + c == 0:
        return 1.0
    return binom_sf(b, b + c, 0.5)


def randomised_mcnemar_p(b: int, c: int, key: float) -> float:
    """Randomised exact one-sided McNemar: ``P(X > b) + key·P(X = b)``, ``X ~ Binom(b + c, ½)``.

    With ``key`` uniform and independent of ``b`` under H0 (:func:`tie_key` of the data) the test has size
    exactly α instead of the largest attainable level below it (0.021 for 12 discordant pairs): the
    conservative McNemar cost ~9 points of power against an oracle on 0/1 scores. Floored at ``2^-(b+c)``
    (the smallest p the plain test can give) so it never rejects where the plain test could not (Tarone's
    family, :func:`llmops_cli.gate.stats.compare_prompt`) and is never 0; exact at every level ≥ the floor.
    """
    m = b + c
    if m == 0:
        return 1.0
    above = binom_sf(b + 1, m, 0.5)
    at = math.comb(m, b) / 2**m
    return float(max(0.5**m, above + key * at))


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

    ``P(Σ ±|d| ≤ Σ d)`` over independent random signs. Exact for up to 24
    non-zero differences (meet-in-the-middle), otherwise Monte-Carlo with a fixed seed.
    """
    vals = [abs(d) for d in diffs if abs(d) > ZERO]
    m = len(vals)
    if m == 0:
        return 1.0
    observed = sum(d for d in diffs if abs(d) > ZERO)
    tol = 1e-9 * max(1.0, sum(vals))
    if m <= _ENUMERATE_MAX:
        left = _subset_sums(vals[: m // 2])
        right = sorted(_subset_sums(vals[m // 2 :]))
        bound = observed + tol
        count = sum(bisect_right(right, bound - a) for a in left)
        return float(count / 2**m)
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


def randomised_sign_flip_p(diffs: Sequence[float]) -> float:
    """Randomised exact sign-flip test: ``P(S* < S) + key·P(S* = S)`` over all ``2^m`` flips (``m ≤ 24``).

    ``key`` = :func:`tie_key` of the differences. Judge scores sit on a lattice, so ``P(S* = S)`` is often
    several percent; counting the whole tie as extreme makes the test conservative (at n = 20, K = 1 the
    attainable level is ~0.04, not 0.05). Floored at ``2^-m`` like :func:`randomised_mcnemar_p`.
    """
    vals = [abs(d) for d in diffs if abs(d) > ZERO]
    m = len(vals)
    if m == 0:
        return 1.0
    if m > _ENUMERATE_MAX:
        raise ValueError(f"randomised_sign_flip_p enumerates at most {_ENUMERATE_MAX} non-zero differences")
    observed = sum(d for d in diffs if abs(d) > ZERO)
    tol = 1e-9 * max(1.0, sum(vals))
    left = _subset_sums(vals[: m // 2])
    right = sorted(_subset_sums(vals[m // 2 :]))
    below = sum(bisect_left(right, observed - tol - a) for a in left)
    upto = sum(bisect_right(right, observed + tol - a) for a in left)
    return float(max(0.5**m, (below + tie_key(diffs) * (upto - below)) / 2**m))


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


@dataclass(frozen=True)
class TestResult:
    """A one-sided test of "head is worse": p-value, test name, smallest attainable p, and what its MDE needs."""

    p: float
    name: str
    min_p: float
    power: PowerModel | None


def _sd(xs: Sequence[float]) -> float:
    mean = _mean(xs)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0


def _magnitudes(mags: Sequence[float]) -> tuple[tuple[float, int], ...]:
    counts: dict[float, int] = {}
    for a in mags:
        key = round(a, 12)
        counts[key] = counts.get(key, 0) + 1
    return tuple(sorted(counts.items()))


def choose_test(diffs: Sequence[float], strata: Sequence[Any] | None = None) -> TestResult:
    """The test that decides, on case-level differences (``strata``: the cluster of each). See the module."""
    nonzero = [d for d in diffs if abs(d) > ZERO]
    m, n = len(nonzero), len(diffs)
    if m == 0:
        return TestResult(1.0, "none (every difference is 0)", 1.0, None)
    mags = [abs(d) for d in nonzero]
    if max(mags) - min(mags) <= 1e-9 * max(1.0, max(mags)):
        drops = sum(1 for d in nonzero if d < 0)
        model = PowerModel(n, _sd(diffs), 1.0, ((1.0, m),), randomised=True)
        p = randomised_mcnemar_p(drops, m - drops, tie_key(diffs))
        return TestResult(p, "sign test exact (McNemar)", 0.5**m, model)
    if m <= EXACT_MAX_NONZERO:
        model = PowerModel(n, _sd(diffs), 1.0, _magnitudes(mags), randomised=True)
        return TestResult(randomised_sign_flip_p(diffs), "sign-flip exact", 0.5**m, model)
    groups = list(strata) if strata is not None else [None] * n
    sizes = group_sizes(groups)
    clustered = len(sizes) > 1
    name = "sign-flip within clusters (Monte-Carlo)" if clustered else "sign-flip (Monte-Carlo)"
    var = robust_variance(diffs, groups)
    # ties are broken at random (exact size α): every level is attainable
    model = PowerModel(n, math.sqrt(var / n), singleton_share(groups) if clustered else 1.0)
    return TestResult(studentized_sign_flip_p(diffs, groups), name, 1.0 / (MC_TEST_DRAWS + 1), model)


def paired_test(diffs: Sequence[float], strata: Sequence[Any] | None = None) -> tuple[float, str, float]:
    """One-sided test of "head is worse" on case-level differences: ``(p, test name, smallest attainable p)``."""
    res = choose_test(diffs, strata)
    return res.p, res.name, res.min_p
