"""Simulate hourly canary checks for a week: false ABORTs of an equal canary, time to ABORT a worse one.

Each repetition generates a channel's traffic hour by hour with known truth and runs the verdict of
``llmops usage compare`` (:mod:`llmops_cli.usage.sequential`, the same functions, the default margins of
llmops.yaml's ``canary:`` section) after every hour, for ``--hours`` (168) hours:

* traffic: ``--calls-per-hour`` (500) calls, ``--canary-percent`` (10) % of them on the canary arm;
* judge scores on a ``--judged`` (20) % sample of calls: integers 1–5 with probabilities
  0.05/0.10/0.20/0.35/0.30 (mean 3.75), normalised to 0–1 as ``(s − 1)/4``; a *worse* canary loses one point
  on a share of its calls chosen so that its mean is ``--drop`` (0.3) points lower;
* errors 2% in both arms; cost per call lognormal (median $0.002, σ 0.5); latency lognormal (median 800 ms,
  σ 0.6), equal in both arms.

Scenarios: ``equal`` (every metric equal: any ABORT is a false alarm, any PROMOTE is correct) and ``worse``
(judge 0.3 points worse: ABORT is correct). Checks go on every hour for the whole week even after a PROMOTE
(nobody is assumed to finish the canary), so a false ABORT at any hour counts. Reported: the share of
repetitions ever ABORTed / ever PROMOTEd within the week, and the canary calls (and judged canary calls) until the first ABORT / PROMOTE (median, 95th
percentile). A fixed-n 95% interval checked every hour is simulated beside it for contrast.

Usage: ``python bench/canary_sequential_sim.py [--reps 1000] [--seed 1] [--json]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from statistics import NormalDist
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmops_cli.usage.sequential import ABORT, PROMOTE, ArmStats, decide, rate_stats, sequence  # noqa: E402

JUDGE_P = (0.05, 0.10, 0.20, 0.35, 0.30)
ERROR_RATE = 0.02
COST_MEDIAN, COST_SIGMA = 0.002, 0.5
LAT_MEDIAN, LAT_SIGMA = 800.0, 0.6


def _np() -> Any:
    import numpy

    return numpy


def simulate(
    reps: int = 1000,
    *,
    scenario: str = "equal",
    hours: int = 168,
    calls_per_hour: int = 500,
    canary_percent: float = 10.0,
    judged: float = 20.0,
    drop: float = 0.3,
    seed: int = 1,
    margins: dict[str, float] | None = None,
    alpha: float = 0.05,
    min_calls: int = 100,
    min_scored: int = 30,
    fixed_n: bool = False,
) -> dict[str, Any]:
    """Run ``reps`` weeks; return shares and calls-to-decision (see the module docstring)."""
    np = _np()
    from llmops_cli.config import CanaryConfig

    cfg = CanaryConfig()
    m = dict(margins or {})
    judge_margin = m.get("judge", cfg.margins.quality)
    rng = np.random.default_rng(seed)
    n_c = round(calls_per_hour * canary_percent / 100)
    n_s = calls_per_hour - n_c
    j_c, j_s = round(n_c * judged / 100), round(n_s * judged / 100)
    levels = np.arange(5) / 4.0
    p_worse = np.array(JUDGE_P)
    if scenario == "worse":
        q = drop / (1 - JUDGE_P[0])  # P(lose one point | score > 1) so that the mean drops by `drop`
        p_worse = np.array(JUDGE_P, dtype=float) * (1 - q)
        p_worse[0] = JUDGE_P[0]
        p_worse[:-1] += np.array(JUDGE_P[1:]) * q
    # running sums per repetition: [n, sum, sumsq] per arm and metric
    acc = {k: np.zeros((reps, 3)) for k in ("jc", "js", "cc", "cs", "lc", "ls")}
    err = np.zeros((reps, 2))
    first_abort = np.full(reps, -1)
    first_promote = np.full(reps, -1)
    k = 4  # metrics: judge, error rate, cost, latency (Bonferroni over them, as usage compare does)
    level = alpha / k
    z = NormalDist().inv_cdf(1 - level / 2)

    def add(key: str, draws: Any) -> None:
        a = acc[key]
        a[:, 0] += draws.shape[1]
        a[:, 1] += draws.sum(axis=1)
        a[:, 2] += (draws * draws).sum(axis=1)

    def stats(key: str, r: int) -> ArmStats:
        n, s, ss = acc[key][r]
        mean = s / n if n else 0.0
        var = (ss - n * mean * mean) / (n - 1) if n > 1 else 0.0
        return ArmStats(int(n), mean, max(var, 0.0))

    for h in range(hours):
        add("jc", levels[rng.choice(5, size=(reps, j_c), p=p_worse if scenario == "worse" else JUDGE_P)])
        add("js", levels[rng.choice(5, size=(reps, j_s), p=JUDGE_P)])
        add("cc", rng.lognormal(math.log(COST_MEDIAN), COST_SIGMA, size=(reps, n_c)))
        add("cs", rng.lognormal(math.log(COST_MEDIAN), COST_SIGMA, size=(reps, n_s)))
        add("lc", rng.lognormal(math.log(LAT_MEDIAN), LAT_SIGMA, size=(reps, n_c)))
        add("ls", rng.lognormal(math.log(LAT_MEDIAN), LAT_SIGMA, size=(reps, n_s)))
        err[:, 0] += rng.binomial(n_c, ERROR_RATE, size=reps)
        err[:, 1] += rng.binomial(n_s, ERROR_RATE, size=reps)
        calls_c, calls_s = n_c * (h + 1), n_s * (h + 1)
        for r in range(reps):
            if first_abort[r] >= 0:  # checks go on after a PROMOTE: an unfinished canary is still checked
                continue
            jc, js = stats("jc", r), stats("js", r)
            cc, cs = stats("cc", r), stats("cs", r)
            lc, ls = stats("lc", r), stats("ls", r)
            seqs = []
            if jc.n >= min_scored and js.n >= min_scored:
                seqs.append(sequence("judge", jc, js, margin=judge_margin, alpha=level, higher_is_worse=False))
            seqs.append(
                sequence(
                    "error_rate",
                    rate_stats(int(err[r, 0]), calls_c),
                    rate_stats(int(err[r, 1]), calls_s),
                    margin=cfg.margins.error_rate,
                    alpha=level,
                )
            )
            seqs.append(sequence("cost", cc, cs, margin=cfg.margins.cost_per_call * cs.mean, alpha=level))
            seqs.append(sequence("latency", lc, ls, margin=cfg.margins.latency_ms * ls.mean, alpha=level))
            if fixed_n:  # the naive alternative: a fixed-n z interval at the same level, checked every hour
                seqs = [_fixed(s, z) for s in seqs]
            enough = calls_c >= min_calls and calls_s >= min_calls and jc.n >= min_scored
            d = decide(seqs, enough_data=enough)
            if d.verdict == ABORT:
                first_abort[r] = h
            elif d.verdict == PROMOTE and first_promote[r] < 0:
                first_promote[r] = h
    aborted = first_abort >= 0
    promoted = first_promote >= 0

    def calls(hours_: Any) -> dict[str, Any]:
        if len(hours_) == 0:
            return {"median": None, "p95": None, "judged_median": None, "judged_p95": None}
        hs = np.sort(hours_) + 1
        med, p95 = float(np.median(hs)), float(np.quantile(hs, 0.95))
        return {
            "hours_median": med,
            "hours_p95": p95,
            "canary_calls_median": round(med * n_c),
            "canary_calls_p95": round(p95 * n_c),
            "judged_canary_calls_median": round(med * j_c),
            "judged_canary_calls_p95": round(p95 * j_c),
        }

    return {
        "scenario": scenario,
        "test": "fixed-n z interval checked hourly" if fixed_n else "always-valid (mixture SPRT)",
        "reps": reps,
        "hours": hours,
        "canary_calls_per_hour": n_c,
        "judged_canary_calls_per_hour": j_c,
        "abort_share": float(aborted.mean()),
        "promote_share": float(promoted.mean()),
        "undecided_share": float((~aborted & ~promoted).mean()),
        "abort_se": math.sqrt(aborted.mean() * (1 - aborted.mean()) / reps),
        "to_abort": calls(first_abort[aborted]),
        "to_promote": calls(first_promote[promoted]),
    }


def _fixed(s: Any, z: float) -> Any:
    from dataclasses import replace

    if not math.isfinite(s.low):
        return s
    var = s.canary.var / s.canary.n + s.stable.var / s.stable.n
    half = z * math.sqrt(var)
    return replace(s, low=s.estimate - half, high=s.estimate + half)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hours", type=int, default=168)
    ap.add_argument("--no-fixed", action="store_true", help="skip the fixed-n contrast runs")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = [
        simulate(args.reps, scenario="equal", seed=args.seed, hours=args.hours),
        simulate(args.reps, scenario="worse", seed=args.seed + 1, hours=args.hours),
    ]
    if not args.no_fixed:
        runs.append(simulate(args.reps, scenario="equal", seed=args.seed, hours=args.hours, fixed_n=True))
    took = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"runs": runs, "seconds": round(took, 1), "cpus": os.cpu_count()}, indent=2))
        return
    for r in runs:
        print(
            f"{r['scenario']:>5} {r['test']:<36} reps={r['reps']} ABORT {r['abort_share']:.1%} "
            f"(±{1.96 * r['abort_se']:.1%})  PROMOTE {r['promote_share']:.1%}  undecided {r['undecided_share']:.1%}"
        )
        for what in ("to_abort", "to_promote"):
            c = r[what]
            if c.get("hours_median") is not None:
                print(
                    f"      {what}: median {c['hours_median']:.0f} h = {c['canary_calls_median']} canary calls "
                    f"({c['judged_canary_calls_median']} judged); 95% within {c['hours_p95']:.0f} h = "
                    f"{c['canary_calls_p95']} canary calls ({c['judged_canary_calls_p95']} judged)"
                )
    print(f"({took:.0f} s)")


if __name__ == "__main__":
    main()
