"""Prices and token counts from litellm's bundled tables, read offline. A model litellm has no price for — or
lists at zero, as self-hosted entries do — is *unknown* (None), never $0."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from ..records.content import media_tokens, text_messages
from .runtime import import_litellm
from .targets import is_in_process

if TYPE_CHECKING:
    from ..records.chat import ToolSpec

DEFAULT_OUTPUT_TOKENS = 256
"""Output tokens assumed per call when a request sets no ``max_tokens`` and the model's limit is unknown."""


@dataclass(frozen=True)
class Price:
    input_per_token: float
    output_per_token: float


@cache
def price_of(model: str) -> Price | None:
    """Per-token prices from litellm's bundled table; None when the model is not priced there."""
    litellm = import_litellm()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            info = litellm.get_model_info(model)
    except Exception:  # litellm raises a bare Exception for unmapped models
        return None
    pin, pout = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    # Self-hosted entries list zero prices: say unknown rather than claim $0.
    if pin is None or pout is None or (pin == 0 and pout == 0):
        return None
    return Price(float(pin), float(pout))


@cache
def max_output_tokens(model: str) -> int | None:
    """The most output tokens one call of ``model`` may produce, from litellm's table; None when unknown."""
    litellm = import_litellm()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            info = litellm.get_model_info(model)
    except Exception:  # litellm raises a bare Exception for unmapped models
        return None
    value = info.get("max_output_tokens") or info.get("max_tokens")
    return int(value) if isinstance(value, int) and value > 0 else None


def count_tokens(model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    """Input tokens of chat messages for ``model`` (litellm's counter; tiktoken fallback). Attached images and
    files are estimated from their recorded size (:func:`~llmops_cli.records.content.media_tokens`): litellm's
    counter would fetch an https image to measure it. ``tools``: the tool definitions sent with the call (OpenAI
    function format, :func:`llmops_cli.models.wire.wire_tools`), counted too."""
    litellm = import_litellm()
    extra: dict[str, Any] = {"tools": tools} if tools else {}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        text = int(litellm.token_counter(model=model, messages=text_messages(messages), **extra))
    return text + media_tokens(messages)


def tool_tokens(model: str, tools: list[ToolSpec]) -> int:
    """Input tokens the tool definitions add to every call of ``model`` (litellm's counter, the tools in the
    OpenAI function format; 0 without tools)."""
    if not tools:
        return 0
    litellm = import_litellm()
    wire = [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters, "strict": t.strict},
        }
        for t in tools
    ]
    probe = [{"role": "user", "content": "x"}]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        with_tools = int(litellm.token_counter(model=model, messages=probe, tools=wire))
        without = int(litellm.token_counter(model=model, messages=probe))
    return max(0, with_tools - without)


def response_cost(litellm: Any, response: Any, model: str, no_price: set[str] | None = None) -> float | None:
    """USD cost of a response from litellm's price table; None when the model has no (non-zero) price there.
    In-process models cost exactly 0. ``no_price`` remembers models already found unpriced."""
    if is_in_process(model):
        return 0.0
    if no_price is not None and model in no_price:
        return None
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if cost is None:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cost = float(litellm.completion_cost(completion_response=response, model=model))
        except Exception:
            cost = None
    # None, or a 0 from a table entry that lists no price: unknown, never $0
    if not cost and (cost is None or price_of(model) is None):
        if no_price is not None:
            no_price.add(model)
        return None
    return float(cost)


def format_usd(value: float | None) -> str:
    """``$0.0123`` (4 significant decimals for small sums), or ``unknown``."""
    if value is None:
        return "unknown"
    sign = "-" if value < 0 else ""
    v = abs(value)
    return f"{sign}${v:,.2f}" if v >= 1 else f"{sign}${v:.4f}"


@cache
def deprecation_of(model: str) -> str | None:
    """The model's deprecation date as litellm's table states it (``YYYY-MM-DD``); None when it states none.
    (``get_model_info`` leaves the date out: the table is read by the model id, then without its provider.)"""
    litellm = import_litellm()
    table = getattr(litellm, "model_cost", None)
    if not isinstance(table, dict):
        return None
    for key in (model, model.split("/", 1)[-1]):
        info = table.get(key)
        value = info.get("deprecation_date") if isinstance(info, dict) else None
        if isinstance(value, str) and value:
            return value[:40]
    return None
