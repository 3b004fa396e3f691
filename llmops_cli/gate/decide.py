"""The gate's decision: per prompt and metric PASS / WARN / FAIL, error checks that fail closed, one verdict.

Statistics are :mod:`llmops_cli.gate.stats` (case-level paired differences, exact tests, Holm across a
prompt's decisive metrics). On top of them, per prompt:

* only cases present on both sides are paired; cases added or removed are listed, never paired;
* **fail closed on errors, by test** (errors are missing scores; a lopsided loss of scores can hide a
  regression), for judge errors (of judge calls) and provider errors (of generations):
  - *above the allowed rate*: in either arm, the exact one-sided binomial test of H0 "rate ≤
    ``max_*_error_rate``" rejects at ``alpha/4`` (Bonferroni over the two arms, half of α);
  - *arms differ*: the two-sided exact conditional (Fisher) test of equal rates rejects at ``alpha/2``;
  so equal error rates below the limit fail closed at most at rate α, whatever the noise;
* a prompt with no metric in common on both sides is WARN (nothing could be compared).

The overall verdict is FAIL if any prompt is FAIL, else WARN if any is WARN, else PASS. Prompts added
(no base), removed, or unchanged (identical eval inputs) are listed and not gated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..config import GateConfig
from ..judging.stability import stability
from ..records.gate_report import (
    ArmRecord,
    CaseChangeRecord,
    ClusterDeltaRecord,
    ErrorCheckRecord,
    ErrorCounts,
    GatePolicyRecord,
    GateReportRecord,
    GateSettings,
    GateSide,
    JudgeNoteRecord,
    JudgePolicyRecord,
    MetricRecord,
    PromptGateRecord,
    ThresholdsRecord,
)
from .collect import CHECKS_METRIC, PASS_METRIC, Arm, identical_pairs, metric_plan
from .judging import JudgeNote, notes_for
from .stats import (
    ClusterDelta,
    MetricComparison,
    Thresholds,
    adjust_across_prompts,
    binom_sf,
    compare_prompt,
    overall_state,
)

if TYPE_CHECKING:
    from ..judging.status import JudgeStatus
    from .judging import JudgePolicy


class PolicySource(Protocol):
    """Where a report's thresholds came from (:class:`llmops_cli.gate.policy.GatePolicy`; a protocol, so that
    ``decide`` does not import ``policy``, which builds on it)."""

    source: str
    changed: list[str]

    def changed_line(self) -> str | None: ...


WORST_CASES = 5
OUTPUT_CHARS = 600


@dataclass
class ErrorCheck:
    """Judge or provider errors of one prompt in both arms."""

    kind: str  # "judge" or "provider"
    base_errors: int
    base_total: int
    head_errors: int
    head_total: int
    max_rate: float
    failed: bool = False
    reason: str = ""

    @property
    def base_rate(self) -> float:
        return self.base_errors / self.base_total if self.base_total else 0.0

    @property
    def head_rate(self) -> float:
        return self.head_errors / self.head_total if self.head_total else 0.0

    def record(self) -> ErrorCheckRecord:
        """As the gate report writes it."""
        return ErrorCheckRecord(
            kind=self.kind,
            base=ErrorCounts(errors=self.base_errors, total=self.base_total, rate=round(self.base_rate, 6)),
            head=ErrorCounts(errors=self.head_errors, total=self.head_total, rate=round(self.head_rate, 6)),
            max_rate=self.max_rate,
            failed=self.failed,
            reason=self.reason,
        )


def fisher_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided exact conditional (Fisher) p-value for equal proportions ``x1/n1`` and ``x2/n2``."""
    total = x1 + x2
    if n1 <= 0 or n2 <= 0 or total == 0 or total == n1 + n2:
        return 1.0

    def logp(k: int) -> float:  # hypergeometric: k of the ``total`` errors fall in arm 1
        return _lcomb(n1, k) + _lcomb(n2, total - k) - _lcomb(n1 + n2, total)

    lo, hi = max(0, total - n2), min(total, n1)
    observed = logp(x1)
    return min(1.0, math.fsum(math.exp(lp) for k in range(lo, hi + 1) if (lp := logp(k)) <= observed + 1e-9))


