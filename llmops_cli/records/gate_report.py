"""The gate report (``schema_version: 1``, kind ``llmops-gate-report``): what ``llmops eval gate`` decided,
written to ``.llmops/gate/gate.json``, printed by ``--format json`` and shown by the HTML gate view.

::

    GateReportRecord
     ├─ verdict, line                     PASS / WARN / FAIL and the one line of a commit status
     ├─ base, head: GateSide              what each side evaluated (commit, config, R, K, judges, run id)
     ├─ settings: GateSettings            R and K of the comparison
     ├─ policy: GatePolicyRecord          where the thresholds came from; judge: JudgePolicyRecord
     └─ prompts: [PromptGateRecord]       per prompt: state, metrics (MetricRecord), error checks, worst cases

The gate (:mod:`llmops_cli.gate.decide`) builds it from its statistics; numbers keep the JSON type they were
computed with, so the report's bytes are those the gate always wrote.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .base import OpenRecord
from .results_run import JudgeInfo

__all__ = [
    "GATE_REPORT_KIND",
    "GATE_REPORT_SCHEMA_VERSION",
    "ArmRecord",
    "CaseChangeRecord",
    "ClusterDeltaRecord",
    "ErrorCheckRecord",
    "ErrorCounts",
    "GatePolicyRecord",
    "GateReportRecord",
    "GateSettings",
    "GateSide",
    "JudgeNoteRecord",
    "JudgePolicyRecord",
    "MetricRecord",
    "PromptGateRecord",
    "ThresholdsRecord",
]

GATE_REPORT_KIND: Final = "llmops-gate-report"
GATE_REPORT_SCHEMA_VERSION: Final = 1

Number = int | float
"""A JSON number, kept as computed (an int stays an int)."""


class GateRecord(OpenRecord):
    """Base of the gate report's records: unknown keys kept (a newer llmops), ``to_dict`` the JSON form."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, keys in the order the report always had."""
        return self.model_dump()


class SparseGateRecord(GateRecord):
    """A gate record that writes only the keys it was given (callers describe what they know)."""

    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        given = self.model_fields_set | set(self.model_extra or {})
        return {k: v for k, v in data.items() if k in given}


class ErrorCounts(GateRecord):
    """Errors of one kind on one side."""

    errors: int = Field(description="errors (judge samples or generations)")
    total: int = Field(description="judge samples or generations")
    rate: Number = Field(description="errors / total (0 when total is 0)")


class ErrorCheckRecord(GateRecord):
    """The fail-closed error checks of one kind on one prompt."""

    kind: str = Field(description="judge or provider")
    base: ErrorCounts = Field(description="the base side's errors")
    head: ErrorCounts = Field(description="the head side's errors")
    max_rate: Number = Field(description="the allowed error rate (max_judge_error_rate / max_provider_error_rate)")
    failed: bool = Field(description="the check failed closed")
    reason: str = Field(description="why it failed; empty when it did not")


class CaseChangeRecord(GateRecord):
    """A paired case whose score moved (the worst ones are shown)."""

    case_id: str = Field(description="the case")
    metric: str = Field(description="the metric that moved")
    base: Number = Field(description="its base score")
    head: Number = Field(description="its head score")
    delta: Number = Field(description="head - base")
    base_output: str | None = Field(description="the base's output (clipped)")
    head_output: str | None = Field(description="the head's output (clipped)")


class ArmRecord(GateRecord):
    """What the report says about one side of one prompt."""

    prompt_sha256: str | None = Field(description="sha256 of the prompt file on that side")
    model: str | None = Field(description="the model id called")
    cases: int = Field(description="cases run")
    generations: int = Field(description="generations, counting those of cases never run")
    provider_errors: int = Field(description="generations that failed, counting those never run")
    judge_calls: int = Field(description="judge samples asked for")
    judge_errors: int = Field(description="judge samples that failed")
    cost_per_1k: Number | None = Field(description="USD per 1,000 generations; null when unpriced")
    eval_cost: Number | None = Field(description="USD of the side's eval; null when the model is unpriced")


class ClusterDeltaRecord(GateRecord):
    """Δ of the cases of one cluster."""

    cluster: str | None = Field(description="the cluster; null: cases without one")
    n: int = Field(description="its paired cases")
    delta: Number = Field(description="mean head - base score of those cases")


