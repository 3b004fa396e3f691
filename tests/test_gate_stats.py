"""Tests for the PR-gate statistics core (llmops_cli.gate.stats)."""

from __future__ import annotations

import json
import math
import random
import time

import pytest

from llmops_cli.gate.stats import (
    MetricComparison,
    Thresholds,
    betainc,
    binom_sf,
    compare_metric,
    compare_prompt,
    holm,
    mcnemar_p,
    overall_state,
    paired_test,
    randomised_sign_flip_p,
    sign_flip_p,
    t_cdf,
    t_ppf,
)

# ------------------------------------------------------------------------------------------------
# Distributions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "df", "expected"),
    [
        (0.95, 9, 1.833),
        (0.95, 19, 1.729),
        (0.95, 49, 1.677),
        (0.8, 19, 0.861),
        (0.975, 1, 12.706),
        (0.975, 2, 4.303),
        (0.975, 30, 2.042),
        (0.99, 5, 3.365),
        (0.999, 3, 10.215),
        (0.95, 2, 2.920),
    ],
)
def test_t_ppf_table_values(q: float, df: int, expected: float) -> None:
    assert t_ppf(q, df) == pytest.approx(expected, abs=5e-4)
    assert t_ppf(1 - q, df) == pytest.approx(-expected, abs=5e-4)


def test_t_ppf_large_df_tends_to_normal() -> None:
    assert t_ppf(0.95, 1e7) == pytest.approx(1.644854, abs=1e-5)
    assert t_ppf(0.95, math.inf) == pytest.approx(1.644854, abs=1e-6)
    assert t_ppf(0.5, 7) == 0.0


@pytest.mark.parametrize("df", [1, 2, 3, 5, 9, 19, 49, 200])
@pytest.mark.parametrize("q", [1e-6, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.999])
def test_t_cdf_ppf_round_trip(q: float, df: int) -> None:
    assert t_cdf(t_ppf(q, df), df) == pytest.approx(q, rel=1e-9, abs=1e-12)


def test_t_cdf_known_values() -> None:
    assert t_cdf(0.0, 4) == 0.5
    assert t_cdf(2.0, 10) == pytest.approx(0.963306, abs=1e-6)
    assert t_cdf(1.0, 1) == pytest.approx(0.75, abs=1e-12)  # Cauchy
    assert t_cdf(-1.0, 2) == pytest.approx(0.5 - 1 / (2 * math.sqrt(3)), abs=1e-12)  # closed form, df=2


def test_betainc_known_values() -> None:
    assert betainc(2, 3, 0.4) == pytest.approx(0.5248, abs=1e-12)
    assert betainc(1, 1, 0.3) == pytest.approx(0.3, abs=1e-14)
    assert betainc(5, 5, 0.5) == pytest.approx(0.5, abs=1e-14)


def test_binomial_exact_values() -> None:
    assert binom_sf(8, 10) == 56 / 1024
    assert binom_sf(0, 10) == 1.0
    assert binom_sf(11, 10) == 0.0
    assert binom_sf(10, 10) == 1 / 1024
    assert binom_sf(3, 10, 0.2) == pytest.approx(0.3222004736, abs=1e-12)
    assert binom_sf(1, 5, 0.1) == pytest.approx(1 - 0.9**5, abs=1e-14)


def test_mcnemar_exact() -> None:
    assert mcnemar_p(6, 1) == 8 / 128
    assert mcnemar_p(5, 0) == 1 / 32
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(0, 4) == 1.0
    assert mcnemar_p(2, 2) == 11 / 16


def test_holm_known_example() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1 and monotone in the sorted order
    assert holm([]) == []
    assert holm([0.02]) == [0.02]


def test_holm_is_monotone() -> None:
    rng = random.Random(3)
    for _ in range(50):
        ps = [rng.random() for _ in range(6)]
        adj = holm(ps)
        pairs = sorted(zip(ps, adj, strict=True))
        assert all(a >= p for p, a in pairs)
        assert all(pairs[i][1] <= pairs[i + 1][1] for i in range(len(pairs) - 1))


def test_sign_flip_exact_and_monte_carlo() -> None:
    assert sign_flip_p([-1.0] * 5) == 1 / 32
    assert sign_flip_p([0.0, 0.0]) == 1.0
    assert sign_flip_p([-0.3, 0.3]) == 0.75
    # Monte-Carlo path (30 non-zero): all negative → smallest possible MC p-value.
    assert sign_flip_p([-0.1] * 30) == pytest.approx(1 / 10_001)
    diffs = [(-1) ** i * 0.1 * (i + 1) for i in range(30)]
    p = sign_flip_p(diffs)
    assert 0.2 < p < 0.8
    assert sign_flip_p(diffs) == p  # seeded


# ------------------------------------------------------------------------------------------------
# Comparisons
# ------------------------------------------------------------------------------------------------


