"""Simulation of the PR gate against a known truth, driving the real gate code through results records.

Usage: python bench/gate_simulation.py [--reps 1000] [--seed 0] [--jobs 2] [--quick] [--json out.json]

Every simulated PR builds the sample records a results file holds (one per case and generation, with the
judge's K sample scores, judge errors, the per-output verdict) for base and head, and runs them through the
gate exactly as ``llmops eval gate`` does: :func:`llmops_cli.gate.collect.collect` (metrics, the derived
``(pass)`` verdict) and :func:`llmops_cli.gate.decide.compare_arms` (tests, Holm, states, error checks).

Model (1–5 judge scale, normalised to 0–1 by ``(s − 1)/4``):

* case latent quality ``μ_i``: ``3.6 + u_c + e_i`` with a strong cluster effect ``u_c ~ N(0, 1)`` and
  ``e_i ~ N(0, 0.6)`` (or ``e_i ~ N(0, 0.9)`` without clusters); "ceiling" suites put 90% of the cases at
  ``μ = 8`` (a 5 nearly always);
* a generation ``g = μ_i + N(0, 0.5)``; each of its K judge samples ``s = clamp(round(g + N(0, 0.6)), 1, 5)``;
  a judge sample errors with the arm's error rate (``None``: not a score);
* R = 1 generation per case; the judge metric passes at a normalised score ≥ 0.5.

Effects are set in expected normalised score, computed exactly (quadrature over g): a "drop of δ" lowers
every case's expected score by δ (its μ solved from a table); "more variance, same mean" widens the
generation noise to sd 1.0 and re-solves μ so each case keeps its expected score; "drop in the largest
cluster" lowers that cluster's cases by ``δ·n/n_cluster`` (case-weighted Δ = δ); "helps one cluster, hurts
another" moves two clusters in opposite directions with a case-weighted Δ of exactly 0.

The oracle is the one-sided z-test on the same data with the true variance of each case's difference
(``Δ̂ / SE_true < −z_0.95``): the power the design could have had. No test that must estimate the variance
can reach it at small n, so the power rows also show the fair benchmark, "oracle t": the one-sided paired
t-test on the same differences (``Δ̂ / SE_estimated < −t_{0.95, n−1}``, the old gate's test, whose size on
these discrete scores is not guaranteed: on 0/1 judges at n = 20 it is well above α). The uniform-drop rows'
target is the gap to the **size-adjusted** paired t-test ("oracle t*"): the same statistic compared with the
critical value that gives it size exactly α on that layout, read from as many no-change PRs of the same layout
(ties at the critical value split, as a randomised test would). The gate's tests have size exactly α, so this
is the like-for-like oracle; the z oracle is printed beside it. Cluster rows keep the gap to the z oracle.

No-change rows: an exact-α test's FAIL rate is 5% plus Monte-Carlo noise, so "FAIL ≤ 5%" is checked as "not
significantly above 5%" (the lower 95% Wilson bound ≤ 5%) and measured precisely enough that the upper 95%
bound is ≤ 6% (≥ 10,000 PRs a row gives the margin; at 2,000 the bound of a 5% rate is 5.97%).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field, replace
from multiprocessing import Pool
from pathlib import Path
from statistics import NormalDist
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmops_cli.config import GateConfig
from llmops_cli.evals.fields import Invalid
from llmops_cli.evals.model import AssertionRecord, EvalResults, JudgeStats, PromptInfo, RunInfo, SampleRecord
from llmops_cli.gate.collect import collect
from llmops_cli.gate.decide import compare_arms, decide
from llmops_cli.gate.pvalues import t_cdf

_N = NormalDist()
SD_GEN = 0.5
SD_GEN_WIDE = 1.0
SD_JUDGE = 0.6
MU_CENTRE = 3.6
CEILING_MU = 8.0
CONFIG = GateConfig()
Z95 = _N.inv_cdf(0.95)

# -- exact expectation tables -------------------------------------------------------------------------------

_Z = [-5 + 0.125 * i for i in range(81)]
_W = [_N.pdf(z) for z in _Z]
_WS = sum(_W)
_W = [w / _WS for w in _W]
GRID = [-4.0 + 0.01 * i for i in range(1401)]  # μ from −4 to 10


def _level_probs(g: float, binary: bool = False) -> list[tuple[float, float]]:
    """(normalised score, probability) of one judge sample given generation quality g: a 1–5 judge, or a
    0/1 judge that says pass when ``g + noise ≥ 3.5``."""
    if binary:
        up = 1 - _N.cdf((3.5 - g) / SD_JUDGE)
        return [(0.0, 1 - up), (1.0, up)]
    cuts = [_N.cdf((c - g) / SD_JUDGE) for c in (1.5, 2.5, 3.5, 4.5)]
    probs = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], cuts[3] - cuts[2], 1 - cuts[3]]
    return [(i / 4, pi) for i, pi in enumerate(probs)]


def _moments(mu: float, sd_gen: float, binary: bool = False) -> tuple[float, float, float]:
    """(E[s], Var_g(E[s|g]), E_g[Var(s|g)]) of one normalised judge sample."""
    e1 = e2 = ev = 0.0
    for z, w in zip(_Z, _W, strict=True):
        p = _level_probs(mu + sd_gen * z, binary)
        m = sum(pi * v for v, pi in p)
        v = sum(pi * v * v for v, pi in p) - m * m
        e1 += w * m
        e2 += w * m * m
        ev += w * v
    return e1, e2 - e1 * e1, ev


@dataclass
class Table:
    """Expected score and variance parts over the μ grid for one generation-noise level."""

    sd_gen: float
    binary: bool = False
    mean: list[float] = field(default_factory=list)
    var_between: list[float] = field(default_factory=list)
    var_within: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for mu in GRID:
            m, vb, vw = _moments(mu, self.sd_gen, self.binary)
            self.mean.append(m)
            self.var_between.append(vb)
            self.var_within.append(vw)

    def _at(self, values: list[float], mu: float) -> float:
        x = (min(max(mu, GRID[0]), GRID[-1]) - GRID[0]) / 0.01
        i = min(int(x), len(GRID) - 2)
        f = x - i
        return values[i] * (1 - f) + values[i + 1] * f

    def expected(self, mu: float) -> float:
        return self._at(self.mean, mu)

    def var_mean(self, mu: float, k: int) -> float:
        """Variance of the mean of K judge samples of one generation."""
        return self._at(self.var_between, mu) + self._at(self.var_within, mu) / k

    def mu_for(self, target: float) -> float:
        """The μ whose expected normalised score is ``target`` (clamped to the grid)."""
        i = bisect.bisect_left(self.mean, target)
        if i <= 0:
            return GRID[0]
        if i >= len(GRID):
            return GRID[-1]
        lo, hi = self.mean[i - 1], self.mean[i]
        f = 0.0 if hi == lo else (target - lo) / (hi - lo)
        return GRID[i - 1] + 0.01 * f


_TABLES: dict[tuple[float, bool], Table] = {}


def table(sd_gen: float, binary: bool = False) -> Table:
    if (sd_gen, binary) not in _TABLES:
        _TABLES[(sd_gen, binary)] = Table(sd_gen, binary)
    return _TABLES[(sd_gen, binary)]


# -- scenarios ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One row of the table: a suite shape, a head effect, judge error rates."""

    key: str
    label: str
    n: int
    k: int
    clusters: tuple[int, int] | None = None  # (min, max) number of clusters; None: no clusters
    ceiling: bool = False
    effect: str = "none"  # none | wider | drop | drop-largest | help-hurt | collapse | mde
    delta: float = 0.0
    err_base: float = 0.0
    err_head: float = 0.0
    target: str = ""
    layout: str = ""  # "" | singles (one cluster + singletons) | singles-high | tied (ceiling cluster + singles)
    binary: bool = False  # 0/1 judge
    prompts: int = 1  # prompts gated together in one PR
    nulled: int = 0  # head's worst cases whose judge samples are nulled
    nulled_counted: bool = True  # … with judge.errors counting them (else 0: refused on load)


