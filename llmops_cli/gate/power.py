"""The minimum detectable effect (MDE) of the test that actually decides a metric.

The gate's tests are sign-flip randomisation tests (:mod:`llmops_cli.gate.pvalues`): the exact sign test
(McNemar), the exact sign-flip test on ``S = Σ d_i`` and the Monte-Carlo sign-flip test of ``T = Σd/√V``
studentized within clusters (:mod:`llmops_cli.gate.randomisation`). Their reference distribution is that of
the data with random signs, whose variance is the *uncentred* ``Q = Σ d_i²``: under a drop ``δ`` (per-case
standard deviation ``s``) it is ``n(s² + δ²)``, not ``n·s²``. The test rejects when ``S ≤ −c·√Q``, so its
power is ``Φ(√n·δ/s − c·√(1 + f·δ²/s²))`` and the MDE solves

    √n·r − c·√(1 + f·r²) = z_β,   r = δ/s,   c = z_{1−a}

(a quadratic in ``r``). ``f = 1`` for the tests on ``S`` (and the Monte-Carlo test without clusters, which
is the same test); in the clustered test the variance of the cases in clusters of ≥ 2 is centred, so only the
share of cases alone in their cluster keeps the ``δ²``: ``f`` = that share.

Small suites are decided by exact tests whose plain versions have discrete levels: a 12-discordant-pair
McNemar test at α = 0.05 really tests at 0.019 — with the uncentred variance, the reasons the former
t-quantile MDE over-stated small suites' power (71% instead of 80% at n = 20, K = 1). The gate breaks the
tie with the data at random (randomised exact tests, the randomisation seeded from the data), so every level
down to the smallest attainable p-value ``2^-m`` is attainable and the MDE is computed at α itself;
:func:`attainable_level` still gives the plain test's level (``PowerModel.randomised`` False).
``bench/gate_simulation.py`` measures the power at the printed MDE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from statistics import NormalDist

_Z = NormalDist()
_LATTICE_MAX = 1000
"""Largest denominator tried when putting the ``|d_i|`` of an exact test on an integer lattice."""
_LATTICE_SUM_MAX = 20_000
"""Largest lattice span (Σ of the integer magnitudes) whose null distribution is computed; beyond, the level
is treated as attainable (the atoms are then negligible)."""


@dataclass(frozen=True)
class PowerModel:
    """What the MDE of one metric's test depends on (kept with the comparison, not reported)."""

    n: int
    sd: float
    """Per-case standard deviation the test's variance estimate carries under H0."""
    uncentred: float
    """Share ``f`` of the cases whose variance term keeps the drop: 1 for the tests on ``Σ d_i``, the share of
    cases alone in their cluster for the clustered Monte-Carlo test."""
    magnitudes: tuple[tuple[float, int], ...] | None = None
    """The distinct non-zero ``|d_i|`` and how often each occurs: the attainable levels of the sign-flip
    distribution of ``Σ d_i`` are discrete when they sit on a lattice (None: treat the level as attainable)."""
    randomised: bool = False
    """The exact test breaks the tie with the data at random (:func:`llmops_cli.gate.randomisation.tie_key`):
    every level down to ``2^-m`` is attainable (``m``: the non-zero differences), none below."""


def attainable_level(magnitudes: Sequence[float], level: float) -> float:
    """Largest p-value ≤ ``level`` the exact sign-flip test on these ``|d_i|`` can produce (0: none).

    The null distribution of ``Σ ±|d_i|`` is computed on an integer lattice when the magnitudes sit on one
    (judge scores do: multiples of 1/(4·K·R)); otherwise the level is treated as attainable."""
    counts: dict[float, int] = {}
    for a in magnitudes:
        counts[a] = counts.get(a, 0) + 1
    return _level_of(tuple(sorted(counts.items())), level)


def _level_of(groups: tuple[tuple[float, int], ...], level: float) -> float:
    m = sum(r for _, r in groups)
    lattice = _on_lattice([a for a, _ in groups])
    if lattice is None or sum(i * r for i, (_, r) in zip(lattice, groups, strict=True)) > _LATTICE_SUM_MAX:
        return level if 0.5**m <= level else 0.0
    return _attainable(tuple(zip(lattice, (r for _, r in groups), strict=True)), level)


def _on_lattice(values: Sequence[float]) -> list[int] | None:
    """The values as integers ``round(v·q)`` for the smallest denominator ``q`` that fits them (None: none)."""
    for q in range(1, _LATTICE_MAX + 1):
        ints = [round(a * q) for a in values]
        if all(abs(a * q - i) <= 1e-6 * max(1.0, a * q) for a, i in zip(values, ints, strict=True)):
            return ints if min(ints) > 0 else None
    return None


@lru_cache(maxsize=4096)
def _attainable(groups: tuple[tuple[int, int], ...], level: float) -> float:
    """Lower-tail probabilities of ``Σ ±a_i`` (``r`` copies of each ``a``) by convolution; the largest ≤ level."""
    np = import_module("numpy")
    dist = np.ones(1)
    for a, r in groups:
        j = np.arange(r + 1)
        log_pmf = [math.lgamma(r + 1) - math.lgamma(k + 1) - math.lgamma(r - k + 1) - r * math.log(2) for k in j]
        kernel = np.zeros(2 * a * r + 1)
        kernel[2 * a * j] = np.exp(log_pmf)  # r copies of ±a: the sum is a·(2k − r), k of them positive
        dist = np.convolve(dist, kernel)
    tail = np.cumsum(dist)
    ok = tail[(dist > 0) & (tail <= level * (1 + 1e-9))]
    return float(ok.max()) if ok.size else 0.0


def mde(model: PowerModel, level: float, power: float) -> float | None:
    """The drop detected with probability ``power`` by a one-sided test at ``level`` (None: none can be)."""
    n, sd, f = model.n, model.sd, model.uncentred
    if n < 2 or not sd > 0:
        return None
    if model.magnitudes is None:
        level_used = level
    elif model.randomised:
        level_used = level if 0.5 ** sum(r for _, r in model.magnitudes) <= level else 0.0
    else:
        level_used = _level_of(model.magnitudes, level)
    if level_used <= 0:
        return None
    c, zb = _Z.inv_cdf(1.0 - level_used), _Z.inv_cdf(power)
    # √n·r − c·√(1 + f·r²) = z_β for r = δ/s: (n − f c²) r² − 2 √n z_β r + (z_β² − c²) = 0, larger root
    lead = n - f * c * c
    disc = n * zb * zb - lead * (zb * zb - c * c)
    if lead <= 0 or disc < 0:
        return None
    return sd * (math.sqrt(n) * zb + math.sqrt(disc)) / lead
