"""The probes' pure parts: padding is neutral and bounded, model families, the self-preference effect."""

from __future__ import annotations

import re

import yaml

from llmops_cli.judging.labels import parse_labels
from llmops_cli.judging.probes import FILLER, _self_preference, model_family, pad_answer


def test_padding_adds_only_filler_and_about_doubles() -> None:
    answer = "You have 30 days from delivery to return it [Returns and exchanges]."
    padded = pad_answer(answer)
    assert padded.startswith(answer) and len(answer) * 2 <= len(padded) <= len(answer) * 2 + 120
    sentences = re.split(r"(?<=\.) ", padded[len(answer) :].strip())
    assert sentences and all(s in FILLER for s in sentences)


def test_model_family() -> None:
    assert model_family("openai/gpt-4o-2024-08-06") == "gpt"
    assert model_family("anthropic/claude-3-5-sonnet-20241022") == "claude"
    assert model_family("local/smollm2") == "smollm2"


def _labels(models: list[str]) -> object:
    items = [{"id": f"i{i}", "vars": {"answer": "x"}, "human": 3, "model": m} for i, m in enumerate(models)]
    return parse_labels(yaml.safe_dump({"items": items}), "evals/j.labels.yaml")


def test_self_preference_flags_a_judge_lenient_to_its_own_family() -> None:
    models = ["openai/gpt-4o-mini"] * 6 + ["anthropic/claude-3-haiku"] * 6
    own_lenient = [4.0, 4.0, 5.0, 4.0, 4.0, 5.0, 3.0, 3.0, 2.0, 3.0, 3.0, 4.0]
    (run,) = _self_preference("openai/gpt-4o-2024-08-06", _labels(models), own_lenient)  # type: ignore[arg-type]
    assert run.result.flagged and run.result.effect is not None and run.result.effect.low > 0  # type: ignore[operator]
    fair = [3.0, 4.0, 2.0, 3.0, 3.0, 4.0, 3.0, 3.0, 2.0, 4.0, 3.0, 4.0]
    (run,) = _self_preference("openai/gpt-4o-2024-08-06", _labels(models), fair)  # type: ignore[arg-type]
    assert not run.result.flagged
    assert _self_preference("openai/gpt-4o", _labels(["openai/gpt-4o"] * 4), [3.0] * 4) == []  # type: ignore[arg-type]