def _noisy_arm(rng: random.Random, means: dict[str, float], k: int, sd: float) -> dict[str, list[float]]:
    return {cid: [min(1.0, max(0.0, m + rng.gauss(0, sd))) for _ in range(k)] for cid, m in means.items()}


# ------------------------------------------------------------------------------------------------
# Comparisons
# ------------------------------------------------------------------------------------------------


def _arms(diffs: list[float], base: float = 0.5) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    b = {f"c{i:02d}": [base] for i in range(len(diffs))}
    h = {f"c{i:02d}": [base + d] for i, d in enumerate(diffs)}
    return b, h


def test_paired_test_picks_an_exact_test_when_it_can() -> None:
    assert paired_test([0.0, 0.0]) == (1.0, "none (every difference is 0)", 1.0)
    p, name, min_p = paired_test([-1.0] * 5 + [0.0] * 20)
    assert (p, name, min_p) == (1 / 32, "sign test exact (McNemar)", 1 / 32)
    p, name, _ = paired_test([-0.5, -0.25, -0.75, 0.25, -0.5])
    # randomised at the tie with the data (tests/test_gate_randomised.py)
    assert name == "sign-flip exact" and p == randomised_sign_flip_p([-0.5, -0.25, -0.75, 0.25, -0.5])
    diffs = [-0.25 if i % 3 else 0.5 for i in range(40)]
    p, name, min_p = paired_test(diffs)
    # beyond 22 non-zero differences: the Monte-Carlo sign-flip test, close to the paired t, never below 1/(B+1)
    t_p = t_cdf((sum(diffs) / 40) / (_sd(diffs) / 40**0.5), 39)
    assert name == "sign-flip (Monte-Carlo)" and abs(p - t_p) < 0.1 and min_p == 1 / 20_001
    # a drop confined to one cluster: centring within clusters removes its spread from the variance
    confined = [-0.4 + 0.1 * (i % 3) for i in range(30)] + [0.1 * ((i % 3) - 1) for i in range(30)]
    strata = ["a"] * 30 + ["b"] * 30
    p_within, name, _ = paired_test(confined, strata)
    assert name == "sign-flip within clusters (Monte-Carlo)" and p_within <= paired_test(confined)[0]


