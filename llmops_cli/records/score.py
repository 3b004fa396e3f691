"""A judge's score of a served call: what ``llmops usage judge`` writes for each sampled call and judge.

One JSON object per line, joined to the call's request record by ``request_id``::

    {"kind": "score", "schema_version": 1, "ts": "…", "request_id": "4f…", "prompt": "support/answer",
     "version": "1.2.0", "channel": "production", "arm": "canary", "call_ts": "…", "metric": "answer-relevance",
     "judge": "judges/answer_relevance", "judge_model": "openai/gpt-4o-mini", "score": 0.75, "passed": true,
     "threshold": 0.5, "error": null, "reasoning": "…", "replayed": false}

``score`` is normalised to 0..1 as in eval results (a 1..5 verdict ``s`` is ``(s - 1) / 4``); a judge that
could not grade (every sample errored) has ``score: null`` and ``error`` set — an error, never a 0. When one
call is judged twice on the same metric, readers keep the latest record.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ..limits import label_problem
from .base import Record
from .feedback import check_request_id, check_ts

__all__ = ["MAX_REASONING_CHARS", "ScoreRecord"]

MAX_REASONING_CHARS = 600


class ScoreRecord(Record):
    """One judge's grade of one logged call."""

    KIND: ClassVar[str | None] = "score"
    SCHEMA_VERSION: ClassVar[int | None] = 1

    kind: Literal["score"] = Field("score", description="Always 'score': tells it from a request record.")
    schema_version: Literal[1] = Field(1, description="Version of this record's format.")
    ts: str = Field(description="When the call was judged: RFC 3339 with its offset.")
    request_id: str = Field(description="The request id of the judged call.")
    prompt: str = Field(description="The judged call's prompt name.")
    version: str | None = Field(None, description="The judged call's release version (null: working tree).")
    channel: str | None = Field(None, description="The channel the call was served from, if any.")
    arm: str | None = Field(None, description="The arm (stable/canary) the call was served from, if any.")
    call_ts: str = Field(description="When the judged call was made (its request record's ts).")
    metric: str = Field(description="The assertion's metric name (e.g. 'answer-relevance', 'rubric').")
    judge: str = Field(description="The judge prompt's name.")
    judge_model: str = Field(description="The litellm model id that judged.")
    score: float | None = Field(None, ge=0, le=1, description="Normalised 0..1; null when the judge errored.")
    passed: bool | None = Field(None, description="score >= threshold; null when the judge errored.")
    threshold: float = Field(ge=0, le=1, description="The assertion's pass threshold (0..1).")
    error: str | None = Field(None, description="Why the judge could not grade (null when it did).")
    reasoning: str | None = Field(
        None, max_length=MAX_REASONING_CHARS, description="The judge's reasoning, redacted and clipped."
    )
    replayed: bool = Field(False, description="Every judge call came from the response cache (nothing paid).")

    @field_validator("ts", "call_ts")
    @classmethod
    def _ts(cls, value: str) -> str:
        return check_ts(value)

    @field_validator("request_id")
    @classmethod
    def _request_id(cls, value: str) -> str:
        return check_request_id(value)

    @field_validator("prompt", "judge", "judge_model", "metric")
    @classmethod
    def _names(cls, value: str) -> str:
        problem = label_problem(value, "name") or (None if value else "must not be empty")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("version", "channel", "arm")
    @classmethod
    def _labels(cls, value: str | None) -> str | None:
        problem = None if value is None else label_problem(value, "label")
        if problem:
            raise ValueError(problem)
        return value
