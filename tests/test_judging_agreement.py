"""Agreement statistics against textbook worked examples and independent exact (Fraction) references."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from itertools import permutations

import pytest

from llmops_cli.judging.agreement import (
    _disagreement,
    accuracy,
    cohen_kappa,
    confusion_matrix,
    f1_score,
    kappa_with_se,
    krippendorff_alpha,
    mean_signed_error,
)

TOL = 1e-9


def _pairs(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Rater lists from a contingency table (rows: human, columns: judge)."""
    human: list[int] = []
    judge: list[int] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            human += [i] * count
            judge += [j] * count
    return human, judge


def test_cohen_textbook_two_by_two() -> None:
    # 50 items: both yes 20, human yes / judge no 5, human no / judge yes 10, both no 15:
    # p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4 exactly
    human, judge = _pairs([[20, 5], [10, 15]])
    est = cohen_kappa(human, judge)
    assert abs(est.value - 0.4) < TOL
    assert est.low is not None and est.high is not None and est.low < 0.4 < est.high


def test_fleiss_psychiatric_diagnoses() -> None:
    # Fleiss (1981), Statistical Methods for Rates and Proportions, table 13.1 (n = 100): kappa = 0.23 / 0.34
    human, judge = _pairs([[75, 1, 4], [5, 4, 1], [0, 0, 10]])
    assert abs(cohen_kappa(human, judge).value - 23 / 34) < TOL


def _weighted_reference(human: list[int], judge: list[int], k: int, power: int) -> Fraction:
    """kappa_w = 1 - sum(|i-j|^p * observed) / sum(|i-j|^p * expected), in exact arithmetic (counts)."""
    n = len(human)
    obs = Fraction(sum(abs(h - j) ** power for h, j in zip(human, judge, strict=True)))
    rows = [human.count(i) for i in range(k)]
    cols = [judge.count(j) for j in range(k)]
    exp = Fraction(sum(abs(i - j) ** power * rows[i] * cols[j] for i in range(k) for j in range(k)), n)
    return 1 - obs / exp


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("weights", "power"), [("linear", 1), ("quadratic", 2), ("none", 0)])
def test_weighted_kappa_matches_exact_reference(seed: int, weights: str, power: int) -> None:
    rng = random.Random(seed)
    human = [rng.randint(0, 4) for _ in range(60)]
    judge = [min(4, max(0, h + rng.choice([-2, -1, 0, 0, 0, 1, 1]))) for h in human]
    if weights == "none":
        ref = 1 - Fraction(sum(h != j for h, j in zip(human, judge, strict=True)), 1) / (
            Fraction(sum(human.count(i) * (len(human) - judge.count(i)) for i in range(5)), len(human))
        )
    else:
        ref = _weighted_reference(human, judge, 5, power)
    got = cohen_kappa(human, judge, weights=weights, categories=[0, 1, 2, 3, 4])  # type: ignore[arg-type]
    assert abs(got.value - float(ref)) < TOL


def test_weighted_kappa_with_an_unused_category_needs_the_scale() -> None:
    human = [1, 2, 3, 2, 1, 3]
    judge = [1, 2, 3, 3, 1, 2]
    # category 5 unused: with the full 1-5 scale the linear weights are |i-j|/4, not |i-j|/2
    full = cohen_kappa(human, judge, weights="linear", categories=[1, 2, 3, 4, 5]).value
    assert abs(full - float(_weighted_reference([h - 1 for h in human], [j - 1 for j in judge], 5, 1))) < TOL
    with pytest.raises(ValueError, match="outside the categories"):
        cohen_kappa(human, [6, 2, 3, 3, 1, 2], categories=[1, 2, 3, 4, 5])


def test_kappa_undefined_when_chance_agreement_is_one() -> None:
    est = cohen_kappa(["pass"] * 5, ["pass"] * 5)
    assert math.isnan(est.value) and est.low is None


def test_fce_standard_error_under_independence_textbook() -> None:
    # with p_o = p_e (kappa 0) for a 2x2 table of equal margins the FCE variance reduces to
    # (p_e + p_e^2 - sum p_i p_j (p_i + p_j)) / (n (1 - p_e)^2) = (0.5 + 0.25 - 0.5) / (n * 0.25) = 1/n
    human, judge = _pairs([[25, 25], [25, 25]])
    kappa, se = kappa_with_se(human, judge)
    assert abs(kappa) < TOL and abs(se - math.sqrt(1 / 100)) < TOL


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units,
# missing values; published alpha: nominal 0.743, ordinal 0.815, interval 0.849.
K2011 = [
    [1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1], [None, 3, None, None],
]  # fmt: skip