class ThresholdsRecord(GateRecord):
    """The thresholds a prompt was gated with."""

    practical: Number = Field(description="FAIL and WARN need an estimated drop of at least this much")
    alpha: Number = Field(description="one-sided significance level of FAIL")
    warn_alpha: Number = Field(description="WARN: a practical-size drop with a p-value below this")
    power: Number = Field(description="power of the minimum detectable effect (1 - beta)")


class MetricRecord(GateRecord):
    """One metric compared between base and head (interval fields null when fewer than 2 cases)."""

    metric: str = Field(description="the metric")
    kind: str = Field(description="score or pass")
    decisive: bool = Field(description="it can decide the prompt's state")
    n_cases: int = Field(description="paired cases")
    n_clusters: int = Field(description="clusters among them")
    n_dropped: int = Field(description="cases without a score on a side")
    n_nonzero: int = Field(description="pairs whose score moved")
    base_mean: Number | None = Field(description="mean base score")
    head_mean: Number | None = Field(description="mean head score")
    delta: Number | None = Field(description="estimated change, head - base")
    se: Number | None = Field(description="its standard error")
    lb: Number | None = Field(description="lower confidence bound of delta")
    ub: Number | None = Field(description="upper confidence bound of delta")
    mde: Number | None = Field(description="minimum detectable effect")
    test: str | None = Field(description="the test that gave p_value")
    p_value: Number | None = Field(description="one-sided p-value of a drop")
    min_p: Number | None = Field(description="the smallest p-value the test can give with these cases")
    p_adjusted: Number | None = Field(description="Holm-adjusted over the prompt's decisive metrics")
    state: str = Field(description="PASS, WARN or FAIL")
    reason: str = Field(description="why")
    identical: str | None = Field(default=None, description="why the arms are identical, when they are")
    flips: list[int] | None = Field(default=None, description="pass metrics: [pass->fail, fail->pass] pairs")
    mcnemar_p: Number | None = Field(default=None, description="pass metrics: McNemar's exact p-value")
    clusters: list[ClusterDeltaRecord] = Field(default_factory=list, description="Δ per cluster")
    p_pr: Number | None = Field(default=None, description="Holm-adjusted over the whole PR: what decides")
    family: int = Field(default=1, description="size of that Holm family")


class JudgeNoteRecord(GateRecord):
    """Why a judged metric of a prompt does not decide in this change."""

    metric: str = Field(description="the metric")
    kind: Literal["new-judge", "new-metric", "judge-switched", "criteria-changed", "uncalibrated-judge"] = Field(
        description="why"
    )
    detail: str = Field(description="what changed")


class PromptGateRecord(SparseGateRecord):
    """The gate's finding on one prompt (the judges' calibration, flaky cases and the pairwise finding only
    when there are any)."""

    prompt: str = Field(description="the prompt")
    status: str = Field(description="gated, added, removed or unchanged")
    state: str | None = Field(description="PASS, WARN or FAIL; null when not gated")
    reason: str = Field(description="why")
    decisive_metric: str | None = Field(description="the metric that set the state")
    p_prompt: Number | None = Field(description="its p-value, Holm-adjusted over the prompt")
    p_pr: Number | None = Field(description="its p-value, Holm-adjusted over the PR")
    regressed_clusters: list[ClusterDeltaRecord] = Field(description="clusters that dropped (not when PASS)")
    thresholds: ThresholdsRecord | None = Field(description="the thresholds it was gated with")
    metrics: list[MetricRecord] = Field(description="every metric compared")
    errors: list[ErrorCheckRecord] = Field(description="the error checks")
    cases_added: list[str] = Field(description="cases only the head has")
    cases_removed: list[str] = Field(description="cases only the base has")
    cases_not_run: list[str] = Field(description="cases both golden sets list, run on one side only")
    worst_cases: list[CaseChangeRecord] = Field(description="the paired cases that dropped most")
    base: ArmRecord | None = Field(description="the base side")
    head: ArmRecord | None = Field(description="the head side")
    judge_notes: list[JudgeNoteRecord] = Field(description="judged metrics that do not decide, and why")
    judge_calibration: dict[str, list[dict[str, Any]]] | None = Field(
        default=None, description="judged metric -> its judges' calibration status (llmops_cli.judging.status)"
    )
    flaky_cases: list[dict[str, Any]] | None = Field(
        default=None, description="head cases whose verdict flips across samples (llmops_cli.judging.stability)"
    )
    pairwise: dict[str, Any] | None = Field(
        default=None, description="the pairwise judge's finding (llmops_cli.judging.pairwise)"
    )

    def with_extras(self, **optional: Any) -> PromptGateRecord:
        """This record with the optional parts that are not empty set (written only then)."""
        for name, value in optional.items():
            if value:
                setattr(self, name, value)
        return self


