"""Executing a plan: generations and judge calls in a bounded asyncio worker pool, through the response cache
(identical calls in flight share one request), retries and timeouts in :class:`~llmops_cli.evals.calling.Caller`;
every finished sample is scored and appended to the journal as a :class:`~llmops_cli.records.results.SampleRecord`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models import Target, is_in_process
from ..models.wire import tool_of, wire_tools
from ..records.content import input_digests
from ..records.results import AssertionRecord, CallError, JudgeStats, SampleRecord, Tokens
from .assertions import AssertionSpec, OutputContext, evaluate, sample_verdict
from .budget import Budget, BudgetReached, worst_cost
from .cache import ResponseCache, cache_key, generation_key, request_hash_of
from .calling import Caller, CallFailed, CallResult
from .conversation import prompt_tools
from .journal import Journal
from .judges import JudgeParseError, candidate_inputs, normalize, parse_verdict, repair_messages, select_inputs
from .plan import CasePlan, JudgePlan, Plan, PromptPlan
from .progress import Progress


def _wire_tools(tool_args: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The tool definitions of ``tool_args`` as sent (OpenAI's function format), for the budget's token count."""
    tools = (tool_args or {}).get("tools") or []
    return wire_tools([tool_of(t) for t in tools]) or None


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


@dataclass
class _JudgeSample:
    score: float | None  # normalised 0..1
    reasoning: str = ""
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    replays: int = 0
    budget: bool = False  # a call was not started: the budget is reached


def generation_request(pp: PromptPlan, cp: CasePlan) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    """``(messages, params, response_format)`` of a case's generation, as sent."""
    rendered = pp.prompt.render(cp.variables)
    params, rf = pp.target.prepare(rendered.params, rendered.response_format, pp.prompt.spec.output.schema_)
    return rendered.messages, params, rf