def _alpha_reference(units: list[list[int | None]], level: str) -> Fraction:
    """Alpha from its definition by brute force over ordered value pairs (no coincidence matrix)."""
    vals = [[v for v in u if v is not None] for u in units]
    vals = [u for u in vals if len(u) >= 2]
    pooled = [v for u in vals for v in u]
    n = len(pooled)
    freq = {v: pooled.count(v) for v in set(pooled)}
    order = sorted(freq)

    def delta(c: int, k: int) -> Fraction:
        if level == "nominal":
            return Fraction(int(c != k))
        if level == "interval":
            return Fraction((c - k) ** 2)
        lo, hi = sorted((order.index(c), order.index(k)))
        s = Fraction(sum(freq[order[g]] for g in range(lo, hi + 1))) - Fraction(freq[c] + freq[k], 2)
        return s * s

    d_o = sum(
        (sum((delta(a, b) for a, b in permutations(u, 2)), Fraction(0)) / (len(u) - 1) for u in vals), Fraction(0)
    )
    d_e = sum((delta(a, b) for a, b in permutations(pooled, 2)), Fraction(0))
    return 1 - (n - 1) * d_o / d_e


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_2011_example(level: str, published: float) -> None:
    est = krippendorff_alpha(K2011, level=level, draws=200)  # type: ignore[arg-type]
    assert round(est.value, 3) == published
    assert abs(est.value - float(_alpha_reference(K2011, level))) < TOL  # type: ignore[arg-type]
    assert est.n == 11  # unit 12 has a single value: not pairable
    assert est.low is not None and est.high is not None and est.low <= est.value <= est.high


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_krippendorff_random_with_missing_matches_reference(seed: int, level: str) -> None:
    rng = random.Random(100 + seed)
    units = [[rng.choice([None, 1, 2, 3, 4, 5, 5, 4]) for _ in range(3)] for _ in range(25)]
    est = krippendorff_alpha(units, level=level, draws=50)  # type: ignore[arg-type]
    assert abs(est.value - float(_alpha_reference(units, level))) < TOL  # type: ignore[arg-type]


def test_krippendorff_bootstrap_is_seeded() -> None:
    a = krippendorff_alpha(K2011, level="ordinal", draws=300)
    b = krippendorff_alpha(K2011, level="ordinal", draws=300)
    c = krippendorff_alpha(K2011, level="ordinal", draws=300, seed=7)
    assert (a.low, a.high) == (b.low, b.high) and (a.low, a.high) != (c.low, c.high)


def test_accuracy_wilson_matches_scipy() -> None:
    from scipy.stats import binomtest

    human = ["pass"] * 30 + ["fail"] * 10
    judge = ["pass"] * 27 + ["fail"] * 3 + ["fail"] * 7 + ["pass"] * 3
    est = accuracy(human, judge)
    ci = binomtest(34, 40).proportion_ci(confidence_level=0.95, method="wilson")
    assert abs(est.value - 34 / 40) < TOL
    assert abs(est.low - ci.low) < TOL and abs(est.high - ci.high) < TOL  # type: ignore[operator]


def test_f1_and_confusion_matrix() -> None:
    human = ["fail", "fail", "fail", "pass", "pass", "pass", "pass", "fail"]
    judge = ["fail", "fail", "pass", "pass", "fail", "pass", "pass", "fail"]
    cats, counts = confusion_matrix(human, judge, ["pass", "fail"])
    assert cats == ["pass", "fail"] and counts == [[3, 1], [1, 3]]
    est = f1_score(human, judge, positive="fail")  # tp 3, fp 1, fn 1
    assert abs(est.value - 6 / 8) < TOL
    assert est.low is not None and est.high is not None and est.low <= 0.75 <= est.high


def test_mean_signed_error_direction_and_interval() -> None:
    human = [3, 4, 2, 5, 1, 3]
    judge = [4, 5, 3, 5, 2, 4]  # lenient: +1 on 5 of 6
    est = mean_signed_error(human, judge)
    diffs = [1, 1, 1, 0, 1, 1]
    mean = sum(diffs) / 6
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 5)
    assert abs(est.value - 5 / 6) < TOL
    assert abs(est.high - (mean + 1.959963984540054 * sd / math.sqrt(6))) < TOL  # type: ignore[operator]


def _population_kappa(p: list[list[float]], weights: str) -> float:
    k = len(p)
    w = _disagreement(k, weights)  # type: ignore[arg-type]
    row = [sum(r) for r in p]
    col = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum((1 - w[i][j]) * p[i][j] for i in range(k) for j in range(k))
    pe = sum((1 - w[i][j]) * row[i] * col[j] for i in range(k) for j in range(k))
    return (po - pe) / (1 - pe)


JOINT_PASS_FAIL = [[0.55, 0.10], [0.08, 0.27]]
JOINT_1_TO_5 = [
    [0.08, 0.03, 0.01, 0.0, 0.0], [0.02, 0.10, 0.04, 0.01, 0.0], [0.01, 0.03, 0.12, 0.04, 0.01],
    [0.0, 0.01, 0.04, 0.18, 0.05], [0.0, 0.0, 0.01, 0.04, 0.17],
]  # fmt: skip


@pytest.mark.parametrize(("joint", "weights"), [(JOINT_PASS_FAIL, "none"), (JOINT_1_TO_5, "linear")])
def test_simulated_judge_recovers_kappa_within_its_interval(joint: list[list[float]], weights: str) -> None:
    """1,000 label sets of 200 items drawn from a known human x judge confusion distribution: the 95 %
    interval covers the population kappa in 93-95 % of runs (the Wald interval is slightly short of its
    nominal 95 %: measured 93.4-94.6 % at n = 100-200 by bench/judge_coverage.py)."""
    total = sum(map(sum, joint))
    joint = [[x / total for x in r] for r in joint]
    k = len(joint)
    cells = [(i, j) for i in range(k) for j in range(k)]
    probs = [joint[i][j] for i, j in cells]
    truth = _population_kappa(joint, weights)
    rng = random.Random(20240601)
    covered = 0
    for _ in range(1000):
        draw = rng.choices(cells, probs, k=200)
        est = cohen_kappa([c[0] for c in draw], [c[1] for c in draw], weights=weights, categories=list(range(k)))  # type: ignore[arg-type]
        covered += est.low <= truth <= est.high  # type: ignore[operator]
    assert 0.93 <= covered / 1000 <= 0.98