@dataclass
class Suite:
    mu: list[float]
    cluster: list[str | None]


def _layout(rng: random.Random, sc: Scenario) -> Suite:
    """A cluster of half the cases (21 of 45 for ``tied``) plus singletons — the layouts of issue #20."""
    n = sc.n
    big = round(n * 21 / 45) if sc.layout == "tied" else n // 2
    mus: list[float] = []
    cl: list[str | None] = []
    level = rng.gauss(0, 1.0)
    target = table(SD_GEN).mu_for(0.9)
    for _ in range(big):
        if sc.layout == "tied":
            mus.append(CEILING_MU)  # every case a 5 on both sides: all differences tied at 0
        elif sc.layout == "singles-high":
            mus.append(target + rng.gauss(0, 0.3))
        else:
            mus.append(MU_CENTRE + level + rng.gauss(0, 0.6))
        cl.append("big")
    for i in range(n - big):
        mus.append(MU_CENTRE + rng.gauss(0, 0.9))
        cl.append(f"single{i}")
    return Suite(mus, cl)


def make_suite(rng: random.Random, sc: Scenario) -> Suite:
    n = sc.n
    if sc.effect == "collapse":
        c = sc.clusters[0] if sc.clusters else 1
        return Suite([20.0] * n, [f"k{i % c}" for i in range(n)])
    if sc.layout:
        return _layout(rng, sc)
    if sc.clusters is None:
        mus = [MU_CENTRE + rng.gauss(0, 0.9) for _ in range(n)]
        cl: list[str | None] = [None] * n
    else:
        c = rng.randint(*sc.clusters)
        c = min(c, n)
        weights = [rng.expovariate(1.0) for _ in range(c)]
        total = sum(weights)
        sizes = [1 + int((n - c) * w / total) for w in weights]
        for j in range(n - sum(sizes)):
            sizes[j % c] += 1
        level = [rng.gauss(0, 1.0) for _ in range(c)]
        mus, cl = [], []
        for j, size in enumerate(sizes):
            for _ in range(size):
                mus.append(MU_CENTRE + level[j] + rng.gauss(0, 0.6))
                cl.append(f"k{j}")
    if sc.ceiling:
        mus = [CEILING_MU if rng.random() < 0.9 else m for m in mus]
    return Suite(mus, cl)


