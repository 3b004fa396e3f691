"""``llmops usage report``: calls, tokens, cost, cost per call, latency percentiles and error rate per group.

Cost is the sum of ``cost_usd`` over the calls that have one. Successful calls whose ``cost_usd`` is null
(no known price) are counted as ``unpriced_calls`` and are never summed as 0; ``cost_per_call`` divides
the cost by the priced calls. Errors count in ``calls`` and ``error_rate``; latency percentiles cover all
calls. The report reads the logs in one pass; when the logs also hold feedback or judge score records
(:mod:`.quality`), a second pass joins them to their calls: feedback rate and mean, judged calls and quality
per group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import UsageError
from .engine import Records, window_sql

SCHEMA = "llmops.usage.report/1"
KEYS = {
    "prompt": "prompt",
    "version": "version",
    "model": "model",
    "channel": "channel",
    "arm": "arm",
    "outcome": "outcome",
    "day": "strftime(ts, '%Y-%m-%d')",
    "hour": "strftime(ts, '%Y-%m-%dT%H:00Z')",
    # serving guards' outcome (pass, flagged:pii, redacted:pii, blocked:max_size); null: no guards / v1 record
    "guard": "json_extract_string(guard, '$.summary')",
}
_TAG = re.compile(r"tag:([A-Za-z0-9_][A-Za-z0-9_.:\-]{0,63})")  # the tag keys serving accepts
MAX_GROUP_KEYS = 6

METRICS_SQL = """
  count(*) AS calls,
  count(*) FILTER (outcome = 'error') AS errors,
  sum(tokens_in) AS tokens_in,
  sum(tokens_out) AS tokens_out,
  fsum(cost_usd) AS cost_usd,
  count(cost_usd) AS priced_calls,
  count(*) FILTER (cost_usd IS NULL AND outcome = 'ok') AS unpriced_calls,
  quantile_cont(latency_ms, 0.5) AS latency_p50_ms,
  quantile_cont(latency_ms, 0.95) AS latency_p95_ms"""
METRIC_NAMES = [
    "calls",
    "errors",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "priced_calls",
    "unpriced_calls",
    "latency_p50_ms",
    "latency_p95_ms",
]


def parse_by(text: str | Sequence[str] | None) -> list[str]:
    """``prompt,version,tag:tenant`` → the validated list of group keys."""
    if not text:
        return []
    items = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    keys = [k.strip() for k in items if k.strip()]
    for k in keys:
        if k not in KEYS and not _TAG.fullmatch(k):
            known = ", ".join([*KEYS, "tag:<name>"])
            raise UsageError(f"--by: unknown key {k!r} (known: {known})")
    if len(keys) > MAX_GROUP_KEYS or len(set(keys)) != len(keys):
        raise UsageError(f"--by: at most {MAX_GROUP_KEYS} distinct keys")
    return keys


def key_sql(key: str) -> str:
    """The SQL expression of a group key (tag names are validated by :func:`parse_by`)."""
    m = _TAG.fullmatch(key)
    if m:
        return f"json_extract_string(tags, '$.\"{m.group(1)}\"')"
    return KEYS[key]


def finish_metrics(m: dict[str, Any]) -> dict[str, Any]:
    """Add the derived metrics (error rate, cost per priced call) and round the floats for output."""
    calls, priced = m["calls"], m["priced_calls"]
    m["tokens_in"] = int(m["tokens_in"] or 0)
    m["tokens_out"] = int(m["tokens_out"] or 0)
    m["error_rate"] = m["errors"] / calls if calls else None
    m["cost_per_call"] = m["cost_usd"] / priced if priced and m["cost_usd"] is not None else None
    if m["cost_usd"] is not None:
        m["cost_usd"] = round(m["cost_usd"], 9)
    for k in ("latency_p50_ms", "latency_p95_ms"):
        if m[k] is not None:
            m[k] = round(m[k], 3)
    return m


@dataclass
class UsageReport:
    """The report: a total and one row per group, with the window and what was read."""

    by: list[str]
    since: datetime | None
    until: datetime | None
    files: int
    invalid: int
    total: dict[str, Any]
    groups: list[dict[str, Any]] = field(default_factory=list)
    invalid_examples: list[str] = field(default_factory=list)
    annotations: int = 0  # feedback and score records read (their metrics are in total/groups when > 0)
    unknown_feedback: int = 0  # feedback whose request_id names no call in the logs
    unknown_scores: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON (schema ``llmops.usage.report/1``)."""
        return {
            "schema": SCHEMA,
            "window": {
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
            },
            "by": self.by,
            "sources": {
                "files": self.files,
                "records": self.total["calls"],
                "invalid_skipped": self.invalid,
                "invalid_examples": self.invalid_examples,
                "annotations": self.annotations,
                "unknown_feedback": self.unknown_feedback,
                "unknown_scores": self.unknown_scores,
            },
            "total": self.total,
            "groups": self.groups,
        }


