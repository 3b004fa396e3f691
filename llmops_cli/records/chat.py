"""What a model call sends and returns: messages with content parts, tool definitions, tool calls, transcripts.

These are the shared types of the modern-prompt features (tools, structured outputs, conversations, images):
the prompt file's ``tools:`` become :class:`ToolSpec`; rendering produces :class:`ChatMessage` lists whose
content is text or a list of :class:`ContentPart` (text, image, file); the one model call
(:mod:`llmops_cli.models`) takes a :class:`ModelRequest` and returns a :class:`ModelReply` with the
:class:`ToolCall` objects the model made; a conversation case records a :class:`Transcript` of :class:`Turn`.
Provider wire shapes (OpenAI's ``tools``/``tool_calls``, Anthropic's ``tool_use`` blocks) are produced from
these by the model layer only — nothing else builds them by hand.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from .base import Record

__all__ = [
    "ChatMessage",
    "ContentPart",
    "ModelReply",
    "ModelRequest",
    "ResponseFormat",
    "ToolCall",
    "ToolChoice",
    "ToolSpec",
    "Transcript",
    "Turn",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]


class ContentPart(Record):
    """One part of a message's content: text, or an image / file given by its bytes' digest and data URL."""

    type: Literal["text", "image", "file"] = Field(description="Part kind.")
    text: str | None = Field(None, description="The text (type: text).")
    media_type: str | None = Field(None, description="MIME type of an image or file, e.g. image/png.")
    sha256: str | None = Field(
        None, description="Hex digest of the image/file bytes: what cache keys and results record (never the path)."
    )
    url: str | None = Field(
        None,
        description="Where the provider reads the bytes: a data: URL built from the file, or an https URL given "
        "in the golden set. Not written to results (only sha256, media_type and size are).",
    )
    size: int | None = Field(None, ge=0, description="Size of the bytes.")
    width: int | None = Field(None, ge=0, description="Pixel width an image's header claims (read, never decoded).")
    height: int | None = Field(None, ge=0, description="Pixel height an image's header claims.")
    name: str | None = Field(None, description="A display name (the input's name), never a filesystem path.")


class ToolCall(Record):
    """A call the model asked for: ``arguments`` is the JSON text the model produced (it may be invalid JSON)."""

    id: str = Field(description="The provider's call id (tool results answer it).")
    name: str = Field(description="The function name the model called.")
    arguments: str = Field("{}", description="The arguments as the model wrote them (JSON text).")

    def parsed_arguments(self) -> Any:
        """The arguments as JSON, or None when the model wrote something that is not JSON."""
        try:
            return json.loads(self.arguments)
        except (ValueError, RecursionError):
            return None


class ChatMessage(Record):
    """One chat message. ``content`` is text or a list of parts; assistant messages may carry ``tool_calls``;
    a ``tool`` message answers the call ``tool_call_id``."""

    role: Role = Field(description="system, user, assistant or tool.")
    content: str | list[ContentPart] | None = Field(None, description="Text, or a list of content parts.")
    tool_calls: list[ToolCall] | None = Field(None, description="The calls an assistant message made.")
    tool_call_id: str | None = Field(None, description="The call a tool message answers.")
    name: str | None = Field(None, description="The tool's name (tool messages).")

    def text(self) -> str:
        """The message's text (text parts joined; images and files left out)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type == "text")


class ToolSpec(Record):
    """A function the model may call. ``parameters`` is a JSON Schema (an object schema)."""

    name: str = Field(description="Function name: letters, digits, _ and -, at most 64 characters.")
    description: str = Field("", description="What the tool does (the model reads it).")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments (an object schema; local $ref only).",
    )
    strict: bool = Field(False, description="Ask the provider to enforce the schema exactly (OpenAI strict mode).")


class ToolChoice(Record):
    """Which tools the model may or must call: ``auto``, ``required``, ``none``, or one named function."""

    mode: Literal["auto", "required", "none", "function"] = Field("auto", description="The choice.")
    name: str | None = Field(None, description="The function the model must call (mode: function).")


class ResponseFormat(Record):
    """The output format asked of the provider: free text, any JSON object, or JSON under a (strict) schema."""

    type: Literal["text", "json_object", "json_schema"] = Field("text", description="The format kind.")
    name: str = Field("output", description="Schema name sent with json_schema.")
    schema_: dict[str, Any] | None = Field(None, alias="schema", description="The JSON Schema (json_schema only).")
    strict: bool = Field(False, description="Strict schema adherence where the provider supports it.")


class Usage(Record):
    """Token counts of one call."""

    prompt_tokens: int = Field(0, ge=0, description="Input tokens, tool definitions and images included.")
    completion_tokens: int = Field(0, ge=0, description="Output tokens, tool-call arguments included.")


class ModelRequest(Record):
    """One model call, provider-neutral. The model layer turns it into litellm / wire arguments."""

    model: str = Field(description="Resolved litellm model id.")
    messages: list[ChatMessage] = Field(description="The conversation so far.")
    params: dict[str, Any] = Field(default_factory=dict, description="Generation parameters (allowlisted).")
    tools: list[ToolSpec] = Field(default_factory=list, description="Functions the model may call.")
    tool_choice: ToolChoice | None = Field(None, description="Tool choice; None: the provider's default.")
    parallel_tool_calls: bool | None = Field(None, description="Allow several tool calls in one turn.")
    response_format: ResponseFormat | None = Field(None, description="Output format; None: text.")


class ModelReply(Record):
    """What one model call returned."""

    text: str = Field("", description="The assistant's text (empty when it only called tools).")
    tool_calls: list[ToolCall] = Field(default_factory=list, description="Tool calls, in the model's order.")
    finish_reason: str | None = Field(None, description="stop, length, tool_calls, content_filter…")
    usage: Usage = Field(default_factory=Usage, description="Token counts.")
    cost_usd: float | None = Field(None, ge=0, description="Cost of the call; None when the price is unknown.")
    latency_ms: float = Field(0.0, ge=0, description="Wall time of the call.")
    model: str = Field("", description="The model the provider says answered.")
    attempts: int = Field(1, ge=0, description="Attempts made (0: served from the cache).")


class Turn(Record):
    """One step of a conversation case: a scripted user message, a model reply, or the tool results returned."""

    index: int = Field(ge=0, description="Position in the transcript.")
    role: Role = Field(description="user (scripted), assistant (the model), tool (a scripted tool result).")
    text: str = Field("", description="Message text (redacted like outputs).")
    tool_calls: list[ToolCall] = Field(default_factory=list, description="Calls the model made in this turn.")
    tool_call_id: str | None = Field(None, description="The call a tool turn answers.")
    name: str | None = Field(None, description="Tool name of a tool turn.")
    usage: Usage | None = Field(None, description="Tokens of the model call (assistant turns).")
    cost_usd: float | None = Field(None, ge=0, description="Cost of the model call (assistant turns).")


class Transcript(Record):
    """The whole conversation of one sample of a conversation case."""

    turns: list[Turn] = Field(default_factory=list, description="Turns in order.")
    stopped: Literal["final", "turn_limit", "error"] = Field(
        "final", description="Why it ended: a final answer, the case's turn limit, or a case error."
    )

    def tool_calls(self) -> list[ToolCall]:
        """Every tool call the model made, in order."""
        return [c for t in self.turns if t.role == "assistant" for c in t.tool_calls]

    def final_text(self) -> str:
        """The last assistant text (the conversation's answer)."""
        for t in reversed(self.turns):
            if t.role == "assistant" and t.text:
                return t.text
        return ""
