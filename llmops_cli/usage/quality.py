"""Feedback and judge scores joined to the calls they are about, per report group.

Feedback records (:class:`~llmops_cli.records.feedback.FeedbackRecord`) and score records
(:class:`~llmops_cli.records.score.ScoreRecord`) carry only a ``request_id``: each takes the group keys of the
request record with that id (the first one when a caller reused an id), so a report grouped by prompt,
version, arm, day or a tag shows quality beside cost and latency. The window (``--since``/``--until``) selects
calls; the feedback and scores of those calls count whenever they were given.

* ``feedback``: how many pieces of feedback (the same ``request_id``, ``ts`` and ``score`` twice — a file
  imported twice — count once); ``feedback_calls``: calls with at least one; ``feedback_rate``:
  ``feedback_calls / calls``; ``feedback_mean``: the mean ``score`` of the feedback that has one.
* ``judged_calls``: calls with at least one judge score; ``quality``: the mean normalised (0..1) score over
  every (call, metric) — the latest score record of each pair, judge errors left out; ``quality_by_metric``.
* ``unknown_feedback`` / ``unknown_scores`` (totals only): records whose ``request_id`` names no call in the
  logs at all — counted, never an error.

One extra pass over the logs, made only when the report's pass saw feedback or score records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .engine import Records, window_sql

EMPTY: dict[str, Any] = {
    "feedback": 0,
    "feedback_calls": 0,
    "feedback_rate": None,
    "feedback_mean": None,
    "judged_calls": 0,
    "quality": None,
    "quality_by_metric": {},
}


@dataclass
class Quality:
    """Per-group quality metrics (keyed by the tuple of group key values) and the totals."""

    groups: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    total: dict[str, Any] = field(default_factory=lambda: dict(EMPTY))
    unknown_feedback: int = 0
    unknown_scores: int = 0

    def for_group(self, key: tuple[Any, ...], calls: int) -> dict[str, Any]:
        """The metrics of one group, with the feedback rate over its ``calls``."""
        return _with_rate(self.groups.get(key, dict(EMPTY)), calls)


def _with_rate(m: dict[str, Any], calls: int) -> dict[str, Any]:
    out = {**EMPTY, **m}
    out["quality_by_metric"] = dict(out["quality_by_metric"])
    out["feedback_rate"] = round(out["feedback_calls"] / calls, 6) if calls else None
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def join_quality(
    recs: Records,
    key_exprs: Sequence[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    total_calls: int = 0,
) -> Quality:
    """Feedback and score metrics per group (``key_exprs``: the report's group key SQL expressions)."""
    window, params = window_sql(since, until)
    names = [f"k{i}" for i in range(len(key_exprs))]
    keys = "".join(f"{e} AS {n}, " for e, n in zip(key_exprs, names, strict=True))
    firsts = "".join(f"arg_min({n}, ts) AS {n}, " for n in names)
    sel = "".join(f"{n}, " for n in names)
    sets = f"({', '.join(names)}), ()" if names else "()"
    grouping = f"GROUPING({', '.join(names)})" if names else "1"
    base = f"""WITH x AS MATERIALIZED (
          SELECT _kind, request_id, score, metric, ts, {keys}({window}) AS _in
          FROM ({{all}}) WHERE _problem IS NULL AND request_id IS NOT NULL),
        calls AS (SELECT request_id, {firsts}bool_or(_in) AS _in FROM x WHERE _kind = 'request' GROUP BY request_id),
        fb AS (SELECT DISTINCT request_id, ts, score FROM x WHERE _kind = 'feedback'),
        sc AS (SELECT request_id, metric, arg_max(score, ts) AS score FROM x WHERE _kind = 'score'
               GROUP BY request_id, metric)"""
    rows = recs.query(
        f"""{base}
        SELECT 'f' AS part, {sel}{grouping} AS _g, count(*) AS n, count(DISTINCT request_id) AS calls,
               avg(score) AS mean, NULL AS metric
        FROM fb JOIN calls USING (request_id) WHERE calls._in GROUP BY GROUPING SETS ({sets})
        UNION ALL
        SELECT 's', {sel}{grouping}, count(score), count(DISTINCT request_id) FILTER (score IS NOT NULL), avg(score),
               NULL FROM sc JOIN calls USING (request_id) WHERE calls._in GROUP BY GROUPING SETS ({sets})
        UNION ALL
        SELECT 'm', {sel}{grouping}, count(score), NULL, avg(score), metric
        FROM sc JOIN calls USING (request_id) WHERE calls._in GROUP BY GROUPING SETS (({", ".join([*names, "metric"])}),
             (metric))
        UNION ALL
        SELECT 'uf', {"NULL, " * len(names)}1, count(*), NULL, NULL, NULL FROM fb ANTI JOIN calls USING (request_id)
        UNION ALL
        SELECT 'us', {"NULL, " * len(names)}1, count(*), NULL, NULL, NULL FROM sc ANTI JOIN calls USING (request_id)""",
        params,
    )
    q = Quality()
    width = len(names)
    for row in rows:
        part, keyvals, g, n, calls, mean, metric = row[0], tuple(row[1 : 1 + width]), row[1 + width], *row[2 + width :]
        if part == "uf":
            q.unknown_feedback = int(n)
            continue
        if part == "us":
            q.unknown_scores = int(n)
            continue
        is_total = not names or g != 0
        target = q.total if is_total else q.groups.setdefault(keyvals, dict(EMPTY, quality_by_metric={}))
        if part == "f":
            target.update(feedback=int(n), feedback_calls=int(calls), feedback_mean=_round(mean))
        elif part == "s":
            target.update(judged_calls=int(calls or 0), quality=_round(mean))
        elif metric is not None and n:
            target.setdefault("quality_by_metric", {})
            target["quality_by_metric"] = {**target["quality_by_metric"], str(metric): _round(mean)}
    q.total = _with_rate(q.total, total_calls)
    return q
