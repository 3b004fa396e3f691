"""The ``summary`` part of a results file: per-prompt pass rates, metrics, tokens, cost and latency, the totals
and the overall verdict.

The summary is derived data: :func:`llmops_cli.evals.summary.summarize` computes it from the samples, and a
results file that lacks it (or its ``totals``) gets it recomputed on load (v0.1.0 wrote no totals).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field

from .results_types import Amount, Count, MetricName, PromptName, Rate, ResultsRecord

__all__ = ["CostBreakdown", "Latency", "MetricMean", "PromptSummary", "Summary", "TokenTotals", "TokenUsage", "Totals"]


class MetricMean(ResultsRecord):
    """Mean of one metric's scores over the prompt's samples."""

    mean: Rate | None = Field(description="null when no sample scored it")
    n: Count = Field(description="scores averaged")


class TokenTotals(ResultsRecord):
    """Token counts summed over calls."""

    prompt: Count = Field(description="input tokens")
    completion: Count = Field(description="output tokens")


class TokenUsage(ResultsRecord):
    """Tokens of the generations and of the judge calls."""

    generation: TokenTotals = Field(description="the evaluated prompt's calls")
    judge: TokenTotals = Field(description="the judge calls")


class CostBreakdown(ResultsRecord):
    """USD; null when unknown (a model without a price)."""

    generation: Amount | None = Field(description="the evaluated prompt's calls")
    judge: Amount | None = Field(description="the judge calls")
    total: Amount | None = Field(description="both")


class Latency(ResultsRecord):
    """Nearest-rank percentiles of the successful generations' latency (ms); null when none succeeded."""

    p50: Amount | None = Field(description="median, ms")
    p95: Amount | None = Field(description="95th percentile, ms")


class PromptSummary(ResultsRecord):
    """One prompt's tally and verdict."""

    status: Literal["pass", "fail"] = Field(description="pass when the prompt met its thresholds")
    cases: Count = Field(description="distinct cases run")
    samples: Count = Field(description="sample records (cases x R)")
    passed: Count = Field(description="samples that passed")
    failed: Count = Field(description="samples that failed")
    errors: Count = Field(description="samples that ended in a provider error")
    pass_rate: Rate | None = Field(default=None, description="passed / (passed + failed); null when none was scored")
    min_pass_rate: Rate = Field(description="the threshold pass_rate must reach")
    error_rate: Rate | None = Field(default=None, description="errors / samples")
    max_error_rate: Rate = Field(description="the most error_rate may be")
    judge_calls: Count = Field(description="judge samples asked for")
    judge_errors: Count = Field(description="judge samples that failed or stayed unparsable")
    metrics: dict[MetricName, MetricMean] = Field(description="metric -> its mean score")
    tokens: TokenUsage = Field(description="token counts")
    cost_usd: CostBreakdown = Field(description="cost, USD")
    latency_ms: Latency = Field(description="generation latency percentiles")
    replays: Count | None = Field(default=None, description="samples answered from the response cache")


def _round(value: float, digits: int) -> float:
    return round(value, digits)


class Totals(ResultsRecord):
    """Sums over every prompt."""

    samples: Count = Field(description="sample records")
    passed: Count = Field(description="samples that passed")
    failed: Count = Field(description="samples that failed")
    errors: Count = Field(description="samples that ended in a provider error")
    judge_errors: Count = Field(description="judge samples that failed or stayed unparsable")
    cost_usd: Amount | None = Field(default=None, description="total cost, USD (unknown prices count as 0)")

    @classmethod
    def of(cls, prompts: Mapping[str, PromptSummary]) -> Totals:
        """The sums of per-prompt summaries."""
        s = prompts.values()
        return cls(
            samples=sum(p.samples for p in s),
            passed=sum(p.passed for p in s),
            failed=sum(p.failed for p in s),
            errors=sum(p.errors for p in s),
            judge_errors=sum(p.judge_errors for p in s),
            cost_usd=_round(sum(p.cost_usd.total or 0.0 for p in s), 8),
        )


def _no_totals() -> Totals:
    return Totals(samples=0, passed=0, failed=0, errors=0, judge_errors=0)


class Summary(ResultsRecord):
    """The verdict of a run: ``passed`` when every prompt met its thresholds. Written in full; a file
    without ``passed`` or ``prompts`` (or ``totals``) gets them recomputed from its samples on load."""

    passed: bool = Field(default=True, description="every prompt met its thresholds")
    totals: Totals = Field(default_factory=_no_totals, description="sums over every prompt")
    prompts: dict[PromptName, PromptSummary] = Field(default_factory=dict, description="prompt name -> its tally")