def _shift_to(mu: float, change: float, binary: bool = False) -> float:
    t = table(SD_GEN, binary)
    target = min(max(t.expected(mu) + change, 0.0005), 0.9995)
    return t.mu_for(target)


def head_of(rng: random.Random, sc: Scenario, suite: Suite, delta: float | None = None) -> tuple[list[float], float]:
    """Head μ per case and the head's generation noise sd (``delta``: the drop of an ``mde`` row)."""
    t = table(SD_GEN, sc.binary)
    if sc.effect == "collapse":
        return [-20.0] * sc.n, SD_GEN
    if sc.effect == "wider":
        wide = table(SD_GEN_WIDE, sc.binary)
        return [wide.mu_for(t.expected(m)) for m in suite.mu], SD_GEN_WIDE
    if sc.effect == "drop" or (sc.effect == "mde" and delta is not None):
        d = sc.delta if delta is None else delta
        return [_shift_to(m, -d, sc.binary) for m in suite.mu], SD_GEN
    if sc.effect == "drop-largest":
        sizes: dict[str | None, int] = {}
        for c in suite.cluster:
            sizes[c] = sizes.get(c, 0) + 1
        largest = max(sizes, key=lambda c: (sizes[c], str(c)))
        per_case = sc.delta * sc.n / sizes[largest]
        # lower the largest cluster's cases by per_case on average, each within [0, 1]
        idx = [i for i, c in enumerate(suite.cluster) if c == largest]
        head = list(suite.mu)
        exp = [t.expected(suite.mu[i]) for i in idx]
        need = per_case * len(idx)
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            got = sum(min(mid, e - 0.0005) for e in exp)
            lo, hi = (mid, hi) if got < need else (lo, mid)
        for i, e in zip(idx, exp, strict=True):
            head[i] = _shift_to(suite.mu[i], -min(lo, e - 0.0005))
        return head, SD_GEN
    if sc.effect == "help-hurt":
        names = sorted({c for c in suite.cluster if c is not None})
        a, b = rng.sample(names, 2)
        ia = [i for i, c in enumerate(suite.cluster) if c == a]
        ib = [i for i, c in enumerate(suite.cluster) if c == b]
        ea = [t.expected(suite.mu[i]) for i in ia]
        eb = [t.expected(suite.mu[i]) for i in ib]
        gain = sum(min(0.15, 0.9995 - e) for e in ea)
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if sum(min(mid, e - 0.0005) for e in eb) < gain else (lo, mid)
        loss = sum(min(lo, e - 0.0005) for e in eb)
        scale = loss / gain if gain > 0 else 0.0  # exact balance when the hurt cluster cannot lose enough
        head = list(suite.mu)
        for i, e in zip(ia, ea, strict=True):
            head[i] = _shift_to(suite.mu[i], min(0.15, 0.9995 - e) * scale)
        for i, e in zip(ib, eb, strict=True):
            head[i] = _shift_to(suite.mu[i], -min(lo, e - 0.0005))
        return head, SD_GEN
    return list(suite.mu), SD_GEN


def _judge_sample(rng: random.Random, g: float, binary: bool) -> float:
    if binary:
        return 1.0 if g + rng.gauss(0, SD_JUDGE) >= 3.5 else 0.0
    s = min(5, max(1, round(g + rng.gauss(0, SD_JUDGE))))
    return (s - 1) / 4


