"""The estimate of an eval run before it starts (``llmops eval run --estimate --json``): a typed, versioned
record (``kind: llmops-eval-estimate``, ``schema_version: 1``), computed by :mod:`llmops_cli.evals.estimate`."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from .results_types import Amount, Count, ResultsRecord

__all__ = ["ESTIMATE_KIND", "ESTIMATE_SCHEMA_VERSION", "CallGroup", "RunEstimate"]

ESTIMATE_KIND: Final = "llmops-eval-estimate"
ESTIMATE_SCHEMA_VERSION: Final = 1


class CallGroup(ResultsRecord):
    """The calls of one prompt's generations, or of one judge grading one prompt's outputs."""

    role: Literal["generation", "judge"] = Field(description="generation or judge")
    prompt: str = Field(description="the evaluated prompt")
    judge: str | None = Field(default=None, description="the judge prompt (role judge)")
    model: str = Field(description="the model id called")
    calls: Count = Field(default=0, description="calls the run makes, cached ones included")
    cached: Count = Field(default=0, description="answered by the response cache: cost 0")
    prompt_tokens: Count = Field(default=0, description="input tokens of the uncached calls")
    prompt_tokens_max: Count = Field(default=0, description="judges: with the longest outputs")
    prompt_tokens_exact: bool = Field(default=True, description="false when a judge grades an unknown output")
    output_tokens_max: Count = Field(default=0, description="output tokens at most")
    output_tokens_expected: Count = Field(default=0, description="output tokens expected")
    output_tokens_from: list[str] = Field(
        default_factory=list, description="history, history (prompt), max_tokens, model limit or default"
    )
    input_usd_per_token: Amount | None = Field(default=None, description="the model's input price, USD")
    output_usd_per_token: Amount | None = Field(default=None, description="the model's output price, USD")
    cost_max_usd: Amount | None = Field(default=None, description="null: unknown price")
    cost_expected_usd: Amount | None = Field(default=None, description="null: unknown price")


class RunEstimate(ResultsRecord):
    """Tokens and cost of an eval run before it starts (``llmops eval run --estimate --json``)."""

    KIND = ESTIMATE_KIND
    SCHEMA_VERSION = ESTIMATE_SCHEMA_VERSION

    schema_version: Literal[1] = Field(default=ESTIMATE_SCHEMA_VERSION, description="the format's version: 1")
    kind: Literal["llmops-eval-estimate"] = Field(default=ESTIMATE_KIND, description="llmops-eval-estimate")
    currency: str = Field(default="USD", description="the currency of every cost: USD")
    repeat: Count = Field(default=1, description="R: generations per case")
    judge_samples: Count = Field(default=1, description="K: judge calls per output")
    samples: Count = Field(default=0, description="prompt × case × repeat")
    calls: Count = Field(default=0, description="calls the run makes, cached ones included")
    cached: Count = Field(default=0, description="answered by the response cache")
    prompt_tokens: Count = Field(default=0, description="input tokens of the uncached calls")
    output_tokens_max: Count = Field(default=0, description="output tokens at most")
    output_tokens_expected: Count = Field(default=0, description="output tokens expected")
    cost_max_usd: Amount | None = Field(default=None, description="null when a model's price is unknown")
    cost_expected_usd: Amount | None = Field(default=None, description="null when a model's price is unknown")
    unpriced: list[str] = Field(default_factory=list, description="models without a price (uncached calls)")
    max_cost_usd: Amount | None = Field(
        default=None, description="the run's cap (--max-cost or budget.max_cost_usd), null when none"
    )
    groups: list[CallGroup] = Field(default_factory=list, description="the calls, by prompt, judge and model")
