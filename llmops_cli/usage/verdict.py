"""The canary verdict of ``llmops usage compare``: cost, errors, latency and quality through the sequential test.

Per arm (``stable``/``canary``) of one prompt on one channel, from the request records:

* ``error_rate``: errors / calls (Bernoulli);
* ``cost_per_call``: mean ``cost_usd`` of priced calls (margin relative to the stable arm's mean);
* ``latency_ms``: mean latency (margin relative to the stable arm's mean);

and from the score and feedback records in the same logs, joined to the arm's calls by ``request_id``
(records that name no call of this prompt and channel are counted, never guessed; when a call was judged
twice on one metric, or got feedback twice, the latest record counts):

Each arm is its latest version (a replaced canary or a moved stable arm is not mixed in).

* ``quality:METRIC``: judge scores (0-1) of each judge metric (``llmops usage judge``);
* ``feedback``: feedback scores, mapped onto 0-1 by the lowest and highest score seen in either arm
  (thumbs ±1 → 0/1, stars 1-5 → (s − 1)/4).

A quality metric counts once each arm has ``min_scored`` values. Every metric with a margin in llmops.yaml's
``canary.margins`` decides; :mod:`.sequential` turns them into PROMOTE / KEEP RUNNING / ABORT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import CanaryConfig
from .engine import Records
from .sequential import ArmStats as Stats
from .sequential import Decision, Sequence, decide, rate_stats, sequence

SCHEMA = "llmops.canary-verdict/1"


@dataclass
class CanaryVerdict:
    """The decision for one prompt's canary on one channel, and what it rests on."""

    prompt: str
    channel: str
    decision: Decision
    calls: dict[str, int]
    notes: list[str] = field(default_factory=list)
    unjoined: int = 0
    versions: dict[str, str | None] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.decision.verdict

    def line(self) -> str:
        """One line: ``VERDICT prompt@channel: reasons``."""
        why = "; ".join(self.decision.reasons[:3])
        arms = (
            f" (canary {self.versions.get('canary')} vs stable {self.versions.get('stable')})" if self.versions else ""
        )
        return f"{self.verdict} {self.prompt} on {self.channel}{arms}: {why}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "prompt": self.prompt,
            "channel": self.channel,
            "verdict": self.verdict,
            "reasons": self.decision.reasons,
            "calls": self.calls,
            "versions": self.versions,
            "unjoined_quality_records": self.unjoined,
            "notes": self.notes,
            "metrics": [
                {
                    "metric": s.metric,
                    "state": s.state,
                    "worsening": s.estimate,
                    "low": s.low if s.low != float("-inf") else None,
                    "high": s.high if s.high != float("inf") else None,
                    "margin": s.margin,
                    "alpha": s.alpha,
                    "canary": {"n": s.canary.n, "mean": s.canary.mean},
                    "stable": {"n": s.stable.n, "mean": s.stable.mean},
                }
                for s in self.decision.sequences
            ],
        }


def _stats(n: Any, mean: Any, var: Any) -> Stats:
    return Stats(int(n or 0), float(mean or 0.0), float(var or 0.0))


_ARM_FILTER = """channel = $c AND prompt = $p AND (
    (arm = 'canary' AND version IS NOT DISTINCT FROM $cv) OR (arm = 'stable' AND version IS NOT DISTINCT FROM $sv))"""


def current_versions(recs: Records, channel: str, prompt: str) -> dict[str, str | None]:
    """Per arm, the version of its latest record: a canary that was aborted and replaced by another version, or
    a stable arm that moved, is compared as it is now, not mixed with what came before."""
    rows = recs.query(
        """SELECT arm, arg_max(version, ts) FROM records WHERE channel = $c AND prompt = $p
           AND arm IN ('stable', 'canary') GROUP BY arm""",
        {"c": channel, "p": prompt},
    )
    return {str(arm): version for arm, version in rows}


def request_stats(
    recs: Records, channel: str, prompt: str, versions: dict[str, str | None]
) -> dict[str, dict[str, Any]]:
    """Per arm: calls, errors, priced calls with mean/variance of cost, and mean/variance of latency."""
    rows = recs.query(
        f"""SELECT arm, count(*), count(*) FILTER (outcome = 'error'), count(cost_usd), avg(cost_usd),
                  var_samp(cost_usd), avg(latency_ms), var_samp(latency_ms)
           FROM records WHERE {_ARM_FILTER} GROUP BY arm""",
        {"c": channel, "p": prompt, "cv": versions.get("canary"), "sv": versions.get("stable")},
    )
    return {
        arm: {"calls": n, "errors": e, "cost": _stats(pn, pm, pv), "latency": _stats(n, lm, lv)}
        for arm, n, e, pn, pm, pv, lm, lv in rows
    }