def sample_records(
    rng: random.Random, sc: Scenario, suite: Suite, mus: list[float], sd_gen: float, err: float, arm: str,
    prompt: str = "sim",
) -> list[SampleRecord]:  # fmt: skip
    """One sample record per case of one prompt and arm, as ``llmops eval run`` writes them."""
    recs = []
    for i, (mu, cl) in enumerate(zip(mus, suite.cluster, strict=True)):
        g = mu + rng.gauss(0, sd_gen)
        samples: list[float | None] = []
        for _ in range(sc.k):
            if err and rng.random() < err:
                samples.append(None)
                continue
            samples.append(_judge_sample(rng, g, sc.binary))
        valid = [s for s in samples if s is not None]
        score = sum(valid) / len(valid) if valid else None
        passed = None if score is None else score >= 0.5
        recs.append(
            SampleRecord(
                prompt=prompt,
                case_id=f"c{i:03d}",
                sample=0,
                cluster=cl,
                request_hash=f"{arm}{i}",
                output=f"{arm} answer {i}",
                error=None,
                status="error" if passed is None else "pass" if passed else "fail",
                cost_usd=0.0001,
                judge=JudgeStats(samples=sc.k, errors=sc.k - len(valid), cost_usd=0.0),
                assertions=[
                    AssertionRecord(
                        type="judge",
                        metric="judge",
                        score=score,
                        passed=passed,
                        samples=samples,
                        judge_errors=sc.k - len(valid),
                    )
                ],
            )
        )
    return recs


def results_of(recs: list[SampleRecord], clusters: dict[str, dict[str, str | None]], k: int) -> EvalResults:
    return EvalResults(
        run=RunInfo(repeat=1, judge_samples=k),
        prompts={name: PromptInfo(clusters=cl) for name, cl in clusters.items()},
        samples=recs,
    )


def records(
    rng: random.Random, sc: Scenario, suite: Suite, mus: list[float], sd_gen: float, err: float, arm: str
) -> EvalResults:
    """The results-file content of one arm: prompt info and one sample record per case."""
    recs = sample_records(rng, sc, suite, mus, sd_gen, err, arm)
    return results_of(recs, {"sim": {f"c{i:03d}": c for i, c in enumerate(suite.cluster)}}, sc.k)


def _null_worst(results: EvalResults, count: int, k: int, counted: bool) -> EvalResults:
    """Null the judge samples of the ``count`` lowest-scored cases, and reload the file as the gate would:
    ``None`` when loading refuses it (exit 2)."""
    worst = sorted(results.samples, key=lambda r: (r.assertions[0].score or 0.0, r.case_id))[:count]
    for rec in worst:
        a = rec.assertions[0]
        a.samples, a.score, a.passed, a.judge_errors = [None] * k, None, None, k if counted else 0
        rec.status = "error"
        rec.judge = JudgeStats(samples=k, errors=k if counted else 0, cost_usd=0.0)
    try:
        return EvalResults.from_dict(json.loads(json.dumps(results.to_dict())))
    except Invalid:
        return None  # type: ignore[return-value]


@dataclass
class Outcome:
    state: str  # FAIL / WARN / PASS, or REFUSED (the results file is refused on load: exit 2)
    error_rule: bool = False
    oracle: bool = False
    oracle_t: bool = False
    p_values: list[float] = field(default_factory=list)
    mde: float | None = None
    t_stat: float | None = None  # the paired t statistic Δ̂ / SE of the judge metric (for the size-adjusted oracle)


def _p_values(comps: list[Any]) -> list[float]:
    return [p for c in comps for p in (c.p_value, c.p_adjusted, c.p_pr) if p is not None]


def _oracle(sc: Scenario, suite: Suite, head_mu: list[float], head_sd: float, delta_hat: float | None) -> bool:
    if delta_hat is None or sc.effect == "collapse":
        return False
    tb, th = table(SD_GEN, sc.binary), table(head_sd, sc.binary)
    var = sum(tb.var_mean(b, sc.k) + th.var_mean(h, sc.k) for b, h in zip(suite.mu, head_mu, strict=True))
    se = math.sqrt(var) / sc.n
    return se > 0 and delta_hat / se < -Z95


