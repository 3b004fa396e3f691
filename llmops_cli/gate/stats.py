"""Statistics core of the PR gate: is head worse than base on *these* golden cases?

Pure, deterministic functions. The p-values come from :mod:`llmops_cli.gate.pvalues` (re-exported here):
Student's t and the incomplete beta behind binomial tails from SciPy — ``scipy.special``'s
``stdtr``/``stdtrit``/``betainc``, the functions ``scipy.stats.t`` and ``scipy.stats.binom`` evaluate, called
directly: a third of the import time of ``scipy.stats`` and a fraction of its per-call overhead. SciPy is
imported on the first call, so only the gate loads it (never ``import llmops_cli``, ``load_prompt`` or
``llmops prompt …``). The exact tests (sign test, sign-flip permutation test, the binomial tail at ½) stay
exact integer/enumeration arithmetic.
The reasoning is in ``docs/gate.md``.

Inference is conditional on the golden set: the cases are fixed and reviewed like code, the randomness
is generation (R samples) and judging (K samples).

Estimate (per metric)
---------------------
* Per case and arm, the score is the mean of its valid samples (R generations × K judge samples). A
  case with no valid sample in either arm (or present in one arm only) is dropped and counted.
* Paired difference ``d_i = head_i − base_i``; ``Δ = mean(d_i)`` — every case counts once, whatever its
  cluster. ``SE = sd(d)/√n``; the interval is ``Δ ± t_{1−α, n−1}·SE`` (two-sided ``1 − 2α``, 90% by
  default); ``MDE = (t_{1−α, n−1} + t_{power, n−1})·SE`` is the drop this suite detects with the
  requested power.

Test (one-sided, H0 "head and base are exchangeable on every case", alternative "head is worse")
-----------------------------------------------------------------------------------------------
Every test is a randomisation (sign-flip) test, exact under H0 for every cluster layout:

* all non-zero ``|d_i|`` equal (pass/fail metrics with one sample per case): the exact sign test, which
  is the exact one-sided McNemar test on the flips;
* at most :data:`EXACT_MAX_NONZERO` non-zero differences: the exact sign-flip test on ``Σ d_i``
  (meet-in-the-middle enumeration); zeros contribute nothing whatever their sign;
* more: the Monte-Carlo sign-flip test of ``Σ d / √V``, with ``V`` centred within clusters of ≥ 2 cases and
  uncentred for cases alone in their cluster (:mod:`llmops_cli.gate.randomisation`): a drop confined to one
  cluster is found as well as a spread one, and p ≥ 1/(B + 1) — never 0.

The interval uses the plain paired t (``n − 1`` degrees of freedom) on the same differences. The MDE is the
one of the test that decides, at the level it is held to (α over the size of the Holm family, the exact
tests' attainable levels): :mod:`llmops_cli.gate.power`.

The exact tests' smallest attainable p-value is ``2^-m`` for ``m`` non-zero differences (``min_p``).
Clusters never weight the estimate (every case counts once); they explain (per-cluster Δ, regressed
clusters named in the reason) and, in the Monte-Carlo test, centre the variance.

Multiplicity
------------
Only *decisive* metrics decide a prompt (see :mod:`llmops_cli.gate.collect`: derived duplicates such
as the per-output verdict are reported, not tested). Holm adjusts the p-values of the decisive metrics
— of one prompt (``p_adjusted``, reported) and of every gated prompt of the PR together (``p_pr``, which
decides: :func:`adjust_across_prompts`) — whose smallest attainable p-value is ≤ α (a metric that cannot
reach α given its ``|d_i|`` — e.g. all differences zero — cannot reject and is left out of the family,
Tarone's argument: the family is chosen from the ``|d_i|``, on which the randomisation test conditions).

States
------
* **FAIL** — ``p_pr < α`` and ``Δ ≤ −practical``: a significant drop whose estimate is of
  practical size (testing H0 at 0 rather than at ``−practical`` keeps the power of the plain test).
* **WARN** — not FAIL, ``Δ ≤ −practical`` and either ``p_pr < warn_alpha`` (the data suggests a
  relevant drop but cannot establish it) or the suite is too small for any test to reach ``warn_alpha``
  (``2^-n ≥ warn_alpha``: one or two cases).
* **PASS** — otherwise: no evidence of a practically relevant drop; the reason states the MDE. "No
  differences" is said only for cache-identical pairs (requests and answers byte-identical); differences
  that are zero by chance are data like any other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .power import PowerModel, mde
from .pvalues import (
    EXACT_MAX_NONZERO,
    ZERO,
    betainc,
    binom_sf,
    choose_test,
    holm,
    mcnemar_p,
    paired_test,
    randomised_mcnemar_p,
    randomised_sign_flip_p,
    sign_flip_p,
    t_cdf,
    t_ppf,
)
from .pvalues import _mean as _mean

__all__ = [
    "EXACT_MAX_NONZERO",
    "ClusterDelta",
    "MetricComparison",
    "Thresholds",
    "adjust_across_prompts",
    "betainc",
    "binom_sf",
    "compare_metric",
    "compare_prompt",
    "holm",
    "mcnemar_p",
    "overall_state",
    "paired_test",
    "randomised_mcnemar_p",
    "randomised_sign_flip_p",
    "sign_flip_p",
    "t_cdf",
    "t_ppf",
]

Kind = Literal["score", "pass"]
State = Literal["PASS", "WARN", "FAIL"]
CaseScores = Mapping[str, Sequence[float]]
"""One side of one metric: case id → the valid sample scores of that case (the arm of :mod:`.collect` holds more)."""

UNDERPOWERED = 5
"""A PASS whose MDE exceeds this many times the practical size says the suite is underpowered."""
_ZERO = ZERO

# Distributions and tests (p-values, Holm): llmops_cli.gate.pvalues, re-exported here.


@dataclass(frozen=True)
class Thresholds:
    """Gate thresholds on the metric's 0–1 scale."""

    practical: float = 0.02
    """FAIL and WARN need an estimated drop of at least this much (δ_practical)."""
    alpha: float = 0.05
    """One-sided significance level of FAIL."""
    warn_alpha: float = 0.15
    """WARN: a practical-size drop with a (Holm-adjusted) p-value below this, but not below alpha."""
    power: float = 0.8
    """Power used for the minimum detectable effect (1 − β)."""