class GateSide(SparseGateRecord):
    """A side of the gate: what was evaluated, under which settings. Only the keys given are written."""

    label: str | None = Field(default=None, description="the side's label (ref, merge-base)")
    git_sha: str | None = Field(default=None, description="the commit evaluated")
    source: str | None = Field(default=None, description="working tree, or the git ref read")
    config_hash: str | None = Field(default=None, description="sha256 of its llmops.yaml")
    repeat: int | None = Field(default=None, description="R")
    judge_samples: int | None = Field(default=None, description="K")
    judges: dict[str, JudgeInfo] | None = Field(default=None, description="the judges it used")
    judge_config_hash: str | None = Field(default=None, description="how it was judged")
    run_id: str | None = Field(default=None, description="the eval run")
    calls: dict[str, Any] | None = Field(default=None, description="provider call statistics")
    cache: dict[str, Any] | None = Field(default=None, description="response cache hits and misses")
    ref: str | None = Field(default=None, description="the base ref the gate was given (base side)")
    merge_base: str | None = Field(default=None, description="the merge-base commit evaluated (base side)")


class GateSettings(SparseGateRecord):
    """The settings of the comparison: thresholds, Holm family, and the head's R and K (when given)."""

    practical: Number = Field(description="FAIL and WARN need an estimated drop of at least this much")
    alpha: Number = Field(description="one-sided significance level of FAIL")
    warn_alpha: Number = Field(description="WARN: a practical-size drop with a p-value below this")
    max_judge_error_rate: Number = Field(description="the allowed judge error rate")
    max_provider_error_rate: Number = Field(description="the allowed provider error rate")
    holm_family: int = Field(description="decisive metrics of the PR adjusted together")
    repeat: int | None = Field(default=None, description="R: generations per case")
    judge_samples: int | None = Field(default=None, description="K: judge samples per output")


class GatePolicyRecord(GateRecord):
    """Where the gate's thresholds came from (the base's llmops.yaml), and what the change altered."""

    source: str = Field(description="where the thresholds came from")
    changed: list[str] = Field(description="settings the change altered (not applied)")


class JudgePolicyRecord(GateRecord):
    """Where the judges came from, what the change altered in them (not applied), and its new judges."""

    source: str = Field(description="where the judges came from")
    changed: list[str] = Field(default_factory=list, description="judge changes of the PR (not applied)")
    new: list[str] = Field(default_factory=list, description="judges the base does not have")


class GateReportRecord(GateRecord):
    """The whole gate: verdict, one line for a commit status, every prompt, and the run settings."""

    KIND = GATE_REPORT_KIND
    SCHEMA_VERSION = GATE_REPORT_SCHEMA_VERSION

    schema_version: Literal[1] = Field(default=GATE_REPORT_SCHEMA_VERSION, description="the format's version: 1")
    kind: Literal["llmops-gate-report"] = Field(default=GATE_REPORT_KIND, description="llmops-gate-report")
    verdict: str = Field(description="PASS, WARN or FAIL")
    line: str = Field(description="the one line of a commit status")
    base: GateSide = Field(description="the base side")
    head: GateSide = Field(description="the head side")
    settings: GateSettings = Field(description="thresholds, Holm family, R and K of the comparison")
    policy: GatePolicyRecord | None = Field(default=None, description="where the thresholds came from")
    judge: JudgePolicyRecord | None = Field(default=None, description="where the judges came from")
    prompts: list[PromptGateRecord] = Field(description="every prompt, gated or not")