def one_pr(rng: random.Random, sc: Scenario, suite: Suite | None = None, delta: float | None = None) -> Outcome:
    """One simulated PR of one prompt (``delta``: the drop of an ``mde`` row's second PR)."""
    suite = suite or make_suite(rng, sc)
    head_mu, head_sd = head_of(rng, sc, suite, delta)
    base_res = records(rng, sc, suite, suite.mu, SD_GEN, sc.err_base, "b")
    head_res = records(rng, sc, suite, head_mu, head_sd, sc.err_head, "h")
    if sc.nulled:
        head_res = _null_worst(head_res, sc.nulled, sc.k, sc.nulled_counted)
        if head_res is None:
            return Outcome("REFUSED")
    gate = compare_arms("sim", collect(base_res)["sim"], collect(head_res)["sim"], CONFIG)
    judge = next((m for m in gate.metrics if m.metric == "judge"), None)
    oracle = _oracle(sc, suite, head_mu, head_sd, judge.delta if judge is not None else None)
    return Outcome(
        gate.state or "WARN", any(e.failed for e in gate.errors), oracle, _oracle_t(judge), _p_values(gate.metrics),
        judge.mde if judge is not None else None, _t_stat(judge),
    )  # fmt: skip


def _t_stat(judge: Any) -> float | None:
    if judge is None or judge.delta is None or judge.se is None:
        return None
    if judge.se <= 0:
        return math.copysign(math.inf, judge.delta) if judge.delta else 0.0
    return float(judge.delta / judge.se)


def size_adjusted_power(null: list[float], alt: list[float], alpha: float) -> float:
    """Power of the one-sided paired t-test run at the critical value that gives it size exactly ``alpha`` on
    this layout (from the null statistics ``null``; a tie at the critical value is split, as a randomised test
    would): the fair oracle for a gate whose tests have size exactly α, since the t-test's own size on discrete
    scores is not α."""
    if not null or not alt:
        return 0.0
    ordered = sorted(null)
    c = ordered[min(len(ordered) - 1, int(alpha * len(ordered)))]
    below = sum(t < c for t in ordered)
    at = sum(t == c for t in ordered)
    gamma = (alpha * len(ordered) - below) / at if at else 0.0
    return (sum(t < c for t in alt) + gamma * sum(t == c for t in alt)) / len(alt)


def _oracle_t(judge: Any) -> bool:
    """The paired t-test on the same differences: estimates the variance, as any real test must."""
    if judge is None or judge.delta is None or judge.se is None or judge.n_cases < 2:
        return False
    if judge.se <= 0:
        return judge.delta < 0
    return t_cdf(judge.delta / judge.se, judge.n_cases - 1) < CONFIG.alpha


def many_prompts_pr(rng: random.Random, sc: Scenario) -> Outcome:
    """A harmless PR gating ``sc.prompts`` unchanged prompts together (e.g. a shared partial changed)."""
    base_recs: list[SampleRecord] = []
    head_recs: list[SampleRecord] = []
    clusters: dict[str, dict[str, str | None]] = {}
    for j in range(sc.prompts):
        suite = make_suite(rng, sc)
        name = f"p{j:02d}"
        base_recs += sample_records(rng, sc, suite, suite.mu, SD_GEN, 0.0, "b", name)
        head_recs += sample_records(rng, sc, suite, suite.mu, SD_GEN, 0.0, "h", name)
        clusters[name] = {f"c{i:03d}": c for i, c in enumerate(suite.cluster)}
    report = decide(
        collect(results_of(base_recs, clusters, sc.k)), collect(results_of(head_recs, clusters, sc.k)), CONFIG
    )
    return Outcome(report.verdict, p_values=[p for pr in report.gated for p in _p_values(pr.metrics)])


def mde_pr(rng: random.Random, sc: Scenario) -> Outcome:
    """Power at the printed MDE: a no-change PR prints the suite's MDE; a PR that drops every case's expected
    score by exactly that much is then gated on the same suite."""
    suite = make_suite(rng, sc)
    null = one_pr(rng, sc, suite)
    if null.mde is None:
        return Outcome("NO MDE", p_values=null.p_values)
    out = one_pr(rng, sc, suite, delta=null.mde)
    out.mde = null.mde
    out.p_values += null.p_values
    return out


