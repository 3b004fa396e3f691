"""The one model layer: every provider call of llmops — eval generations, judges, the gate's runs,
``prompt diff --cost`` and ``Prompt.complete()`` / ``Prompt.acomplete()`` — resolves and calls through here.

* :mod:`.targets` — a model name through ``llmops.yaml`` to a :class:`ModelRoute` (hashed with the prompt),
  then to the :class:`Target` of a call (offline fallback, ``--api-base``) and the key rule;
* :mod:`.runtime` — the one lazy ``import litellm`` and its setup (local providers registered), the request
  keyword arguments;
* :mod:`.prices` — per-token prices (unknown → None, never 0) and token counts.

Importing this package does not import litellm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .targets import (
    PLACEHOLDER_KEY,
    PROVIDER_KEY_ENV,
    Endpoint,
    ModelRoute,
    Target,
    choose_target,
    is_in_process,
    provider_of,
    resolve_route,
    resolve_target,
)

if TYPE_CHECKING:
    from .prices import Price, count_tokens, price_of, response_cost
    from .runtime import import_litellm, request_kwargs

__all__ = [
    "PLACEHOLDER_KEY",
    "PROVIDER_KEY_ENV",
    "Endpoint",
    "ModelRoute",
    "Price",
    "Target",
    "choose_target",
    "count_tokens",
    "import_litellm",
    "is_in_process",
    "price_of",
    "provider_of",
    "request_kwargs",
    "resolve_route",
    "resolve_target",
    "response_cost",
]

_LAZY = {
    "Price": ".prices",
    "count_tokens": ".prices",
    "price_of": ".prices",
    "import_litellm": ".runtime",
    "request_kwargs": ".runtime",
    "response_cost": ".prices",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmops_cli.models' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