def _sd(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return (sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5


def test_total_collapse_fails_at_five_cases_whatever_the_clusters() -> None:
    for n_clusters in (1, 2, 3, 4, 5):
        b, h = _arms([-1.0] * 5, base=1.0)
        clusters = {cid: f"k{i % n_clusters}" for i, cid in enumerate(sorted(b))}
        comp = compare_metric("judge", b, h, clusters)
        assert comp.state == "FAIL", comp.reason
        assert comp.p_value == 1 / 32 and comp.n_clusters == n_clusters


def test_tiny_suites_warn_instead_of_failing() -> None:
    comp = compare_metric("judge", *_arms([-1.0] * 3, base=1.0))
    assert comp.state == "WARN" and "not established" in comp.reason  # p = 1/8 < warn_alpha
    comp = compare_metric("judge", *_arms([-1.0] * 2, base=1.0))
    assert comp.state == "WARN" and "too small to test" in comp.reason


def test_cache_identical_says_no_differences_but_sampled_ties_do_not() -> None:
    b, h = _arms([0.0] * 8)
    assert "No differences" in compare_metric("judge", b, h, identical="cache").reason
    tied = compare_metric("judge", b, h)
    assert tied.state == "PASS" and "No differences" not in tied.reason and "tied" in tied.reason
    assert tied.mde is None  # no variation observed: nothing honest to say about the MDE


def test_clear_regression_fails_and_names_the_cluster() -> None:
    rng = random.Random(1)
    diffs = [-0.3 + rng.gauss(0, 0.05) if i < 6 else rng.gauss(0, 0.05) for i in range(30)]
    b, h = _arms(diffs)
    clusters = {cid: "returns" if i < 6 else "catalogue" for i, cid in enumerate(sorted(b))}
    comp = compare_metric("judge", b, h, clusters)
    assert comp.state == "FAIL"
    assert "cluster `returns` -0.29, n = 6" in comp.reason and "n = 6" in comp.reason and "catalogue" not in comp.reason
    assert comp.regressed[0].cluster == "returns"
    assert comp.delta == pytest.approx(sum(diffs) / 30)  # case-weighted: every case counts once


def test_suggestive_drop_warns_with_the_mde() -> None:
    diffs = [-0.1, 0.05, -0.12, 0.02, -0.08, 0.03, -0.05]
    comp = compare_metric("judge", *_arms(diffs))
    assert 0.05 <= comp.p_value < 0.15
    assert comp.state == "WARN" and "detects drops ≥" in comp.reason


def test_no_evidence_passes_and_states_the_mde() -> None:
    rng = random.Random(2)
    comp = compare_metric("judge", *_arms([rng.gauss(0.03, 0.1) for _ in range(40)]))
    assert comp.state == "PASS" and comp.mde is not None and f"{comp.mde:.3f}" in comp.reason
    # the MDE of the sign-flip test that decides (uncentred variance, llmops_cli.gate.power): a little above
    # the paired t's (t_0.95 + t_0.8)·SE
    assert comp.mde is not None and comp.se is not None
    assert 1.0 < comp.mde / ((t_ppf(0.95, 39) + t_ppf(0.8, 39)) * comp.se) < 1.1
    assert "underpowered" not in comp.reason
    small = compare_metric("judge", *_arms([0.3, -0.2, 0.1, -0.25, 0.2, 0.05]))
    assert small.state == "PASS" and "underpowered" in small.reason


def test_significant_but_not_practical_passes() -> None:
    comp = compare_metric("judge", *_arms([-0.01] * 30), thresholds=Thresholds(practical=0.02))
    assert comp.p_value < 0.05 and comp.state == "PASS" and "smaller than the practical size" in comp.reason


def test_pass_metric_counts_flips_and_validates() -> None:
    b = {f"c{i}": [1.0] for i in range(10)}
    h = {f"c{i}": [0.0 if i < 7 else 1.0] for i in range(10)}
    h["c9"] = [1.0]
    comp = compare_metric("(checks)", b, h, kind="pass")
    assert comp.flips == (7, 0) and comp.mcnemar_p == 1 / 128 and comp.p_value == 1 / 128
    with pytest.raises(ValueError, match="other than 0/1"):
        compare_metric("x", {"a": [0.5]}, {"a": [1.0]}, kind="pass")


def test_dropped_cases_are_counted() -> None:
    comp = compare_metric("judge", {"a": [1.0], "b": [float("nan")], "c": [1.0]}, {"a": [1.0], "b": [1.0]})
    assert comp.n_cases == 1 and comp.n_dropped == 2


def test_nothing_to_compare_warns() -> None:
    comp = compare_metric("judge", {"a": []}, {"a": [1.0]})
    assert comp.state == "WARN" and "nothing to compare" in comp.reason


def test_derived_metric_does_not_split_alpha() -> None:
    b, h = _arms([-1.0] * 5, base=1.0)
    comps = compare_prompt({"judge": (b, h, "score", True), "(pass)": (b, h, "pass", False)})
    judge, verdict = comps
    assert judge.p_adjusted == judge.p_value == 1 / 32 and judge.state == "FAIL"
    assert not verdict.decisive


def test_holm_only_over_metrics_that_can_reach_alpha() -> None:
    b, h = _arms([-1.0] * 6, base=1.0)
    flat = {cid: [1.0] for cid in b}
    comps = compare_prompt({"judge": (b, h, "score"), "icontains": (flat, flat, "pass")})
    assert comps[0].p_adjusted == comps[0].p_value  # icontains (all differences 0) cannot reject: not in the family
    comps = compare_prompt({"judge": (b, h, "score"), "other": (b, h, "score")})
    assert comps[0].p_adjusted == pytest.approx(2 * comps[0].p_value)


def test_overall_state() -> None:
    assert overall_state([]) == "PASS"
    assert overall_state(["PASS", "WARN"]) == "WARN"
    assert overall_state(["WARN", "FAIL", "PASS"]) == "FAIL"


def test_to_dict_is_json_serializable() -> None:
    b, h = _arms([-1.0] * 5, base=1.0)
    comp = compare_metric("judge", b, h, {cid: "k" for cid in b})
    assert isinstance(comp, MetricComparison)
    d = json.loads(json.dumps(comp.to_dict()))
    assert d["state"] == "FAIL" and d["clusters"] == [{"cluster": "k", "n": 5, "delta": -1.0}]


def test_no_change_false_fail_rate_is_bounded() -> None:
    """A small in-test simulation (the full one is bench/gate_simulation.py): discrete scores, no change."""
    rng = random.Random(11)
    fails = warns = 0
    reps = 300
    for _ in range(reps):
        levels = [rng.choice([0.5, 0.75, 1.0]) for _ in range(20)]
        draw = lambda m: [min(1.0, max(0.0, m + rng.choice([-0.25, 0.0, 0.0, 0.25])))]  # noqa: E731
        b = {f"c{i}": draw(m) for i, m in enumerate(levels)}
        h = {f"c{i}": draw(m) for i, m in enumerate(levels)}
        state = compare_metric("judge", b, h).state
        fails += state == "FAIL"
        warns += state == "WARN"
    assert fails / reps <= 0.08 and warns / reps <= 0.2


def test_speed_100_cases_3_metrics() -> None:
    rng = random.Random(5)
    arms = {m: _arms([rng.gauss(-0.02, 0.2) for _ in range(100)]) for m in ("a", "b", "c")}
    start = time.perf_counter()
    compare_prompt({m: (b, h, "score") for m, (b, h) in arms.items()})
    assert time.perf_counter() - start < 0.5
