"""Coverage of the calibration's kappa intervals, and the verbosity probe's false-alarm rate and power.

Usage: PYTHONPATH=. python bench/judge_coverage.py [--runs 1000] [--seed 20240601]

Each run draws ``n`` (human, judge) label pairs from a known joint distribution (a controlled confusion
matrix), computes kappa and its 95 % interval with :func:`llmops_cli.judging.agreement.cohen_kappa` (the
Fleiss-Cohen-Everitt 1969 variance, Wald interval), and checks whether the interval covers the population kappa
of that distribution. The probe rows run :func:`llmops_cli.judging.probes.shift_effect` on simulated
(original, padded) score pairs of 50 items: an unbiased noisy judge (false alarms) and a judge adding +1 to a
third of the padded answers (power).
"""

from __future__ import annotations

import argparse
import random

from llmops_cli.judging.agreement import _disagreement, cohen_kappa
from llmops_cli.judging.probes import shift_effect

PASS_FAIL = [[0.55, 0.10], [0.08, 0.27]]
ONE_TO_FIVE = [
    [0.08, 0.03, 0.01, 0.0, 0.0], [0.02, 0.10, 0.04, 0.01, 0.0], [0.01, 0.03, 0.12, 0.04, 0.01],
    [0.0, 0.01, 0.04, 0.18, 0.05], [0.0, 0.0, 0.01, 0.04, 0.17],
]  # fmt: skip


def population_kappa(p: list[list[float]], weights: str) -> float:
    k = len(p)
    w = _disagreement(k, weights)  # type: ignore[arg-type]
    row = [sum(r) for r in p]
    col = [sum(p[i][j] for i in range(k)) for j in range(k)]
    po = sum((1 - w[i][j]) * p[i][j] for i in range(k) for j in range(k))
    pe = sum((1 - w[i][j]) * row[i] * col[j] for i in range(k) for j in range(k))
    return (po - pe) / (1 - pe)


def coverage(joint: list[list[float]], weights: str, n: int, runs: int, seed: int) -> tuple[float, float]:
    total = sum(map(sum, joint))
    joint = [[x / total for x in r] for r in joint]
    k = len(joint)
    cells = [(i, j) for i in range(k) for j in range(k)]
    probs = [joint[i][j] for i, j in cells]
    truth = population_kappa(joint, weights)
    rng = random.Random(seed)
    hits = 0
    for _ in range(runs):
        draw = rng.choices(cells, probs, k=n)
        est = cohen_kappa([c[0] for c in draw], [c[1] for c in draw], weights=weights, categories=list(range(k)))  # type: ignore[arg-type]
        hits += est.low is not None and est.high is not None and est.low <= truth <= est.high
    return truth, hits / runs


def probe_rates(runs: int, seed: int) -> tuple[float, float]:
    rng = random.Random(seed)
    false_alarms = caught = 0
    for _ in range(runs):
        base = [float(rng.randint(1, 5)) for _ in range(50)]
        fair = [(b, min(5.0, max(1.0, b + rng.choice((-1, 0, 0, 1))))) for b in base]
        false_alarms += shift_effect([(b, p) for b, p in fair if 1 < b < 5])[1]
        caught += shift_effect([(b, min(5.0, b + (1 if rng.random() < 1 / 3 else 0))) for b in base])[1]
    return false_alarms / runs, caught / runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    print(f"kappa interval coverage, {args.runs} runs each (nominal 95 %)")
    print("| labels | weights | n | population kappa | coverage |")
    print("|---|---|---|---|---|")
    for name, joint, weights in (("pass/fail", PASS_FAIL, "none"), ("1-5", ONE_TO_FIVE, "linear"),
                                 ("1-5", ONE_TO_FIVE, "quadratic")):  # fmt: skip
        for n in (40, 100, 200):
            truth, cov = coverage(joint, weights, n, args.runs, args.seed)
            print(f"| {name} | {weights} | {n} | {truth:.3f} | {cov:.1%} |")
    fa, power = probe_rates(args.runs, args.seed)
    print(f"\nverbosity probe, 50 items, {args.runs} runs: false alarms {fa:.1%} (unbiased, noisy judge), "
          f"caught {power:.1%} (+1 on a third of padded answers)")  # fmt: skip


if __name__ == "__main__":
    main()
