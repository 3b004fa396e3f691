"""A judge's human labels in git: ``<evals>/<judge prompt>.labels.yaml``, parsed and validated like a golden set
(every problem is a :class:`~llmops_cli.errors.PromptFileError` naming the file and line, exit 2)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..config import format_validation_error
from ..errors import NotFoundError, PromptFileError
from ..hashing import sha256_of
from ..project import Project
from ..records.judging import HumanValue, LabelItem, LabelSet
from ..yamlio import LineMap, parse_yaml

__all__ = ["LABELS_SUFFIX", "Labels", "consensus", "labels_file", "load_labels", "parse_labels"]

LABELS_SUFFIX = ".labels.yaml"
MAX_LABEL_ITEMS = 100_000
MAX_RATERS = 50


@dataclass(frozen=True)
class Labels:
    """A parsed label set with where it came from (``sha256``: of the file's text, for staleness)."""

    labels: LabelSet
    file: str
    sha256: str
    lines: LineMap

    def line_of(self, index: int, *key: str) -> int | None:
        return self.lines.line(("items", index, *key))

    def item_vars(self, item: LabelItem) -> dict[str, Any]:
        """The judge inputs of ``item``: the set's ``defaults`` under the item's own ``vars``."""
        return {**self.labels.defaults, **item.vars}


def labels_file(project: Project, judge: str) -> str:
    """Where ``judge``'s labels live: ``<paths.evals>/<judge>.labels.yaml``."""
    return f"{project.config.paths.evals.strip('/')}/{judge}{LABELS_SUFFIX}"


def parse_labels(text: str, file: str, judge: str | None = None) -> Labels:
    """Validate a label set's text; every problem names ``file`` and its line."""
    data = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise PromptFileError("a label set must be a mapping with 'items'", file=file, line=1)
    lines = LineMap(text)
    try:
        labels = LabelSet.model_validate(data)
    except ValidationError as exc:
        msg, line = format_validation_error(exc, lines)
        raise PromptFileError(msg, file=file, line=line) from None
    if len(labels.items) > MAX_LABEL_ITEMS:
        raise PromptFileError(f"more than {MAX_LABEL_ITEMS:,} items", file=file, line=lines.line(("items",)))
    if judge is not None and labels.judge is not None and labels.judge != judge:
        raise PromptFileError(
            f"judge: this file labels '{labels.judge}', but it is the label set of '{judge}'",
            file=file,
            line=lines.line(("judge",)),
        )
    seen: dict[str, int] = {}
    for i, item in enumerate(labels.items):
        human_line = lines.line(("items", i, "human"))
        if item.id in seen:
            raise PromptFileError(
                f"items -> {i} -> id: duplicate id '{item.id}' (first at item {seen[item.id]})",
                file=file,
                line=lines.line(("items", i, "id")),
            )
        seen[item.id] = i
        ratings = item.ratings()
        if len(ratings) > MAX_RATERS:
            raise PromptFileError(f"items -> {i} -> human: more than {MAX_RATERS} raters", file=file, line=human_line)
        for r in ratings:
            if labels.scale == "score" and not isinstance(r, int):
                raise PromptFileError(
                    f"items -> {i} -> human: scale is score, so labels are 1-5, got {r!r}", file=file, line=human_line
                )
            if labels.scale == "pass_fail" and r not in ("pass", "fail"):
                raise PromptFileError(
                    f"items -> {i} -> human: scale is pass_fail, so labels are pass or fail, got {r!r}",
                    file=file,
                    line=human_line,
                )
        if "answer" not in {**labels.defaults, **item.vars}:
            raise PromptFileError(
                f"items -> {i} -> vars: no 'answer' (the text the judge grades)",
                file=file,
                line=lines.line(("items", i, "vars")),
            )
    return Labels(labels, file, sha256_of(text), lines)


def load_labels(project: Project, judge: str) -> Labels:
    """The label set of ``judge`` (:class:`NotFoundError` with the expected path when there is none)."""
    file = labels_file(project, judge)
    if not project.source.exists(file):
        raise NotFoundError(f"judge '{judge}' has no labels: write {file} (see `llmops judge label`)", file=file)
    return parse_labels(project.source.read_text(file), file, judge)


def consensus(ratings: list[HumanValue]) -> HumanValue:
    """Several raters' labels as one: the median score (lower median on a tie), the majority pass/fail
    (``fail`` on a tie — a disputed item is not a clear pass)."""
    if all(isinstance(r, int) for r in ratings):
        return int(statistics.median_low([int(r) for r in ratings]))
    counts = Counter(ratings)
    return "pass" if counts["pass"] > counts["fail"] else "fail"
