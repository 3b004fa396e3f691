"""Feedback on a served call: a user's thumbs up/down, a star rating, a label or a comment, joined to the call's
request record by ``request_id``.

Written by :meth:`llmops_cli.prompt.Prompt.feedback` (to the same sink as the request records) and by
``llmops usage feedback FILE.jsonl`` (feedback collected elsewhere). One JSON object per line, in the request
log itself or beside it::

    {"kind": "feedback", "schema_version": 1, "ts": "2026-12-01T10:00:00.000000Z", "request_id": "4f…",
     "prompt": "support/answer", "score": -1, "label": "wrong", "comment": "…", "source": "app"}

``llmops usage report`` joins it to the call (feedback rate and mean per prompt/version/arm/day); feedback whose
``request_id`` names no logged call is counted as *unknown*, never an error. The comment is free text from end
users: it is redacted (key values, token shapes) and bounded before it is written, never rendered as markup,
and never read back by a report.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..limits import label_problem
from .base import Record

__all__ = [
    "MAX_COMMENT_CHARS",
    "MAX_FEEDBACK_SCORE",
    "REQUEST_ID_PATTERN",
    "FeedbackRecord",
    "check_label",
    "check_request_id",
    "check_ts",
    "request_id_problem",
    "timestamp_problem",
]

MAX_FEEDBACK_SCORE = 1e6  # |score|: thumbs are ±1, stars 1..5, NPS 0..10; nothing needs more
MAX_COMMENT_CHARS = 4000
MAX_LABEL_CHARS = 64
MAX_REQUEST_ID_CHARS = 128
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]{1,128}\Z")  # the request ids serving accepts and writes
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)\Z")
# control characters but tab and newline, line/paragraph separators, bidi overrides and isolates
_COMMENT_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def request_id_problem(value: object) -> str | None:
    """Why ``value`` is not a request id (1-128 of ``[A-Za-z0-9_.:-]``), or None."""
    if not isinstance(value, str) or not REQUEST_ID_PATTERN.match(value):
        return f"expected 1-{MAX_REQUEST_ID_CHARS} characters of letters, digits, '_.:-'"
    return None


def timestamp_problem(value: object) -> str | None:
    """Why ``value`` is not an RFC 3339 timestamp with its offset, or None."""
    if not isinstance(value, str) or not _TS.match(value):
        return "expected an RFC 3339 timestamp with its offset (Z or ±HH:MM)"
    return None


def check_ts(value: str) -> str:
    problem = timestamp_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_request_id(value: str) -> str:
    problem = request_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def check_label(value: str | None, what: str) -> str | None:
    problem = None if value is None else label_problem(value, what, max_chars=MAX_LABEL_CHARS)
    if problem:
        raise ValueError(problem)
    return value


class FeedbackRecord(Record):
    """One piece of feedback on one served call."""

    KIND: ClassVar[str | None] = "feedback"
    SCHEMA_VERSION: ClassVar[int | None] = 1

    kind: Literal["feedback"] = Field("feedback", description="Always 'feedback': tells it from a request record.")
    schema_version: Literal[1] = Field(1, description="Version of this record's format.")
    ts: str = Field(description="When the feedback was given: RFC 3339 with its offset.")
    request_id: str = Field(description="The request id of the call it is about (its request record's).")
    prompt: str | None = Field(None, description="The prompt name, when known (the serving object's).")
    score: float | None = Field(
        None, description=f"A number: +1/-1 for thumbs, 1..5 for stars (|score| <= {MAX_FEEDBACK_SCORE:.0e})."
    )
    label: str | None = Field(None, description=f"A short category such as 'wrong' (<= {MAX_LABEL_CHARS} chars).")
    comment: str | None = Field(
        None, description=f"Free text, redacted and at most {MAX_COMMENT_CHARS} characters; never rendered as markup."
    )
    source: str | None = Field(None, description="Where it came from ('app', 'import', …), a short label.")

    @field_validator("ts")
    @classmethod
    def _ts(cls, value: str) -> str:
        return check_ts(value)

    @field_validator("request_id")
    @classmethod
    def _request_id(cls, value: str) -> str:
        return check_request_id(value)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str | None) -> str | None:
        problem = None if value is None else label_problem(value, "prompt")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("score", mode="before")
    @classmethod
    def _score(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        if not math.isfinite(value) or abs(value) > MAX_FEEDBACK_SCORE:
            raise ValueError(f"expected a finite number between -{MAX_FEEDBACK_SCORE:.0e} and {MAX_FEEDBACK_SCORE:.0e}")
        return float(value)

    @field_validator("label")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        return check_label(value, "label")

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return check_label(value, "source")

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value) > MAX_COMMENT_CHARS:
            raise ValueError(f"at most {MAX_COMMENT_CHARS} characters (got {len(value):,})")
        if _COMMENT_CONTROL.search(value):
            raise ValueError("control characters are not allowed (tab and newline are)")
        return value

    @model_validator(mode="after")
    def _something(self) -> FeedbackRecord:
        if self.score is None and self.label is None and self.comment is None:
            raise ValueError("feedback needs a score, a label or a comment")
        return self
