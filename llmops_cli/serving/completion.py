"""What ``Prompt.complete()`` / ``acomplete()`` return: a :class:`Completion`.

It is the typed reply (``.text``, ``.tool_calls``, ``.message``, ``.reply``) and, for code written against
earlier versions, litellm's response object too: any other attribute (``.choices``, ``.usage``, ``.model``,
``.id``) is read from the response, so ``r.choices[0].message.content`` keeps working.

A tool-using prompt continues the conversation with the tool results::

    r = p.complete(question="Where is order 42?")
    while r.tool_calls:
        results = {c.id: lookup_order(**c.parsed_arguments()) for c in r.tool_calls}
        r = p.complete(question="Where is order 42?", history=r.with_tool_results(results))
    print(r.text)

``history`` holds the turns after the rendered prompt's messages (assistant messages with their tool calls,
tool results), as :class:`~llmops_cli.records.chat.ChatMessage` objects or dicts in OpenAI's shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..records.chat import ChatMessage, ModelReply, ToolCall

__all__ = ["Completion", "tool_result"]

MAX_TOOL_RESULT_CHARS = 1_000_000  # a tool result sent back to the model (the provider's limits are lower)


def tool_result(call: ToolCall | str, content: Any, *, name: str | None = None) -> ChatMessage:
    """The ``tool`` message answering ``call`` (a call or its id); ``content`` is text or JSON-serialisable."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, default=str)
    if len(text) > MAX_TOOL_RESULT_CHARS:
        raise ValueError(f"a tool result is at most {MAX_TOOL_RESULT_CHARS:,} characters, got {len(text):,}")
    call_id = call.id if isinstance(call, ToolCall) else call
    return ChatMessage(
        role="tool",
        content=text,
        tool_call_id=call_id,
        name=name or (call.name if isinstance(call, ToolCall) else None),
    )


class Completion:
    """The answer of one serving call: the typed :class:`ModelReply` and litellm's raw response."""

    __slots__ = ("_history", "reply", "response")

    def __init__(self, reply: ModelReply, response: Any, history: Sequence[ChatMessage] = ()) -> None:
        self.reply = reply
        self.response = response
        self._history = list(history)

    @property
    def text(self) -> str:
        """The assistant's text ("" when it only called tools); output guards already applied."""
        return self.reply.text

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tools the model asked to call, in its order (``[]`` when none)."""
        return list(self.reply.tool_calls)

    @property
    def finish_reason(self) -> str | None:
        return self.reply.finish_reason

    @property
    def cost_usd(self) -> float | None:
        return self.reply.cost_usd

    @property
    def message(self) -> ChatMessage:
        """The assistant message, as it goes back into ``history``."""
        return ChatMessage(
            role="assistant", content=self.reply.text or None, tool_calls=list(self.reply.tool_calls) or None
        )

    @property
    def history(self) -> list[ChatMessage]:
        """The ``history`` this call was given, plus its assistant message."""
        return [*self._history, self.message]

    def with_tool_results(self, results: Mapping[str, Any] | Sequence[ChatMessage]) -> list[ChatMessage]:
        """:attr:`history` plus the tool results: ``{call_id: content}`` (every call answered, in the model's
        order) or ready ``tool`` messages. A call without a result raises :class:`ValueError`."""
        if isinstance(results, Mapping):
            missing = [c.id for c in self.reply.tool_calls if c.id not in results]
            if missing:
                raise ValueError(f"no tool result for call(s) {', '.join(missing)}")
            answers = [tool_result(c, results[c.id]) for c in self.reply.tool_calls]
        else:
            answers = list(results)
        return [*self.history, *answers]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in Completion.__slots__:  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.response, name)

    def __repr__(self) -> str:
        calls = ", ".join(c.name for c in self.reply.tool_calls)
        return f"Completion(text={self.reply.text[:60]!r}, tool_calls=[{calls}], model={self.reply.model!r})"