def _lcomb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def check_errors(
    kind: str, base_errors: int, base_total: int, head_errors: int, head_total: int, max_rate: float, alpha: float
) -> ErrorCheck:
    """Apply the fail-closed tests (see the module docstring) to one kind of error."""
    chk = ErrorCheck(kind, base_errors, base_total, head_errors, head_total, max_rate)
    what = "judge calls" if kind == "judge" else "generations"
    for arm, rate, errors, total in (
        ("head", chk.head_rate, head_errors, head_total),
        ("base", chk.base_rate, base_errors, base_total),
    ):
        if errors and total:
            p = binom_sf(errors, total, max_rate) if max_rate > 0 else 0.0
            if p < alpha / 4:
                chk.failed = True
                chk.reason = (
                    f"{kind} errors in {arm}: {errors} of {total} {what} ({rate:.1%}) are above "
                    f"max_{kind}_error_rate {max_rate:.1%} (binomial p = {p:.3g}); the scores are incomplete, "
                    "failing closed."
                )
                return chk
    p = fisher_p(base_errors, base_total, head_errors, head_total)
    if p < alpha / 2:
        chk.failed = True
        chk.reason = (
            f"{kind} error rates differ between arms: base {base_errors}/{base_total} ({chk.base_rate:.1%}), "
            f"head {head_errors}/{head_total} ({chk.head_rate:.1%}) (Fisher exact p = {p:.3g}); failing closed."
        )
    return chk


@dataclass
class CaseChange:
    """A paired case whose score moved: the worst ones are shown in the report."""

    case_id: str
    metric: str
    base_score: float
    head_score: float
    base_output: str | None
    head_output: str | None

    @property
    def delta(self) -> float:
        return self.head_score - self.base_score

    def record(self) -> CaseChangeRecord:
        """As the gate report writes it."""
        return CaseChangeRecord(
            case_id=self.case_id,
            metric=self.metric,
            base=round(self.base_score, 6),
            head=round(self.head_score, 6),
            delta=round(self.delta, 6),
            base_output=self.base_output,
            head_output=self.head_output,
        )


@dataclass
class ArmInfo:
    """What the report says about one side of one prompt."""

    prompt_sha256: str | None
    model: str | None
    cases: int
    generations: int
    provider_errors: int
    judge_calls: int
    judge_errors: int
    cost_per_1k: float | None
    eval_cost: float | None  # None when the model is unpriced (never a misleading $0)

    @classmethod
    def of(cls, arm: Arm, missing: int = 0) -> ArmInfo:
        """``missing``: generations of cases this side never ran although its golden set lists them."""
        return cls(
            arm.prompt_sha256,
            arm.model,
            len(arm.cases),
            arm.generations + missing,
            arm.provider_errors + missing,
            arm.judge_calls,
            arm.judge_errors,
            arm.cost_per_1k(),
            None if arm.unpriced else round(arm.generation_cost + arm.judge_cost, 8),
        )

    def record(self) -> ArmRecord:
        """As the gate report writes it."""
        return ArmRecord.model_validate(self, from_attributes=True)


