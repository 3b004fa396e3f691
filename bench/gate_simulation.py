"""Simulation benchmark of the PR gate statistics (llmops_cli.gate.stats) against a known truth.

Usage: python bench/gate_simulation.py [--reps 2000] [--seed 0] [--json out.json]

Model (pure Python, ``random.Random(seed)``):

* Case latent quality ``q_i = sigmoid(logit(0.7) + u_c + e_i)``, ``e_i ~ N(0, σ_case)``, plus a
  topic effect ``u_c ~ N(0, σ_topic)`` when the suite has clusters (5–10 clusters of random size).
* Each arm generates R outputs per case with quality ``g = q + N(0, σ_gen)`` and K judge samples
  per output ``s = clip(g + N(0, σ_judge), 0, 1)``; a second, pass/fail metric is ``s ≥ 0.5``.
  Generation and judge noise are drawn independently for base and head (conservative: the real
  tool shares cached samples for unchanged prompts and then gives exactly Δ = 0).
* A PR's effect shifts ``q`` in the head arm. The true effect is measured in expected judge score
  ``f(q) = E[clip(N(q, σ_gen² + σ_judge²), 0, 1)]`` (closed form), so a "0.10 drop" is a drop of
  exactly 0.10 in the expected score, clipping included.

Every rep drives the gate's real decision function ``llmops_cli.gate.decide.compare_arms`` (the same one
``llmops eval gate`` uses: ``compare_prompt`` on the metrics "score" (judged) and "pass" (0/1), Holm across
them, plus the fail-closed judge/provider error checks, here with no errors) on per-case ``Arm`` objects;
a rep counts as FAIL when the prompt's state is FAIL.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmops_cli.config import GateConfig
from llmops_cli.gate.collect import Arm, CaseData
from llmops_cli.gate.decide import compare_arms
from llmops_cli.gate.stats import (
    Thresholds,
    betainc,
    compare_metric,
    t_cdf,
)

_N = NormalDist()
HELP_HURT = 0.15
"""Expected-score change of the helped / hurt cluster in the help-one-hurt-one scenario."""
TOPIC_SD = 0.08
"""sd of the per-cluster expected-score change in the random-topic-effects scenario."""
THRESHOLDS = Thresholds()
GATE_CONFIG = GateConfig(practical=THRESHOLDS.practical, margin=THRESHOLDS.margin, alpha=THRESHOLDS.alpha)


@dataclass(frozen=True)
class Params:
    """Simulation parameters (0–1 score scale unless stated)."""

    base_quality: float = 0.7
    sd_case_logit: float = 1.0
    sd_topic_logit: float = 0.6
    sd_gen: float = 0.08
    sd_judge: float = 0.18
    r: int = 1
    k: int = 3
    min_clusters: int = 5
    max_clusters: int = 10


P = Params()
SD_TOTAL = math.sqrt(P.sd_gen**2 + P.sd_judge**2)


def expected_score(q: float) -> float:
    """E[clip(X, 0, 1)] for X ~ N(q, σ_gen² + σ_judge²) (one judge sample of one generation)."""
    s = SD_TOTAL
    a, b = -q / s, (1.0 - q) / s
    return q * (_N.cdf(b) - _N.cdf(a)) + s * (_N.pdf(a) - _N.pdf(b)) + (1.0 - _N.cdf(b))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class Suite:
    q: list[float]
    cluster: list[int | None]
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ids = [f"case-{i:03d}" for i in range(len(self.q))]


def make_suite(rng: random.Random, n: int, clustered: bool) -> Suite:
    """Latent qualities for n cases, optionally grouped in 5–10 clusters of random size."""
    mu = math.log(P.base_quality / (1 - P.base_quality))
    if not clustered:
        return Suite([_sigmoid(mu + rng.gauss(0, P.sd_case_logit)) for _ in range(n)], [None] * n)
    n_cl = rng.randint(P.min_clusters, P.max_clusters)
    weights = [rng.expovariate(1.0) for _ in range(n_cl)]
    total = sum(weights)
    sizes = [1 + int((n - n_cl) * w / total) for w in weights]
    for j in range(n - sum(sizes)):
        sizes[j % n_cl] += 1
    topic = [rng.gauss(0, P.sd_topic_logit) for _ in range(n_cl)]
    q: list[float] = []
    cluster: list[int | None] = []
    for c, size in enumerate(sizes):
        for _ in range(size):
            q.append(_sigmoid(mu + topic[c] + rng.gauss(0, P.sd_case_logit)))
            cluster.append(c)
    return Suite(q, cluster)


def run_arm(rng: random.Random, q: list[float], ids: list[str]) -> tuple[dict, dict]:
    """R×K judge samples per case: (score samples, pass samples)."""
    scores: dict[str, list[float]] = {}
    passes: dict[str, list[float]] = {}
    gauss = rng.gauss
    for cid, qi in zip(ids, q, strict=True):
        s: list[float] = []
        for _ in range(P.r):
            g = qi + gauss(0, P.sd_gen)
            for _ in range(P.k):
                x = g + gauss(0, P.sd_judge)
                s.append(0.0 if x < 0 else 1.0 if x > 1 else x)
        scores[cid] = s
        passes[cid] = [1.0 if x >= 0.5 else 0.0 for x in s]
    return scores, passes


def shift_for_mean_drop(target: float, rng: random.Random) -> float:
    """Latent shift whose expected-score drop, averaged over the case distribution, equals target."""
    suite = make_suite(rng, 4000, clustered=False)
    base = [expected_score(q) for q in suite.q]
    lo, hi = 0.0, 0.5
    for _ in range(50):
        mid = (lo + hi) / 2
        drop = sum(b - expected_score(q - mid) for b, q in zip(base, suite.q, strict=True)) / len(base)
        lo, hi = (mid, hi) if drop < target else (lo, mid)
    return (lo + hi) / 2


def _solve_cluster_shift(q: list[float], change: float) -> float:
    """Latent shift whose mean expected-score change over the cases ``q`` equals ``change``."""
    base = sum(expected_score(x) for x in q) / len(q)
    lo, hi = -2.0, 2.0
    for _ in range(50):
        mid = (lo + hi) / 2
        got = sum(expected_score(x + mid) for x in q) / len(q) - base
        lo, hi = (mid, hi) if got < change else (lo, mid)
    return (lo + hi) / 2


def topic_effects(suite: Suite, changes: dict[int, float]) -> list[float]:
    """Head latent qualities with a true expected-score change ``changes[c]`` in cluster c."""
    head_q = list(suite.q)
    for c, change in changes.items():
        idx = [i for i, ci in enumerate(suite.cluster) if ci == c]
        shift = _solve_cluster_shift([suite.q[i] for i in idx], change)
        for i in idx:
            head_q[i] += shift
    return head_q


def _n_clusters(suite: Suite) -> int:
    return max(c for c in suite.cluster if c is not None) + 1


def help_one_hurt_one(rng: random.Random, suite: Suite, size: float) -> list[float]:
    """One random cluster gains ``size`` in expected score, another loses it: cluster-averaged truth 0."""
    helped, hurt = rng.sample(range(_n_clusters(suite)), 2)
    return topic_effects(suite, {helped: size, hurt: -size})


def random_topic_effects(rng: random.Random, suite: Suite, sd: float) -> list[float]:
    """Every cluster gets a random expected-score change ~ N(0, sd), centred to a zero cluster mean."""
    n_cl = _n_clusters(suite)
    raw = [rng.gauss(0, sd) for _ in range(n_cl)]
    m = sum(raw) / n_cl
    return topic_effects(suite, {c: x - m for c, x in enumerate(raw)})


# ----------------------------------------------------------------------------------------------------
# Rules compared
# ----------------------------------------------------------------------------------------------------


def _to_arm(suite: Suite, arm: tuple[dict, dict]) -> Arm:
    """One simulated arm as the gate sees a results file: per case, the score (judged) and pass samples."""
    out = Arm("sim", judged_metrics={"score"})
    for cid, c in zip(suite.ids, suite.cluster, strict=True):
        cluster = f"t{c}" if c is not None else None
        out.cases[cid] = CaseData(cid, cluster, {"score": arm[0][cid], "pass": arm[1][cid]}, ["output"])
    out.generations = len(suite.ids) * P.r
    out.judge_calls = len(suite.ids) * P.r * P.k
    return out


def gate_fails(suite: Suite, base: tuple[dict, dict], head: tuple[dict, dict]) -> bool:
    """The real decision of ``llmops eval gate`` for one prompt."""
    return compare_arms("sim", _to_arm(suite, base), _to_arm(suite, head), GATE_CONFIG).state == "FAIL"


def _case_means(arm: dict) -> list[float]:
    return [sum(v) / len(v) for v in arm.values()]


def naive_paired_unclustered_fails(suite: Suite, base: tuple[dict, dict], head: tuple[dict, dict]) -> bool:
    """Same gate on the score metric, but every case treated as independent (clusters ignored)."""
    return compare_metric("score", base[0], head[0], None, thresholds=THRESHOLDS).state == "FAIL"


def naive_unpaired_fails(suite: Suite, base: tuple[dict, dict], head: tuple[dict, dict]) -> bool:
    """Welch two-sample one-sided t-test on case means (no pairing, no clusters), plus the practical rule."""
    b, h = _case_means(base[0]), _case_means(head[0])
    mb, mh = sum(b) / len(b), sum(h) / len(h)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    vh = sum((x - mh) ** 2 for x in h) / (len(h) - 1) / len(h)
    se = math.sqrt(vb + vh)
    df = (vb + vh) ** 2 / (vb**2 / (len(b) - 1) + vh**2 / (len(h) - 1))
    delta = mh - mb
    return t_cdf(delta / se, df) < THRESHOLDS.alpha and delta <= -THRESHOLDS.practical


def mean_drop_rule_fails(suite: Suite, base: tuple[dict, dict], head: tuple[dict, dict]) -> bool:
    """The folk rule "fail if the mean score dropped by more than 0.01"."""
    b, h = _case_means(base[0]), _case_means(head[0])
    return sum(h) / len(h) - sum(b) / len(b) < -0.01


Rule = Callable[[Suite, tuple[dict, dict], tuple[dict, dict]], bool]


# ----------------------------------------------------------------------------------------------------
# Scenarios
# ----------------------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    n: int
    clusters: str
    rule: str
    reps: int
    fails: int
    target: str
    ok: bool | None

    @property
    def rate(self) -> float:
        return self.fails / self.reps

    def ci(self) -> tuple[float, float]:
        return clopper_pearson(self.fails, self.reps)


def _beta_ppf(p: float, a: float, b: float) -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if betainc(a, b, mid) < p else (lo, mid)
    return (lo + hi) / 2


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial confidence interval."""
    a = (1 - level) / 2
    lower = 0.0 if k == 0 else _beta_ppf(a, k, n - k + 1)
    upper = 1.0 if k == n else _beta_ppf(1 - a, k + 1, n - k)
    return lower, upper