def build_report(
    recs: Records, *, by: Sequence[str] = (), since: datetime | None = None, until: datetime | None = None
) -> UsageReport:
    """Aggregate the records in ``[since, until)`` by ``by`` (one pass over the logs; invalid records are
    counted in the same pass and, in strict mode, stop the report)."""
    keys = list(by)
    exprs = [f"{key_sql(k)} AS k{i}" for i, k in enumerate(keys)]
    names = [f"k{i}" for i in range(len(keys))]
    window, params = window_sql(since, until)
    sets = f"(_st, {', '.join(names)}), (_st)" if names else "(_st)"
    # _st: 0 a request record in the window, 1 an invalid record, 2 a feedback or score record (counted here,
    # joined to its call by join_quality only when there is one)
    rows = recs.query(
        f"""SELECT _st, {"".join(n + ", " for n in names)}GROUPING({", ".join(["_st", *names])}) AS _g,
        {METRICS_SQL}
        FROM (SELECT CASE WHEN _problem IS NOT NULL THEN 1 WHEN _kind <> 'request' THEN 2 ELSE 0 END AS _st,
                     {"".join(e + ", " for e in exprs)}* EXCLUDE (_problem)
              FROM ({{all}}) WHERE _problem IS NOT NULL OR _kind <> 'request' OR ({window}))
        GROUP BY GROUPING SETS ({sets})""",
        params,
    )
    total: dict[str, Any] | None = None
    groups: list[dict[str, Any]] = []
    invalid = annotations = 0
    width = len(names)
    for row in rows:
        st, keyvals, g, metrics = row[0], row[1 : 1 + width], row[1 + width], row[2 + width :]
        m = dict(zip(METRIC_NAMES, metrics, strict=True))
        is_total = g != 0 or not names  # GROUPING() is 0 for the (_st, keys…) set
        if st == 1:
            invalid += m["calls"] if is_total else 0
        elif st == 2:
            annotations += m["calls"] if is_total else 0
        elif is_total:
            total = finish_metrics(m)
        else:
            groups.append({"key": dict(zip(keys, keyvals, strict=True)), **finish_metrics(m)})
    recs.note_invalid(invalid)
    if total is None:
        total = finish_metrics(dict.fromkeys(METRIC_NAMES, None) | {"calls": 0, "errors": 0, "priced_calls": 0})
        total["unpriced_calls"] = 0
    quality = None
    if annotations:
        from .quality import join_quality

        quality = join_quality(recs, [key_sql(k) for k in keys], since=since, until=until, total_calls=total["calls"])
        total.update(quality.total)
        for grp in groups:
            grp.update(quality.for_group(tuple(grp["key"].values()), grp["calls"]))
    groups.sort(key=lambda r: (-(r["cost_usd"] or 0.0), -r["calls"], [str(v) for v in r["key"].values()]))
    return UsageReport(
        by=keys,
        since=since,
        until=until,
        files=recs.files.count,
        invalid=recs.invalid,
        total=total,
        groups=groups,
        invalid_examples=recs.examples,
        annotations=annotations,
        unknown_feedback=quality.unknown_feedback if quality else 0,
        unknown_scores=quality.unknown_scores if quality else 0,
    )
