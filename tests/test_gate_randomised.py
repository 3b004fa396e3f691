"""The randomised exact tests of the gate (issue #20 follow-up: power against the oracle).

The plain exact tests count the whole tie with the data as "at least as extreme": at small n and on 0/1
scores their real level is well below α (McNemar with 12 discordant pairs: 0.019). The gate breaks that tie
with a key derived from the data (:func:`tie_key`), which makes the test exactly size α while the same data
always gives the same p-value.
"""

from __future__ import annotations

import itertools
import math

from llmops_cli.gate.power import PowerModel, mde
from llmops_cli.gate.pvalues import (
    binom_sf,
    choose_test,
    mcnemar_p,
    randomised_mcnemar_p,
    randomised_sign_flip_p,
    sign_flip_p,
)
from llmops_cli.gate.randomisation import tie_key


def test_tie_key_is_a_deterministic_uniform_of_the_signed_data() -> None:
    d = [-0.25, 0.5, 0.0, -0.75]
    assert tie_key(d) == tie_key(list(d))
    assert 0.0 < tie_key(d) < 1.0
    assert tie_key(d) != tie_key([0.25, 0.5, 0.0, -0.75])  # a flipped sign is another draw
    assert tie_key([-0.0, 0.25]) == tie_key([0.0, 0.25])
    keys = [tie_key([s * 0.25 for s in signs]) for signs in itertools.product((-1, 1), repeat=12)]
    assert abs(sum(keys) / len(keys) - 0.5) < 0.02
    assert abs(sum(k < 0.1 for k in keys) / len(keys) - 0.1) < 0.02


def test_randomised_mcnemar_lies_between_the_strict_and_the_plain_p_and_is_never_0() -> None:
    for b, c in [(6, 1), (5, 0), (2, 2), (9, 3), (0, 4), (12, 0)]:
        for key in (1e-12, 0.3, 0.999999):
            p = randomised_mcnemar_p(b, c, key)
            m = b + c
            assert max(0.5**m, binom_sf(b + 1, m)) <= p <= mcnemar_p(b, c)
            assert p > 0
    assert randomised_mcnemar_p(0, 0, 0.5) == 1.0
    # every pair flipped to worse: the floor 2^-m, as the plain test (Tarone's family stays valid)
    assert randomised_mcnemar_p(5, 0, 1e-9) == 1 / 32


def _orbit_size(magnitudes: list[float], level: float) -> float:
    """Share of the 2^m sign patterns of ``magnitudes`` whose randomised p-value is ≤ level."""
    hits = 0
    patterns = list(itertools.product((-1, 1), repeat=len(magnitudes)))
    for signs in patterns:
        hits += randomised_sign_flip_p([s * a for s, a in zip(signs, magnitudes, strict=True)]) <= level
    return hits / len(patterns)


def test_randomised_sign_flip_has_size_alpha_where_the_plain_test_is_conservative() -> None:
    """Over all 2^12 sign patterns (H0), P(p ≤ 0.05) is 0.05 up to the key's sampling error; the plain test
    on these lattice differences only reaches a smaller level."""
    mags = [0.25, 0.25, 0.25, 0.5, 0.5, 0.25, 0.75, 0.25, 0.5, 0.25, 0.25, 0.5]
    size = _orbit_size(mags, 0.05)
    assert abs(size - 0.05) < 0.012
    plain = sum(
        sign_flip_p([s * a for s, a in zip(signs, mags, strict=True)]) <= 0.05
        for signs in itertools.product((-1, 1), repeat=len(mags))
    ) / 2 ** len(mags)
    assert plain < 0.045 < size or abs(plain - 0.05) < 0.005  # the plain test wastes part of α


def test_randomised_sign_flip_is_between_strict_and_plain_and_deterministic() -> None:
    d = [-0.5, -0.25, -0.75, 0.25, -0.5, 0.25, -0.25]
    p = randomised_sign_flip_p(d)
    assert p == randomised_sign_flip_p(list(d))
    assert 0 < p <= sign_flip_p(d)
    assert randomised_sign_flip_p([-1.0] * 5) == 1 / 32  # floored at 2^-m: never below the plain minimum
    assert randomised_sign_flip_p([0.0, 0.0]) == 1.0


def test_choose_test_uses_the_randomised_tests_and_keeps_the_minimum_p() -> None:
    d = [-1.0] * 8 + [1.0] * 3 + [0.0] * 9
    res = choose_test(d)
    assert res.name == "sign test exact (McNemar)" and res.min_p == 0.5**11
    assert res.p == randomised_mcnemar_p(8, 3, tie_key(d)) <= mcnemar_p(8, 3)
    d = [-0.5, -0.25, -0.75, 0.25, -0.5, 0.5, -0.25, 0.0]
    res = choose_test(d)
    assert res.name == "sign-flip exact" and res.p == randomised_sign_flip_p(d)


def test_the_mde_of_a_randomised_test_uses_alpha_down_to_its_smallest_p() -> None:
    plain = PowerModel(20, 0.3, 1.0, ((0.25, 8), (0.5, 4)))
    rand = PowerModel(20, 0.3, 1.0, ((0.25, 8), (0.5, 4)), randomised=True)
    a, b = mde(plain, 0.05, 0.8), mde(rand, 0.05, 0.8)
    assert a is not None and b is not None and b <= a
    tiny = PowerModel(5, 0.3, 1.0, ((0.25, 4),), randomised=True)  # 2^-4 > 0.05: nothing is attainable
    assert mde(tiny, 0.05, 0.8) is None
    assert math.isfinite(b)
