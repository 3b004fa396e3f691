"""``llmops usage check``: budget breaches (actual and projected) and cost spikes, for cron or a scheduled job.

Budget
    For each UTC day from ``since`` (default: today) to ``now``, and each ``--by`` group (default: all
    traffic), the day's spend (the sum of known ``cost_usd``) is compared with the per-day budget.
    A day over budget is a ``budget`` finding. For today, the spend is also projected to midnight::

        projected = spent_so_far + rate × hours_left,  rate = spend in the last min(3 h, elapsed) / that time

    so a spend rate that starts mid-day is projected at its current pace, not diluted by a quiet morning.
    A projection is made only once ``min_elapsed_h`` (1 h) of the day has passed and the group has made
    ``min_calls`` (50) calls today: no alarms from the first few minutes of a day. Unpriced calls
    (``cost_usd: null``) cannot be counted; their number is reported with each finding.

Version cost spike
    Per prompt, the mean cost per priced call of each version over the lookback (168 h) is compared with the
    version before it (semver order when every version parses, else first-seen order), each with at least
    ``version_min_calls`` (100) priced calls. A version that served calls in the last 24 h and costs at least
    ``version_ratio`` (2×) its predecessor per call is flagged — a release making calls 10× costlier is caught
    by the first check after its first hundred calls.

Hourly spend spike
    Per group, the spend of the last 60 minutes is compared with the trailing hourly spends before it
    (60-minute buckets ending at ``now``, up to ``lookback_h`` of them, from the group's first record on; hours
    without calls count as 0). With ``m`` their median and ``MAD`` their median absolute deviation, the hour is
    flagged when it exceeds both ``hourly_ratio × max(m, mean)`` (3×) and ``m + hourly_k × 1.4826 × MAD`` (6
    robust standard deviations), after at least ``hourly_min_baseline_h`` (24) baseline hours and with at least
    ``hourly_min_calls`` (20) calls in the hour. The ratio floor keeps a steady (MAD ≈ 0) spend or normal
    day/night swings from raising alarms; the call floor keeps one pricey call of a rarely used prompt from it.

Price changes and model deprecations (:mod:`.provider_check`)
    The prices recorded with each release's baseline against litellm's price table now, and the providers'
    published deprecation dates of the models that served calls in the last 24 h.

Input drift (:mod:`.input_drift`)
    Per prompt with content logging on, the lengths, scripts/languages and word distribution of the last 24 h
    of inputs against the 7 days before, each tested against its own sampling noise with a practical floor;
    ``bench/input_drift_bench.py`` measures the false-alarm rate of hourly checks.

Input-token anomaly (:mod:`.tokens_check`)
    Per prompt, the ``token_percentile`` (p95) of ``tokens_in`` per call in the last hour against the same
    percentile of each trailing hour: flagged above ``max(token_ratio × median, median + token_k × 1.4826 ×
    MAD)`` of those hourly values — a sudden growth of what callers send is a common sign of prompt injection
    (pasted documents, smuggled instructions) or abuse. See :mod:`.tokens_check` for the thresholds and
    ``bench/token_anomaly_bench.py`` for the false-alarm rate on generated logs.
"""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import UsageError
from .engine import Records
from .engine import naive_utc as _naive
from .report import key_sql

