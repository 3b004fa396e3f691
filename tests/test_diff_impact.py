"""Impact classification rules (``llmops_cli.diff.impact.classify_impact``), one test per rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmops_cli.diff.impact import IMPACT_RULES, classify_impact
from llmops_cli.diff.structural import structural_changes
from llmops_cli.project import Project, parse_prompt_text
from llmops_cli.sources import FsSource

BASE = """
model: openai/gpt-4o-mini-2024-07-18
params: {temperature: 0.2}
inputs:
  question: {type: string}
  count: {type: integer, default: 3}
  locale: {type: string, enum: [en, de], default: en}
  tags: {type: array, items: {type: string}, default: []}
output:
  format: json
  schema:
    type: object
    required: [answer]
    properties:
      answer: {type: string, description: The answer}
      priority: {type: integer}
messages:
  - role: system
    content: Be brief.
  - role: user
    content: "{{ question }} {{ count }} {{ locale }} {{ tags }}"
"""


@pytest.fixture
def make(tmp_path: Path):
    project = Project(FsSource(tmp_path))

    def build(text: str, name: str = "p"):
        spec, lines = parse_prompt_text(textwrap.dedent(text), f"prompts/{name}.prompt.yaml")
        return project.build_prompt(name, f"prompts/{name}.prompt.yaml", spec, lines)

    return build


def level(make, new_text: str, old_text: str = BASE) -> tuple[str, list[str]]:
    imp = classify_impact(make(old_text), make(new_text))
    return imp.level, imp.reasons


CASES = [
    # (description, transform of BASE, expected level, a word expected in the reasons)
    ("required input added", lambda s: s.replace("inputs:\n", "inputs:\n  tier: {type: string}\n"), "breaking", "tier"),
    (
        "optional input added",
        lambda s: s.replace("inputs:\n", "inputs:\n  tier: {type: string, default: x}\n"),
        "feature",
        "optional",
    ),
    ("input removed", lambda s: s.replace("  count: {type: integer, default: 3}\n", ""), "breaking", "count"),
    (
        "input type changed",
        lambda s: s.replace("question: {type: string}", "question: {type: integer}"),
        "breaking",
        "type",
    ),
    (
        "input type widened",
        lambda s: s.replace("count: {type: integer, default: 3}", "count: {type: number, default: 3}"),
        "feature",
        "integer → number",
    ),
    (
        "input became required",
        lambda s: s.replace("count: {type: integer, default: 3}", "count: {type: integer}"),
        "breaking",
        "required",
    ),
    (
        "input became optional",
        lambda s: s.replace("question: {type: string}", "question: {type: string, default: hi}"),
        "feature",
        "optional",
    ),
    ("enum narrowed", lambda s: s.replace("enum: [en, de]", "enum: [en]"), "breaking", "no longer allowed"),
    ("enum widened", lambda s: s.replace("enum: [en, de]", "enum: [en, de, fr]"), "feature", "allowed"),
    ("items changed", lambda s: s.replace("items: {type: string}", "items: {type: integer}"), "breaking", "item"),
    (
        "output format changed",
        lambda s: s.split("output:")[0] + "output: text\nmessages:" + s.split("messages:")[1],
        "breaking",
        "format",
    ),
    ("output field removed", lambda s: s.replace("      priority: {type: integer}\n", ""), "breaking", "priority"),
    (
        "output field retyped",
        lambda s: s.replace("priority: {type: integer}", "priority: {type: string}"),
        "breaking",
        "priority",
    ),
    (
        "output field no longer required",
        lambda s: s.replace("required: [answer]", "required: []"),
        "breaking",
        "answer",
    ),
    (
        "output field added",
        lambda s: s.replace(
            "      priority: {type: integer}\n", "      priority: {type: integer}\n      lang: {type: string}\n"
        ),
        "feature",
        "lang",
    ),
    ("model changed", lambda s: s.replace("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"), "feature", "model"),
    ("param changed", lambda s: s.replace("temperature: 0.2", "temperature: 0.7"), "patch", "temperature 0.2 → 0.7"),
    ("template wording", lambda s: s.replace("Be brief.", "Be very brief."), "patch", "template"),
    ("default changed", lambda s: s.replace("default: 3", "default: 5"), "patch", "default"),
    (
        "output description only",
        lambda s: s.replace("description: The answer", "description: The final answer"),
        "patch",
        "description",
    ),
    ("metadata only", lambda s: "description: new words\n" + s, "none", ""),
]


@pytest.mark.parametrize(("what", "transform", "expected", "word"), CASES, ids=[c[0] for c in CASES])
def test_rule(make, what, transform, expected, word):
    lv, reasons = level(make, transform(BASE))
    assert lv == expected, (what, reasons)
    if word:
        assert any(word in r for r in reasons), reasons


def test_added_removed_renamed(make):
    p = make(BASE)
    assert classify_impact(None, p).level == "feature"
    assert classify_impact(p, None).level == "breaking"
    assert classify_impact(None, None).level == "none"
    renamed = classify_impact(p, make(BASE, name="q"))
    assert renamed.level == "breaking"
    assert "renamed from `p`" in renamed.reasons[0]
    assert classify_impact(p, make(BASE)).level == "none"


def test_highest_level_wins_and_all_changes_kept(make):
    new = BASE.replace("temperature: 0.2", "temperature: 0.7").replace("inputs:\n", "inputs:\n  tier: {type: string}\n")
    imp = classify_impact(make(BASE), make(new))
    assert imp.level == "breaking" and imp.bump == "major"
    assert [c.kind for c in imp.changes] == ["param_changed", "input_added_required"]
    assert imp.reasons == ["input `tier` added (required, string)"]


def test_every_change_kind_has_a_rule(make):
    kinds = set()
    for _, transform, _, _ in CASES:
        kinds |= {c.kind for c in structural_changes(make(BASE), make(transform(BASE)))}
    assert kinds <= set(IMPACT_RULES)