@dataclass
class PromptGate:
    """The gate's finding on one prompt. ``status``: gated, added, removed or unchanged."""

    prompt: str
    status: str
    state: str | None  # PASS / WARN / FAIL; None when not gated
    reason: str
    thresholds: Thresholds | None = None
    metrics: list[MetricComparison] = field(default_factory=list)
    errors: list[ErrorCheck] = field(default_factory=list)
    cases_added: list[str] = field(default_factory=list)
    cases_removed: list[str] = field(default_factory=list)
    cases_not_run: list[str] = field(default_factory=list)
    """Listed by both golden sets, run on one side only: counted as provider errors of that side."""
    worst: list[CaseChange] = field(default_factory=list)
    base: ArmInfo | None = None
    head: ArmInfo | None = None
    judge_notes: list[JudgeNote] = field(default_factory=list)  # judged metrics that do not decide, and why
    judge_calibration: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # metric -> its judges' status
    flaky: list[dict[str, Any]] = field(default_factory=list)  # head cases whose verdict flips across samples
    pairwise: dict[str, Any] | None = None  # the pairwise judge's finding (llmops_cli.judging.pairwise)

    @property
    def lead(self) -> MetricComparison | None:
        """The metric the one-line report shows: the decisive metric that set the state (smallest p)."""
        decisive = [m for m in self.metrics if m.decisive] or self.metrics
        if not decisive:
            return None
        same = [m for m in decisive if m.state == self.state] or decisive
        return min(same, key=lambda m: (m.p_pr if m.p_pr is not None else 2.0, m.metric))

    def record(self) -> PromptGateRecord:
        """As the gate report writes it."""
        lead = self.lead
        t = self.thresholds
        return PromptGateRecord(
            prompt=self.prompt,
            status=self.status,
            state=self.state,
            reason=self.reason,
            decisive_metric=lead.metric if lead else None,
            p_prompt=_round(lead.p_adjusted) if lead else None,
            p_pr=_round(lead.p_pr) if lead else None,
            regressed_clusters=[_cluster(c) for c in lead.regressed] if lead and self.state != "PASS" else [],
            thresholds=ThresholdsRecord(practical=t.practical, alpha=t.alpha, warn_alpha=t.warn_alpha, power=t.power)
            if t
            else None,
            metrics=[_metric_record(m) for m in self.metrics],
            errors=[e.record() for e in self.errors],
            cases_added=self.cases_added,
            cases_removed=self.cases_removed,
            cases_not_run=self.cases_not_run,
            worst_cases=[w.record() for w in self.worst],
            base=self.base.record() if self.base else None,
            head=self.head.record() if self.head else None,
            judge_notes=[JudgeNoteRecord(metric=n.metric, kind=n.kind, detail=n.detail) for n in self.judge_notes],
        ).with_extras(judge_calibration=self.judge_calibration, flaky_cases=self.flaky, pairwise=self.pairwise)

    def to_dict(self) -> dict[str, Any]:
        """The prompt's part of the gate report, as JSON."""
        return self.record().to_dict()