def quality_stats(
    recs: Records, channel: str, prompt: str, versions: dict[str, str | None]
) -> tuple[dict[str, dict[str, Stats]], int]:
    """Per quality metric and arm: statistics of the joined score/feedback values; and how many score/feedback
    records named no call of this prompt on this channel."""
    rows = recs.query(
        f"""WITH ann AS (
             SELECT _kind, request_id, CASE WHEN _kind = 'score' THEN 'quality:' || metric ELSE 'feedback' END AS m,
                    score, ts
             FROM annotations WHERE _kind IN ('score', 'feedback') AND score IS NOT NULL
               AND (prompt IS NULL OR prompt = $p)
             QUALIFY row_number() OVER (PARTITION BY request_id, m ORDER BY ts DESC) = 1),
           req AS (SELECT request_id, min(arm) AS arm FROM records
                   WHERE {_ARM_FILTER} AND request_id IN (SELECT request_id FROM ann) GROUP BY request_id
                   HAVING count(DISTINCT arm) = 1),
           joined AS (SELECT ann.m, req.arm, ann.score FROM ann LEFT JOIN req USING (request_id))
         SELECT m, arm, count(*), avg(score), var_samp(score), min(score), max(score) FROM joined GROUP BY ALL""",
        {"c": channel, "p": prompt, "cv": versions.get("canary"), "sv": versions.get("stable")},
    )
    out: dict[str, dict[str, Stats]] = {}
    unjoined = 0
    bounds: dict[str, tuple[float, float]] = {}
    for m, arm, n, mean, var, lo, hi in rows:
        if arm is None:
            unjoined += int(n)
            continue
        out.setdefault(m, {})[arm] = _stats(n, mean, var)
        if m == "feedback":
            b = bounds.get(m, (lo, hi))
            bounds[m] = (min(b[0], lo), max(b[1], hi))
    if "feedback" in out and "feedback" in bounds:  # onto 0-1 by the range seen
        lo, hi = bounds["feedback"]
        span = (hi - lo) or 1.0
        out["feedback"] = {
            a: Stats(s.n, (s.mean - lo) / span, s.var / (span * span)) for a, s in out["feedback"].items()
        }
    return out, unjoined


def project_canary_config(root: str | None = None) -> CanaryConfig:
    """llmops.yaml's ``canary:`` settings of the project around ``root`` (defaults outside a project)."""
    from ..project import Project

    return Project.open(root).config.canary


def canary_verdict(recs: Records, channel: str, prompt: str, cfg: CanaryConfig) -> CanaryVerdict:
    """The verdict for ``prompt``'s canary on ``channel`` (records already materialised)."""
    versions = current_versions(recs, channel, prompt)
    arms = request_stats(recs, channel, prompt, versions)
    calls = {a: int(arms.get(a, {}).get("calls", 0)) for a in ("stable", "canary")}
    quality, unjoined = quality_stats(recs, channel, prompt, versions)
    margins = cfg.margins
    candidates: list[tuple[str, Stats, Stats, float, bool]] = []  # metric, canary, stable, margin, higher worse
    notes: list[str] = []
    if calls["stable"] and calls["canary"]:
        c, s = arms["canary"], arms["stable"]
        if margins.error_rate is not None:
            candidates.append(
                ("error_rate", rate_stats(c["errors"], c["calls"]), rate_stats(s["errors"], s["calls"]),
                 margins.error_rate, True)
            )  # fmt: skip
        if margins.cost_per_call is not None and c["cost"].n and s["cost"].n and s["cost"].mean > 0:
            candidates.append(("cost_per_call", c["cost"], s["cost"], margins.cost_per_call * s["cost"].mean, True))
        elif margins.cost_per_call is not None:
            notes.append("cost_per_call: not enough priced calls in both arms; not compared")
        if margins.latency_ms is not None and s["latency"].mean > 0:
            candidates.append(("latency_ms", c["latency"], s["latency"], margins.latency_ms * s["latency"].mean, True))
    for metric, by_arm in sorted(quality.items()):
        margin = margins.feedback if metric == "feedback" else margins.quality
        if margin is None:
            continue
        c_q, s_q = by_arm.get("canary", Stats(0, 0, 0)), by_arm.get("stable", Stats(0, 0, 0))
        if min(c_q.n, s_q.n) < cfg.min_scored:
            notes.append(
                f"{metric}: {c_q.n} canary / {s_q.n} stable values, {cfg.min_scored} each needed; not compared yet"
            )
            continue
        candidates.append((metric, c_q, s_q, margin, False))
    if not quality:
        notes.append("no judge scores or feedback joined to this channel's calls: quality not compared")
    level = cfg.alpha / max(1, len(candidates))  # Bonferroni over the metrics that decide
    seqs: list[Sequence] = [
        sequence(m, c_s, s_s, margin=mg, alpha=level, higher_is_worse=hw) for m, c_s, s_s, mg, hw in candidates
    ]
    enough = min(calls.values()) >= cfg.min_calls
    if not enough:
        notes.append(f"{calls['canary']} canary / {calls['stable']} stable calls; PROMOTE needs {cfg.min_calls} each")
    decision = decide(seqs, enough_data=enough)
    if unjoined:
        notes.append(f"{unjoined} score/feedback records name no call of {prompt} on {channel}; left out")
    return CanaryVerdict(prompt, channel, decision, calls, notes, unjoined, versions)


__all__ = [
    "SCHEMA",
    "CanaryVerdict",
    "canary_verdict",
    "current_versions",
    "project_canary_config",
    "quality_stats",
    "request_stats",
]
