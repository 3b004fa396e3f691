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


def test_zero_difference_passes_exactly() -> None:
    base = {f"c{i}": [0.1 * (i % 10), 0.5] for i in range(25)}
    head = {cid: list(v) for cid, v in base.items()}
    comp = compare_metric("quality", base, head)
    assert comp.state == "PASS"
    assert comp.delta == 0.0 and comp.se == 0.0 and comp.mde == 0.0
    assert comp.lb == 0.0 and comp.ub == 0.0
    assert comp.p_value == 1.0
    assert comp.n_cases == 25 and comp.n_dropped == 0


def test_clear_regression_fails() -> None:
    rng = random.Random(1)
    difficulty = {f"c{i}": rng.uniform(0.5, 0.95) for i in range(40)}
    base = _noisy_arm(rng, difficulty, 3, 0.05)
    head = _noisy_arm(rng, {c: m - 0.15 for c, m in difficulty.items()}, 3, 0.05)
    comp = compare_metric("quality", base, head)
    assert comp.state == "FAIL", comp.reason
    assert comp.delta == pytest.approx(-0.15, abs=0.03)
    assert comp.ub is not None and comp.ub < 0
    assert comp.p_value is not None and comp.p_value < 1e-6
    assert comp.confirm_p is None  # C = 40 ≥ 30 and no zero differences: no confirmation needed
    assert "Regression" in comp.reason


def test_small_noisy_sample_warns_with_mde() -> None:
    diffs = [0.3, -0.25, 0.1, -0.35, 0.2, -0.15, 0.05, -0.2]
    base = {f"c{i}": [0.5] for i in range(len(diffs))}
    head = {f"c{i}": [0.5 + d] for i, d in enumerate(diffs)}
    comp = compare_metric("quality", base, head)
    assert comp.state == "WARN"
    assert comp.mde is not None and comp.se is not None and comp.t_crit is not None
    expected_mde = (t_ppf(0.95, 7) + t_ppf(0.8, 7)) * comp.se
    assert comp.mde == pytest.approx(expected_mde)
    assert comp.t_crit == pytest.approx(1.894579, abs=1e-6)
    assert "minimum detectable effect" in comp.reason


def test_small_improvement_passes() -> None:
    rng = random.Random(5)
    base = {f"c{i}": [0.7] for i in range(40)}
    head = {f"c{i}": [0.72 + rng.gauss(0, 0.02)] for i in range(40)}
    comp = compare_metric("quality", base, head)
    assert comp.state == "PASS", comp.reason
    assert comp.lb is not None and comp.lb >= -0.05


def test_cluster_aggregation_hand_computed() -> None:
    base = {"a": [0.5], "b": [0.7], "c": [0.6, 0.8], "d": [0.9]}
    head = {"a": [0.4], "b": [0.5], "c": [0.7], "d": [0.8, 0.9, 1.0]}
    clusters = {"a": "X", "b": "X", "c": "Y"}  # d has no cluster → its own
    comp = compare_metric("quality", base, head, clusters)
    # d_a = -0.1, d_b = -0.2 → cluster X = -0.15; cluster Y = 0.0; d = 0.0.
    assert comp.n_cases == 4 and comp.n_clusters == 3
    assert comp.delta == pytest.approx(-0.05)
    # sd(-0.15, 0, 0) = sqrt(0.015 / 2); SE = sd / sqrt(3) = 0.05.
    assert comp.se == pytest.approx(0.05)
    t2 = 2.919986
    assert comp.t_crit == pytest.approx(t2, abs=1e-6)
    assert comp.ub == pytest.approx(-0.05 + t2 * 0.05, abs=1e-6)
    assert comp.lb == pytest.approx(-0.05 - t2 * 0.05, abs=1e-6)
    assert comp.base_mean is not None and comp.head_mean is not None
    assert comp.head_mean - comp.base_mean == pytest.approx(comp.delta)
    assert comp.state == "WARN"
    # Without clusters the same data has 4 independent cases.
    assert compare_metric("quality", base, head).n_clusters == 4


