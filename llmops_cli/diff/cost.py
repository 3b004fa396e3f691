"""``--cost``: input tokens of the rendered golden cases and the estimated cost per 1,000 calls.

Token counts and prices come from the model layer (:mod:`llmops_cli.models.prices`: litellm's bundled token
counter and price table, read offline, litellm imported only when asked). A model litellm has no price for
is *unknown* (None), never $0.

Tool definitions are sent with every call: their tokens (:func:`~llmops_cli.models.prices.tool_tokens`) are
part of each case's input tokens and reported on their own (``tool_definition_tokens``).

Output tokens cannot be measured without calling the model, so each call is assumed to produce
``params.max_tokens`` output tokens (an upper bound) or :data:`DEFAULT_OUTPUT_TOKENS` when the
prompt sets no ``max_tokens``; the report says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models.prices import Price
    from ..prompt import Prompt, RenderedPrompt

from ..models.prices import DEFAULT_OUTPUT_TOKENS, format_usd

CALLS = 1000


@dataclass(frozen=True)
class SideCost:
    """Tokens and cost of one side of a prompt."""

    model: str
    cases: int
    mean_input_tokens: float | None
    max_input_tokens: int | None
    output_tokens: int
    output_tokens_from: str  # "params.max_tokens" | "default"
    price: Price | None
    cost_per_1k_calls: float | None  # USD; None = unknown (no price, or no case rendered)
    tool_tokens: int = 0  # input tokens of the tool definitions, sent with every call (in the means above)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "cases": self.cases,
            "mean_input_tokens": None if self.mean_input_tokens is None else round(self.mean_input_tokens, 1),
            "max_input_tokens": self.max_input_tokens,
            "tool_definition_tokens": self.tool_tokens,
            "assumed_output_tokens": self.output_tokens,
            "output_tokens_from": self.output_tokens_from,
            "input_cost_per_token": self.price.input_per_token if self.price else None,
            "output_cost_per_token": self.price.output_per_token if self.price else None,
            "cost_per_1k_calls_usd": self.cost_per_1k_calls,
        }


@dataclass(frozen=True)
class CostDiff:
    old: SideCost | None
    new: SideCost | None

    @property
    def delta_per_1k_calls(self) -> float | None:
        """New minus old cost per 1,000 calls; None when either is unknown or absent."""
        a = self.old.cost_per_1k_calls if self.old else None
        b = self.new.cost_per_1k_calls if self.new else None
        if self.old is None and b is not None:
            return b
        if self.new is None and a is not None:
            return -a
        return None if a is None or b is None else b - a

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": "USD",
            "old": self.old.to_dict() if self.old else None,
            "new": self.new.to_dict() if self.new else None,
            "delta_per_1k_calls_usd": self.delta_per_1k_calls,
        }


def side_cost(prompt: Prompt, renders: list[RenderedPrompt]) -> SideCost:
    """Token statistics and cost of one prompt version over its rendered golden cases."""
    from ..models.prices import count_tokens, price_of, tool_tokens

    model = prompt.model
    tools = tool_tokens(model, prompt.tools)
    tokens = [count_tokens(model, r.messages) + tools for r in renders]
    max_tokens = prompt.params.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        out_tokens, out_from = max_tokens, "params.max_tokens"
    else:
        out_tokens, out_from = DEFAULT_OUTPUT_TOKENS, "default"
    price = price_of(model)
    mean = sum(tokens) / len(tokens) if tokens else None
    cost = None
    if price is not None and mean is not None:
        cost = CALLS * (mean * price.input_per_token + out_tokens * price.output_per_token)
    return SideCost(model, len(tokens), mean, max(tokens) if tokens else None, out_tokens, out_from, price, cost, tools)


def cost_diff(
    old: Prompt | None, new: Prompt | None, old_renders: list[RenderedPrompt], new_renders: list[RenderedPrompt]
) -> CostDiff:
    return CostDiff(
        side_cost(old, old_renders) if old is not None else None,
        side_cost(new, new_renders) if new is not None else None,
    )


__all__ = ["CALLS", "DEFAULT_OUTPUT_TOKENS", "CostDiff", "SideCost", "cost_diff", "format_usd", "side_cost"]
