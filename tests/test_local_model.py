"""Tests for the offline ``local/...`` provider (real-model tests need the ``[local]`` extra)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llmops_cli.providers import local
from llmops_cli.providers.local import (
    LocalModelUnavailable,
    build_call_kwargs,
    check_local_available,
    resolve_model_path,
    smollm2_path,
)

MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="module")
def litellm_local() -> Any:
    import litellm

    from llmops_cli.providers import register_custom_providers

    register_custom_providers(litellm)
    return litellm


# --- no model needed --------------------------------------------------------------------------------


def test_unavailable_error_names_install_command() -> None:
    with pytest.raises(LocalModelUnavailable) as info:
        check_local_available(llama_module="llmops_no_such_module_for_tests")
    message = str(info.value)
    assert "pip install -e '.[local]'" in message
    assert "llmops_no_such_module_for_tests" in message
    assert "cmake" in message and "-DGGML_NATIVE=OFF" in message


def test_missing_model_package_and_files() -> None:
    with pytest.raises(LocalModelUnavailable, match=r"pip install -e '\.\[local\]'"):
        smollm2_path(package="llmops_no_such_model_package")
    with pytest.raises(LocalModelUnavailable, match="GGUF file not found"):
        resolve_model_path("local//nonexistent/dir/model.gguf")
    with pytest.raises(LocalModelUnavailable, match="Unknown local model"):
        resolve_model_path("local/gpt-9")


def test_providers_import_is_light() -> None:
    code = (
        "import sys, llmops_cli.providers, llmops_cli.providers.local; "
        "assert not {'litellm', 'llama_cpp'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_param_mapping() -> None:
    pytest.importorskip("llama_cpp", reason="grammars need the [local] extra")
    kwargs = build_call_kwargs({"temperature": 0.0, "top_p": 0.5, "max_tokens": 7, "tools": []})
    assert kwargs == {"temperature": 0.0, "top_p": 0.5, "max_tokens": 7, "seed": local.DEFAULT_SEED}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    kwargs = build_call_kwargs(
        {"seed": 3, "response_format": {"type": "json_schema", "json_schema": {"schema": schema}}}
    )
    assert kwargs["seed"] == 3 and kwargs["max_tokens"] == local.DEFAULT_MAX_TOKENS
    # the schema becomes a grammar built once per schema (not llama-cpp-python's per-call conversion)
    assert "response_format" not in kwargs and kwargs["grammar"] is local.schema_grammar(json.dumps(schema))
    again = build_call_kwargs({"response_format": {"type": "json_schema", "json_schema": {"schema": dict(schema)}}})
    assert again["grammar"] is kwargs["grammar"]


def test_registration_is_idempotent_and_free(litellm_local: Any) -> None:
    from llmops_cli.providers import register_custom_providers

    register_custom_providers(litellm_local)
    entries = [item for item in litellm_local.custom_provider_map if item["provider"] == "local"]
    assert len(entries) == 1
    assert isinstance(entries[0]["custom_handler"], litellm_local.CustomLLM)
    assert litellm_local.model_cost["local/smollm2"]["input_cost_per_token"] == 0.0


# --- real model -------------------------------------------------------------------------------------


@pytest.mark.local_model
def test_completion_via_litellm(litellm_local: Any) -> None:
    pytest.importorskip("llama_cpp")
    response = litellm_local.completion(model="local/smollm2", messages=MESSAGES, max_tokens=16, temperature=0)
    assert response.choices[0].message.content.strip()
    assert response.usage.prompt_tokens > 0
    assert 0 < response.usage.completion_tokens <= 16
    assert litellm_local.completion_cost(completion_response=response) == 0.0
    assert response._hidden_params.get("response_cost") == 0.0
    again = litellm_local.completion(model="local/smollm2", messages=MESSAGES, max_tokens=16, temperature=0.8)
    third = litellm_local.completion(model="local/smollm2", messages=MESSAGES, max_tokens=16, temperature=0.8)
    assert again.choices[0].message.content == third.choices[0].message.content  # fixed default seed


@pytest.mark.local_model
def test_async_concurrent_calls_are_serialized(litellm_local: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")
    active = 0
    peak = 0
    guard = threading.Lock()
    real_run_chat = local.run_chat

    def counting_run_chat(*args: Any, **kwargs: Any) -> dict[str, Any]:
        nonlocal active, peak
        with guard:
            active += 1
            peak = max(peak, active)
        try:
            return real_run_chat(*args, **kwargs)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(local, "run_chat", counting_run_chat)

    async def main() -> tuple[list[Any], int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:  # proves the event loop is not blocked by the model
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        calls = [
            litellm_local.acompletion(
                model="local/smollm2",
                messages=[{"role": "user", "content": f"Say the number {n}."}],
                max_tokens=12,
            )
            for n in range(3)
        ]
        results = await asyncio.gather(*calls)
        stop.set()
        await tick_task
        return results, ticks

    started = time.perf_counter()
    results, ticks = asyncio.run(main())
    elapsed = time.perf_counter() - started
    assert len(results) == 3
    for response in results:
        assert response.choices[0].message.content.strip()
        assert response.usage.completion_tokens > 0
    assert peak == 1
    assert ticks > elapsed * 10  # loop kept running (ticks every ~10 ms) while the model worked


@pytest.mark.local_model
def test_json_mode_returns_parseable_json(litellm_local: Any) -> None:
    pytest.importorskip("llama_cpp")
    response = litellm_local.completion(
        model="local/smollm2",
        messages=[
            {"role": "system", "content": "You reply with a JSON object only."},
            {"role": "user", "content": 'Give a JSON object with keys "city" and "country" for Paris.'},
        ],
        response_format={"type": "json_object"},
        max_tokens=64,
        temperature=0,
    )
    parsed = json.loads(response.choices[0].message.content)
    assert isinstance(parsed, dict)


@pytest.mark.local_model
def test_json_schema_mode_follows_schema(litellm_local: Any) -> None:
    pytest.importorskip("llama_cpp")
    schema = {
        "type": "object",
        "properties": {"sentiment": {"type": "string", "enum": ["positive", "negative"]}},
        "required": ["sentiment"],
    }
    response = litellm_local.completion(
        model="local/smollm2",
        messages=[{"role": "user", "content": 'Classify the sentiment of "The product arrived broken".'}],
        response_format={"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}},
        max_tokens=32,
        temperature=0,
    )
    parsed = json.loads(response.choices[0].message.content)
    assert parsed["sentiment"] in {"positive", "negative"}
