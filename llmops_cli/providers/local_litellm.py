"""The litellm side of the offline provider: a ``litellm.CustomLLM`` serving ``local/...`` and its zero price.

Built from the litellm module the caller already imported (:func:`make_handler`), so importing llmops never
imports litellm; the calls themselves go to :func:`llmops_cli.providers.local.run_chat`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .local import DEFAULT_CTX, arun_chat, run_chat


def _fill_response(litellm_module: Any, model: str, result: dict[str, Any], model_response: Any) -> Any:
    choice = (result.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    if message.get("tool_calls"):  # the offline model's grammar-constrained tool call (providers/local_tools.py)
        model_response.choices[0].message = litellm_module.Message(
            content=None, role="assistant", tool_calls=message["tool_calls"]
        )
    else:
        model_response.choices[0].message.content = message.get("content") or ""
    model_response.choices[0].finish_reason = choice.get("finish_reason") or "stop"
    usage = result.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    completion_tokens = int(usage.get("completion_tokens") or 0)
    model_response.usage = litellm_module.Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )
    model_response.created = int(time.time())
    model_response.model = model
    return model_response


def _chunk(text: str, usage: Any) -> dict[str, Any]:
    return {
        "text": text,
        "is_finished": True,
        "finish_reason": "stop",
        "index": 0,
        "tool_use": None,
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
    }


_handler_lock = threading.Lock()
_handlers: dict[int, Any] = {}


def make_handler(litellm_module: Any) -> Any:
    """Return the (per litellm module, cached) ``litellm.CustomLLM`` instance serving ``local/...``."""
    with _handler_lock:
        handler = _handlers.get(id(litellm_module))
        if handler is not None:
            return handler
        ensure_model_priced = _make_pricer(litellm_module)

        class LocalLLM(litellm_module.CustomLLM):  # type: ignore[misc]
            """litellm custom provider running GGUF models in-process via llama.cpp."""

            def completion(
                self,
                model: str,
                messages: list[dict[str, Any]],
                model_response: Any,
                optional_params: dict[str, Any],
                **_: Any,
            ) -> Any:
                result = run_chat(model, messages, dict(optional_params or {}))
                ensure_model_priced(model)
                return _fill_response(litellm_module, model, result, model_response)

            async def acompletion(
                self,
                model: str,
                messages: list[dict[str, Any]],
                model_response: Any,
                optional_params: dict[str, Any],
                **_: Any,
            ) -> Any:
                result = await arun_chat(model, messages, dict(optional_params or {}))
                ensure_model_priced(model)
                return _fill_response(litellm_module, model, result, model_response)

            def streaming(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
                response = self.completion(*args, **kwargs)
                yield _chunk(response.choices[0].message.content or "", response.usage)

            async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
                response = await self.acompletion(*args, **kwargs)
                yield _chunk(response.choices[0].message.content or "", response.usage)

        handler = _handlers[id(litellm_module)] = LocalLLM()
        return handler


def zero_price_entry() -> dict[str, Any]:
    """A litellm model-cost entry that prices a local model at exactly zero."""
    return {
        "litellm_provider": "local",
        "mode": "chat",
        "max_input_tokens": DEFAULT_CTX,
        "max_output_tokens": DEFAULT_CTX,
        "max_tokens": DEFAULT_CTX,
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
    }


def _make_pricer(litellm_module: Any) -> Any:
    """Return ``ensure(model)`` that registers a zero price for ``local/<model>`` once (for GGUF paths)."""
    seen: set[str] = set()
    lock = threading.Lock()

    def ensure(model: str) -> None:
        key = f"local/{model.removeprefix('local/')}"
        with lock:
            if key in seen:
                return
            seen.add(key)
            if key not in litellm_module.model_cost:
                litellm_module.register_model({key: zero_price_entry()})

    return ensure
