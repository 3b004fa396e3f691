"""False-alarm and detection rates of ``llmops usage check``'s input-token anomaly on generated logs.

    PYTHONPATH=. python bench/token_anomaly_bench.py

Logs: 7 days of three prompts with day/night traffic (the hourly rate follows a daily cycle between 30% and
100% of its peak) and heavy-tailed input sizes — each prompt a mixture of short (70%), long (25%) and very long
(5%) inputs, each ±30% — so the hourly p95 wobbles as it does with real retrieval contexts. One quiet prompt
peaks at 40 calls an hour (nights fall under the 20-call floor).

* false alarms: for each of three seeds (three independent logs), the check (default thresholds) runs at every
  hour of days 3–7 (120 checks × 3 prompts); any ``token-anomaly`` finding is a false alarm; reported with the
  exact (Clopper–Pearson) 95% upper bound;
* detection: at 30 random hours, an extra log adds, for the busiest prompt, inputs of ``m`` times the usual
  long-input size making up a share ``f`` of that hour's calls; reported per (m, f).
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmops_cli.usage import open_records, resolve_logs
from llmops_cli.usage.check import CheckOptions, run_check
from llmops_cli.usage.synth import Stream, write_jsonl

START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 7
PROMPTS = {  # name: (peak calls per hour, short input tokens)
    "support/answer": (120, 600),
    "tickets/triage": (80, 300),
    "extract/invoice": (40, 1200),
}
MIX = ((0.70, 1.0), (0.25, 3.0), (0.05, 8.0))  # (share, size multiple of the short input)


def rate(peak: float, hour: int) -> float:
    return peak * (0.65 + 0.35 * math.sin(2 * math.pi * (hour % 24 - 9) / 24))


def base_streams() -> list[Stream]:
    out = []
    for prompt, (peak, short) in PROMPTS.items():
        for h in range(DAYS * 24):
            for share, mult in MIX:
                out.append(
                    Stream(
                        prompt=prompt, start_h=h, hours=1, per_hour=rate(peak, h) * share, tokens_in=round(short * mult),
                        cost_per_call=None, error_rate=0.01, tags={},
                    )
                )  # fmt: skip
    return out


def anomalies(res: object) -> list[object]:
    return [f for f in getattr(res, "findings", []) if f.kind == "token-anomaly"]


def upper_bound(k: int, n: int) -> float:
    """Exact one-sided 95% upper bound of a rate with ``k`` events in ``n`` trials (bisection on the binomial)."""
    lo, hi = k / n, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        cdf = sum(math.comb(n, i) * mid**i * (1 - mid) ** (n - i) for i in range(k + 1))
        lo, hi = (mid, hi) if cdf > 0.05 else (lo, mid)
    return hi


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        checks = alarms = 0
        for seed in (1, 2, 3):
            base = Path(tmp) / f"base-{seed}.jsonl"
            write_jsonl(base, base_streams(), start=START, seed=seed)
            for h in range(48, DAYS * 24):
                now = START + timedelta(hours=h)
                res = run_check(open_records(resolve_logs([str(base)])), CheckOptions(), now=now)
                checks += len(PROMPTS)
                alarms += len(anomalies(res))
        print(
            f"false alarms: {alarms} of {checks} prompt-hours checked ({alarms / checks:.2%}, 95% upper bound "
            f"{upper_bound(alarms, checks):.2%}); {time.perf_counter() - t0:.0f} s"
        )
        rng = random.Random(7)
        prompt, (peak, short) = "support/answer", PROMPTS["support/answer"]
        for mult, share in ((2.0, 0.05), (2.0, 0.2), (4.0, 0.05), (4.0, 0.2)):
            hit = 0
            trials = 30
            for trial in range(trials):
                h = rng.randrange(48, DAYS * 24)
                extra = Path(tmp) / f"attack-{mult}-{share}-{trial}.jsonl"
                n_hour = rate(peak, h - 1)
                write_jsonl(
                    extra,
                    [Stream(prompt=prompt, start_h=h - 1, hours=1, per_hour=n_hour * share / (1 - share),
                            tokens_in=round(short * 3 * mult), cost_per_call=None, error_rate=0, tags={})],
                    start=START, seed=trial,
                )  # fmt: skip
                now = START + timedelta(hours=h)
                res = run_check(open_records(resolve_logs([str(base), str(extra)])), CheckOptions(), now=now)
                hit += any(f.group == {"prompt": prompt} for f in anomalies(res))
            print(f"detection: inputs {mult:g}× the long size in {share:.0%} of the hour's calls: {hit}/{trials}")


if __name__ == "__main__":
    main()