def judge_request(
    jplan: JudgePlan, cp: CasePlan, spec: AssertionSpec, output: str, messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    """``(messages, params, response_format)`` of a judge call grading ``output`` of a case's generation."""
    cands = candidate_inputs(spec, variables=cp.variables, expected=cp.case.expected, output=output, messages=messages)
    rendered = jplan.prompt.render(select_inputs(jplan.prompt.spec.inputs, cands))
    t = jplan.target
    params, rf = t.prepare(rendered.params, rendered.response_format, jplan.prompt.spec.output.schema_, judge=True)
    return rendered.messages, params, rf


def judge_key(
    jplan: JudgePlan, messages: list[dict[str, Any]], params: dict[str, Any], rf: Any, output: str, sample: int,
    k: int, kind: str = "judge",
) -> str:  # fmt: skip
    """The response-cache key of judge sample ``k`` grading ``output`` (generation number ``sample``)."""
    t = jplan.target
    extra = {"judge_prompt_sha256": jplan.prompt.sha256, "output": output, "generation_sample": sample}
    return cache_key(kind=kind, model=t.model, api_base=t.api_base, messages=messages, params=params,
                     response_format=rf, sample=k, extra=extra)  # fmt: skip


class Executor:
    """Runs the planned items with a bounded worker pool; every finished item goes to the journal."""

    def __init__(
        self,
        plan: Plan,
        cache: ResponseCache,
        caller: Caller,
        journal: Journal,
        progress: Progress,
        budget: Budget | None = None,
    ) -> None:
        self.plan = plan
        self.budget = budget
        self.stopped = False  # the budget refused a request: no new sample starts
        self.cache = cache
        self.caller = caller
        self.journal = journal
        self.progress = progress
        self._inflight: dict[str, asyncio.Future[CallResult]] = {}

    async def run(self, done: set[tuple[str, str, int]]) -> None:
        items = ((pp, cp, s) for pp, cp, s in self.plan.items() if (pp.name, cp.case.id, s) not in done)
        # more workers than call slots, so a slot freed by a finished call is refilled while that worker scores
        # and journals its result. In-process models run one call at a time anyway: two items in flight keep
        # the model busy, and each case's judges run right after its generation, so cases finish steadily
        # (progress and ETA mean something) instead of all generations first and every case at the end.
        targets = [p.target for p in self.plan.prompts] + [j.target for j in self.plan.judges.values()]
        local_only = bool(targets) and all(is_in_process(t.model) for t in targets)
        workers = 2 if local_only else max(2, 2 * self.plan.concurrency)

        running = workers

        async def worker() -> None:
            nonlocal running
            try:
                for pp, cp, s in items:
                    if self.stopped:
                        break
                    try:
                        rec, paid = await self.run_item(pp, cp, s)
                    except BudgetReached:  # the sample stays out of the journal: --resume runs it
                        self.stopped = True
                        break
                    self.journal.append(rec.to_dict(), durable=paid)
                    self.progress.advance(rec)
            finally:
                running -= 1
                if not running:
                    ticker.cancel()

        async def tick() -> None:  # lets a progress report time-based lines while no case finishes
            report = getattr(self.progress, "tick", None)
            while report is not None:
                await asyncio.sleep(1.0)
                report()

        try:
            async with asyncio.TaskGroup() as tg:
                ticker = tg.create_task(tick())
                for _ in range(workers):
                    tg.create_task(worker())
        except BaseExceptionGroup as group:  # e.g. a template error while rendering: report the first one
            raise _first_leaf(group) from None

    async def call(
        self,
        key: str,
        kind: str,
        target: Target,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        rf: Any,
        tool_args: dict[str, Any] | None = None,
    ) -> tuple[CallResult, bool]:
        """A cached call: ``(result, replayed)``. Identical calls in flight at once share one request.
        ``tool_args``: ``tools``/``tool_choice``/``parallel_tool_calls`` as sent (they must be part of ``key``)."""
        entry = self.cache.get(key)
        if entry is not None:
            try:
                return CallResult.from_cache(entry), True
            except ValueError:  # an entry whose tool calls cannot be read: a miss
                pass
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), True
        worst = 0.0 if self.budget is None else worst_cost(target, messages, params, _wire_tools(tool_args))
        fut: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            # the budget reserves the worst case once the request holds a call slot, before it is sent
            result = await self.caller.complete(
                target, messages, params, rf, budget=self.budget, worst_usd=worst, tool_args=tool_args
            )
        except BaseException as exc:
            if isinstance(exc, BudgetReached):
                self.stopped = True
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._inflight.pop(key, None)
        self.cache.put(key, result.cache_entry(kind))
        fut.set_result(result)
        return result, False

    async def run_item(self, pp: PromptPlan, cp: CasePlan, sample: int) -> tuple[SampleRecord, bool]:
        """Generate, judge and score one sample: ``(record, paid)`` (``paid``: a provider call was made, so
        the journal must make the record durable)."""
        if cp.case.is_conversation or prompt_tools(pp.prompt):
            from .conversation_item import run_conversation_item

            return await run_conversation_item(self, pp, cp, sample, generation_request(pp, cp))
        t = pp.target
        messages, params, rf = generation_request(pp, cp)
        tools = pp.prompt.tool_fields()
        request_hash = request_hash_of(t, messages, params, rf, tools)
        key = generation_key(t, messages, params, rf, sample, tools)
        rec = SampleRecord(
            prompt=pp.name,
            case_id=cp.case.id,
            sample=sample,
            cluster=cp.case.cluster,
            request_hash=request_hash,
            model=t.model,
            inputs=input_digests(messages) or None,
        )
        try:
            gen, replay = await self.call(key, "generation", t, messages, params, rf, tools or None)
        except CallFailed as exc:
            rec.replay = False
            rec.attempts = exc.attempts
            rec.error = CallError(**exc.to_dict())
            rec.status = "error"
            rec.judge = JudgeStats(samples=0, errors=0, replays=0, tokens=Tokens(prompt=0, completion=0), cost_usd=0)
            return rec, True
        paid = not replay
        ctx = OutputContext(gen.text, gen.latency_ms, gen.cost_usd, pp.prompt.spec.output.schema_, cp.variables)
        final, jstats, judged_paid = await self.score(cp, sample, lambda _spec: ctx, gen.text, messages)
        paid = paid or judged_paid
        score, passed = sample_verdict(final)
        rec.output = gen.text
        rec.replay = replay
        rec.tokens = Tokens(prompt=gen.prompt_tokens, completion=gen.completion_tokens)
        rec.cost_usd = gen.cost_usd
        rec.latency_ms = round(gen.latency_ms, 3)
        rec.attempts = gen.attempts
        rec.status = "pass" if passed else ("fail" if passed is False else "error")
        rec.score = None if score is None else round(score, 6)
        rec.assertions = final
        rec.judge = jstats
        return rec, paid

    async def score(
        self,
        cp: CasePlan,
        sample: int,
        context: Callable[[AssertionSpec], OutputContext],
        judged: str,
        messages: list[dict[str, Any]],
    ) -> tuple[list[AssertionRecord], JudgeStats, bool]:
        """Every assertion of a case on one output: ``(results, judge stats, paid)``. ``context(spec)`` is what a
        deterministic assertion looks at; judges grade ``judged`` (the output, or a conversation's transcript)."""
        results: list[AssertionRecord | None] = [None] * len(cp.asserts)
        judge_tasks = []
        for i, spec in enumerate(cp.asserts):
            if spec.is_judge:
                judge_tasks.append((i, spec))
            else:
                results[i] = evaluate(spec, context(spec))
        jstats = JudgeStats(samples=0, errors=0, replays=0, tokens=Tokens(prompt=0, completion=0), cost_usd=0.0)
        paid = False
        if judge_tasks:
            outs = await asyncio.gather(*(self.judge(cp, spec, judged, messages, sample) for _, spec in judge_tasks))
            if any(js.budget for samples in outs for js in samples):
                raise BudgetReached  # every judge call of the sample has ended: nothing is left running
            jcalls = jerrors = jreplays = jin = jout = 0
            jcost = 0.0
            for (i, spec), samples in zip(judge_tasks, outs, strict=True):
                results[i] = _judge_result(spec, samples)
                for js in samples:
                    jcalls += 1
                    jerrors += js.error is not None
                    jreplays += js.replays
                    jin += js.prompt_tokens
                    jout += js.completion_tokens
                    jcost += js.cost_usd
                    paid = paid or js.calls > js.replays
            jstats = JudgeStats(
                samples=jcalls,
                errors=jerrors,
                replays=jreplays,
                tokens=Tokens(prompt=jin, completion=jout),
                cost_usd=round(jcost, 10),
            )
        return [r for r in results if r is not None], jstats, paid

    async def judge(
        self, cp: CasePlan, spec: AssertionSpec, output: str, messages: list[dict[str, Any]], sample: int
    ) -> list[_JudgeSample]:
        jplan = self.plan.judges[cp.judge_of[spec.index]]
        jmsgs, params, rf = judge_request(jplan, cp, spec, output, messages)
        return list(
            await asyncio.gather(
                *(self.judge_sample(jplan, jmsgs, params, rf, output, sample, k) for k in range(jplan.samples))
            )
        )

    async def judge_sample(
        self,
        jplan: JudgePlan,
        msgs: list[dict[str, Any]],
        params: dict[str, Any],
        rf: Any,
        output: str,
        sample: int,
        k: int,
    ) -> _JudgeSample:
        t = jplan.target
        js = _JudgeSample(None)

        async def ask(kind: str, messages: list[dict[str, Any]]) -> CallResult | None:
            key = judge_key(jplan, messages, params, rf, output, sample, k, kind)
            try:
                res, replay = await self.call(key, kind, t, messages, params, rf)
            except CallFailed as exc:
                js.error = f"judge call failed: {exc.kind}: {exc.message}"
                return None
            except BudgetReached:
                js.budget = True
                return None
            js.calls += 1
            js.replays += replay
            js.prompt_tokens += res.prompt_tokens
            js.completion_tokens += res.completion_tokens
            js.cost_usd += res.cost_usd or 0.0
            return res

        first = await ask("judge", msgs)
        if first is None:
            return js
        try:
            score, reasoning = parse_verdict(first.text)
        except JudgeParseError as exc:
            second = await ask("judge-repair", repair_messages(msgs, first.text, str(exc)))
            if second is None:
                return js
            try:
                score, reasoning = parse_verdict(second.text)
            except JudgeParseError as exc2:
                js.error = f"unparsable judge reply after one repair: {exc2}"
                return js
        js.score = normalize(score)
        js.reasoning = reasoning
        return js