def test_none_cluster_means_own_cluster() -> None:
    base = {"a": [0.5], "b": [0.5], "c": [0.5]}
    head = {"a": [0.4], "b": [0.6], "c": [0.5]}
    comp = compare_metric("q", base, head, {"a": None, "b": None, "c": None})
    assert comp.n_clusters == 3


def test_dropped_cases_are_counted() -> None:
    base = {"a": [0.5], "b": [0.6], "c": [0.7], "d": [0.8], "e": [], "f": [math.nan, 0.4]}
    head = {"a": [0.5], "b": [0.6], "c": [], "e": [0.4], "f": [0.3], "g": [0.9]}
    comp = compare_metric("quality", base, head)
    # c: no head sample; d: missing in head; e: no base sample; g: missing in base. f keeps 0.4 vs 0.3.
    assert comp.n_dropped == 4
    assert comp.n_cases == 3
    assert comp.delta == pytest.approx(-0.1 / 3)


def test_all_dropped_or_single_cluster_warns() -> None:
    comp = compare_metric("q", {"a": []}, {"a": [0.5]})
    assert comp.state == "WARN" and comp.n_clusters == 0 and comp.n_dropped == 1
    assert comp.delta is None and "nothing to compare" in comp.reason
    comp = compare_metric("q", {"a": [0.5], "b": [0.5]}, {"a": [0.1], "b": [0.2]}, {"a": "s", "b": "s"})
    assert comp.state == "WARN" and comp.n_clusters == 1
    assert comp.delta == pytest.approx(-0.35) and comp.se is None
    assert "cannot be estimated" in comp.reason


def test_mcnemar_on_known_flips_matches_sign_flip() -> None:
    base = {f"c{i}": [1.0] for i in range(10)}
    head = {f"c{i}": [0.0] for i in range(6)} | {f"c{i}": [1.0] for i in range(6, 9)} | {"c9": [1.0]}
    base["c9"] = [0.0]  # fail → pass
    comp = compare_metric("passes", base, head, kind="pass")
    assert comp.flips == (6, 1)
    assert comp.mcnemar_p == 8 / 128
    # One 0/1 sample per case and no clusters: the exact sign-flip confirmation *is* McNemar.
    assert comp.confirm_p == comp.mcnemar_p
    assert comp.state == "WARN"  # t-test alone would fail, the exact test does not confirm at 5%


def test_pass_kind_majority_flips_and_validation() -> None:
    base = {"a": [1, 1, 0], "b": [1, 0, 0], "c": [0, 0, 1]}
    head = {"a": [0, 0, 1], "b": [1, 1, 0], "c": [0, 0, 0]}
    comp = compare_metric("passes", base, head, kind="pass")
    assert comp.flips == (1, 1)
    with pytest.raises(ValueError):
        compare_metric("passes", {"a": [0.5]}, {"a": [1.0]}, kind="pass")


def test_mostly_zero_differences_need_confirmation() -> None:
    base = {f"c{i}": [0.8] for i in range(100)}
    head = dict(base)
    for i in range(4):
        head[f"c{i}"] = [0.0]
    comp = compare_metric("quality", base, head)
    assert comp.delta == pytest.approx(-0.032)
    assert comp.p_value is not None and comp.p_value < 0.05  # t-test alone says "significant"
    assert comp.confirm_p == 1 / 16  # 4 non-zero differences: exact sign-flip
    assert comp.state == "WARN" and "not confirmed" in comp.reason
    for i in range(4, 6):
        head[f"c{i}"] = [0.0]
    comp = compare_metric("quality", base, head)
    assert comp.confirm_p == 1 / 64
    assert comp.state == "FAIL"


def test_significant_but_not_practical_is_not_fail() -> None:
    base = {f"c{i}": [0.8] for i in range(60)}
    head = {f"c{i}": [0.79 + (0.002 if i % 2 else -0.002)] for i in range(60)}
    comp = compare_metric("quality", base, head)
    assert comp.p_value is not None and comp.p_value < 1e-6
    assert comp.state == "PASS"  # Δ = -0.01: significant, but within margin and below practical