@dataclass
class GateReport:
    """The whole gate: verdict, one line for a commit status, every prompt, and the run settings."""

    verdict: str
    line: str
    prompts: list[PromptGate]
    base: GateSide
    head: GateSide
    settings: GateSettings
    policy: PolicySource | None = None  # where the thresholds came from (llmops_cli.gate.policy.GatePolicy)
    judge: JudgePolicy | None = None  # where the judges came from (llmops_cli.gate.judging)

    @property
    def gated(self) -> list[PromptGate]:
        return [p for p in self.prompts if p.status == "gated"]

    def record(self) -> GateReportRecord:
        """The report as a typed record (``.llmops/gate/gate.json``, ``--format json``, the HTML gate view)."""
        policy, judge = self.policy, self.judge
        return GateReportRecord(
            verdict=self.verdict,
            line=self.line,
            base=self.base,
            head=self.head,
            settings=self.settings,
            policy=GatePolicyRecord(source=policy.source, changed=list(policy.changed)) if policy else None,
            judge=JudgePolicyRecord(source=judge.source, changed=judge.changed, new=judge.new) if judge else None,
            prompts=[p.record() for p in self.prompts],
        )

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON form."""
        return self.record().to_dict()


def _cluster(c: ClusterDelta) -> ClusterDeltaRecord:
    return ClusterDeltaRecord(cluster=c.cluster, n=c.n, delta=c.delta)


def _metric_record(m: MetricComparison) -> MetricRecord:
    """A comparison as the report writes it: floats rounded to 6 digits, the power model left out."""
    r = _round_float
    return MetricRecord(
        metric=m.metric, kind=m.kind, decisive=m.decisive, n_cases=m.n_cases, n_clusters=m.n_clusters,
        n_dropped=m.n_dropped, n_nonzero=m.n_nonzero, base_mean=r(m.base_mean), head_mean=r(m.head_mean),
        delta=r(m.delta), se=r(m.se), lb=r(m.lb), ub=r(m.ub), mde=r(m.mde), test=m.test, p_value=r(m.p_value),
        min_p=r(m.min_p), p_adjusted=r(m.p_adjusted), state=m.state, reason=m.reason, identical=m.identical,
        flips=list(m.flips) if m.flips is not None else None, mcnemar_p=r(m.mcnemar_p),
        clusters=[ClusterDeltaRecord(cluster=c.cluster, n=c.n, delta=r(c.delta)) for c in m.clusters],
        p_pr=r(m.p_pr), family=m.family,
    )  # fmt: skip


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(x, digits)


def _round_float(value: Any, digits: int = 6) -> Any:
    """``value`` rounded when it is a float (an int or None stays as it is)."""
    return round(value, digits) if isinstance(value, float) else value


def thresholds_for(prompt: str, config: GateConfig) -> Thresholds:
    """Thresholds of a prompt: ``gate:`` in llmops.yaml, with ``gate.overrides[prompt]`` applied."""
    over = config.overrides.get(prompt, {})
    return Thresholds(
        practical=float(over.get("practical", config.practical)),
        alpha=float(over.get("alpha", config.alpha)),
    )


def _mean(xs: list[float]) -> float:
    return math.fsum(xs) / len(xs)


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= OUTPUT_CHARS:
        return text
    return text[: OUTPUT_CHARS - 1] + "…"


def _worst_cases(base: Arm, head: Arm, paired: list[str], metrics: list[str]) -> list[CaseChange]:
    changes: list[CaseChange] = []
    for cid in paired:
        b, h = base.cases[cid], head.cases[cid]
        worst: CaseChange | None = None
        for m in metrics:
            bs, hs = b.scores.get(m), h.scores.get(m)
            if not bs or not hs:
                continue
            c = CaseChange(cid, m, _mean(bs), _mean(hs), None, None)
            if c.delta < -1e-12 and (worst is None or c.delta < worst.delta):
                worst = c
        if worst is not None:
            worst.base_output = _clip(next((o for o in b.outputs if o is not None), None))
            worst.head_output = _clip(next((o for o in h.outputs if o is not None), None))
            changes.append(worst)
    changes.sort(key=lambda c: (c.delta, c.case_id))
    return changes[:WORST_CASES]


def compare_arms(
    prompt: str, base: Arm, head: Arm, config: GateConfig, calibration: Mapping[str, JudgeStatus] | None = None
) -> PromptGate:
    """Gate one prompt present on both sides. ``calibration``: judge name → its calibration status (from the
    project whose judges graded both arms); under ``gate.judges.min_kappa_lower`` a metric whose judge falls
    short is reported, not decisive."""
    th = thresholds_for(prompt, config)
    base_ids, head_ids = set(base.cases), set(head.cases)
    paired = sorted(base_ids & head_ids)
    # listed by both golden sets but run on one side only: missing verdicts (R provider errors each), not a
    # case added or removed — else a head could drop its worst cases' records and PASS
    unrun_head = sorted(cid for cid in base_ids - head_ids if cid in head.listed)
    unrun_base = sorted(cid for cid in head_ids - base_ids if cid in base.listed)
    extra_b, extra_h = len(unrun_base) * base.repeat, len(unrun_head) * head.repeat
    gate = PromptGate(
        prompt,
        "gated",
        "PASS",
        "",
        thresholds=th,
        cases_added=sorted(head_ids - base_ids - set(unrun_base)),
        cases_removed=sorted(base_ids - head_ids - set(unrun_head)),
        cases_not_run=sorted(set(unrun_base) | set(unrun_head)),
        base=ArmInfo.of(base, extra_b),
        head=ArmInfo.of(head, extra_h),
    )
    plan = metric_plan(base, head)
    short = _short_judges(base, head, plan, calibration, config.judges.min_kappa_lower) if calibration else {}
    for demoted in short:
        plan[demoted] = (plan[demoted][0], False)
    clusters = {cid: head.cases[cid].cluster for cid in paired}
    spec = {
        m: (
            {cid: s for cid, s in base.samples(m).items() if cid in clusters},
            {cid: s for cid, s in head.samples(m).items() if cid in clusters},
            kind,
            decisive,
        )
        for m, (kind, decisive) in plan.items()
    }
    gate.metrics = compare_prompt(spec, clusters, th, identical=identical_pairs(base, head, paired))  # type: ignore[arg-type]
    gate.judge_notes = notes_for(base, head)
    gate.judge_notes += [JudgeNote(name, "uncalibrated-judge", detail) for name, detail in short.items()]
    if calibration:
        gate.judge_calibration = {
            name: [calibration[j].to_dict() for j in head.judged_by.get(name, []) if j in calibration]
            for name in sorted(head.judged_metrics)
            if any(j in calibration for j in head.judged_by.get(name, []))
        }
    gate.flaky = _flaky(head)
    noted = {n.metric: n for n in gate.judge_notes}
    for m in gate.metrics:
        if m.metric in noted:
            m.reason = f"{noted[m.metric].detail} {m.reason}"
    assertion_metrics = [m for m in plan if m not in (PASS_METRIC, CHECKS_METRIC)]
    gate.worst = _worst_cases(base, head, paired, assertion_metrics) or _worst_cases(base, head, paired, list(plan))
    gate.errors = [
        check_errors(
            "judge",
            base.judge_errors,
            base.judge_calls,
            head.judge_errors,
            head.judge_calls,
            config.max_judge_error_rate,
            th.alpha,
        ),
        check_errors(
            "provider",
            base.provider_errors + extra_b,
            base.generations + extra_b,
            head.provider_errors + extra_h,
            head.generations + extra_h,
            config.max_provider_error_rate,
            th.alpha,
        ),
    ]
    settle_prompt(gate)
    return gate


def _flaky(arm: Arm, top: int = 5) -> list[dict[str, Any]]:
    """The flakiest cases of ``arm``: its ``(pass)`` verdict both passes and fails across the samples."""

    verdicts = {cid: [v >= 0.5 for v in vals] for cid, vals in arm.samples(PASS_METRIC).items()}
    return [{"case": c.case, "passes": c.passes, "samples": c.samples} for c in stability(verdicts, top=top).flakiest]


def _short_judges(
    base: Arm,
    head: Arm,
    plan: dict[str, tuple[str, bool]],
    calibration: Mapping[str, JudgeStatus],
    bound: float | None,
) -> dict[str, str]:
    """Decisive judged metrics whose judge does not meet ``gate.judges.min_kappa_lower``: metric → why."""
    out: dict[str, str] = {}
    if bound is None:
        return out
    for m, (_, decisive) in plan.items():
        if not decisive:
            continue
        judges = sorted({*base.judged_by.get(m, []), *head.judged_by.get(m, [])})
        for j in judges:
            status = calibration.get(j)
            if status is not None and not status.decisive(bound):
                out[m] = (
                    f"judge {j} is {status.summary()}; gate.judges.min_kappa_lower is {bound}: reported, not decisive."
                )
                break
    return out


def settle_prompt(gate: PromptGate) -> None:
    """The prompt's state and reason from its error checks and decisive metrics (after any re-decision)."""
    failed_checks = [e for e in gate.errors if e.failed]
    if failed_checks:
        gate.state, gate.reason = "FAIL", " ".join(e.reason for e in failed_checks)
        return
    if not gate.metrics:
        gate.state = "WARN"
        gate.reason = "No metric scored on both sides (no assertions, or every sample errored); nothing compared."
        return
    decisive = [m for m in gate.metrics if m.decisive]
    if not decisive:
        gate.state = "WARN"
        gate.reason = "No decisive metric scored on both sides; nothing compared."
        return
    gate.state = overall_state([m.state for m in decisive])
    lead = gate.lead
    assert lead is not None
    gate.reason = f"{lead.metric}: {lead.reason}"
    switched = [n for n in gate.judge_notes if n.kind == "judge-switched"]
    if switched:
        gate.state = overall_state([gate.state, "WARN"])
        gate.reason = f"{gate.reason} {switched[0].metric}: {switched[0].detail}"