def _judge_result(spec: AssertionSpec, samples: list[_JudgeSample]) -> AssertionRecord:
    scores = [s.score for s in samples]
    valid = [s for s in scores if s is not None]
    errors = sum(1 for s in samples if s.error is not None)
    reasonings = [_clip_reason(s.reasoning if s.score is not None else s.error) for s in samples]
    if not valid:
        first_error = next((s.error for s in samples if s.error), "no judge sample")
        return AssertionRecord(
            index=spec.index, type=spec.type, metric=spec.metric, weight=spec.weight, threshold=spec.threshold,
            score=None, passed=None, reason=f"judge error: {first_error}", samples=[None] * len(samples),
            judge_errors=errors, reasonings=reasonings,
        )  # fmt: skip
    score = sum(valid) / len(valid)
    reasoning = next((s.reasoning for s in samples if s.score is not None and s.reasoning), "")
    if len(reasoning) > 600:
        reasoning = reasoning[:599] + "…"
    note = f" ({errors} of {len(samples)} judge samples errored)" if errors else ""
    return AssertionRecord(
        index=spec.index, type=spec.type, metric=spec.metric, weight=spec.weight, threshold=spec.threshold,
        score=round(score, 6), passed=score >= spec.threshold, reason=reasoning + note,
        samples=[None if s is None else round(s, 6) for s in scores], judge_errors=errors, reasonings=reasonings,
    )  # fmt: skip


def _clip_reason(text: str | None) -> str | None:
    """A judge sample's reasoning (or error) as stored in results: at most 600 characters."""
    if not text:
        return None
    return text if len(text) <= 600 else text[:599] + "…"
