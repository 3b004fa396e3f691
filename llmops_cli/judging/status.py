"""Whether a judge is calibrated, stale or uncalibrated — what the gate shows per judged metric.

A judge is **calibrated** when ``<evals>/<judge>.calibration.json`` exists and still describes it: the same
judge configuration hash (prompt with templates and partials, model name, that alias's definition — a new
provider snapshot changes it) and the same label set. It is **stale** when either changed since, and
**uncalibrated** when there is no record. ``gate.judges.min_kappa_lower`` in llmops.yaml makes a judged metric
decisive only when its judge is calibrated with κ's 95 % lower bound at or above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..errors import UserError
from ..evals.judges import judge_config_sha256
from ..hashing import sha256_of
from ..jsonio import loads_strict
from ..project import Project
from ..records.base import load_record
from ..records.judging import JudgeCalibration
from .calibrate import calibration_file
from .labels import labels_file

__all__ = ["JudgeStatus", "judge_status", "judge_statuses"]

State = Literal["calibrated", "stale", "uncalibrated"]


@dataclass(frozen=True)
class JudgeStatus:
    """A judge's calibration as the gate reports it."""

    judge: str
    state: State
    kappa: float | None = None
    kappa_low: float | None = None
    statistic: str | None = None
    calibrated_at: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def decisive(self, min_kappa_lower: float | None) -> bool:
        """May a metric this judge grades decide the gate under ``gate.judges.min_kappa_lower``?"""
        if min_kappa_lower is None:
            return True
        return self.state == "calibrated" and self.kappa_low is not None and self.kappa_low >= min_kappa_lower

    def summary(self) -> str:
        """``calibrated (quadratic-weighted kappa 0.81, lower 0.72)`` / ``stale: …`` / ``uncalibrated``."""
        if self.state == "calibrated":
            low = "n/a" if self.kappa_low is None else f"{self.kappa_low:.2f}"
            kappa = "n/a" if self.kappa is None else f"{self.kappa:.2f}"
            return f"calibrated ({self.statistic} {kappa}, 95 % lower bound {low})"
        return f"{self.state}: {self.detail}" if self.detail else self.state


def judge_status(project: Project, judge: str) -> JudgeStatus:
    """``judge``'s status in ``project`` (the gate passes the base: the judges that grade both arms)."""
    file = calibration_file(project, judge)
    if not project.source.exists(file):
        return JudgeStatus(judge, "uncalibrated", detail=f"no {file} (run `llmops judge calibrate {judge} --write`)")
    text = project.source.read_text(file)
    record = load_record(JudgeCalibration, loads_strict(text, file), source=file)

    def status(state: State, detail: str = "") -> JudgeStatus:
        k = record.kappa
        return JudgeStatus(judge, state, k.value, k.low, record.statistic, record.created_at, detail)

    try:
        prompt = project.load(judge)
    except UserError:
        return status("stale", "the judge prompt no longer loads")
    model_name = project.config.judge.model or prompt.model_name
    if judge_config_sha256(prompt.sha256, model_name, project.config) != record.judge_config_sha256:
        return status("stale", "the judge prompt or its model changed since it was calibrated")
    labels = labels_file(project, judge)
    current = sha256_of(project.source.read_text(labels)) if project.source.exists(labels) else None
    if current != record.labels_sha256:
        return status("stale", "its labels changed since it was calibrated")
    return status("calibrated")


def judge_statuses(project: Project, judges: Iterable[str]) -> dict[str, JudgeStatus]:
    """The status of each named judge."""
    return {j: judge_status(project, j) for j in sorted(set(judges))}