def run_row(args: tuple[Scenario, int, int]) -> dict[str, Any]:
    sc, reps, seed = args
    rng = random.Random(seed)
    counts = {"FAIL": 0, "WARN": 0, "PASS": 0, "REFUSED": 0, "NO MDE": 0}
    oracle = oracle_t = errors = zero_p = 0
    min_p = 1.0
    mdes: list[float] = []
    alt_t: list[float] = []
    for _ in range(reps):
        if sc.prompts > 1:
            out = many_prompts_pr(rng, sc)
        elif sc.effect == "mde":
            out = mde_pr(rng, sc)
        else:
            out = one_pr(rng, sc)
        counts[out.state] += 1
        errors += out.error_rule
        oracle += out.oracle
        oracle_t += out.oracle_t
        zero_p += any(p <= 0 for p in out.p_values)
        min_p = min([min_p, *out.p_values])
        if out.mde is not None:
            mdes.append(out.mde)
        if out.t_stat is not None:
            alt_t.append(out.t_stat)
    oracle_adj = None
    if sc.target in (UNIFORM_TARGET, CLUSTER_TARGET):
        # the same layout with no change: the t statistic's own null distribution, for the size-adjusted oracle
        null_sc = replace(sc, effect="none", delta=0.0)
        null_t = [t for t in (one_pr(rng, null_sc).t_stat for _ in range(reps)) if t is not None]
        oracle_adj = round(size_adjusted_power(null_t, alt_t, CONFIG.alpha) * reps)
    return {
        "scenario": sc, "reps": reps, **counts, "oracle": oracle, "oracle_t": oracle_t, "oracle_adj": oracle_adj, "error_rule": errors, "zero_p": zero_p,
        "min_p": min_p, "mde_mean": sum(mdes) / len(mdes) if mdes else None,
    }  # fmt: skip


NULL_TARGET = "FAIL ≤ 5% (upper 95% ≤ 6%), WARN ≤ 15%"
UNIFORM_TARGET = "FAIL within 2 points of the oracle t*"
CLUSTER_TARGET = "FAIL within 3 points of the oracle"
MDE_TARGET = "FAIL 80% ± 4 at the printed MDE"


def scenarios(quick: bool) -> list[Scenario]:
    ns = (5, 10, 20, 50, 100)
    out: list[Scenario] = []
    nulls = [
        ("plain", "no change", {}),
        ("clusters", "no change, 2–10 clusters, strong cluster effects", {"clusters": (2, 10)}),
        ("ceiling", "no change, 90% of cases at the ceiling", {"ceiling": True}),
        ("wider", "no change in mean, head more variance", {"effect": "wider"}),
        ("binary", "no change, 0/1 judge", {"binary": True}),
    ]
    for key, label, kw in nulls:
        for k in (1, 3):
            for n in ns:
                if key == "binary" and k == 3:
                    continue
                out.append(Scenario(f"{key}-k{k}-n{n}", label, n, k, target=NULL_TARGET, **kw))  # type: ignore[arg-type]
    layouts = [
        ("singles", "no change, one 30-case cluster + 30 singletons", 60),
        ("singles-high", "no change, one 25-case cluster at mean 0.9 + 25 singletons", 50),
        ("tied", "no change, 21 tied cases in one cluster (all 5s) + 24 singletons", 45),
    ]
    for layout, label, n in layouts:
        for k in (1, 3):
            out.append(Scenario(f"{layout}-k{k}-n{n}", label, n, k, layout=layout, target=NULL_TARGET))
    for prompts in (3, 10):
        for k in (1, 3):
            out.append(
                Scenario(
                    f"prompts{prompts}-k{k}", f"harmless PR gating {prompts} unchanged prompts (30 cases each)", 30,
                    k, clusters=(2, 10), prompts=prompts, target="PR FAIL ≤ 5% (upper 95% ≤ 6%)",
                )
            )  # fmt: skip
    for n, k in ((20, 1), (50, 3), (200, 1), (20, 3), (50, 1)):
        out.append(Scenario(f"mde-n{n}-k{k}", "drop = the printed MDE", n, k, effect="mde", target=MDE_TARGET))
    for delta in (0.05, 0.10):
        for k in (1, 3):
            for n in (50, 100):
                out.append(
                    Scenario(f"drop{delta}-k{k}-n{n}", f"drop {delta:.2f}", n, k, effect="drop", delta=delta,
                             target=UNIFORM_TARGET)
                )  # fmt: skip
    for n, k, delta in ((20, 1, 0.15), (20, 3, 0.10)):
        out.append(
            Scenario(f"drop{delta}-k{k}-n{n}", f"drop {delta:.2f}", n, k, effect="drop", delta=delta,
                     target=UNIFORM_TARGET)
        )  # fmt: skip
    for n in (20, 50):
        out.append(
            Scenario(f"drop01-k1-n{n}", "drop 0.10, 0/1 judge", n, 1, effect="drop", delta=0.10, binary=True,
                     target=UNIFORM_TARGET)
        )  # fmt: skip
    for k in (1, 3):
        for n in (50, 100):
            out.append(
                Scenario(
                    f"largest-k{k}-n{n}",
                    "drop 0.10 (case-weighted) confined to the largest cluster",
                    n,
                    k,
                    clusters=(2, 10),
                    effect="drop-largest",
                    delta=0.10,
                    target=CLUSTER_TARGET,
                )
            )
    for n, c in ((5, 1), (5, 2), (5, 3), (5, 4), (20, 4), (20, 20)):
        out.append(
            Scenario(
                f"collapse-n{n}-c{c}",
                "total collapse 1.0 → 0.0",
                n,
                1,
                clusters=(c, c),
                effect="collapse",
                target="FAIL 100%",
            )
        )
    for k in (1, 3):
        out.append(
            Scenario(
                f"helphurt-k{k}",
                "helps one cluster, hurts another (Δ = 0)",
                50,
                k,
                clusters=(2, 10),
                effect="help-hurt",
                target="FAIL ≤ 6%",
            )
        )
    equal = Scenario("err-equal", "judge errors 3% in both arms", 50, 3, err_base=0.03, err_head=0.03,
                     target="error-rule FAIL ≤ 5%")  # fmt: skip
    lopsided = Scenario("err-head", "judge errors 8% in head, 0% in base", 50, 3, err_head=0.08,
                        target="FAIL ≥ 80%")  # fmt: skip
    out += [equal, lopsided]
    for counted in (True, False):
        out.append(
            Scenario(
                f"nulled-{'counted' if counted else 'hidden'}",
                "no change; head's 10 worst cases nulled"
                + (" (counted as judge errors)" if counted else " (judge.errors 0: refused on load)"),
                50, 3, clusters=(2, 10), nulled=10, nulled_counted=counted, target="PASS 0%",
            )
        )  # fmt: skip
    if quick:
        out = [s for s in out if s.n in (5, 50) or s.effect == "collapse"]
    return out