def simulate(
    rng: random.Random,
    reps: int,
    n: int,
    clustered: bool,
    head_q: Callable[[random.Random, Suite], list[float]],
    rules: dict[str, Rule],
) -> dict[str, int]:
    fails = dict.fromkeys(rules, 0)
    for _ in range(reps):
        suite = make_suite(rng, n, clustered)
        hq = head_q(rng, suite)
        base = run_arm(rng, suite.q, suite.ids)
        head = run_arm(rng, hq, suite.ids)
        for name, rule in rules.items():
            fails[name] += rule(suite, base, head)
    return fails


def run_all(reps: int, seed: int) -> tuple[list[Row], dict]:
    rows: list[Row] = []
    master = random.Random(seed)

    def sub_rng() -> random.Random:
        return random.Random(master.getrandbits(64))

    drop_shift = shift_for_mean_drop(0.10, random.Random(seed + 1))

    def no_change(_rng: random.Random, s: Suite) -> list[float]:
        return list(s.q)

    def drop(_rng: random.Random, s: Suite) -> list[float]:
        return [q - drop_shift for q in s.q]

    for clustered in (False, True):
        for n in (20, 50, 100):
            rules: dict[str, Rule] = {"gate": gate_fails}
            if not clustered:
                rules["mean dropped by > 0.01"] = mean_drop_rule_fails
            f = simulate(sub_rng(), reps, n, clustered, no_change, rules)
            label = "5–10" if clustered else "none"
            rows.append(Row("no change: false FAIL", n, label, "gate", reps, f["gate"], "≤ 5%", None))
            if not clustered:
                rule = "mean dropped by > 0.01"
                rows.append(Row("no change: false FAIL", n, label, rule, reps, f[rule], "(contrast)", None))

    f = simulate(sub_rng(), reps, 50, False, drop, {"gate": gate_fails})
    rows.append(Row("true 0.10 drop: power", 50, "none", "gate", reps, f["gate"], "≥ 95%", None))
    f = simulate(sub_rng(), reps, 50, True, drop, {"gate": gate_fails})
    rows.append(Row("true 0.10 drop: power", 50, "5–10", "gate", reps, f["gate"], "(info)", None))

    cl_rules: dict[str, Rule] = {
        "gate": gate_fails,
        "naive paired, unclustered": naive_paired_unclustered_fails,
        "naive unpaired, unclustered": naive_unpaired_fails,
    }
    hetero: list[tuple[str, Callable[[random.Random, Suite], list[float]]]] = [
        (
            f"helps one cluster +{HELP_HURT}, hurts another −{HELP_HURT} (Δ=0)",
            lambda r, s: help_one_hurt_one(r, s, HELP_HURT),
        ),
        (
            f"random topic effects sd {TOPIC_SD}, centred (Δ=0)",
            lambda r, s: random_topic_effects(r, s, TOPIC_SD),
        ),
    ]
    for scenario, head_q in hetero:
        f = simulate(sub_rng(), reps, 50, True, head_q, cl_rules)
        for name, count in f.items():
            target = "≤ 6%" if name == "gate" else "(contrast)"
            rows.append(Row(scenario, 50, "5–10", name, reps, count, target, None))

    for row in rows:
        if row.target.startswith("≤"):
            row.ok = row.rate <= float(row.target.split()[1].rstrip("%")) / 100
        elif row.target.startswith("≥"):
            row.ok = row.rate >= float(row.target.split()[1].rstrip("%")) / 100
    meta = {"drop_latent_shift": drop_shift}
    return rows, meta