SCHEMA = "llmops.usage.check/1"


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds of :func:`run_check` (defaults as documented in the module docstring)."""

    budget_per_day: float | None = None
    by: tuple[str, ...] = ()
    since: datetime | None = None
    min_elapsed_h: float = 1.0
    min_calls: int = 50
    projection_window_h: float = 3.0
    spikes: bool = True
    lookback_h: int = 168
    version_ratio: float = 2.0
    version_min_calls: int = 100
    hourly_ratio: float = 3.0
    hourly_k: float = 6.0
    hourly_min_baseline_h: int = 24
    hourly_min_usd: float = 0.0
    hourly_min_calls: int = 20
    tokens: bool = True  # the input-token anomaly check (with spikes)
    token_percentile: float = 0.95
    token_ratio: float = 1.5
    token_k: float = 6.0
    token_min_calls: int = 20
    token_min_baseline_h: int = 24
    provider: bool = True  # price changes since release, model deprecations (:mod:`.provider_check`)
    deprecation_days: int = 90
    root: str | None = None  # where the release baselines are (the git repository around it)
    inputs: bool = True  # input drift (:mod:`.input_drift`)

    def __post_init__(self) -> None:
        """Every threshold a finite number (``--budget-per-day inf`` or ``--version-ratio nan`` would never
        fire, or fire always, while looking like a check): :class:`UsageError` otherwise."""
        for name, value in vars(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"--{name.replace('_', '-')}: expected a finite number, got {value}")


@dataclass
class Finding:
    """One problem: ``kind`` is budget, budget-projected, version-cost-spike, hourly-spend-spike,
    token-anomaly, price-change, model-deprecation or input-drift."""

    kind: str
    group: dict[str, Any]
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "group": self.group, "message": self.message, **self.details}


@dataclass
class CheckResult:
    """Findings (exit 1 when any), per-group budget status and notes (unpriced calls, skipped records)."""

    now: datetime
    options: CheckOptions
    findings: list[Finding] = field(default_factory=list)
    budget: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    invalid: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        """One line per finding (for cron mail and logs), or one OK line."""
        if self.ok:
            o = self.options
            what = f"within budget ${o.budget_per_day:g}/day" if o.budget_per_day else "no budget given"
            spikes = "no cost spike" if o.spikes else "spike detection off"
            return [f"OK usage check at {_iso(self.now)}: {what}, {spikes}"]
        return [f"{f.kind.upper()} {_group_text(f.group)}{f.message}" for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON (schema ``llmops.usage.check/1``)."""
        o = self.options
        return {
            "schema": SCHEMA,
            "now": _iso(self.now),
            "ok": self.ok,
            "budget_per_day": o.budget_per_day,
            "by": list(o.by),
            "findings": [f.to_dict() for f in self.findings],
            "budget": self.budget,
            "notes": self.notes,
            "sources": {"files": self.files, "invalid_skipped": self.invalid},
        }

    def to_markdown(self) -> str:
        """A ``$GITHUB_STEP_SUMMARY`` section."""
        head = "✅ no finding" if self.ok else f"❌ {len(self.findings)} finding{'s' if len(self.findings) > 1 else ''}"
        out = [f"### llmops usage check: {head}", "", f"Checked at {_iso(self.now)}."]
        if self.findings:
            out += ["", "| finding | group | detail |", "|---|---|---|"]
            out += [
                f"| {f.kind} | {_md(_group_text(f.group).strip() or 'all')} | {_md(f.message)} |" for f in self.findings
            ]
        if self.budget:
            out += ["", f"Budget ${self.options.budget_per_day:g} per UTC day:", ""]
            out += ["| day | group | calls | spent | projected | unpriced calls |", "|---|---|---:|---:|---:|---:|"]
            for b in self.budget:
                proj = f"${b['projected_usd']:.2f}" if b["projected_usd"] is not None else "–"
                out.append(
                    f"| {b['day']} | {_md(_group_text(b['group']).strip() or 'all')} | {b['calls']} | "
                    f"${b['spent_usd']:.2f} | {proj} | {b['unpriced_calls']} |"
                )
        if self.notes:
            out += ["", *(f"- {_md(n)}" for n in self.notes)]
        return "\n".join(out) + "\n"

    def append_markdown(self, path: str | os.PathLike[str]) -> None:
        """Append :meth:`to_markdown` (redacted) to ``path``: a step summary file is shared by a job's steps."""
        from ..redact import redact

        with open(path, "a", encoding="utf-8") as fh:
            fh.write(redact(self.to_markdown()))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _group_text(group: dict[str, Any]) -> str:
    return "".join(f"{k}={v if v is not None else '(none)'} " for k, v in group.items())


def _usd(x: float) -> str:
    return f"${x:.2f}" if x >= 1 or x == 0 else f"${x:.6f}".rstrip("0")