def _wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of a rate: a target is judged against the simulation's own noise."""
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def check(row: dict[str, Any], rows: list[dict[str, Any]]) -> bool | None:
    """Target met? No p-value may be 0 anywhere. No-change FAIL rates: not significantly above 5% (lower 95%
    Wilson bound ≤ 5%) and the upper 95% Wilson bound ≤ 6%; power at the MDE: 76–84%; uniform drops lose at
    most 2 points of power to the size-adjusted paired t-test, cluster drops at most 3 to the z oracle."""
    sc: Scenario = row["scenario"]
    reps = row["reps"]
    if row["zero_p"]:
        return False
    fail_hi = _wilson(row["FAIL"], reps)[1]
    if sc.target in (NULL_TARGET, "PR FAIL ≤ 5% (upper 95% ≤ 6%)"):
        ok = _wilson(row["FAIL"], reps)[0] <= 0.05 and fail_hi <= 0.06
        return ok and (sc.prompts > 1 or _wilson(row["WARN"], reps)[0] <= 0.15)
    if sc.target == UNIFORM_TARGET:
        ref = row["oracle"] if row.get("oracle_adj") is None else row["oracle_adj"]
        return (ref - row["FAIL"]) / reps <= 0.02  # power lost to the oracle (more power is no loss)
    if sc.target == CLUSTER_TARGET:
        return (row["oracle"] - row["FAIL"]) / reps <= 0.03
    if sc.target == MDE_TARGET:
        return 0.76 <= row["FAIL"] / reps <= 0.84
    if sc.target == "FAIL 100%":
        return row["FAIL"] == reps
    if sc.target == "FAIL ≤ 6%":
        return _wilson(row["FAIL"], reps)[0] <= 0.06
    if sc.target == "error-rule FAIL ≤ 5%":
        return _wilson(row["error_rule"], reps)[0] <= 0.05
    if sc.target == "FAIL ≥ 80%":
        return _wilson(row["FAIL"], reps)[1] >= 0.80
    if sc.target == "PASS 0%":
        return row["PASS"] == 0
    return None


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%"


def _row_line(row: dict[str, Any], ok: bool | None) -> str:
    sc: Scenario = row["scenario"]
    reps = row["reps"]
    label = sc.label + (f" ({sc.clusters[0]} clusters)" if sc.effect == "collapse" else "")
    fail = f"{_pct(row['FAIL'], reps)} (≤ {100 * _wilson(row['FAIL'], reps)[1]:.1f}%)"
    extra = ""
    if sc.target in (UNIFORM_TARGET, CLUSTER_TARGET, MDE_TARGET):
        extra = f"oracle {_pct(row['oracle'], reps)}, oracle t {_pct(row['oracle_t'], reps)}"
        if row.get("oracle_adj") is not None:
            extra += f", oracle t* {_pct(row['oracle_adj'], reps)}"
    if sc.effect == "mde" and row["mde_mean"] is not None:
        extra += f"; mean MDE {row['mde_mean']:.3f}" + (f", no MDE {row['NO MDE']}" if row["NO MDE"] else "")
    if sc.err_base or sc.err_head or sc.nulled:
        extra = f"error rule {_pct(row['error_rule'], reps)}"
    if row["REFUSED"]:
        extra = f"refused on load (exit 2) {_pct(row['REFUSED'], reps)}"
    return (
        f"| {label} | {sc.k} | {sc.n} | {fail} | {_pct(row['WARN'], reps)} | {_pct(row['PASS'], reps)} | {extra} "
        f"| {row['min_p']:.2g} | {sc.target} | {'✔' if ok else '✘' if ok is not None else ''} |"
    )