@dataclass
class ClusterDelta:
    """Δ of the cases of one cluster (``None``: cases without a cluster)."""

    cluster: str | None
    n: int
    delta: float

    def label(self) -> str:
        name = f"cluster `{self.cluster}`" if self.cluster is not None else "cases without a cluster"
        return f"{name} {self.delta:+.2f}, n = {self.n}"


@dataclass
class MetricComparison:
    """Result of comparing one metric between base and head. Interval fields are None when n < 2."""

    metric: str
    kind: str
    decisive: bool
    n_cases: int
    n_clusters: int
    n_dropped: int
    n_nonzero: int
    base_mean: float | None
    head_mean: float | None
    delta: float | None
    se: float | None
    lb: float | None
    ub: float | None
    mde: float | None
    test: str | None
    p_value: float | None
    min_p: float | None
    p_adjusted: float | None
    state: str
    reason: str
    identical: str | None = None
    flips: tuple[int, int] | None = None
    mcnemar_p: float | None = None
    clusters: list[ClusterDelta] = field(default_factory=list)
    p_pr: float | None = None
    """Holm-adjusted over the decisive metrics of every gated prompt of the PR: what decides."""
    family: int = 1
    """Size of that Holm family (decisive metrics that can reach α, over the PR); the MDE is at α/family."""
    power_model: PowerModel | None = None
    """What the MDE of the deciding test depends on (internal, not reported)."""

    @property
    def regressed(self) -> list[ClusterDelta]:
        """Clusters whose Δ is a drop (< 0), largest contribution to the overall drop first."""
        return sorted((c for c in self.clusters if c.delta < -_ZERO), key=lambda c: (c.delta * c.n, str(c.cluster)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        out = asdict(self)
        del out["power_model"]
        out["flips"] = list(self.flips) if self.flips is not None else None
        return out


def _valid(samples: Sequence[float] | None) -> list[float]:
    if not samples:
        return []
    return [float(s) for s in samples if s is not None and not math.isnan(s)]


def _estimate(
    metric: str,
    base: CaseScores,
    head: CaseScores,
    clusters: Mapping[str, str | None] | None,
    thresholds: Thresholds,
    kind: Kind,
    decisive: bool,
) -> MetricComparison:
    """Everything except the Holm adjustment and the state."""
    if kind not in ("score", "pass"):
        raise ValueError(f"kind must be 'score' or 'pass', got {kind!r}")
    clusters = clusters or {}
    paired: list[tuple[str, float, float]] = []
    n_dropped = 0
    for case_id in sorted(set(base) | set(head)):
        b = _valid(base.get(case_id))
        h = _valid(head.get(case_id))
        if not b or not h:
            n_dropped += 1
            continue
        if kind == "pass" and any(v not in (0.0, 1.0) for v in (*b, *h)):
            raise ValueError(f"pass metric {metric!r}: case {case_id!r} has samples other than 0/1")
        paired.append((case_id, _mean(b), _mean(h)))
    n = len(paired)
    diffs = [h - b for _, b, h in paired]
    groups: dict[str | None, list[float]] = {}
    for (case_id, _, _), d in zip(paired, diffs, strict=True):
        groups.setdefault(clusters.get(case_id), []).append(d)
    per_cluster = [ClusterDelta(c, len(ds), _mean(ds)) for c, ds in groups.items()]
    per_cluster.sort(key=lambda c: (c.cluster is None, str(c.cluster)))
    flips: tuple[int, int] | None = None
    mc_p: float | None = None
    if kind == "pass":
        n_b = sum(1 for _, b, h in paired if b >= 0.5 and h < 0.5)
        n_c = sum(1 for _, b, h in paired if b < 0.5 and h >= 0.5)
        flips, mc_p = (n_b, n_c), mcnemar_p(n_b, n_c)
    comp = MetricComparison(
        metric=metric,
        kind=kind,
        decisive=decisive,
        n_cases=n,
        n_clusters=sum(1 for c in groups if c is not None) + len(groups.get(None, [])),
        n_dropped=n_dropped,
        n_nonzero=sum(1 for d in diffs if abs(d) > _ZERO),
        base_mean=_mean([b for _, b, _ in paired]) if n else None,
        head_mean=_mean([h for _, _, h in paired]) if n else None,
        delta=_mean(diffs) if n else None,
        se=None,
        lb=None,
        ub=None,
        mde=None,
        test=None,
        p_value=None,
        min_p=None,
        p_adjusted=None,
        state="PASS",
        reason="",
        flips=flips,
        mcnemar_p=mc_p,
        clusters=per_cluster,
    )
    if n == 0:
        return comp
    if comp.n_nonzero == 0:
        comp.delta = 0.0
    test = choose_test(diffs, [clusters.get(cid) for cid, _, _ in paired])
    comp.p_value, comp.test, comp.min_p, comp.power_model = test.p, test.name, test.min_p, test.power
    if n >= 2:
        delta = comp.delta or 0.0
        se = math.sqrt(math.fsum((d - delta) ** 2 for d in diffs) / (n - 1)) / math.sqrt(n)
        t_crit = t_ppf(1.0 - thresholds.alpha, n - 1)
        comp.se = se
        comp.lb, comp.ub = delta - t_crit * se, delta + t_crit * se
    return comp


def _f(x: float) -> str:
    return f"{x:+.3f}"


def _decide(comp: MetricComparison, p_adjusted: float | None, thresholds: Thresholds) -> None:
    """Set ``p_adjusted`` (and ``p_pr`` when not set: a PR of one prompt), ``mde``, ``state`` and ``reason``."""
    comp.p_adjusted = p_adjusted
    if comp.p_pr is None:
        comp.p_pr = p_adjusted
    _settle(comp, thresholds)


def _settle(comp: MetricComparison, thresholds: Thresholds) -> None:
    """``mde``, ``state`` and ``reason`` from ``p_pr`` (the PR-wide Holm-adjusted p-value) and ``family``."""
    level_at = thresholds.alpha / max(1, comp.family)
    model = comp.power_model
    comp.mde = mde(model, level_at, thresholds.power) if model is not None else None
    p_final = comp.p_pr
    if comp.n_cases == 0 or comp.delta is None or p_final is None or comp.p_value is None:
        comp.state = "WARN"
        comp.reason = f"No case has valid samples in both arms ({comp.n_dropped} dropped); nothing to compare."
        return
    delta = comp.delta
    level = round(100 * (1 - 2 * thresholds.alpha))
    lb, ub = comp.lb, comp.ub
    interval = f", {level}% interval [{_f(lb)}, {_f(ub)}]" if lb is not None and ub is not None else ""
    at = f" at α/{comp.family} (Holm over {comp.family} decisive metrics)" if comp.family > 1 else ""
    mde_text = f"; this suite detects drops ≥ {comp.mde:.3f}{at}" if comp.mde is not None else ""
    named = any(c.cluster is not None for c in comp.clusters)
    where = "; ".join(c.label() for c in comp.regressed[:3] if c.delta <= -thresholds.practical) if named else ""
    where = f"; regressed: {where}" if where else ""
    stat = f"Δ = {_f(delta)}{interval}, {comp.test} p = {comp.p_value:.3g}"
    if p_final != comp.p_value:
        stat += f" (Holm-adjusted {p_final:.3g} over {comp.family} decisive metrics)"
    practical = delta <= -thresholds.practical
    if comp.identical == "cache":
        comp.state = "PASS"
        comp.reason = f"No differences: requests and answers byte-identical (cache replay) on all {comp.n_cases} cases."
        return
    if practical and p_final < thresholds.alpha:
        comp.state = "FAIL"
        comp.reason = f"Regression: {stat}{where}."
        return
    if practical and p_final < thresholds.warn_alpha:
        comp.state = "WARN"
        comp.reason = f"Drop suggested, not established: {stat}{where}{mde_text}."
        return
    if practical and 0.5**comp.n_cases >= thresholds.warn_alpha:
        comp.state = "WARN"
        comp.reason = (
            f"Drop observed on a suite too small to test ({comp.n_cases} case{'s' if comp.n_cases != 1 else ''}): "
            f"Δ = {_f(delta)}{where}; add cases."
        )
        return
    comp.state = "PASS"
    if comp.n_nonzero == 0:
        what = "answers byte-identical" if comp.identical == "answers" else "scores tied on every case"
        comp.reason = f"No evidence of a drop: {what} (Δ = 0, n = {comp.n_cases})."
        return
    note = ""
    if p_final < thresholds.alpha:
        note = f" (significant, but smaller than the practical size {thresholds.practical:g})"
    elif comp.min_p is not None and comp.min_p > thresholds.alpha and 0.5**comp.n_cases > thresholds.alpha:
        note = f" (with {comp.n_cases} cases no test can reach p < {thresholds.alpha:g}: add cases)"
    if comp.mde is not None and comp.mde > UNDERPOWERED * thresholds.practical:
        mde_text += " (underpowered for drops near the practical size: add cases, or raise K or R)"
    comp.reason = f"No evidence of a relevant drop{note}: {stat}{mde_text}."


def compare_metric(
    metric: str,
    base: CaseScores,
    head: CaseScores,
    clusters: Mapping[str, str | None] | None = None,
    *,
    thresholds: Thresholds = Thresholds(),
    kind: Kind = "score",
    identical: str | None = None,
) -> MetricComparison:
    """Compare one metric on its own (a family of one: ``p_adjusted == p_value``).

    ``base``/``head`` map case id → the valid sample scores of that case (0–1; 0/1 for ``"pass"``).
    ``clusters`` maps case id → cluster (explanation only). ``identical``: ``"cache"`` when every pair is a
    byte-identical replay, ``"answers"`` when every answer is byte-identical.
    """
    comp = _estimate(metric, base, head, clusters, thresholds, kind, True)
    comp.identical = identical
    _decide(comp, comp.p_value, thresholds)
    return comp


MetricSpec = tuple[CaseScores, CaseScores, Kind] | tuple[CaseScores, CaseScores, Kind, bool]


def compare_prompt(
    metrics: Mapping[str, MetricSpec],
    clusters: Mapping[str, str | None] | None = None,
    thresholds: Thresholds = Thresholds(),
    *,
    identical: str | None = None,
) -> list[MetricComparison]:
    """Compare all metrics of one prompt; Holm across the decisive metrics that can reach α.

    ``metrics`` maps metric name → ``(base, head, kind[, decisive])`` (decisive by default). Non-decisive
    metrics get their own unadjusted state for information; they do not decide the prompt.
    """
    comps = []
    for name, spec in metrics.items():
        base, head, kind = spec[0], spec[1], spec[2]
        decisive = bool(spec[3]) if len(spec) > 3 else True
        comp = _estimate(name, base, head, clusters, thresholds, kind, decisive)
        comp.identical = identical
        comps.append(comp)
    family = _family(comps, thresholds)
    adjusted = dict(zip(family, holm([comps[i].p_value for i in family]), strict=True))  # type: ignore[misc]
    size = max(1, len(family))
    for i, comp in enumerate(comps):
        if comp.p_value is None:
            p_adj = None
        elif i in adjusted:
            p_adj = adjusted[i]
        elif comp.decisive:
            p_adj = min(1.0, comp.p_value * size)  # outside the family: cannot reach α, kept conservative
        else:
            p_adj = comp.p_value
        if comp.decisive:
            comp.family = size
        _decide(comp, p_adj, thresholds)
    return comps


def _family(comps: Sequence[MetricComparison], thresholds: Thresholds) -> list[int]:
    """Indices of the decisive metrics that can reach α (Tarone: the others cannot reject)."""
    return [
        i
        for i, c in enumerate(comps)
        if c.decisive and c.p_value is not None and c.min_p is not None and c.min_p <= thresholds.alpha
    ]


def adjust_across_prompts(prompts: Sequence[tuple[Sequence[MetricComparison], Thresholds]]) -> int:
    """Holm over the decisive metrics of every gated prompt of one PR; re-decide each with its ``p_pr``.

    ``prompts``: each gated prompt's comparisons (from :func:`compare_prompt`) and thresholds. A harmless
    PR that touches a shared partial, a model alias or the judge settings gates every prompt that uses it;
    without this, ten unchanged prompts would FAIL a third of such PRs. The price is power per prompt: the
    first Holm step tests at α/m, so the MDE grows with the number of decisive metrics gated together.
    Returns the family size ``m``.
    """
    members: list[tuple[MetricComparison, Thresholds]] = []
    for comps, th in prompts:
        members += [(comps[i], th) for i in _family(comps, th)]
    adjusted = holm([c.p_value for c, _ in members])  # type: ignore[misc]
    size = max(1, len(members))
    in_family = {id(c) for c, _ in members}
    for (comp, _), p in zip(members, adjusted, strict=True):
        comp.p_pr = p
    for comps, th in prompts:
        for comp in comps:
            if not comp.decisive:
                continue
            comp.family = size
            if id(comp) not in in_family:
                comp.p_pr = None if comp.p_value is None else min(1.0, comp.p_value * size)
            _settle(comp, th)
    return size


def overall_state(states: Sequence[str]) -> str:
    """FAIL if any FAIL, else WARN if any WARN, else PASS (PASS for an empty sequence)."""
    if "FAIL" in states:
        return "FAIL"
    if "WARN" in states:
        return "WARN"
    return "PASS"
