"""Running a conversation case: the model is called at every assistant turn with the history so far, each tool
call it makes is answered with the golden set's scripted result, and each scripted user message is sent once the
model has answered the previous one (the script: :class:`~llmops_cli.goldens.ConversationStep`).

The run is bounded: at most ``max_turns`` model calls (a model that keeps calling tools stops with
``stopped: turn_limit``), tool results are size-capped when the golden set is read, and a call to a tool the
prompt does not declare, or one no scripted result matches, ends the sample as a *case error* — never a hang.
Each model call goes through ``ask`` (the executor's cached call: its key includes the whole history, so a
re-run replays every turn from the cache and a resumed run pays only for the turns it had not reached).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..goldens import DEFAULT_MAX_TURNS, MAX_TOOL_RESULT_CHARS, Case, ToolResultEntry, tool_result_text
from ..prompt import Prompt
from ..records.base import dump_record
from ..records.chat import ChatMessage, ToolCall, ToolSpec, Transcript, Turn, Usage
from ..records.content import content_text
from .calling import CallResult
from .outputs import short
from .tool_assertions import subset_match

Ask = Callable[[list[dict[str, Any]]], Awaitable[tuple[CallResult, bool]]]

__all__ = [
    "ConversationOutcome",
    "Exchange",
    "exchanges",
    "render_transcript",
    "run_conversation",
    "subset_match",
]


class CaseError(Exception):
    """The conversation cannot go on as scripted (undeclared tool, unmatched call): the sample is an error."""


@dataclass
class ConversationOutcome:
    """What running one sample of a conversation produced."""

    transcript: Transcript
    replay: bool = True  # every model call was a cache replay
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0  # None when a call's price is unknown
    latency_ms: float = 0.0
    attempts: int = 0
    model: str = ""
    error: str | None = None  # the case error, or the turn limit
    error_kind: str | None = None  # case_error | turn_limit
    last_messages: list[dict[str, Any]] = field(default_factory=list)  # the history as last sent

    @property
    def final_text(self) -> str:
        return self.transcript.final_text()


@dataclass(frozen=True)
class Exchange:
    """The model's answer to one user message (1: the opening): its tool calls and its last text."""

    index: int
    text: str
    tool_calls: tuple[ToolCall, ...]


def prompt_tools(prompt: Prompt) -> list[ToolSpec]:
    """The functions a prompt declares (tool-file references resolved), as the contract type."""
    return list(prompt.tools)


def tool_args(prompt: Prompt) -> dict[str, Any]:
    """The prompt's ``tools`` / ``tool_choice`` / ``parallel_tool_calls`` as records' JSON (the model layer writes
    the provider's shape); empty for a prompt without tools."""
    return prompt.tool_fields()


def _assistant_message(reply: CallResult) -> dict[str, Any]:
    """The model's reply as the next history message (a :class:`ChatMessage`'s JSON)."""
    message = ChatMessage(role="assistant", content=reply.text or None, tool_calls=list(reply.tool_calls) or None)
    return dump_record(message, exclude_none=True)


def _tool_message(call: ToolCall, result: str) -> dict[str, Any]:
    """A scripted tool result answering ``call`` (a :class:`ChatMessage`'s JSON)."""
    return dump_record(ChatMessage(role="tool", tool_call_id=call.id, content=result), exclude_none=True)


def _answer(call: ToolCall, scripts: dict[str, list[ToolResultEntry]], declared: set[str]) -> str:
    """The scripted result of one tool call; :class:`CaseError` when the script has none."""
    if call.name not in declared:
        raise CaseError(f"the model called {short(call.name)}, a tool the prompt does not declare")
    entries = scripts.get(call.name)
    if not entries:
        raise CaseError(f"the model called {call.name}({short(call.arguments)}), which the case scripts no result for")
    args = call.parsed_arguments()
    for entry in entries:
        if entry.when is None or subset_match(entry.when, args):
            text = tool_result_text(entry.result)
            if len(text) > MAX_TOOL_RESULT_CHARS:  # checked when read; kept as a guard on the bound
                raise CaseError(f"the result of {call.name} is longer than {MAX_TOOL_RESULT_CHARS:,} characters")
            return text
    raise CaseError(f"no scripted result of {call.name} matches the model's arguments {short(call.arguments)}")


def _opening_user_text(messages: list[dict[str, Any]]) -> str:
    """The last user message of the rendered prompt as text (an image or file as its label, never its bytes)."""
    for m in reversed(messages):
        if m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


