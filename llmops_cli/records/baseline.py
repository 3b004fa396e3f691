"""A release's eval baseline: the per-case scores (and output hashes) of the eval that admitted it.

Stored as a git note on the release's tag object (``refs/notes/llmops-baseline``) by ``llmops release baseline
NAME@VERSION RESULTS``; read back by ``llmops eval drift`` (re-run the same golden set now, compare case by case)
and ``llmops usage check`` (the price recorded at release). Bounded (:data:`MAX_CASES` cases,
:data:`MAX_SCORES` scores per metric and case) and hashed: ``sha256`` covers every other field, so an edited
note is refused.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from .base import Record

MAX_CASES = 5000
MAX_METRICS = 50
MAX_SCORES = 200
MAX_NOTE_BYTES = 16 * 1024 * 1024

__all__ = ["MAX_CASES", "MAX_NOTE_BYTES", "BaselineCase", "Price", "ReleaseBaseline"]


class Price(Record):
    """The model's price per token when the baseline was recorded (litellm's table)."""

    input_per_token: float = Field(ge=0, le=1, description="USD per input token.")
    output_per_token: float = Field(ge=0, le=1, description="USD per output token.")


class BaselineCase(Record):
    """One golden case as the admitting eval saw it."""

    case_id: str = Field(max_length=200, description="The golden case id.")
    cluster: str | None = Field(None, max_length=200, description="The case's cluster, if any.")
    scores: dict[str, list[float]] = Field(
        default_factory=dict, max_length=MAX_METRICS, description="Metric → every valid sample score (0-1)."
    )
    outputs_sha256: list[str | None] = Field(
        default_factory=list, max_length=MAX_SCORES, description="sha256 of each generation's output (null: error)."
    )

    @field_validator("scores", mode="before")
    @classmethod
    def _no_booleans(cls, value: object) -> object:
        if isinstance(value, dict) and any(
            isinstance(x, bool) for v in value.values() if isinstance(v, list) for x in v
        ):
            raise ValueError("scores must be numbers, not true/false")
        return value

    @field_validator("scores")
    @classmethod
    def _scores(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for metric, scores in value.items():
            if not metric or len(metric) > 200:
                raise ValueError("a metric name must have 1-200 characters")
            if len(scores) > MAX_SCORES:
                raise ValueError(f"{metric}: at most {MAX_SCORES} scores per case")
            if any(not (math.isfinite(x) and 0 <= x <= 1) for x in scores):
                raise ValueError(f"{metric}: every score must be a finite number from 0 to 1")
        return value


class ReleaseBaseline(Record):
    """The baseline of one release (``NAME@VERSION``)."""

    KIND: ClassVar[str | None] = "llmops-release-baseline"
    SCHEMA_VERSION: ClassVar[int | None] = 1

    kind: Literal["llmops-release-baseline"] = Field(
        "llmops-release-baseline", description="Tells a baseline note from any other JSON."
    )
    schema_version: Literal[1] = Field(1, description="Version of this format.")
    prompt: str = Field(max_length=200, description="The prompt name.")
    version: str = Field(max_length=100, description="The release version.")
    tag: str = Field(max_length=300, description="The release tag.")
    prompt_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The released prompt's content hash.")
    model: str | None = Field(None, max_length=300, description="The model the release is pinned to.")
    price: Price | None = Field(None, description="That model's price at recording time (null: not priced).")
    deprecation_date: str | None = Field(None, max_length=40, description="The model's deprecation date then, if any.")
    recorded_at: str = Field(max_length=40, description="When the baseline was recorded (UTC, ISO 8601).")
    results_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the eval results file it came from.")
    repeat: int | None = Field(None, ge=1, le=50, description="Generations per case (R) of that eval.")
    judge_samples: int | None = Field(None, ge=1, le=20, description="Judge calls per output (K) of that eval.")
    cases: list[BaselineCase] = Field(max_length=MAX_CASES, description="Per-case scores, sorted by case id.")
    sha256: str = Field("", description="sha256 of the canonical JSON of every other field.")
