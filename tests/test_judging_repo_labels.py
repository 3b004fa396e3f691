"""This repository's own judge has human labels: evals/judges/rubric.labels.yaml validates, has at least 40
items, and covers every level of the 1-5 scale (good, mediocre and bad answers)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from llmops_cli.judging.labels import load_labels
from llmops_cli.project import Project

ROOT = Path(__file__).resolve().parent.parent


def test_repository_rubric_labels() -> None:
    project = Project.open(ROOT)
    labels = load_labels(project, "judges/rubric")
    items = labels.labels.items
    assert len(items) >= 40
    levels = Counter(it.human for it in items)
    assert set(levels) == {1, 2, 3, 4, 5} and min(levels.values()) >= 3
    declared = project.load("judges/rubric").spec.inputs
    for it in items:
        inputs = labels.item_vars(it)
        assert set(inputs) <= set(declared) and {"criteria", "question", "answer"} <= set(inputs), it.id
        assert it.note, it.id  # every label says why
    assert "judges/rubric.labels" not in project.golden_names()
