"""Prices and token counts from litellm's bundled tables, read offline. A model litellm has no price for — or
lists at zero, as self-hosted entries do — is *unknown* (None), never $0."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import cache

from .runtime import import_litellm


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


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Input tokens of chat messages for ``model`` (litellm's counter; tiktoken fallback)."""
    litellm = import_litellm()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return int(litellm.token_counter(model=model, messages=messages))
