"""What makes the offline stand-in fast, checked on the real SmolLM2-135M: the Q8_0 copy of its weights
(``local_weights``), grammar checks on the likeliest tokens only (``local_sampling``) and compact JSON grammars.
Marked ``local_model`` (needs the ``[local]`` extra)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
pytest.importorskip("llama_cpp", reason="needs the [local] extra: pip install -e '.[local]'")
pytestmark = pytest.mark.local_model

from llmops_cli.providers import local, local_weights  # noqa: E402
from llmops_cli.providers.local_sampling import GrammarFilter  # noqa: E402

VERDICT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reasoning", "score"],
    "properties": {
        "reasoning": {"type": "string", "minLength": 1},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
    },
}
INVOICE = {
    "type": "object",
    "required": ["vendor", "total", "currency", "items"],
    "properties": {
        "vendor": {"type": "string"},
        "total": {"type": "number"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"d": {"type": "string"}}}},
    },
}
PROMPTS = [
    (VERDICT, 96, 'Grade the answer "Paris is the capital" to "What is the capital of France?" as JSON.'),
    (VERDICT, 96, 'Evaluate the answer "I like turtles" to the question "What is 2+2?". Reply in JSON.'),
    (INVOICE, 160, "Extract as JSON: ACME Corp invoice, 3 widgets at 4.00 USD, 2 bolts at 1.50, total 15.00 USD."),
]


@pytest.fixture(scope="module")
def llm() -> Any:
    return local.load_model(local.preflight("local/smollm2"))


def _greedy(llm: Any, schema: dict[str, Any], budget: int, text: str) -> str:
    kwargs = local.build_call_kwargs(
        {"max_tokens": budget, "temperature": 0, "response_format": local.schema_response_format(schema, budget)}
    )
    llm.reset()
    reply = llm.create_chat_completion(messages=[{"role": "user", "content": text}], **kwargs)
    return reply["choices"][0]["message"]["content"]


def test_grammar_filter_picks_the_same_greedy_tokens_as_the_full_check(llm: Any, monkeypatch: Any) -> None:
    import llmops_cli.providers.local_sampling as sampling

    filtered = [_greedy(llm, *p) for p in PROMPTS]
    for out in filtered:
        json.loads(out)
    original = llm._init_sampler.args[1]  # llama-cpp-python's own chain: the grammar checks every token
    monkeypatch.setattr(llm, "_init_sampler", original)
    assert [_greedy(llm, *p) for p in PROMPTS] == filtered
    # one candidate: the grammar rejects it often and the whole-vocabulary fallback has to find the token
    made: list[GrammarFilter] = []

    class OneCandidate(GrammarFilter):
        def __init__(self, llm: Any, grammar: Any) -> None:
            super().__init__(llm, grammar, candidates=1)
            made.append(self)

    monkeypatch.setattr(llm, "_init_sampler", lambda **kw: sampling.init_sampler(llm, original, **kw))
    monkeypatch.setattr(sampling, "GrammarFilter", OneCandidate)
    assert [_greedy(llm, *p) for p in PROMPTS] == filtered
    assert sum(f.full_checks for f in made) > 0


def test_compact_json_grammar(llm: Any) -> None:
    out = _greedy(llm, *PROMPTS[0])
    assert json.loads(out)["score"] in range(1, 6)
    assert not out.startswith("{ ") and '": ' not in out and '" :' not in out, out


def test_weights_are_requantized_once_and_cached(tmp_path: Path, monkeypatch: Any) -> None:
    source = local.smollm2_path()
    monkeypatch.setenv("LLMOPS_LOCAL_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.delenv("LLMOPS_LOCAL_WEIGHTS", raising=False)
    first = local_weights.prepared_path(source)
    assert first.parent == tmp_path / "models" and first.name.endswith(".q8_0.gguf")
    assert first.read_bytes()[:4] == b"GGUF" and first.stat().st_size > source.stat().st_size
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temporary file left behind
    mtime = first.stat().st_mtime_ns
    assert local_weights.prepared_path(source) == first and first.stat().st_mtime_ns == mtime  # reused
    monkeypatch.setenv("LLMOPS_LOCAL_WEIGHTS", "original")
    assert local_weights.prepared_path(source) == source


def test_unwritable_cache_falls_back_to_the_shipped_file(tmp_path: Path, monkeypatch: Any) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("LLMOPS_LOCAL_MODEL_CACHE", str(blocker / "models"))
    monkeypatch.delenv("LLMOPS_LOCAL_WEIGHTS", raising=False)
    source = local.smollm2_path()
    assert local_weights.prepared_path(source) == source