def run_check(recs: Records, opts: CheckOptions, *, now: datetime) -> CheckResult:
    """Budget and spike checks over the logs as of ``now`` (records after ``now`` are ignored)."""
    now = now.astimezone(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    budget_since = (opts.since or today).astimezone(UTC)
    start = min(budget_since, now - timedelta(hours=opts.lookback_h + 1)) if opts.spikes else budget_since
    recs.materialize(since=_naive(start), until=_naive(now))
    res = CheckResult(now=now, options=opts, files=recs.files.count, invalid=recs.invalid)
    if recs.invalid:
        res.notes.append(f"{recs.invalid} invalid records skipped ({'; '.join(recs.examples[:2])})")
    ((latest,),) = recs.query("SELECT max(ts) FROM records")
    if latest is None or latest < _naive(now - timedelta(hours=1)):
        seen = f"latest record {latest:%Y-%m-%dT%H:%M:%SZ}" if latest else "no record in the window"
        res.notes.append(f"no calls logged in the last hour ({seen}): is request logging working?")
    keys = list(opts.by)
    gsel = "".join(f"{key_sql(k)} AS k{i}, " for i, k in enumerate(keys))
    if opts.budget_per_day is not None:
        _budget(recs, opts, res, keys, gsel, now, budget_since, today)
    if opts.spikes:
        _version_spikes(recs, opts, res, now)
        _hourly_spikes(recs, opts, res, keys, gsel, now)
        if opts.tokens:
            from .tokens_check import TokenRule, token_anomalies

            rule = TokenRule(
                opts.lookback_h, opts.token_percentile, opts.token_ratio, opts.token_k, opts.token_min_calls,
                opts.token_min_baseline_h,
            )  # fmt: skip
            for a in token_anomalies(recs, rule, now):
                res.findings.append(Finding("token-anomaly", {"prompt": a.prompt}, a.message, a.details))
    if opts.provider:
        from .provider_check import provider_findings

        found, notes = provider_findings(recs, now, root=opts.root, deprecation_days=opts.deprecation_days)
        res.findings += [Finding(f.kind, f.group, f.message, f.details) for f in found]
        res.notes += notes
    if opts.inputs:
        from .input_drift import input_drift

        if recs.files.parquet:
            res.notes.append("input drift reads JSON Lines logs only: Parquet files were not checked for it")

        for d in input_drift(recs, now):
            if d.drifted:
                details = {
                    f.feature: {"statistic": f.statistic, "null_median": f.null_median, "p_value": f.p_value}
                    for f in d.features
                }
                res.findings.append(Finding("input-drift", {"prompt": d.prompt}, d.message(), details))
    return res


def _budget(
    recs: Records,
    opts: CheckOptions,
    res: CheckResult,
    keys: list[str],
    gsel: str,
    now: datetime,
    since: datetime,
    today: datetime,
) -> None:
    budget = float(opts.budget_per_day or 0.0)
    n = len(keys)
    gnames = "".join(f"k{i}, " for i in range(n))
    window = min(opts.projection_window_h, max((now - today).total_seconds() / 3600, 1e-9))
    rows = recs.query(
        f"""SELECT {gnames}CAST(date_trunc('day', ts) AS TIMESTAMP) AS day, count(*), coalesce(fsum(cost_usd), 0),
              count(*) FILTER (cost_usd IS NULL AND outcome = 'ok'),
              coalesce(fsum(cost_usd) FILTER (ts >= $recent), 0)
            FROM (SELECT {gsel}* FROM records WHERE ts >= $since) GROUP BY ALL ORDER BY ALL""",
        {"since": _naive(since), "recent": _naive(now - timedelta(hours=window))},
    )
    for row in rows:
        group = dict(zip(keys, row[:n], strict=True))
        day, calls, spent, unpriced, recent = row[n:]
        is_today = day.date() == today.date()
        projected = None
        elapsed_h = (now - today).total_seconds() / 3600
        if is_today and elapsed_h >= opts.min_elapsed_h and calls >= opts.min_calls:
            projected = spent + recent / window * (24 - elapsed_h)
        status = {
            "day": day.strftime("%Y-%m-%d"),
            "group": group,
            "calls": calls,
            "spent_usd": round(spent, 6),
            "projected_usd": round(projected, 6) if projected is not None else None,
            "unpriced_calls": unpriced,
        }
        res.budget.append(status)
        if spent <= budget and (projected is None or projected <= budget):
            continue
        top = _contributors(recs, keys, row[:n], day)
        extra = f"; {unpriced} unpriced calls not counted" if unpriced else ""
        if spent > budget:
            kind = "budget"
            msg = f"{status['day']}: spent {_usd(spent)} > budget {_usd(budget)} ({calls} calls{extra}); top: {top}"
        else:
            kind = "budget-projected"
            msg = (
                f"{status['day']}: projected {_usd(projected or 0)} > budget {_usd(budget)} "
                f"(spent {_usd(spent)} in {elapsed_h:.1f} h, {_usd(recent / window)}/h over the last {window:g} h"
                f"{extra}); top: {top}"
            )
        res.findings.append(Finding(kind, group, msg, {"budget_usd": budget, **status}))


def _contributors(recs: Records, keys: list[str], values: tuple[Any, ...], day: datetime) -> str:
    """The top three prompt@version of a group's day, with their share of its spend."""
    cond = "".join(f" AND {key_sql(k)} IS NOT DISTINCT FROM $g{i}" for i, k in enumerate(keys))
    params: dict[str, Any] = {f"g{i}": v for i, v in enumerate(values)}
    params |= {"d0": day, "d1": day + timedelta(days=1)}
    rows = recs.query(
        f"""SELECT prompt, version, coalesce(fsum(cost_usd), 0) AS s, sum(s) OVER () AS t FROM records
            WHERE ts >= $d0 AND ts < $d1{cond} GROUP BY prompt, version ORDER BY s DESC, prompt LIMIT 3""",
        params,
    )
    parts = [f"{p}@{v or 'working-tree'} {_usd(s)} ({100 * s / t:.0f}%)" if t else f"{p}@{v}" for p, v, s, t in rows]
    return ", ".join(parts) or "(none)"


def _version_key(versions: list[tuple[str, datetime]]) -> list[str]:
    """Versions in release order: semver when all parse, else first-seen time."""
    from ..versions import try_parse_version

    parsed = [(try_parse_version(v), v, t) for v, t in versions]
    if all(p is not None for p, _, _ in parsed):
        return [v for p, v, _ in sorted(parsed, key=lambda x: x[0])]  # type: ignore[arg-type,return-value]
    return [v for _, v, _ in sorted(parsed, key=lambda x: x[2])]


def _version_spikes(recs: Records, opts: CheckOptions, res: CheckResult, now: datetime) -> None:
    rows = recs.query(
        """SELECT prompt, version, count(cost_usd), avg(cost_usd), min(ts), max(ts) FROM records
           WHERE ts >= $lb AND version IS NOT NULL GROUP BY prompt, version ORDER BY prompt, version""",
        {"lb": _naive(now - timedelta(hours=opts.lookback_h))},
    )
    by_prompt: dict[str, dict[str, tuple[int, float | None, datetime, datetime]]] = {}
    for prompt, version, n, mean, first, last in rows:
        by_prompt.setdefault(prompt, {})[version] = (n, mean, first, last)
    recent = _naive(now - timedelta(hours=24))
    for prompt, stats in sorted(by_prompt.items()):
        order = _version_key([(v, s[2]) for v, s in stats.items()])
        previous: str | None = None
        for v in order:
            n, mean, _first, last = stats[v]
            if n < opts.version_min_calls or mean is None:
                continue
            if previous is not None and last >= recent:
                pn, pmean, _, _ = stats[previous]
                if pmean is not None and pmean > 0 and mean >= opts.version_ratio * pmean:
                    ratio = mean / pmean
                    res.findings.append(
                        Finding(
                            "version-cost-spike",
                            {"prompt": prompt, "version": v},
                            f"costs {_usd(mean)}/call, {ratio:.1f}× {previous} ({_usd(pmean)}/call) "
                            f"over {n} vs {pn} priced calls in the last {opts.lookback_h} h",
                            {
                                "previous": previous,
                                "cost_per_call": mean,
                                "previous_cost_per_call": pmean,
                                "ratio": ratio,
                                "calls": n,
                                "previous_calls": pn,
                            },
                        )
                    )
            previous = v


def _hourly_spikes(
    recs: Records, opts: CheckOptions, res: CheckResult, keys: list[str], gsel: str, now: datetime
) -> None:
    n = len(keys)
    gnames = "".join(f"k{i}, " for i in range(n))
    rows = recs.query(
        f"""SELECT {gnames}CAST(floor(epoch($now - ts) / 3600) AS BIGINT) AS k, coalesce(fsum(cost_usd), 0), count(*)
            FROM (SELECT {gsel}* FROM records WHERE ts >= $lb AND ts < $now) GROUP BY ALL""",
        {"now": _naive(now), "lb": _naive(now - timedelta(hours=opts.lookback_h + 1))},
    )
    series: dict[tuple[Any, ...], dict[int, float]] = {}
    calls: dict[tuple[Any, ...], int] = {}
    for row in rows:
        series.setdefault(tuple(row[:n]), {})[int(row[n])] = float(row[n + 1])
        if int(row[n]) == 0:
            calls[tuple(row[:n])] = int(row[n + 2])
    for gkey, spend in sorted(series.items(), key=lambda kv: [str(x) for x in kv[0]]):
        oldest = min(max(spend), opts.lookback_h)
        baseline = [spend.get(k, 0.0) for k in range(1, oldest + 1)]
        if len(baseline) < opts.hourly_min_baseline_h:
            continue
        current = spend.get(0, 0.0)
        med = statistics.median(baseline)
        mad = statistics.median(abs(x - med) for x in baseline)
        reference = max(med, statistics.fmean(baseline))
        threshold = max(opts.hourly_ratio * reference, med + opts.hourly_k * 1.4826 * mad)
        if (reference == 0 and opts.hourly_min_usd <= 0) or calls.get(gkey, 0) < opts.hourly_min_calls:
            continue
        if current > threshold and current >= opts.hourly_min_usd:
            group = dict(zip(keys, gkey, strict=True))
            res.findings.append(
                Finding(
                    "hourly-spend-spike",
                    group,
                    f"last hour spent {_usd(current)}, {current / reference if reference else float('inf'):.1f}× "
                    f"the median hour ({_usd(med)}, MAD {_usd(mad)}) of the previous {len(baseline)} h; "
                    f"top: {_hour_contributors(recs, keys, gkey, now)}",
                    {
                        "spent_usd": current,
                        "median_usd": med,
                        "mad_usd": mad,
                        "threshold_usd": threshold,
                        "baseline_hours": len(baseline),
                    },
                )
            )


def _hour_contributors(recs: Records, keys: list[str], values: tuple[Any, ...], now: datetime) -> str:
    cond = "".join(f" AND {key_sql(k)} IS NOT DISTINCT FROM $g{i}" for i, k in enumerate(keys))
    params: dict[str, Any] = {f"g{i}": v for i, v in enumerate(values)}
    params |= {"h0": _naive(now - timedelta(hours=1)), "h1": _naive(now)}
    rows = recs.query(
        f"""SELECT prompt, version, coalesce(fsum(cost_usd), 0) AS s, sum(s) OVER () AS t FROM records
            WHERE ts >= $h0 AND ts < $h1{cond} GROUP BY prompt, version ORDER BY s DESC, prompt LIMIT 3""",
        params,
    )
    return (
        ", ".join(f"{p}@{v or 'working-tree'} {_usd(s)} ({100 * s / t:.0f}%)" for p, v, s, t in rows if t) or "(none)"
    )
