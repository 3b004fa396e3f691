"""Results file → what the gate compares: per prompt, per case, per metric, every sample score.

One :class:`Arm` per prompt and side (base or head). Scores come from the results file's sample records
(``llmops_cli.evals.results``, validated on load): each assertion contributes its judge samples (K per
generation; ``None`` = a judge error, not a score) or its single deterministic score, over the R
generations of the case. A sample that ended in a provider error contributes nothing but is counted; so
is a generation with no record at all (fewer than R records for a case): every missing verdict is an error
the gate's error rule sees.

Metrics and which of them decide (:func:`metric_plan`)
------------------------------------------------------
* every **judged** metric (an LLM judge graded it) is decisive: each is distinct graded information;
* the deterministic assertions are summarised by :data:`CHECKS_METRIC` — 1 when every deterministic
  assertion of the output passed — which is decisive; with a single deterministic metric that metric
  itself is decisive instead (same information, clearer name). The individual deterministic metrics are
  reported, not tested: thirteen assertion types must not split α thirteen ways;
* the per-output verdict :data:`PASS_METRIC` (every assertion passed) is derived from the metrics above
  (a judge's pass/fail is its score against a threshold): reported with its flips, never decisive.

Kinds: a metric is ``"pass"`` (0/1, flips and McNemar reported) when no judge graded it and every
score is 0 or 1, else ``"score"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..evals.assertions import JUDGE_TYPES
from ..records.results import AssertionRecord, EvalResults

PASS_METRIC = "(pass)"
"""The per-sample verdict as a 0/1 metric: every assertion of the output passed."""
CHECKS_METRIC = "(checks)"
"""1 when every deterministic (non-judge) assertion of the output passed, else 0."""


@dataclass
class CaseData:
    """One case of one prompt on one side."""

    case_id: str
    cluster: str | None = None
    scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> every valid sample score
    outputs: list[str | None] = field(default_factory=list)  # one per generation (None: provider error)
    request_hashes: list[str | None] = field(default_factory=list)


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
    unpriced: int = 0
    """Successful generations without a price (cost_usd null): the cost per 1k calls is unknown."""
    repeat: int = 1
    """R: generations per case. A case with fewer records has the missing ones counted as provider errors."""
    listed: set[str] = field(default_factory=set)
    """Case ids the golden set lists (``prompts[…].clusters``), run or not."""
    judged_by: dict[str, list[str]] = field(default_factory=dict)
    """Judged metric → the judge prompts that graded it (from the results file, when it says)."""
    new_judges: set[str] = field(default_factory=set)
    """Judges of this arm the base does not have (``run.judges[n].new``): their metrics are informational."""

    def untrusted_metrics(self) -> set[str]:
        """Judged metrics graded by a judge the base does not have."""
        return {m for m, js in self.judged_by.items() if any(j in self.new_judges for j in js)}

    def cost_per_1k(self) -> float | None:
        """Generation cost in USD per 1,000 calls of the prompt (what production pays); None when unknown
        (no successful generation, or any of them unpriced)."""
        ok = self.generations - self.provider_errors
        if ok <= 0 or self.unpriced:
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


def _scores_of(assertion: AssertionRecord) -> tuple[list[float], bool]:
    """(valid scores, graded by a judge) of one assertion result."""
    judged = assertion.samples is not None or (assertion.type or "").removeprefix("not-") in JUDGE_TYPES
    raw = assertion.samples if assertion.samples is not None else [assertion.score]
    return [float(s) for s in raw if s is not None], judged


def collect(results: EvalResults, prompts: Iterable[str] | None = None) -> dict[str, Arm]:
    """Per-prompt :class:`Arm` of a loaded results file (``prompts``: keep only these)."""
    wanted = set(prompts) if prompts is not None else None
    arms: dict[str, Arm] = {}
    new_judges = {n for n, j in results.run.judges.items() if j.new}
    for name, info in results.prompts.items():
        if wanted is None or name in wanted:
            arm = Arm(name, info.prompt_sha256, info.model, listed=set(info.clusters))
            arm.judged_by = {m: list(js) for m, js in (info.judged_by or {}).items()}
            arm.new_judges = new_judges & {j for js in arm.judged_by.values() for j in js}
            for cid, cluster in info.clusters.items():
                arm.cases[cid] = CaseData(cid, cluster)
            arms[name] = arm
    for rec in results.samples:
        name = rec.prompt
        if wanted is not None and name not in wanted:
            continue
        arm = arms.setdefault(name, Arm(name))
        case = arm.cases.get(rec.case_id)
        if case is None:
            case = arm.cases[rec.case_id] = CaseData(rec.case_id, rec.cluster)
        elif case.cluster is None:
            case.cluster = rec.cluster
        arm.generations += 1
        arm.listed.add(rec.case_id)
        case.outputs.append(rec.output)
        case.request_hashes.append(rec.request_hash)
        if rec.error is not None:
            arm.provider_errors += 1
            continue
        if rec.cost_usd is None:
            arm.unpriced += 1
        arm.generation_cost += float(rec.cost_usd or 0.0)
        if rec.judge is not None:
            arm.judge_calls += rec.judge.samples or 0
            arm.judge_errors += rec.judge.errors or 0
            arm.judge_cost += float(rec.judge.cost_usd or 0.0)
        checks: list[bool] = []
        for a in rec.assertions:
            scores, judged = _scores_of(a)
            if judged:
                arm.judged_metrics.add(a.metric)
            elif a.passed is not None:
                checks.append(a.passed)
            case.scores.setdefault(a.metric, []).extend(scores)
        if checks:
            case.scores.setdefault(CHECKS_METRIC, []).append(1.0 if all(checks) else 0.0)
        if rec.status in ("pass", "fail") and rec.assertions:
            case.scores.setdefault(PASS_METRIC, []).append(1.0 if rec.status == "pass" else 0.0)
    repeat = results.run.repeat or 1
    for arm in arms.values():  # cases listed by the golden set but never run (e.g. another shard)
        arm.cases = {cid: c for cid, c in arm.cases.items() if c.outputs}
        arm.repeat = repeat
        missing = sum(max(0, repeat - len(c.outputs)) for c in arm.cases.values())
        arm.generations += missing  # a generation with no record is a missing verdict: a provider error
        arm.provider_errors += missing
    return arms


def judge_switched(base: Arm, head: Arm, metric: str) -> bool:
    """Whether the two arms' results name different judges for ``metric`` (a golden set that changed it)."""
    b, h = base.judged_by.get(metric), head.judged_by.get(metric)
    return b is not None and h is not None and sorted(b) != sorted(h)