def readme_table(rows: list[dict[str, Any]]) -> str:
    """One line per scenario (and K): FAIL rate (WARN rate) by n, or gate vs oracle for the power rows."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        sc = row["scenario"]
        key = (sc.label + (f" ({sc.clusters[0]} clusters)" if sc.effect == "collapse" else ""), sc.k)
        groups.setdefault(key, []).append(row)
    lines = ["| scenario | K | result by n (rate over simulated PRs) | target | |", "|---|---:|---|---|---|"]
    for (label, k), rs in groups.items():
        sc = rs[0]["scenario"]
        parts = []
        for r in rs:
            n, reps = r["scenario"].n, r["reps"]
            if sc.target == NULL_TARGET:
                parts.append(f"n={n}: {_pct(r['FAIL'], reps)} ({_pct(r['WARN'], reps)})")
            elif sc.target in (UNIFORM_TARGET, CLUSTER_TARGET, MDE_TARGET):
                ref = r["oracle"] if r.get("oracle_adj") is None else r["oracle_adj"]
                name = "oracle" if r.get("oracle_adj") is None else "oracle t*"
                parts.append(
                    f"n={n}: {_pct(r['FAIL'], reps)} vs {name} {_pct(ref, reps)} (z oracle {_pct(r['oracle'], reps)})"
                )
            elif sc.err_base or sc.err_head:
                parts.append(f"n={n}: {_pct(r['FAIL'], reps)} (error rule {_pct(r['error_rule'], reps)})")
            else:
                parts.append(f"n={n}: {_pct(r['FAIL'], reps)}")
        ok = all(check(r, rows) is not False for r in rs)
        lines.append(f"| {label} | {k} | {'; '.join(parts)} | {sc.target} | {'✔' if ok else '✘'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000, help="simulated PRs per row (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--quick", action="store_true", help="only n = 5 and 50 (and the collapse rows)")
    ap.add_argument("--only", help="run only rows whose key contains this text (comma-separated: any of them)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--readme", action="store_true", help="also print the compact table used in README.md")
    args = ap.parse_args(argv)

    rows_in = scenarios(args.quick)
    if args.only:
        wanted = [w for w in args.only.split(",") if w]
        rows_in = [s for s in rows_in if any(w in s.key for w in wanted)]
    start = time.perf_counter()
    master = random.Random(args.seed)
    jobs = [(sc, 50 if sc.effect == "collapse" else args.reps, master.getrandbits(64)) for sc in rows_in]
    rows = []
    with Pool(max(1, args.jobs), initializer=table, initargs=(SD_GEN,)) as pool:
        for row in pool.imap(run_row, jobs, chunksize=1):  # in order; each row reported as it lands
            rows.append(row)
            print(_row_line(row, check(row, rows)), file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start

    print("## PR gate simulation\n")
    print(
        f"{args.reps} simulated PRs per row (collapse rows: 50, deterministic), seed {args.seed}; discrete 1–5 "
        f"judge scores (0/1 where stated), R = 1, generation sd {SD_GEN}, judge sd {SD_JUDGE}; gate defaults "
        f"(practical {CONFIG.practical}, α {CONFIG.alpha}); {elapsed:.0f} s with {args.jobs} processes. FAIL: "
        "rate (upper 95% Wilson bound); min p: the smallest p-value (raw or adjusted) any PR of the row showed.\n"
    )
    print("| scenario | K | n | FAIL (upper 95%) | WARN | PASS | oracle / errors / MDE | min p | target | |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---|---|")
    out = []
    for row in rows:
        sc = row["scenario"]
        ok = check(row, rows)
        print(_row_line(row, ok))
        out.append({**{k: v for k, v in row.items() if k != "scenario"}, **sc.__dict__, "ok": ok})
    all_ok = all(r["ok"] is not False for r in out)
    zero = sum(r["zero_p"] for r in out)
    print(f"\nPRs with a p-value of 0: {zero}. All targets met: {'yes' if all_ok else 'NO'}")
    if args.readme:
        print("\n" + readme_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"reps": args.reps, "seed": args.seed, "rows": out}, indent=1) + "\n")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
