"""Results file → what the gate compares: per prompt, per case, per metric, every sample score.

One :class:`Arm` per prompt and side (base or head). Scores come from the results file's sample records
(``llmops_cli.evals.results``): each assertion contributes its judge samples (K per generation; ``None``
= a judge error, not a score) or its single deterministic score, over the R generations of the case. A
sample that ended in a provider error contributes nothing but is counted.

Metric kinds: a metric is ``"pass"`` (0/1, McNemar flips reported) when no judge graded it and every
score is 0 or 1, else ``"score"``. Besides the assertion metrics, the sample verdict (pass / fail of
all assertions) is the metric :data:`PASS_METRIC`, unless it would duplicate a single 0/1 metric.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..evals.assertions import JUDGE_TYPES

PASS_METRIC = "(pass)"
"""The per-sample verdict as a 0/1 metric: every assertion of the output passed."""


@dataclass
class CaseData:
    """One case of one prompt on one side."""

    case_id: str
    cluster: str | None = None
    scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> every valid sample score
    outputs: list[str | None] = field(default_factory=list)  # one per generation (None: provider error)
    request_hashes: list[str] = field(default_factory=list)


@dataclass
class Arm:
    """One prompt on one side: cases, metric kinds, error counts and cost."""

    prompt: str
    prompt_sha256: str | None = None
    model: str | None = None
    cases: dict[str, CaseData] = field(default_factory=dict)
    judged_metrics: set[str] = field(default_factory=set)
    generations: int = 0
    provider_errors: int = 0
    judge_calls: int = 0
    judge_errors: int = 0
    generation_cost: float = 0.0
    judge_cost: float = 0.0

    @property
    def provider_error_rate(self) -> float:
        return self.provider_errors / self.generations if self.generations else 0.0

    @property
    def judge_error_rate(self) -> float:
        return self.judge_errors / self.judge_calls if self.judge_calls else 0.0

    def cost_per_1k(self) -> float | None:
        """Generation cost in USD per 1,000 calls of the prompt (what production pays), None when unpriced."""
        ok = self.generations - self.provider_errors
        if ok <= 0:
            return None
        return round(1000.0 * self.generation_cost / ok, 6)

    def metrics(self) -> list[str]:
        names: set[str] = set()
        for case in self.cases.values():
            names.update(case.scores)
        return sorted(names)

    def samples(self, metric: str) -> dict[str, list[float]]:
        """case id → valid sample scores of ``metric``."""
        return {cid: c.scores[metric] for cid, c in self.cases.items() if metric in c.scores}

    def clusters(self) -> dict[str, str | None]:
        return {cid: c.cluster for cid, c in self.cases.items()}


def _scores_of(assertion: dict[str, Any]) -> tuple[list[float], bool]:
    """(valid scores, graded by a judge) of one assertion result."""
    judged = "samples" in assertion or str(assertion.get("type", "")).removeprefix("not-") in JUDGE_TYPES
    raw = assertion.get("samples") if "samples" in assertion else [assertion.get("score")]
    return [float(s) for s in raw or [] if s is not None], judged


def collect(results: dict[str, Any], prompts: Iterable[str] | None = None) -> dict[str, Arm]:
    """Per-prompt :class:`Arm` of a loaded results file (``prompts``: keep only these)."""
    wanted = set(prompts) if prompts is not None else None
    arms: dict[str, Arm] = {}
    for name, info in (results.get("prompts") or {}).items():
        if wanted is None or name in wanted:
            arm = Arm(name, info.get("prompt_sha256"), info.get("model"))
            for cid, cluster in (info.get("clusters") or {}).items():
                arm.cases[cid] = CaseData(cid, cluster)
            arms[name] = arm
    for rec in results.get("samples") or []:
        name = rec["prompt"]
        if wanted is not None and name not in wanted:
            continue
        arm = arms.setdefault(name, Arm(name))
        case = arm.cases.get(rec["case_id"])
        if case is None:
            case = arm.cases[rec["case_id"]] = CaseData(rec["case_id"], rec.get("cluster"))
        elif case.cluster is None:
            case.cluster = rec.get("cluster")
        arm.generations += 1
        case.outputs.append(rec.get("output"))
        if rec.get("request_hash"):
            case.request_hashes.append(rec["request_hash"])
        if rec.get("error") is not None:
            arm.provider_errors += 1
            continue
        arm.generation_cost += float(rec.get("cost_usd") or 0.0)
        judge = rec.get("judge") or {}
        arm.judge_calls += int(judge.get("samples") or 0)
        arm.judge_errors += int(judge.get("errors") or 0)
        arm.judge_cost += float(judge.get("cost_usd") or 0.0)
        for a in rec.get("assertions") or []:
            scores, judged = _scores_of(a)
            metric = str(a["metric"])
            if judged:
                arm.judged_metrics.add(metric)
            case.scores.setdefault(metric, []).extend(scores)
        status = rec.get("status")
        if status in ("pass", "fail") and rec.get("assertions"):
            case.scores.setdefault(PASS_METRIC, []).append(1.0 if status == "pass" else 0.0)
    for arm in arms.values():  # cases listed by the golden set but never run (e.g. another shard)
        arm.cases = {cid: c for cid, c in arm.cases.items() if c.outputs}
    return arms


def metric_kinds(base: Arm, head: Arm) -> dict[str, str]:
    """Metrics present on both sides → ``"pass"`` or ``"score"``; the redundant verdict metric left out."""
    common = [m for m in head.metrics() if m in set(base.metrics())]
    kinds: dict[str, str] = {}
    for m in common:
        judged = m in base.judged_metrics or m in head.judged_metrics
        binary = all(v in (0.0, 1.0) for arm in (base, head) for s in arm.samples(m).values() for v in s)
        kinds[m] = "pass" if binary and not judged else "score"
    if PASS_METRIC in kinds:
        others = [m for m in kinds if m != PASS_METRIC]
        for m in others:
            if kinds[m] == "pass" and all(
                arm.samples(m) == arm.samples(PASS_METRIC) for arm in (base, head)
            ):  # the verdict is that metric: testing it twice only costs Holm power
                del kinds[PASS_METRIC]
                break
    if PASS_METRIC in kinds:  # the verdict metric last: assertion metrics lead the report
        kinds[PASS_METRIC] = kinds.pop(PASS_METRIC)
    return kinds
