"""Custom litellm providers shipped with llmops (currently ``local/...``: offline GGUF models).

This package imports neither litellm nor llama_cpp at import time; callers pass in the litellm module.
"""

from __future__ import annotations

from typing import Any

LOCAL_PROVIDER = "local"
LOCAL_MODELS = ("local/smollm2",)

__all__ = ["LOCAL_MODELS", "LOCAL_PROVIDER", "register_custom_providers"]


def register_custom_providers(litellm_module: Any) -> None:
    """Register llmops' custom providers with ``litellm_module`` (idempotent).

    Adds ``{"provider": "local", "custom_handler": ...}`` to ``litellm.custom_provider_map`` (keeping
    any other entries) and registers zero prices for the built-in ``local/*`` models so litellm's cost
    accounting reports 0.0. Works without the ``[local]`` extra; using a local model then fails with
    ``LocalModelUnavailable``.
    """
    from llmops_cli.providers.local_litellm import make_handler, zero_price_entry

    handler = make_handler(litellm_module)
    provider_map = [
        item
        for item in (getattr(litellm_module, "custom_provider_map", None) or [])
        if item.get("provider") != LOCAL_PROVIDER
    ]
    provider_map.append({"provider": LOCAL_PROVIDER, "custom_handler": handler})
    litellm_module.custom_provider_map = provider_map

    # litellm only learns custom provider names lazily, on the first completion() call
    # (litellm.utils.custom_llm_setup). Do it now so register_model()/get_model_info() recognise
    # "local/..." instead of printing "LLM Provider NOT provided" noise.
    for registry in ("provider_list", "_custom_providers"):
        names = getattr(litellm_module, registry, None)
        if isinstance(names, list) and LOCAL_PROVIDER not in names:
            names.append(LOCAL_PROVIDER)

    missing = {model: zero_price_entry() for model in LOCAL_MODELS if model not in litellm_module.model_cost}
    if missing:
        litellm_module.register_model(missing)
