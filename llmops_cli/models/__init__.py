"""The one model layer: every provider call of llmops — eval generations, judges, the gate's runs,
``prompt diff --cost`` and ``Prompt.complete()`` / ``Prompt.acomplete()`` — resolves and calls through here.

* :mod:`.targets` — a model name through ``llmops.yaml`` to a :class:`ModelRoute` (hashed with the prompt),
  then to the :class:`Target` of a call (offline fallback, ``--api-base``) and the key rule;
* :mod:`.call` — THE model call, ``call(target, ModelRequest) -> ModelReply`` / ``acall``: eval, judges and
  serving send every request through it;
* :mod:`.retry` — the one retry policy (:class:`RetryPolicy`, :class:`RetryDecision`, the Retry-After parser)
  and the one retry loop;
* :mod:`.wire` — a :class:`~llmops_cli.records.chat.ModelRequest` as litellm's arguments (tools, tool choice,
  strict JSON Schema, images and files), and :func:`build_request` from a rendered prompt;
* :mod:`.reply` — the one response reader (text, typed tool calls, finish reason, usage, cost);
* :mod:`.runtime` — the one lazy ``import litellm`` and its setup (local providers registered);
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
    from .call import CallFailed, acall, call
    from .prices import Price, count_tokens, price_of, response_cost
    from .reply import read_reply
    from .retry import RetryDecision, RetryPolicy
    from .runtime import import_litellm
    from .wire import build_request, wire_request

__all__ = [
    "PLACEHOLDER_KEY",
    "PROVIDER_KEY_ENV",
    "CallFailed",
    "Endpoint",
    "ModelRoute",
    "Price",
    "RetryDecision",
    "RetryPolicy",
    "Target",
    "acall",
    "build_request",
    "call",
    "choose_target",
    "count_tokens",
    "import_litellm",
    "is_in_process",
    "price_of",
    "provider_of",
    "read_reply",
    "resolve_route",
    "resolve_target",
    "response_cost",
    "wire_request",
]

_LAZY = {
    "CallFailed": ".call",
    "acall": ".call",
    "call": ".call",
    "RetryDecision": ".retry",
    "RetryPolicy": ".retry",
    "build_request": ".wire",
    "wire_request": ".wire",
    "read_reply": ".reply",
    "Price": ".prices",
    "count_tokens": ".prices",
    "price_of": ".prices",
    "import_litellm": ".runtime",
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
