"""The minimum detectable effect (MDE) of the test that actually decides a metric.

The gate's tests are randomisation tests (:mod:`llmops_cli.gate.pvalues`): the exact sign test (McNemar),
the exact sign-flip test on ``Σ d_i`` and the Monte-Carlo sign-flip test of ``T = Σd/√V``, studentized
within clusters (:mod:`llmops_cli.gate.randomisation`). The sign-flip distribution of a studentized sum is
close to Student's t with ``n − 1`` degrees of freedom, so with the per-case standard deviation ``s`` the
test carries, a drop ``δ`` is detected with power ``1 − β`` at one-sided level ``a`` when

    √n·δ / √(s² + f·δ²) = c + z_β,   c = t_{1−a, n−1},  z_β = t_{1−β, n−1}
    ⇔  δ = (c + z_β)·s / √(n − f·(c + z_β)²)

``f`` is the share of cases whose variance term is not centred and so keeps the drop: the cases alone in
their cluster for the clustered test, 0 otherwise (``s`` is then the ordinary paired standard deviation).

Small suites are decided by exact tests whose attainable levels are discrete: ``a`` is the largest p-value
≤ the level that the exact test can produce on the observed ``|d_i|`` (counted exactly on their integer
lattice: judge scores are multiples of 1/(4·K·R)). A 12-discordant-pair McNemar test at α = 0.05 is
planned at its real level 0.019, not at 0.05 — the reason t-quantile MDEs over-stated small suites' power.
``bench/gate_simulation.py`` checks that the power at the printed MDE is 80% ± 4 points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

Quantile = Callable[[float, float], float]
_LATTICE_MAX = 1000
"""Largest denominator tried when putting the ``|d_i|`` of an exact test on an integer lattice."""
_LATTICE_SUM_MAX = 20_000


@dataclass(frozen=True)
class PowerModel:
    """What the MDE of one metric's test depends on (kept with the comparison, not reported)."""

    n: int
    sd: float
    """Per-case standard deviation the test's variance estimate carries under H0."""
    uncentred: float
    """Share ``f`` of the cases whose variance term is not centred (singletons of the clustered test, else 0)."""
    magnitudes: tuple[float, ...] | None = None
    """The non-zero ``|d_i|`` when an exact test decides (its attainable levels are discrete)."""


def attainable_level(magnitudes: Sequence[float], level: float) -> float:
    """Largest p-value ≤ ``level`` the exact sign-flip test on these ``|d_i|`` can produce (0: none).

    The null distribution of ``Σ ±|d_i|`` is counted exactly on an integer lattice when the magnitudes sit on
    one (judge scores do: multiples of 1/(4·K·R)); otherwise the level is treated as attainable."""
    ints = _on_lattice(magnitudes)
    if ints is None:
        return level if 0.5 ** len(magnitudes) <= level else 0.0
    return _attainable(tuple(sorted(ints)), level)


def _on_lattice(magnitudes: Sequence[float]) -> list[int] | None:
    for q in range(1, _LATTICE_MAX + 1):
        ints = [round(a * q) for a in magnitudes]
        if all(abs(a * q - i) <= 1e-6 * max(1.0, a * q) for a, i in zip(magnitudes, ints, strict=True)):
            return ints if sum(ints) <= _LATTICE_SUM_MAX and min(ints) > 0 else None
    return None


@lru_cache(maxsize=4096)
def _attainable(ints: tuple[int, ...], level: float) -> float:
    total = sum(ints)
    counts = [0] * (2 * total + 1)  # index s + total: number of sign patterns with Σ ±a_i = s
    counts[total] = 1
    reach = 0
    for a in ints:
        nxt = [0] * len(counts)
        for s in range(total - reach, total + reach + 1):
            c = counts[s]
            if c:
                nxt[s + a] += c
                nxt[s - a] += c
        counts = nxt
        reach += a
    patterns = 2 ** len(ints)
    best, cum = 0.0, 0
    for c in counts:  # lower tail P(S ≤ s), s increasing
        if not c:
            continue
        cum += c
        p = cum / patterns
        if p > level + 1e-12:
            break
        best = p
    return best


def mde(model: PowerModel, level: float, power: float, t_ppf: Quantile) -> float | None:
    """The drop detected with probability ``power`` by a one-sided test at ``level`` (None: none can be).
    ``t_ppf(q, df)``: Student's t quantile function (:func:`llmops_cli.gate.pvalues.t_ppf`)."""
    n, sd, f = model.n, model.sd, model.uncentred
    if n < 2 or not sd > 0:
        return None
    level_used = attainable_level(model.magnitudes, level) if model.magnitudes is not None else level
    if level_used <= 0:
        return None
    k = t_ppf(1.0 - level_used, n - 1) + t_ppf(power, n - 1)
    room = n - f * k * k
    return k * sd / math.sqrt(room) if room > 0 else None
