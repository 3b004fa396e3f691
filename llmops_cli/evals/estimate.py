"""``eval run --estimate``: the tokens and cost of a run before it starts, without calling any model.

The run is planned exactly as ``eval run`` plans it (same prompts, cases, repeats, judges, models); then,
per call it would make:

* **cached** calls (the response cache holds the answer; ``--no-cache`` reads none) cost 0;
* **input tokens** of a generation are counted on its rendered messages with the model's tokenizer
  (litellm's counter, as ``prompt diff --cost``: :func:`llmops_cli.models.prices.count_tokens`) — exact;
  a judge's input is its rendered prompt with the graded output, known when the generation is cached and
  otherwise the prompt with an empty answer plus the generation's output tokens (expected, or at most);
* **output tokens**: at most the request's ``max_tokens`` (else the model's largest output, else
  :data:`~llmops_cli.models.prices.DEFAULT_OUTPUT_TOKENS`); expected: the mean observed by earlier runs of the
  same request (or of the same prompt and model; :mod:`.history`), else the upper bound;
* **prices** from litellm's table; a model without one makes the cost *unknown* (None), never $0.
  In-process models cost 0.

A judge's re-ask after an unparsable verdict is an extra call this estimate does not count. The result is a
typed, versioned record (:class:`RunEstimate`, ``kind: llmops-eval-estimate``, ``schema_version: 1``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .fields import EXTRA, JsonModel, meta

if TYPE_CHECKING:
    from ..models import Target
    from ..project import Project
    from .cache import ResponseCache
    from .history import OutputHistory
    from .plan import EvalOptions, Plan

ESTIMATE_KIND = "llmops-eval-estimate"
ESTIMATE_SCHEMA_VERSION = 1
_NONNEG = {"minimum": 0}


@dataclass
class CallGroup(JsonModel):
    """The calls of one prompt's generations, or of one judge grading one prompt's outputs."""

    role: Literal["generation", "judge"] = field(default="generation", metadata=meta(required=True))
    prompt: str = field(default="", metadata=meta(required=True, doc="the evaluated prompt"))
    judge: str | None = field(default=None, metadata=meta(doc="the judge prompt (role judge)"))
    model: str = field(default="", metadata=meta(required=True))
    calls: int = field(default=0, metadata=meta(schema=_NONNEG, doc="calls the run makes, cached ones included"))
    cached: int = field(default=0, metadata=meta(schema=_NONNEG, doc="answered by the response cache: cost 0"))
    prompt_tokens: int = field(default=0, metadata=meta(schema=_NONNEG, doc="input tokens of the uncached calls"))
    prompt_tokens_max: int = field(default=0, metadata=meta(schema=_NONNEG, doc="judges: with the longest outputs"))
    prompt_tokens_exact: bool = field(default=True, metadata=meta(doc="false when a judge grades an unknown output"))
    output_tokens_max: int = field(default=0, metadata=meta(schema=_NONNEG))
    output_tokens_expected: int = field(default=0, metadata=meta(schema=_NONNEG))
    output_tokens_from: list[str] = field(
        default_factory=list, metadata=meta(doc="history, history (prompt), max_tokens, model limit or default")
    )
    input_usd_per_token: float | None = field(default=None, metadata=meta(schema=_NONNEG))
    output_usd_per_token: float | None = field(default=None, metadata=meta(schema=_NONNEG))
    cost_max_usd: float | None = field(default=None, metadata=meta(schema=_NONNEG, doc="null: unknown price"))
    cost_expected_usd: float | None = field(default=None, metadata=meta(schema=_NONNEG, doc="null: unknown price"))
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)


@dataclass
class RunEstimate(JsonModel):
    """Tokens and cost of an eval run before it starts (``llmops eval run --estimate --json``)."""

    schema_version: int = field(default=ESTIMATE_SCHEMA_VERSION, metadata=meta(required=True))
    kind: str = field(default=ESTIMATE_KIND, metadata=meta(required=True))
    currency: str = field(default="USD", metadata=meta())
    repeat: int = field(default=1, metadata=meta(schema=_NONNEG, doc="R: generations per case"))
    judge_samples: int = field(default=1, metadata=meta(schema=_NONNEG, doc="K: judge calls per output"))
    samples: int = field(default=0, metadata=meta(schema=_NONNEG, doc="prompt × case × repeat"))
    calls: int = field(default=0, metadata=meta(schema=_NONNEG))
    cached: int = field(default=0, metadata=meta(schema=_NONNEG))
    prompt_tokens: int = field(default=0, metadata=meta(schema=_NONNEG))
    output_tokens_max: int = field(default=0, metadata=meta(schema=_NONNEG))
    output_tokens_expected: int = field(default=0, metadata=meta(schema=_NONNEG))
    cost_max_usd: float | None = field(default=None, metadata=meta(doc="null when a model's price is unknown"))
    cost_expected_usd: float | None = field(default=None, metadata=meta(doc="null when a model's price is unknown"))
    unpriced: list[str] = field(default_factory=list, metadata=meta(doc="models without a price (uncached calls)"))
    max_cost_usd: float | None = field(
        default=None, metadata=meta(doc="the run's cap (--max-cost or budget.max_cost_usd), null when none")
    )
    groups: list[CallGroup] = field(default_factory=list, metadata=meta())
    extra: dict[str, Any] = field(default_factory=dict, metadata=EXTRA)


@dataclass
class _Acc:
    group: CallGroup
    expected_out: float = 0.0
    sources: set[str] = field(default_factory=set)

    def add(self, tokens: int, tokens_max: int, out_max: int, out_expected: float, source: str) -> None:
        g = self.group
        g.prompt_tokens += tokens
        g.prompt_tokens_max += tokens_max
        g.output_tokens_max += out_max
        self.expected_out += out_expected
        self.sources.add(source)


def estimate_run(
    project: Project, options: EvalOptions, *, judge_project: Project | None = None, run_root: str | None = None
) -> RunEstimate:
    """Plan the run ``options`` describe and estimate it; no model is called, nothing is written."""
    from .cache import ResponseCache
    from .history import load_history
    from .plan import build_plan

    plan = build_plan(project, options, judge_project=judge_project)
    root = str(run_root or project.root or os.getcwd())
    cache = ResponseCache(project.config.cache_dir(str(project.root or root)), read=options.use_cache, write=False)
    est = estimate_plan(plan, cache, load_history(root))
    cap = options.max_cost_usd if options.max_cost_usd is not None else project.config.budget.max_cost_usd
    est.max_cost_usd = cap
    return est


def _output_bound(target: Target, params: dict[str, Any]) -> tuple[int, str]:
    from ..models.prices import DEFAULT_OUTPUT_TOKENS
    from .budget import output_bound

    for key in ("max_tokens", "max_completion_tokens"):
        if params.get(key):
            return int(params[key]), "max_tokens"
    bound = output_bound(target, params)
    return (bound, "model limit") if bound is not None else (DEFAULT_OUTPUT_TOKENS, "default")


def estimate_plan(plan: Plan, cache: ResponseCache, history: OutputHistory) -> RunEstimate:
    """Tokens and cost of every call ``plan`` makes (see the module's docstring)."""
    from ..models.prices import count_tokens
    from .execute import generation_key, generation_request, judge_key, judge_request, request_hash_of

    accs: dict[tuple[str, str, str | None], _Acc] = {}

    def acc(role: Literal["generation", "judge"], prompt: str, judge: str | None, model: str) -> _Acc:
        key = (role, prompt, judge)
        if key not in accs:
            accs[key] = _Acc(CallGroup(role, prompt, judge, model))
        return accs[key]

    for pp in plan.prompts:
        t = pp.target
        gen = acc("generation", pp.name, None, t.model)
        for cp in pp.cases:
            messages, params, rf = generation_request(pp, cp)
            tokens = count_tokens(t.model, messages)
            out_max, max_from = _output_bound(t, params)
            tools = pp.prompt.tool_fields()
            seen = history.generation(request_hash_of(t, messages, params, rf, tools), pp.name, t.model)
            out_exp, exp_from = (min(seen[0], out_max), seen[1]) if seen else (float(out_max), max_from)
            judge_specs = [spec for spec in cp.asserts if spec.is_judge]
            blank: dict[int, tuple[Any, int]] = {}  # judge request with an empty answer, per assertion
            for s in range(plan.repeat):
                gen.group.calls += 1
                entry = cache.get(generation_key(t, messages, params, rf, s, tools))
                output: str | None = entry["text"] if entry is not None else None
                if output is not None:
                    gen.group.cached += 1
                else:
                    gen.add(tokens, tokens, out_max, out_exp, exp_from)
                for spec in judge_specs:
                    jplan = plan.judges[cp.judge_of[spec.index]]
                    jt = jplan.target
                    jacc = acc("judge", pp.name, jplan.name, jt.model)
                    if output is not None:
                        request = judge_request(jplan, cp, spec, output, messages)
                        jtok = jtok_max = count_tokens(jt.model, request[0])
                    else:
                        if spec.index not in blank:
                            req = judge_request(jplan, cp, spec, "", messages)
                            blank[spec.index] = (req, count_tokens(jt.model, req[0]))
                        request, base = blank[spec.index]
                        jtok, jtok_max = base + round(out_exp), base + out_max
                        jacc.group.prompt_tokens_exact = False
                    j_max, j_from = _output_bound(jt, request[1])
                    seen_j = history.judge(pp.name)
                    j_exp, j_src = (min(seen_j, j_max), "history") if seen_j is not None else (float(j_max), j_from)
                    for k in range(jplan.samples):
                        jacc.group.calls += 1
                        jm, jp, jrf = request
                        if output is not None and cache.get(judge_key(jplan, jm, jp, jrf, output, s, k)) is not None:
                            jacc.group.cached += 1
                        else:
                            jacc.add(jtok, jtok_max, j_max, j_exp, j_src)
    return _total(plan, [_priced(a) for a in accs.values()])


def _priced(a: _Acc) -> CallGroup:
    from ..models import is_in_process
    from ..models.prices import price_of

    g = a.group
    g.output_tokens_expected = round(a.expected_out)
    g.output_tokens_from = sorted(a.sources)
    if is_in_process(g.model):
        g.input_usd_per_token = g.output_usd_per_token = 0.0
        g.cost_max_usd = g.cost_expected_usd = 0.0
        return g
    price = price_of(g.model)
    uncached = g.calls - g.cached
    if price is None:
        if not uncached:
            g.cost_max_usd = g.cost_expected_usd = 0.0
        return g
    g.input_usd_per_token, g.output_usd_per_token = price.input_per_token, price.output_per_token
    g.cost_max_usd = round(g.prompt_tokens_max * price.input_per_token + g.output_tokens_max * price.output_per_token,
                           10)  # fmt: skip
    g.cost_expected_usd = round(g.prompt_tokens * price.input_per_token + a.expected_out * price.output_per_token, 10)
    return g


def _total(plan: Plan, groups: list[CallGroup]) -> RunEstimate:
    est = RunEstimate(repeat=plan.repeat, judge_samples=plan.judge_samples, samples=plan.total(), groups=groups)
    for g in groups:
        est.calls += g.calls
        est.cached += g.cached
        est.prompt_tokens += g.prompt_tokens
        est.output_tokens_max += g.output_tokens_max
        est.output_tokens_expected += g.output_tokens_expected
    if any(g.cost_max_usd is None for g in groups):
        est.unpriced = sorted({g.model for g in groups if g.cost_max_usd is None})
    else:
        est.cost_max_usd = round(sum(g.cost_max_usd or 0.0 for g in groups), 10)
        est.cost_expected_usd = round(sum(g.cost_expected_usd or 0.0 for g in groups), 10)
    return est


ESTIMATE_HEADERS = ("PROMPT", "CALL", "MODEL", "CALLS", "CACHED", "TOK IN", "TOK OUT EXP/MAX", "OUT FROM",
                    "COST EXP $", "COST MAX $")  # fmt: skip
"""Columns of the estimate table (:func:`estimate_cells`)."""


def estimate_cells(est: RunEstimate) -> list[list[str]]:
    """The estimate table's cells (columns :data:`ESTIMATE_HEADERS`), one row per call group."""
    from ..models.prices import format_usd

    rows = []
    for g in est.groups:
        tok_in = f"{g.prompt_tokens:,}" + ("" if g.prompt_tokens_exact else f"~ (≤{g.prompt_tokens_max:,})")
        rows.append([
            g.prompt, "generation" if g.role == "generation" else f"judge {g.judge}", g.model, str(g.calls),
            str(g.cached), tok_in, f"{g.output_tokens_expected:,}/{g.output_tokens_max:,}",
            ", ".join(g.output_tokens_from) or "—", format_usd(g.cost_expected_usd), format_usd(g.cost_max_usd),
        ])  # fmt: skip
    return rows


def estimate_line(est: RunEstimate) -> str:
    """The totals line under the table."""
    from ..models.prices import format_usd

    line = (
        f"estimate: {est.samples} samples, {est.calls} calls ({est.cached} cached, cost 0); "
        f"expected {format_usd(est.cost_expected_usd)}, at most {format_usd(est.cost_max_usd)}"
    )
    if est.unpriced:
        line += f" — no price for {', '.join(est.unpriced)}: cost unknown"
    cap = est.max_cost_usd
    if cap is not None:
        if est.unpriced:
            line += f"\ncap {format_usd(cap)}: cannot be enforced without prices (the run would exit 2)"
        elif est.cost_max_usd is not None and est.cost_max_usd > cap:
            line += f"\ncap {format_usd(cap)}: below the most the run may cost; it may stop early (--resume continues)"
        else:
            line += f"\ncap {format_usd(cap)}: the run fits under it"
    return line