def test_compare_prompt_applies_holm() -> None:
    rng = random.Random(7)
    ids = [f"c{i}" for i in range(40)]
    base = {c: [0.7] for c in ids}
    # Drop of ~0.03 with noise chosen so the raw p-value is between α/2 and α.
    noise = [rng.gauss(0, 1) for _ in ids]
    mu = sum(noise) / len(noise)
    sd = math.sqrt(sum((x - mu) ** 2 for x in noise) / (len(noise) - 1))
    target_se = 0.03 / 1.85  # t ≈ -1.85 → one-sided p ≈ 0.036
    head = {c: [0.67 + (x - mu) / sd * target_se * math.sqrt(len(ids))] for c, x in zip(ids, noise, strict=True)}
    single = compare_metric("quality", base, head)
    assert single.state == "FAIL"
    assert single.p_value is not None and 0.025 < single.p_value < 0.05
    same = {c: [0.5] for c in ids}
    comps = compare_prompt(
        {"quality": (base, head, "score"), "other": (same, same, "score")},
        thresholds=Thresholds(),
    )
    quality, other = comps
    assert other.state == "PASS" and other.p_adjusted == 1.0
    # Holm with the unchanged metric at p = 1: smallest p is multiplied by 2 → no longer significant.
    assert quality.p_adjusted == pytest.approx(2 * single.p_value)
    assert quality.state == "WARN"
    assert overall_state([c.state for c in comps]) == "WARN"


def test_overall_state() -> None:
    assert overall_state(["PASS", "WARN", "FAIL"]) == "FAIL"
    assert overall_state(["PASS", "WARN"]) == "WARN"
    assert overall_state(["PASS", "PASS"]) == "PASS"
    assert overall_state([]) == "PASS"


def test_thresholds_are_used() -> None:
    rng = random.Random(11)
    base = {f"c{i}": [0.7] for i in range(50)}
    head = {f"c{i}": [0.66 + rng.gauss(0, 0.01)] for i in range(50)}
    assert compare_metric("q", base, head).state == "FAIL"
    assert compare_metric("q", base, head, thresholds=Thresholds(practical=0.05, margin=0.1)).state == "PASS"


def test_to_dict_is_json_serializable() -> None:
    comp = compare_metric("passes", {"a": [1.0], "b": [0.0]}, {"a": [0.0], "b": [0.0]}, kind="pass")
    d = comp.to_dict()
    assert json.loads(json.dumps(d))["flips"] == [1, 0]
    assert set(d) >= {"metric", "n_cases", "n_clusters", "n_dropped", "delta", "se", "lb", "ub", "mde"}
    assert set(d) >= {"t_crit", "p_value", "p_adjusted", "confirm_p", "state", "reason", "mcnemar_p"}
    assert isinstance(comp, MetricComparison)


def _random_prompt(seed: int, n: int = 100, n_clusters: int = 0) -> dict:
    rng = random.Random(seed)
    ids = [f"case-{i}" for i in range(n)]
    q = {c: rng.betavariate(4, 2) for c in ids}
    metrics = {}
    for name, shift in (("quality", -0.03), ("faithfulness", 0.0), ("tone", 0.01)):
        base = _noisy_arm(rng, q, 3, 0.2)
        head = _noisy_arm(rng, {c: v + shift for c, v in q.items()}, 3, 0.2)
        metrics[name] = (base, head, "score")
    clusters = {c: f"src{i % n_clusters}" for i, c in enumerate(ids)} if n_clusters else None
    return {"metrics": metrics, "clusters": clusters}


def test_determinism() -> None:
    for n_clusters in (0, 28):
        # 28 clusters with drops: the Monte-Carlo sign-flip path (> 24 non-zero) is exercised.
        args = _random_prompt(42, n=112, n_clusters=n_clusters)
        args["metrics"]["quality"] = (
            args["metrics"]["quality"][0],
            {c: [v - 0.2 for v in s] for c, s in args["metrics"]["quality"][0].items()},
            "score",
        )
        first = [c.to_dict() for c in compare_prompt(**args)]
        second = [c.to_dict() for c in compare_prompt(**args)]
        assert first == second
    assert first[0]["confirm_method"] == "sign-flip monte-carlo"


def test_speed_100_cases_3_metrics() -> None:
    args = _random_prompt(1)
    compare_prompt(**args)  # warm the t-quantile cache
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        compare_prompt(**args)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.05
