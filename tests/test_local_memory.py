"""Bounded memory of the in-process model: the prompt-state cache counts what it keeps, grammars are built
once per schema, and 30+ real local calls leave the process RSS flat after warm-up.
Real-model tests need the ``[local]`` extra and are marked ``local_model``."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llmops_cli.providers import local, local_grammar
from llmops_cli.providers.local import PrefixStateCache, fit_schema, schema_budget

VERDICT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reasoning", "score"],
    "properties": {
        "reasoning": {"type": "string", "minLength": 1},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
    },
}
INVOICE_SCHEMA = {
    "type": "object",
    "required": ["vendor", "issue_date", "currency", "total", "line_items"],
    "properties": {
        "vendor": {"type": "string", "minLength": 1},
        "issue_date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "total": {"type": "number"},
        "line_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"description": {"type": "string"}, "quantity": {"type": "number"}},
            },
        },
    },
}


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class FakeState:
    """Stands in for ``llama_cpp.LlamaState``: the same fields the cache reads."""

    def __init__(self, tokens: list[int], native: int, rows: int = 4) -> None:
        import numpy as np

        self.input_ids = np.array(tokens, dtype=np.intc)
        self.scores = np.zeros((rows, 1000), dtype=np.single)
        self.llama_state_size = native
        self.llama_state = b"\0" * native
        self.n_tokens = len(tokens)


# --- no model needed --------------------------------------------------------------------------------


def test_state_cache_counts_every_byte_and_keeps_the_longest_prefix() -> None:
    pytest.importorskip("numpy")
    cache = PrefixStateCache(capacity_bytes=100_000)
    assert bool(cache) and len(cache) == 0  # llama-cpp-python tests `if self.cache:` before saving
    a = FakeState([1, 2, 3, 4], native=30_000)
    cache[[1, 2, 3, 4]] = a
    assert a.scores.shape == (1, 1000)  # the logits copy is cut to the one row load_state broadcasts back
    assert cache.cache_size == 30_000 + a.scores.nbytes + a.input_ids.nbytes
    cache[[1, 2, 9]] = FakeState([1, 2, 9], native=30_000)
    assert cache[[1, 2, 3, 7]] is a  # the longest shared prefix wins
    with pytest.raises(KeyError):
        cache[[5, 6]]
    cache[[1, 2, 3, 4, 5, 6]] = FakeState([1, 2, 3, 4, 5, 6], native=30_000)  # extends [1,2,3,4]: replaces it
    assert len(cache) == 2
    for i in range(10):  # LRU eviction keeps the total under capacity, whatever the states hold
        cache[[100 + i]] = FakeState([100 + i], native=30_000, rows=50)
        assert cache.cache_size <= cache.capacity_bytes
    assert len(cache) <= 3
    cache[[7]] = FakeState([7], native=200_000)  # larger than the whole cache: not kept
    assert [7] not in cache


def test_schema_bounds_follow_the_token_budget() -> None:
    for budget in (64, 96, 128, 320):
        bounded = fit_schema(VERDICT_SCHEMA, budget)
        assert bounded["properties"]["score"] == {"enum": [1, 2, 3, 4, 5]}
        assert "minLength" not in bounded["properties"]["reasoning"]
        assert schema_budget(VERDICT_SCHEMA, budget) <= budget
    short, long = fit_schema(VERDICT_SCHEMA, 64), fit_schema(VERDICT_SCHEMA, 128)
    assert short["properties"]["reasoning"]["maxLength"] < long["properties"]["reasoning"]["maxLength"]
    inv = fit_schema(INVOICE_SCHEMA, 320)
    props = inv["properties"]
    assert props["issue_date"]["maxLength"] == 10 and props["currency"]["maxLength"] == 3  # from the patterns
    assert props["issue_date"]["pattern"] == "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # simple patterns kept, \\d spelled out
    assert "pattern" not in fit_schema({"type": "string", "pattern": "^(a|b)+$"}, 64)  # others left to assertions
    assert 1 <= props["line_items"]["maxItems"] <= local_grammar.MAX_ARRAY_ITEMS
    union = fit_schema({"type": ["string", "null"], "description": "d"}, 64)  # bounds survive a type list
    assert union["anyOf"][0]["maxLength"] >= local_grammar.MIN_GRAMMAR_STRING and union["anyOf"][1] == {"type": "null"}
    assert props["line_items"]["items"]["properties"]["description"]["maxLength"] >= local_grammar.MIN_GRAMMAR_STRING
    assert schema_budget(INVOICE_SCHEMA, 320) <= 320
    assert schema_budget(INVOICE_SCHEMA, 40) > 40  # the structure alone needs more: the caller raises max_tokens


def test_offline_budgets_by_kind_raise_max_tokens_to_what_the_schema_needs() -> None:
    from llmops_cli.models.targets import Target

    t = Target("local/smollm2", budgets={"text": 50, "json": 300, "judge": 90})
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": VERDICT_SCHEMA}}
    assert t.prepare({"max_tokens": 700}, None, None)[0]["max_tokens"] == 50
    assert t.prepare({"max_tokens": 700}, rf, VERDICT_SCHEMA)[0]["max_tokens"] == 300
    params, fmt = t.prepare({"max_tokens": 700}, rf, VERDICT_SCHEMA, judge=True)
    assert params["max_tokens"] == 90
    assert fmt["json_schema"]["schema"]["properties"]["reasoning"]["maxLength"] <= 90
    tight = Target("local/smollm2", budgets={"json": 20})
    params, _ = tight.prepare({}, rf, INVOICE_SCHEMA)
    assert params["max_tokens"] == schema_budget(INVOICE_SCHEMA, 20) > 20
    remote = Target("openai/gpt-4o-mini")  # no budgets: untouched
    assert remote.prepare({"max_tokens": 700}, rf, VERDICT_SCHEMA) == ({"max_tokens": 700}, rf)


# --- real model --------------------------------------------------------------------------------------

QUESTIONS = [
    "Is the parcel late?",
    "Can I return a mug?",
    "Where is my refund?",
    "Do you ship to Canada?",
    "Is the pan oven safe?",
    "How do I reset my password?",
]


@pytest.mark.local_model
def test_thirty_local_calls_keep_rss_flat() -> None:
    """30+ real calls (text, schema-constrained JSON, judge verdicts; many prefixes, so the state cache fills
    and evicts): RSS after warm-up grows by less than the cache's own capacity plus a small slack."""
    pytest.importorskip("llama_cpp", reason="needs the [local] extra: pip install -e '.[local]'")
    from llama_cpp import LlamaGrammar

    path = local.preflight("local/smollm2")
    llm = local.load_model(path)
    capacity = 48 << 20
    old_cache = llm.cache
    llm.set_cache(PrefixStateCache(capacity))
    built: list[Any] = []
    original = LlamaGrammar.from_string

    def counting(cls: Any, grammar: str, verbose: bool = True) -> Any:
        built.append(grammar)
        return original(grammar, verbose=verbose)

    LlamaGrammar.from_string = classmethod(counting)  # type: ignore[method-assign]
    local.schema_grammar.cache_clear()

    def call(i: int) -> dict[str, Any]:
        q = QUESTIONS[i % len(QUESTIONS)]
        kind = i % 3
        if kind == 0:
            msgs = [
                {"role": "system", "content": f"Support bot {i % 4}. Answer briefly."},
                {"role": "user", "content": q},
            ]
            return local.run_chat("local/smollm2", msgs, {"max_tokens": 12, "temperature": 0})
        schema = VERDICT_SCHEMA if kind == 1 else INVOICE_SCHEMA
        rf = {"type": "json_schema", "json_schema": {"name": "o", "schema": fit_schema(schema, 48)}}
        msgs = [{"role": "system", "content": "Reply with JSON only."}, {"role": "user", "content": f"{q} ({i})"}]
        return local.run_chat("local/smollm2", msgs, {"max_tokens": schema_budget(schema, 48), "response_format": rf})

    try:
        for i in range(6):  # warm-up: model pages, sampler buffers, grammars, a full cache
            call(i)
        before = rss_bytes()
        parsed = 0
        for i in range(6, 42):
            res = call(i)
            text = res["choices"][0]["message"]["content"]
            if i % 3:
                parsed += isinstance(json.loads(text), dict)  # schema-constrained output always closes
        after = rss_bytes()
    finally:
        LlamaGrammar.from_string = original  # type: ignore[method-assign]
        llm.set_cache(old_cache)
    assert parsed == 24
    assert len(built) == 2  # one grammar per schema, not one per call
    assert llm.cache is old_cache
    growth = after - before
    assert growth < capacity + (32 << 20), f"RSS grew {growth >> 20} MB over 36 calls"