def _fmt_delta(m: MetricComparison) -> str:
    return "n/a" if m.delta is None else f"{m.delta:+.3f}"


def verdict_line(verdict: str, prompts: list[PromptGate]) -> str:
    """One line (≤ 140 characters, for a commit status): verdict, counts and the first failing prompt."""
    gated = [p for p in prompts if p.status == "gated"]
    if not gated:
        return f"{verdict}: no changed prompt to gate"[:140]
    counts = ", ".join(f"{sum(p.state == s for p in gated)} {s}" for s in ("FAIL", "WARN", "PASS"))
    line = f"{verdict}: {len(gated)} prompt{'s' if len(gated) != 1 else ''} gated ({counts})"
    worst = next((p for p in gated if p.state == "FAIL"), None) or next((p for p in gated if p.state == "WARN"), None)
    if worst is not None:
        bad = worst.lead if not any(e.failed for e in worst.errors) else None
        detail = f"{bad.metric} Δ {_fmt_delta(bad)}" if bad else "errors"
        line += f"; {worst.prompt}: {detail}"
    return line if len(line) <= 140 else line[:139] + "…"


def decide(
    base: dict[str, Arm],
    head: dict[str, Arm],
    config: GateConfig,
    *,
    not_gated: dict[str, tuple[str, str]] | None = None,
    base_meta: GateSide | None = None,
    head_meta: GateSide | None = None,
    repeat_and_k: tuple[int | None, int | None] | None = None,
    calibration: Mapping[str, JudgeStatus] | None = None,
) -> GateReport:
    """Gate every prompt of ``head`` against ``base``. ``not_gated``: prompt → (status, reason) to list;
    ``repeat_and_k``: the head's R and K, for the report's settings; ``calibration``: the judges' calibration
    status (:func:`compare_arms`)."""
    prompts: list[PromptGate] = []
    listed = dict(not_gated or {})
    for name in sorted(set(base) | set(head) | set(listed)):
        if name in listed:
            status, reason = listed[name]
            prompts.append(PromptGate(name, status, None, reason))
        elif name not in base:
            prompts.append(
                PromptGate(
                    name, "added", None, "New prompt (no base version): listed, not gated.", head=ArmInfo.of(head[name])
                )
            )
        elif name not in head:
            prompts.append(
                PromptGate(
                    name, "removed", None, "Prompt removed in head: listed, not gated.", base=ArmInfo.of(base[name])
                )
            )
        else:
            prompts.append(compare_arms(name, base[name], head[name], config, calibration))
    gated = [p for p in prompts if p.status == "gated" and p.thresholds is not None]
    family = adjust_across_prompts([(p.metrics, p.thresholds) for p in gated if p.thresholds is not None])
    for p in gated:
        settle_prompt(p)
    verdict = overall_state([p.state for p in prompts if p.state is not None])
    settings = GateSettings(
        practical=config.practical,
        alpha=config.alpha,
        warn_alpha=Thresholds().warn_alpha,
        max_judge_error_rate=config.max_judge_error_rate,
        max_provider_error_rate=config.max_provider_error_rate,
        holm_family=family,
    )
    if repeat_and_k is not None:  # written only when given
        settings.repeat, settings.judge_samples = repeat_and_k
    return GateReport(
        verdict, verdict_line(verdict, prompts), prompts, base_meta or GateSide(), head_meta or GateSide(), settings
    )
