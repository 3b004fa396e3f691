"""A provider-neutral :class:`~llmops_cli.records.chat.ModelRequest` as litellm's keyword arguments.

litellm takes the OpenAI chat shape and translates it per provider (Anthropic ``tool_use`` blocks and
``input_schema``, Gemini function declarations…), so this module writes exactly one wire shape:

* messages: text, or content parts — ``{"type": "text"}``, images as ``{"type": "image_url", "image_url":
  {"url": <data: or https URL>}}``, files as ``{"type": "file", "file": {"file_data": <data: URL>,
  "filename": …}}``; an assistant's ``tool_calls`` as ``{"id", "type": "function", "function": {"name",
  "arguments"}}``; a tool result as ``{"role": "tool", "tool_call_id", "content"}``;
* ``tools`` in OpenAI function format (``strict: true`` only where asked), ``tool_choice`` (``auto`` /
  ``required`` / ``none`` / ``{"type": "function", "function": {"name"}}``) and ``parallel_tool_calls``;
* ``response_format``: a strict ``json_schema`` where litellm says the model supports one
  (``litellm.supports_response_schema``) or the model runs in-process (llama.cpp turns it into a grammar),
  else ``json_object`` — with a note the linter and the CLI can show.

Routing and credential options never come from params (:data:`ROUTING_KEYS`); the key follows the key rule
of :mod:`llmops_cli.models.targets`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..records.chat import ChatMessage, ContentPart, ModelRequest, ResponseFormat, ToolCall, ToolChoice, ToolSpec
from .runtime import ROUTING_KEYS, import_litellm
from .targets import Target, is_in_process

__all__ = [
    "WireRequest",
    "build_request",
    "message_of",
    "messages_of",
    "schema_support_note",
    "supports_schema",
    "tool_choice_of",
    "tool_of",
    "wire_message",
    "wire_request",
    "wire_tools",
]


@dataclass(frozen=True)
class WireRequest:
    """litellm's keyword arguments for one request, and notes on what was changed to fit the model."""

    kwargs: dict[str, Any]
    notes: tuple[str, ...] = field(default=())


# -- from the rendered prompt to a ModelRequest -----------------------------------------------------------------


_MESSAGE_FIELDS = frozenset(ChatMessage.model_fields)


def message_of(value: ChatMessage | Mapping[str, Any]) -> ChatMessage:
    """A chat message from a :class:`ChatMessage`, its dict form or OpenAI's (tool calls as ``{"id", "type",
    "function"}``; of a litellm / OpenAI SDK message object, the message fields of its ``model_dump()``). Other
    keys of a dict are refused unless empty (``"refusal": null``)."""
    if isinstance(value, ChatMessage):
        return value
    dump = getattr(value, "model_dump", None)
    if not isinstance(value, Mapping) and callable(dump):  # an SDK object: its message fields, not its metadata
        dumped = dump()
        value = {k: v for k, v in dumped.items() if k in _MESSAGE_FIELDS} if isinstance(dumped, Mapping) else dumped
    if not isinstance(value, Mapping):
        raise TypeError(f"a chat message must be a ChatMessage or a mapping, not {type(value).__name__}")
    data = {k: v for k, v in value.items() if k in _MESSAGE_FIELDS or v not in (None, "", [], {})}
    calls = data.get("tool_calls")
    if isinstance(calls, list):
        data["tool_calls"] = [_tool_call_of(c) for c in calls]
    content = data.get("content")
    if isinstance(content, list):
        data["content"] = [_part_of(p) for p in content]
    return ChatMessage.model_validate(data)


def messages_of(values: Sequence[ChatMessage | Mapping[str, Any]]) -> list[ChatMessage]:
    return [message_of(v) for v in values]


def _tool_call_of(value: Any) -> Any:
    if isinstance(value, Mapping) and isinstance(value.get("function"), Mapping):  # the OpenAI wire shape
        fn = value["function"]
        return {"id": value.get("id", ""), "name": fn.get("name", ""), "arguments": fn.get("arguments", "{}")}
    return value


def _part_of(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    kind = value.get("type")
    if kind == "image_url":  # the OpenAI wire shape
        url = value.get("image_url")
        return {"type": "image", "url": url.get("url") if isinstance(url, Mapping) else url}
    return value


def tool_of(value: ToolSpec | Mapping[str, Any]) -> ToolSpec:
    """A tool definition from a :class:`ToolSpec`, its dict form, or OpenAI's ``{"type": "function",
    "function": {...}}``."""
    if isinstance(value, ToolSpec):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"a tool must be a ToolSpec or a mapping, not {type(value).__name__}")
    fn = value.get("function")
    return ToolSpec.model_validate(dict(fn) if value.get("type") == "function" and isinstance(fn, Mapping) else value)


def tool_choice_of(value: str | Mapping[str, Any] | ToolChoice | None) -> ToolChoice | None:
    """``auto`` / ``required`` / ``none`` / ``{name: X}`` / ``{"type": "function", "function": {"name": X}}``."""
    if value is None or isinstance(value, ToolChoice):
        return value
    if isinstance(value, str):
        return ToolChoice.model_validate({"mode": value})
    if isinstance(value, Mapping):
        if "mode" in value:  # the record's own dict form
            return ToolChoice.model_validate(dict(value))
        fn = value.get("function")
        name = fn.get("name") if isinstance(fn, Mapping) else value.get("name")
        return ToolChoice(mode="function", name=name)
    raise TypeError(f"tool_choice must be a string or a mapping, not {type(value).__name__}")


