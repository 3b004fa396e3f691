"""A hard spending cap for a run (``eval run --max-cost``, ``budget.max_cost_usd`` in llmops.yaml).

Before a provider request starts, its *worst-case* cost — the rendered messages' input tokens plus the
request's ``max_tokens`` (else the model's largest output) at the model's price — is reserved; the request
starts only if what was spent plus every reservation still in flight plus this one stays within the cap.
When the request ends its reservation is released and its reported cost is added to what was spent (an
attempt that got no HTTP answer — a timeout, a dropped connection — is charged its worst case: the provider
may have billed it; an HTTP error is charged nothing). So
a run never spends more than the cap (unless a provider bills more tokens than it was asked to produce);
the first request that does not fit stops the run: no new sample starts, samples in flight finish, and the
results file says ``incomplete`` (``--resume`` continues). Cache replays cost nothing and reserve nothing.

The cap bounds what *one command* spends: ``--resume`` starts with the cap it is given (or llmops.yaml's).
Every model of the run must have a price (and a bounded output) before anything is called, else the cap
cannot be enforced: :func:`check_enforceable` raises :class:`~llmops_cli.errors.UsageError` (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..models import Target, is_in_process

if TYPE_CHECKING:
    from .plan import Plan


class BudgetReached(Exception):
    """A request was not started: its worst case does not fit under the cap."""


@dataclass
class Budget:
    """The cap, what was spent, and the worst cases reserved by requests in flight (all USD)."""

    cap_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    requests: int = 0  # requests started under the cap
    refused: int = 0  # requests not started (the first one stops the run)
    max_worst_usd: float = 0.0  # the largest worst case reserved

    def reserve(self, worst_usd: float) -> bool:
        """Reserve ``worst_usd`` for a request about to start; False (nothing reserved) when it does not fit."""
        if self.spent_usd + self.reserved_usd + worst_usd > self.cap_usd:
            self.refused += 1
            return False
        self.reserved_usd += worst_usd
        self.requests += 1
        self.max_worst_usd = max(self.max_worst_usd, worst_usd)
        return True

    def settle(self, worst_usd: float, cost_usd: float | None) -> None:
        """A reserved request ended: release its reservation, add what it cost (None: nothing reported)."""
        self.reserved_usd = max(0.0, self.reserved_usd - worst_usd)
        self.spent_usd += cost_usd or 0.0

    @property
    def reached(self) -> bool:
        return self.refused > 0


def output_bound(target: Target, params: dict[str, Any]) -> int | None:
    """The most output tokens a request may produce: its ``max_tokens`` (or ``max_completion_tokens``),
    else the model's largest output from litellm's table; None when neither is known."""
    for key in ("max_tokens", "max_completion_tokens"):
        value = params.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    from ..models.prices import max_output_tokens

    return max_output_tokens(target.model)


def worst_cost(
    target: Target, messages: list[dict[str, Any]], params: dict[str, Any], tools: list[dict[str, Any]] | None = None
) -> float:
    """The most one request may cost (USD): its input tokens (``tools``: the tool definitions sent, OpenAI's
    function format, counted too) and its output bound at the model's price. :func:`check_enforceable` made
    sure both are known for every model of the run."""
    if is_in_process(target.model):
        return 0.0
    from ..models.prices import count_tokens, price_of

    price = price_of(target.model)
    bound = output_bound(target, params)
    if price is None or bound is None:  # refused before the run by check_enforceable
        raise UsageError(f"--max-cost: no price or output bound for {target.model}")
    return count_tokens(target.model, messages, tools) * price.input_per_token + bound * price.output_per_token


def check_enforceable(plan: Plan) -> None:
    """Refuse (exit 2, before any call) a cap that cannot be enforced: a model without a price in litellm's
    table, or a request with neither ``max_tokens`` nor a known largest output for its model."""
    from ..models.prices import price_of

    seen: set[tuple[str, str]] = set()
    checks: list[tuple[str, Target, dict[str, Any]]] = []
    for pp in plan.prompts:
        p = pp.prompt
        params, _ = pp.target.prepare(p.params, p.response_format, p.spec.output.schema_)
        checks.append((f"prompt {pp.name}", pp.target, params))
    for name, jp in plan.judges.items():
        j = jp.prompt
        params, _ = jp.target.prepare(j.params, j.response_format, j.spec.output.schema_, judge=True)
        checks.append((f"judge {name}", jp.target, params))
    for what, target, params in checks:
        if is_in_process(target.model) or (what, target.model) in seen:
            continue
        seen.add((what, target.model))
        if price_of(target.model) is None:
            raise UsageError(
                f"--max-cost / budget.max_cost_usd cannot be enforced: {what} uses {target.label or target.model} "
                f"({target.model}), which has no price in litellm's price table"
            )
        if output_bound(target, params) is None:
            raise UsageError(
                f"--max-cost / budget.max_cost_usd cannot be enforced: {what} sets no max_tokens and the largest "
                f"output of {target.model} is unknown; set params.max_tokens"
            )
