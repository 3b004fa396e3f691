"""One sample of a conversation case (or of a prompt that declares tools): every assistant turn is a cached call
whose key holds the whole history, the transcript goes into the sample record, tokens and cost are summed over
the turns, and the assertions look at the final answer and the ordered tool calls (``turn: N``: one exchange).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..hashing import sha256_of
from ..models import Target
from ..records.chat import Transcript
from ..records.results import AssertionRecord, CallError, JudgeStats, SampleRecord, Tokens
from .assertions import AssertionSpec, OutputContext, sample_verdict
from .cache import generation_key, request_hash_of
from .calling import CallFailed, CallResult
from .conversation import exchanges, prompt_tools, render_transcript, run_conversation, tool_args

if TYPE_CHECKING:
    from .plan import CasePlan, PromptPlan


class Executor(Protocol):
    """What a conversation sample needs of the executor (:class:`~llmops_cli.evals.execute.Executor`)."""

    async def call(
        self,
        key: str,
        kind: str,
        target: Target,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        rf: Any,
        tool_args: dict[str, Any] | None = None,
    ) -> tuple[CallResult, bool]: ...

    async def score(
        self,
        cp: CasePlan,
        sample: int,
        context: Callable[[AssertionSpec], OutputContext],
        judged: str,
        messages: list[dict[str, Any]],
    ) -> tuple[list[AssertionRecord], JudgeStats, bool]: ...


MAX_RECORDED_TURN_CHARS = 20_000  # a turn's text as the results file keeps it (the model saw all of it)

__all__ = ["run_conversation_item", "turn_key"]


def turn_key(pp: PromptPlan, history: list[dict[str, Any]], params: dict[str, Any], rf: Any, sample: int) -> str:
    """The response-cache key of one assistant turn: a generation key of the history so far with the prompt's
    tools (the first turn's key is the plain generation key: ``--estimate`` and single-turn runs share it)."""
    return generation_key(pp.target, history, params, rf, sample, pp.prompt.tool_fields())


def _clipped(transcript: Transcript) -> Transcript:
    turns = []
    for t in transcript.turns:
        if len(t.text) > MAX_RECORDED_TURN_CHARS:
            cut = MAX_RECORDED_TURN_CHARS - 40
            t = t.model_copy(update={"text": t.text[:cut] + f"…({len(t.text):,} characters)"})
        turns.append(t)
    return Transcript(turns=turns, stopped=transcript.stopped)


async def run_conversation_item(
    ex: Executor,
    pp: PromptPlan,
    cp: CasePlan,
    sample: int,
    request: tuple[list[dict[str, Any]], dict[str, Any], Any],
) -> tuple[SampleRecord, bool]:
    """Play, score and record one sample of a conversation: ``(record, paid)``. ``request``: the case's
    ``(opening messages, params, response format)`` (:func:`~llmops_cli.evals.execute.generation_request`)."""
    t = pp.target
    opening, params, rf = request
    args = tool_args(pp.prompt)
    request_hash = request_hash_of(t, opening, params, rf, pp.prompt.tool_fields())
    if cp.case.turns is not None:  # a conversation: its script is part of what was asked
        script = [dump_record_step(s) for s in cp.case.turns]
        request_hash = sha256_of({"request": request_hash, "script": script, "max_turns": cp.case.max_turns})
    rec = SampleRecord(
        prompt=pp.name,
        case_id=cp.case.id,
        sample=sample,
        cluster=cp.case.cluster,
        request_hash=request_hash,
        model=t.model,
    )
    paid_calls = 0

    async def ask(history: list[dict[str, Any]]) -> tuple[CallResult, bool]:
        nonlocal paid_calls
        result, replayed = await ex.call(turn_key(pp, history, params, rf, sample), "generation", t, history,
                                         params, rf, args)  # fmt: skip
        paid_calls += not replayed
        return result, replayed

    try:
        outcome = await run_conversation(cp.case, opening, prompt_tools(pp.prompt), ask)
    except CallFailed as exc:
        rec.replay = False
        rec.attempts = exc.attempts
        rec.error = CallError(**exc.to_dict())
        rec.status = "error"
        rec.judge = JudgeStats(samples=0, errors=0, replays=0, tokens=Tokens(prompt=0, completion=0), cost_usd=0)
        return rec, True
    transcript = _clipped(outcome.transcript)
    rec.transcript = transcript
    rec.output = outcome.final_text
    rec.replay = outcome.replay
    rec.tokens = Tokens(prompt=outcome.prompt_tokens, completion=outcome.completion_tokens)
    rec.cost_usd = outcome.cost_usd
    rec.latency_ms = round(outcome.latency_ms, 3)
    rec.attempts = outcome.attempts
    paid = paid_calls > 0
    if outcome.error is not None:  # a case error or the turn limit: nothing to score
        rec.error = CallError(kind=outcome.error_kind, message=outcome.error, status=None, attempts=outcome.attempts)
        rec.status = "error"
        rec.judge = JudgeStats(samples=0, errors=0, replays=0, tokens=Tokens(prompt=0, completion=0), cost_usd=0)
        return rec, paid
    tools = tuple(prompt_tools(pp.prompt))
    by_turn = {e.index: e for e in exchanges(outcome.transcript)}
    whole = OutputContext(
        outcome.final_text, outcome.latency_ms, outcome.cost_usd, pp.prompt.spec.output.schema_, cp.variables,
        tuple(outcome.transcript.tool_calls()), tools,
    )  # fmt: skip

    def context(spec: AssertionSpec) -> OutputContext:
        if spec.turn is None:
            return whole
        ex_ = by_turn.get(spec.turn)
        if ex_ is None:  # the conversation ended before that exchange: nothing said, nothing called
            return OutputContext("", None, None, whole.output_schema, cp.variables, (), tools)
        return OutputContext(ex_.text, None, None, whole.output_schema, cp.variables, ex_.tool_calls, tools)

    talked = cp.case.is_conversation or bool(whole.tool_calls)
    judged = render_transcript(outcome.transcript) if talked else outcome.final_text
    final, jstats, judged_paid = await ex.score(cp, sample, context, judged, outcome.last_messages)
    score, passed = sample_verdict(final)
    rec.status = "pass" if passed else ("fail" if passed is False else "error")
    rec.score = None if score is None else round(score, 6)
    rec.assertions = list(final)
    rec.judge = jstats
    return rec, paid or judged_paid


def dump_record_step(step: Any) -> Any:
    """A conversation step as JSON (for the request hash)."""
    return step.model_dump(mode="json", exclude_none=True)
