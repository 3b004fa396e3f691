"""Input-token anomalies per prompt, for ``llmops usage check`` (a sign of prompt injection or abuse).

For each prompt, the ``p``-th percentile (default p95) of ``tokens_in`` per call is computed for the last hour
(``now − 1 h`` to ``now``) and for each of the trailing hours of the lookback (168 h). Hours with fewer than
``token_min_calls`` (20) calls that report tokens are left out of both. With ``m`` the median and ``MAD`` the
median absolute deviation of the trailing hours' percentiles, the last hour is flagged when its percentile
exceeds both

    token_ratio × m          (1.5×: what callers send grew by half at the tail)
    m + token_k × 1.4826 × MAD   (6 robust standard deviations of the hour-to-hour wobble)

after at least ``token_min_baseline_h`` (24) trailing hours. A percentile, not the mean, so that a few huge
pasted documents move it and one outlier does not; per prompt, not per version, so an injection campaign is
caught whatever release serves it — a release that legitimately sends much more context is flagged once too
(the finding names the versions of the hour). The false-alarm rate on generated logs (heavy-tailed token
counts, day/night traffic, low-traffic prompts) is measured by ``bench/token_anomaly_bench.py``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .engine import Records
from .engine import naive_utc as _naive


@dataclass(frozen=True)
class TokenRule:
    """The thresholds (``CheckOptions.token_*`` and the lookback)."""

    lookback_h: int = 168
    percentile: float = 0.95
    ratio: float = 1.5
    k: float = 6.0
    min_calls: int = 20
    min_baseline_h: int = 24


@dataclass(frozen=True)
class TokenAnomaly:
    """One flagged prompt: the message and the figures behind it."""

    prompt: str
    message: str
    details: dict[str, Any]


def token_anomalies(recs: Records, opts: TokenRule, now: datetime) -> list[TokenAnomaly]:
    """The prompts whose input tokens per call jumped in the last hour (over the materialised ``records``)."""
    rows = recs.query(
        """SELECT prompt, CAST(floor(epoch($now - ts) / 3600) AS BIGINT) AS k,
                  quantile_cont(tokens_in, $q), count(tokens_in)
           FROM records WHERE ts >= $lb AND ts < $now AND tokens_in IS NOT NULL GROUP BY ALL""",
        {
            "now": _naive(now),
            "lb": _naive(now - timedelta(hours=opts.lookback_h + 1)),
            "q": opts.percentile,
        },
    )
    series: dict[str, dict[int, float]] = {}
    for prompt, k, value, n in rows:
        if n >= opts.min_calls and value is not None:
            series.setdefault(prompt, {})[int(k)] = float(value)
    out = []
    pct = f"p{round(opts.percentile * 100):d}"
    for prompt, hours in sorted(series.items()):
        current = hours.get(0)
        baseline = [v for k, v in hours.items() if 1 <= k <= opts.lookback_h]
        if current is None or len(baseline) < opts.min_baseline_h:
            continue
        med = statistics.median(baseline)
        mad = statistics.median(abs(x - med) for x in baseline)
        threshold = max(opts.ratio * med, med + opts.k * 1.4826 * mad)
        if current <= threshold:
            continue
        versions = _versions(recs, prompt, now)
        times = f"{current / med:.1f}×" if med else "∞×"
        out.append(
            TokenAnomaly(
                prompt,
                f"{pct} input tokens per call in the last hour {current:,.0f}, {times} "
                f"the median hour ({med:,.0f}, MAD {mad:,.0f}) of the previous {len(baseline)} h "
                f"(possible injection or abuse); versions: {versions}",
                {
                    "percentile": opts.percentile,
                    "tokens_in": current,
                    "median_tokens_in": med,
                    "mad_tokens_in": mad,
                    "threshold_tokens_in": threshold,
                    "baseline_hours": len(baseline),
                },
            )
        )
    return out


def _versions(recs: Records, prompt: str, now: datetime) -> str:
    rows: list[tuple[Any, ...]] = recs.query(
        """SELECT coalesce(version, 'working-tree'), count(*) AS n FROM records
           WHERE prompt = $p AND ts >= $h0 AND ts < $h1 GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3""",
        {"p": prompt, "h0": _naive(now - timedelta(hours=1)), "h1": _naive(now)},
    )
    return ", ".join(f"{v} ({n} calls)" for v, n in rows) or "(none)"