def difficulty_sd(seed: int) -> tuple[float, float]:
    """sd of the per-case expected score, without and with topic effects."""
    out = []
    for clustered in (False, True):
        vals = [expected_score(q) for q in make_suite(random.Random(seed), 5000, clustered).q]
        m = sum(vals) / len(vals)
        out.append(math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1)))
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000, help="simulated PRs per scenario (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    rows, meta = run_all(args.reps, args.seed)
    elapsed = time.perf_counter() - start
    sd_plain, sd_topic = difficulty_sd(args.seed)

    print("## PR gate simulation\n")
    print(
        f"reps = {args.reps} per scenario, seed = {args.seed}; R = {P.r} generation, "
        f"K = {P.k} judge samples; "
        f"base quality {P.base_quality}; case difficulty sd ≈ {sd_plain:.2f} (≈ {sd_topic:.2f} with topic "
        f"effects) on the 0–1 scale; generation noise sd {P.sd_gen}, judge noise sd {P.sd_judge} per sample; "
        f"thresholds practical {THRESHOLDS.practical}, margin {THRESHOLDS.margin}, α {THRESHOLDS.alpha}; "
        f"metrics: score + pass (s ≥ 0.5), Holm across both. 0.10 drop = latent shift "
        f"{meta['drop_latent_shift']:.4f}; cluster scenarios: per-cluster latent shifts solved so the true "
        "cluster-averaged change in expected score is exactly 0.\n"
    )
    print("| scenario | n | clusters | rule | rate | 95% CI | target | |")
    print("|---|---:|---|---|---:|---|---|---|")
    for row in rows:
        lo, hi = row.ci()
        mark = "✔" if row.ok else "✘" if row.ok is not None else ""
        print(
            f"| {row.scenario} | {row.n} | {row.clusters} | {row.rule} | {100 * row.rate:.1f}% "
            f"| [{100 * lo:.1f}%, {100 * hi:.1f}%] | {row.target} | {mark} |"
        )
    all_ok = all(r.ok for r in rows if r.ok is not None)
    print(f"\nAll targets met: {'yes' if all_ok else 'NO'} — {elapsed:.1f} s")

    if args.json:
        payload = {
            "reps": args.reps,
            "seed": args.seed,
            "params": P.__dict__,
            "thresholds": THRESHOLDS.__dict__,
            "meta": meta,
            "seconds": elapsed,
            "all_ok": all_ok,
            "rows": [{**r.__dict__, "rate": r.rate, "ci95": list(r.ci())} for r in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