def response_format_of(value: Mapping[str, Any] | ResponseFormat | None) -> ResponseFormat | None:
    """The record of a response format given in OpenAI's dict shape (``json_object`` / ``json_schema``)."""
    if value is None or isinstance(value, ResponseFormat):
        return value
    kind = value.get("type")
    if kind == "json_schema":
        spec = value.get("json_schema") or {}
        return ResponseFormat.model_validate(
            {
                "type": "json_schema",
                "name": str(spec.get("name") or "output"),
                "schema": spec.get("schema") or {},
                "strict": bool(spec.get("strict", False)),
            }
        )
    if kind == "json_object":
        return ResponseFormat(type="json_object")
    return None


def build_request(
    model: str,
    messages: Sequence[ChatMessage | Mapping[str, Any]],
    params: Mapping[str, Any] | None = None,
    response_format: Mapping[str, Any] | ResponseFormat | None = None,
    *,
    tools: Sequence[ToolSpec | Mapping[str, Any]] = (),
    tool_choice: str | Mapping[str, Any] | ToolChoice | None = None,
    parallel_tool_calls: bool | None = None,
    history: Sequence[ChatMessage | Mapping[str, Any]] = (),
) -> ModelRequest:
    """The :class:`ModelRequest` of a rendered prompt (its messages, params and response format as the
    target prepared them), its tools, and the conversation so far (``history``: earlier turns, tool results,
    appended after the rendered messages). Eval, judges and serving build their requests here."""
    return ModelRequest(
        model=model,
        messages=messages_of([*messages, *history]),
        params=dict(params or {}),
        tools=[tool_of(t) for t in tools],
        tool_choice=tool_choice_of(tool_choice),
        parallel_tool_calls=parallel_tool_calls,
        response_format=response_format_of(response_format),
    )


# -- from a ModelRequest to the wire ------------------------------------------------------------------------


def _wire_part(part: ContentPart) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text or ""}
    if part.type == "image":
        return {"type": "image_url", "image_url": {"url": part.url or ""}}
    ext = (part.media_type or "application/octet-stream").rsplit("/", 1)[-1]
    return {"type": "file", "file": {"file_data": part.url or "", "filename": f"{part.name or 'file'}.{ext}"}}


def _wire_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def wire_message(message: ChatMessage) -> dict[str, Any]:
    """One message in OpenAI's chat shape (a plain-text message is ``{"role", "content"}`` as before)."""
    content: Any = message.content
    if isinstance(content, list):
        content = [_wire_part(p) for p in content]
    out: dict[str, Any] = {"role": message.role, "content": content}
    if message.tool_calls:
        out["tool_calls"] = [_wire_call(c) for c in message.tool_calls]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id or ""
        if message.name:
            out["name"] = message.name
    elif message.content is None and not message.tool_calls:
        out["content"] = ""
    return out


def wire_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool definitions in OpenAI's function format (what token counts of tool definitions count too)."""
    out = []
    for tool in tools:
        fn: dict[str, Any] = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        if tool.strict:
            fn["strict"] = True
        out.append({"type": "function", "function": fn})
    return out


def _wire_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.mode == "function":
        return {"type": "function", "function": {"name": choice.name or ""}}
    return choice.mode


@cache
def supports_schema(model: str) -> bool:
    """Whether litellm's table says ``model`` takes a strict JSON-Schema response format."""
    if is_in_process(model):
        return True
    litellm = import_litellm()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return bool(litellm.supports_response_schema(model=model))
    except Exception:  # an unmapped model: litellm raises a bare Exception
        return False


def schema_support_note(model: str) -> str:
    return (
        f"{model} does not take a strict JSON-Schema response format (litellm's model table): "
        "sent as json_object, the schema is checked on the reply only"
    )


def _wire_response_format(model: str, rf: ResponseFormat, notes: list[str]) -> dict[str, Any] | None:
    if rf.type == "text":
        return None
    if rf.type == "json_object":
        return {"type": "json_object"}
    if not supports_schema(model):
        notes.append(schema_support_note(model))
        return {"type": "json_object"}
    spec: dict[str, Any] = {"name": rf.name, "schema": rf.schema_ or {}}
    if rf.strict:
        spec["strict"] = True
    return {"type": "json_schema", "json_schema": spec}


def wire_request(target: Target, request: ModelRequest, **extra: Any) -> WireRequest:
    """litellm's keyword arguments for ``request`` sent to ``target`` (``extra``: timeout, retries off…)."""
    notes: list[str] = []
    kwargs: dict[str, Any] = {k: v for k, v in request.params.items() if k not in ROUTING_KEYS}
    kwargs.update(extra)
    kwargs["model"] = target.model
    kwargs["messages"] = [wire_message(m) for m in request.messages]
    if request.tools:
        kwargs["tools"] = wire_tools(request.tools)
        if request.tool_choice is not None:
            kwargs["tool_choice"] = _wire_tool_choice(request.tool_choice)
        if request.parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None:
        rf = _wire_response_format(target.model, request.response_format, notes)
        if rf is not None:
            kwargs["response_format"] = rf
    if target.api_base:
        kwargs["api_base"] = target.api_base
    key = target.api_key()
    if key:
        kwargs["api_key"] = key
    return WireRequest(kwargs, tuple(notes))