async def run_conversation(
    case: Case, opening: list[dict[str, Any]], tools: list[ToolSpec], ask: Ask
) -> ConversationOutcome:
    """Play ``case`` from the rendered ``opening`` messages; ``ask(history)`` is one (cached) model call.
    A case without ``turns`` (a single-turn tool prompt) is one call whose tool calls are recorded, not answered."""
    declared = {t.name for t in tools}
    limit = case.max_turns or DEFAULT_MAX_TURNS
    steps = list(case.turns or [])
    history = list(opening)
    out = ConversationOutcome(Transcript(turns=[Turn(index=0, role="user", text=_opening_user_text(opening))]))
    turns = out.transcript.turns  # appended to in place
    scripts: dict[str, list[ToolResultEntry]] = {}
    calls = 0
    pending_user = True  # the opening waits for an answer

    def take_tool_steps() -> None:
        while steps and steps[0].tools is not None:
            scripts.update(steps.pop(0).entries())

    def stop(kind: str, message: str) -> ConversationOutcome:
        out.transcript.stopped = "turn_limit" if kind == "turn_limit" else "error"
        out.error, out.error_kind = message, kind
        out.last_messages = history
        return out

    take_tool_steps()
    while True:
        if not pending_user:
            if not steps:
                break
            step = steps.pop(0)
            assert step.user is not None
            history.append({"role": "user", "content": step.user})
            turns.append(Turn(index=len(turns), role="user", text=step.user))
            take_tool_steps()
        if calls >= limit:
            return stop("turn_limit", f"the conversation reached its turn limit ({limit} model calls)")
        reply, replayed = await ask(list(history))
        calls += 1
        _account(out, reply, replayed)
        history.append(_assistant_message(reply))
        turns.append(
            Turn(
                index=len(turns),
                role="assistant",
                text=reply.text,
                tool_calls=list(reply.tool_calls),
                usage=Usage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens),
                cost_usd=reply.cost_usd,
            )
        )
        if not reply.tool_calls or case.turns is None:
            pending_user = False
            continue
        try:
            for call in reply.tool_calls:
                result = _answer(call, scripts, declared)
                history.append(_tool_message(call, result))
                turns.append(Turn(index=len(turns), role="tool", text=result, tool_call_id=call.id, name=call.name))
        except CaseError as exc:
            return stop("case_error", str(exc))
        pending_user = True  # the model answers the tool results
    out.last_messages = history
    return out


def _account(out: ConversationOutcome, reply: CallResult, replayed: bool) -> None:
    out.replay = out.replay and replayed
    out.prompt_tokens += reply.prompt_tokens
    out.completion_tokens += reply.completion_tokens
    if out.cost_usd is not None:
        out.cost_usd = None if reply.cost_usd is None else round(out.cost_usd + reply.cost_usd, 10)
    out.latency_ms += reply.latency_ms
    out.attempts += reply.attempts
    out.model = reply.model or out.model


def exchanges(transcript: Transcript) -> list[Exchange]:
    """The transcript cut at its user turns: exchange N is the model's answer to the N-th user message."""
    out: list[Exchange] = []
    text, calls = "", list[ToolCall]()
    started = False
    for t in transcript.turns:
        if t.role == "user":
            if started:
                out.append(Exchange(len(out) + 1, text, tuple(calls)))
            text, calls, started = "", [], True
        elif t.role == "assistant":
            text = t.text or text
            calls.extend(t.tool_calls)
    if started:
        out.append(Exchange(len(out) + 1, text, tuple(calls)))
    return out


def render_transcript(transcript: Transcript, *, max_chars: int = 20_000) -> str:
    """The conversation as readable text (what judges receive): one block per turn, tool calls as ``name(args)``."""
    lines: list[str] = []
    for t in transcript.turns:
        if t.role == "user":
            lines.append(f"USER: {t.text}")
        elif t.role == "assistant":
            for c in t.tool_calls:
                lines.append(f"ASSISTANT calls tool {c.name}({c.arguments})")
            if t.text:
                lines.append(f"ASSISTANT: {t.text}")
        else:
            lines.append(f"TOOL {t.name} returned: {t.text}")
    if transcript.stopped != "final":
        lines.append(f"(conversation stopped: {transcript.stopped})")
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[: max_chars // 2] + "\n…\n" + text[-max_chars // 2 :]
    return text
