"""Judges you can trust: the human labels of a judge (``evals/<judge>.labels.yaml``) and the calibration record
(``evals/<judge>.calibration.json``) that says how well the judge agrees with them.

A label set lists items the judge grades — the judge prompt's inputs (``criteria``, ``question``, ``answer``,
``reference``, …) — and the score a human gave each: an integer 1-5 (``scale: score``) or ``pass``/``fail``
(``scale: pass_fail``), from one rater (``human: 4``) or several (``human: {ana: 4, ben: 5}``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ..limits import label_problem, name_problem
from .base import Record

__all__ = [
    "AgreementStat",
    "CalibratedItem",
    "Confusion",
    "JudgeCalibration",
    "LabelItem",
    "LabelSet",
    "ProbeResult",
]

Scale = Literal["score", "pass_fail"]
HumanValue = int | Literal["pass", "fail"]


class LabelItem(Record):
    """One labelled item: what the judge is shown, and what the human(s) said."""

    id: str = Field(..., min_length=1, description="Unique name of the item within the label set.")
    vars: dict[str, Any] = Field(
        ..., description="The judge prompt's inputs for this item (criteria, question, answer, reference, rubric)."
    )
    human: HumanValue | dict[str, HumanValue] = Field(
        ...,
        description="The human label: 1-5 (scale: score) or pass/fail (scale: pass_fail); a mapping rater -> label "
        "when several raters labelled the item.",
    )
    source: str | None = Field(None, description="Where the answer came from (results file, prompt, case id).")
    model: str | None = Field(None, description="The model that wrote the answer (for the self-preference probe).")
    note: str | None = Field(None, description="Why the human gave this label (free text for reviewers).")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        problem = name_problem(value, "label id")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("human")
    @classmethod
    def _human(cls, value: HumanValue | dict[str, HumanValue]) -> HumanValue | dict[str, HumanValue]:
        values = list(value.values()) if isinstance(value, dict) else [value]
        if isinstance(value, dict):
            if not value:
                raise ValueError("at least one rater's label is needed")
            for rater in value:
                problem = label_problem(rater, "rater")
                if problem:
                    raise ValueError(problem)
        for v in values:
            if isinstance(v, bool) or (isinstance(v, int) and not 1 <= v <= 5):
                raise ValueError(f"a score label must be an integer from 1 to 5, got {v!r}")
        return value

    def ratings(self) -> list[HumanValue]:
        """Every rater's label, in the file's order."""
        return list(self.human.values()) if isinstance(self.human, dict) else [self.human]


class LabelSet(Record):
    """A judge's human labels (``evals/<judge prompt>.labels.yaml``)."""

    KIND = "judge-labels"
    SCHEMA_VERSION = 1

    schema_version: int = Field(1, description="Version of this format.")
    judge: str | None = Field(None, description="The judge prompt these labels calibrate (default: from the path).")
    description: str | None = Field(None, description="What the labelled items cover, for reviewers.")
    scale: Scale = Field("score", description="score: human labels 1-5; pass_fail: human labels pass/fail.")
    pass_at: int = Field(
        4, ge=1, le=5, description="With scale pass_fail: a judge score at or above this counts as a pass."
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="Judge inputs shared by every item (an item's own vars win)."
    )
    items: list[LabelItem] = Field(..., min_length=1, description="The labelled items.")

    @field_validator("judge")
    @classmethod
    def _judge(cls, value: str | None) -> str | None:
        problem = None if value is None else name_problem(value, "judge prompt name")
        if problem:
            raise ValueError(problem)
        return value


class AgreementStat(Record):
    """A statistic with its 95 % interval and how the interval was made."""

    value: float | None = Field(..., description="The estimate (null when undefined, e.g. a single category).")
    low: float | None = Field(None, description="Lower end of the 95 % interval.")
    high: float | None = Field(None, description="Upper end of the 95 % interval.")
    method: str = Field(..., description="How the interval was made (analytic formula or seeded bootstrap).")
    n: int = Field(..., ge=0, description="Items (or pairable units) the statistic is computed on.")


class Confusion(Record):
    """Human (rows) x judge (columns) counts."""

    categories: list[str] = Field(..., description="The categories, in order (rows and columns).")
    counts: list[list[int]] = Field(..., description="counts[i][j]: the human said categories[i], the judge [j].")


class ProbeResult(Record):
    """A bias probe: an effect size with its interval, and whether it crossed the line."""

    name: Literal["verbosity", "sensitivity", "position", "self_preference"] = Field(..., description="The probe.")
    effect: AgreementStat | None = Field(None, description="The effect size (see detail for its unit).")
    flagged: bool = Field(..., description="True when the probe found the bias (or the insensitivity).")
    detail: str = Field(..., description="What was measured, in one sentence.")


class CalibratedItem(Record):
    """One label item as the judge graded it."""

    id: str = Field(..., description="The label item id.")
    human: float | str | None = Field(..., description="The consensus human label (median score, majority pass/fail).")
    judge: float | None = Field(..., description="The judge's score 1-5 (mean of its samples); null on a judge error.")
    error: str | None = Field(None, description="The judge error, when it could not be scored.")


class JudgeCalibration(Record):
    """How well a judge agrees with its human labels (``evals/<judge>.calibration.json``, committed)."""

    KIND = "judge-calibration"
    SCHEMA_VERSION = 1

    kind: Literal["judge-calibration"] = Field("judge-calibration", description="Always judge-calibration.")
    schema_version: int = Field(1, description="Version of this format.")
    judge: str = Field(..., description="The judge prompt's name.")
    judge_sha256: str = Field(..., description="The judge prompt's content hash when it was calibrated.")
    judge_config_sha256: str = Field(
        ..., description="Hash of prompt + model name + its alias definition (judges.judge_config_sha256)."
    )
    model: str = Field(..., description="The provider model id that judged.")
    labels_file: str = Field(..., description="The label set, relative to the project root.")
    labels_sha256: str = Field(..., description="SHA-256 of the label set's bytes.")
    created_at: str = Field(..., description="When it was calibrated (UTC, ISO 8601).")
    scale: Scale = Field(..., description="The label scale.")
    samples: int = Field(..., ge=1, description="Judge samples per item (K).")
    items: int = Field(..., ge=0, description="Labelled items.")
    scored: int = Field(..., ge=0, description="Items the judge scored (judge errors excluded).")
    judge_errors: int = Field(..., ge=0, description="Items the judge could not score.")
    statistic: str = Field(..., description="The headline agreement statistic (e.g. quadratic-weighted kappa).")
    kappa: AgreementStat = Field(
        ..., description="The headline agreement: weighted kappa (score) or kappa (pass/fail)."
    )
    accuracy: AgreementStat | None = Field(None, description="Exact agreement share (pass/fail: accuracy).")
    f1_fail: AgreementStat | None = Field(None, description="F1 of the judge at catching failures (pass/fail).")
    mean_signed_error: AgreementStat | None = Field(
        None, description="Mean judge - human on the 1-5 scale: above 0 the judge is lenient (scale: score)."
    )
    human_alpha: AgreementStat | None = Field(
        None, description="Krippendorff's alpha among the human raters: the ceiling a judge can reach."
    )
    judge_alpha: AgreementStat | None = Field(
        None, description="Krippendorff's alpha of the judge taken as one more rater beside the humans."
    )
    confusion: Confusion = Field(..., description="Human x judge confusion matrix.")
    probes: list[ProbeResult] = Field(default_factory=list, description="Bias probes run with the calibration.")
    per_item: list[CalibratedItem] = Field(default_factory=list, description="Each item's labels and judge score.")