def metric_plan(base: Arm, head: Arm) -> dict[str, tuple[str, bool]]:
    """Metrics present on both sides → ``(kind, decisive)``; decisive metrics first, in name order. A judged
    metric graded by a judge the base does not have, or by other judges in the two arms, is not decisive."""
    common = [m for m in head.metrics() if m in set(base.metrics())]
    judged = {m for m in common if m in base.judged_metrics or m in head.judged_metrics}
    untrusted = head.untrusted_metrics() | base.untrusted_metrics()
    plan: dict[str, tuple[str, bool]] = {}
    for m in common:
        binary = all(v in (0.0, 1.0) for arm in (base, head) for s in arm.samples(m).values() for v in s)
        trusted = m not in untrusted and not judge_switched(base, head, m)
        plan[m] = ("pass" if binary and m not in judged else "score", m in judged and trusted)
    deterministic = [m for m in common if m not in judged and m not in (PASS_METRIC, CHECKS_METRIC)]
    if CHECKS_METRIC in plan:
        if len(deterministic) == 1:
            only = deterministic[0]
            plan[only] = (plan[only][0], True)
            del plan[CHECKS_METRIC]
        else:
            plan[CHECKS_METRIC] = (plan[CHECKS_METRIC][0], True)
    if PASS_METRIC in plan:
        plan[PASS_METRIC] = (plan[PASS_METRIC][0], False)
    order = sorted(plan, key=lambda m: (not plan[m][1], m in (PASS_METRIC, CHECKS_METRIC), m))
    return {m: plan[m] for m in order}


def identical_pairs(base: Arm, head: Arm, case_ids: Iterable[str]) -> str | None:
    """``"cache"`` when every paired case replays byte-identical requests and answers with identical
    scores on both sides, ``"answers"`` when only the answers (and scores) are identical, else None."""
    ids = list(case_ids)
    if not ids:
        return None
    same_requests = True
    for cid in ids:
        b, h = base.cases[cid], head.cases[cid]
        if b.outputs != h.outputs or any(o is None for o in b.outputs) or b.scores != h.scores:
            return None
        same_requests = same_requests and b.request_hashes == h.request_hashes and None not in b.request_hashes
    return "cache" if same_requests else "answers"
