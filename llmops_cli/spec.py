"""The prompt file format (``prompts/**/<name>.prompt.yaml``) as pydantic models.

These models validate prompt files *and* generate the published JSON Schema (``llmops schema``),
so the two cannot drift apart.
"""

import math
import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .limits import checked_label
from .toolspec import MAX_TOOLS, ToolChoiceSpec, ToolEntry

PROMPT_SUFFIX = ".prompt.yaml"
TEMPLATE_SUFFIX = ".j2"
INPUT_TYPES = ("string", "number", "integer", "boolean", "array", "object", "image", "file", "pdf")
# Inputs whose value is bytes (a project path, an https URL for images, or bytes in library calls), sent as
# content parts of the messages that ``attach`` them (see llmops_cli/media).
MEDIA_INPUT_TYPES = ("image", "file", "pdf")
MediaType = Literal["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"]
MEDIA_TYPES: tuple[str, ...] = get_args(MediaType)
DEFAULT_MEDIA_BYTES = 20_000_000  # per value, unless the input sets max_bytes
MAX_MEDIA_BYTES = 50_000_000  # hard cap: max_bytes cannot go above it
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names Jinja reserves or that would shadow sandbox globals.
RESERVED_INPUT_NAMES = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "loop", "self"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputSpec(_Strict):
    """A typed variable of the prompt. Required unless it has a ``default`` or ``required: false``."""

    type: Literal["string", "number", "integer", "boolean", "array", "object", "image", "file", "pdf"] = Field(
        "string",
        description="JSON type of the value; or image / file / pdf: a path inside the project (or an https URL, "
        "images only) whose bytes are sent as a content part of the messages that `attach` the input.",
    )
    description: str | None = Field(None, description="What the variable holds (for people and docs).")
    required: bool | None = Field(
        None, description="Must the caller supply it? Defaults to true unless a default is given."
    )
    default: Any = Field(None, description="Value used when the caller supplies none.")
    enum: list[Any] | None = Field(None, description="Allowed values.")
    items: dict[str, Any] | None = Field(None, description="JSON Schema each array item must satisfy (arrays only).")
    max_bytes: int | None = Field(
        None,
        ge=1,
        le=MAX_MEDIA_BYTES,
        description=f"Largest accepted value in bytes (image/file/pdf only; default {DEFAULT_MEDIA_BYTES:,}).",
    )
    media_types: list[MediaType] | None = Field(
        None, min_length=1, description="Accepted media types, e.g. [image/png, image/jpeg] (image/file/pdf only)."
    )

    @model_validator(mode="after")
    def _check(self) -> "InputSpec":
        if self.items is not None and self.type != "array":
            raise ValueError("'items' is only allowed for type 'array'")
        if self.is_media:
            for key in ("default", "enum"):
                if key in self.model_fields_set:
                    raise ValueError(f"'{key}' is not allowed for type '{self.type}'")
        elif self.max_bytes is not None or self.media_types is not None:
            raise ValueError("'max_bytes' and 'media_types' are only allowed for types image, file and pdf")
        if self.required and "default" in self.model_fields_set:
            raise ValueError("an input with a default cannot be required")
        return self

    @property
    def is_media(self) -> bool:
        """An image, file or pdf input (sent as a content part, not as text)."""
        return self.type in MEDIA_INPUT_TYPES

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    @property
    def is_required(self) -> bool:
        if self.required is not None:
            return self.required
        return not self.has_default


class OutputSpec(_Strict):
    """What the model is expected to return: free text, or JSON matching a JSON Schema."""

    format: Literal["text", "json"] = Field("text", description="'text' or 'json'.")
    schema_: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON Schema of the JSON output (format: json only)."
    )
    strict: bool = Field(
        False,
        description="Send the schema as the provider's strict JSON-Schema response format where the model supports "
        "it (else JSON mode, with a lint note). Requires a schema.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"format": value}
        return value

    @model_validator(mode="after")
    def _check(self) -> "OutputSpec":
        if self.schema_ is not None and self.format != "json":
            raise ValueError("'schema' requires format: json")
        if self.strict and self.schema_ is None:
            raise ValueError("'strict: true' requires format: json and a schema")
        return self


class MessageSpec(_Strict):
    """One chat message: a role and a Jinja template, inline (``content``) or in a file (``template``)."""

    role: Literal["system", "user", "assistant"]
    content: str | None = Field(None, description="Inline Jinja template.")
    template: str | None = Field(None, description="Path of a .j2 template file, relative to the prompt file's folder.")
    attach: list[str] | None = Field(
        None,
        min_length=1,
        max_length=16,
        description="Image/file/pdf inputs sent with this (user) message as content parts after its text.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> "MessageSpec":
        if (self.content is None) == (self.template is None):
            raise ValueError("a message needs exactly one of 'content' or 'template'")
        if self.attach is not None and self.role != "user":
            raise ValueError("only user messages can 'attach' images and files")
        return self


class PromptSpec(_Strict):
    """A prompt file. Everything except ``description``, ``tags`` and ``metadata`` is in its content hash."""

    schema_ref: str | None = Field(None, alias="$schema", description="Editor hint; ignored.")
    description: str = Field("", description="What the prompt does.")
    model: str = Field(..., description="A litellm model id (openai/gpt-4o-2024-08-06) or an alias.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Provider parameters: temperature, max_tokens, top_p, seed, stop…"
    )
    inputs: dict[str, InputSpec] = Field(default_factory=dict, description="Typed variables.")
    output: OutputSpec = Field(default_factory=OutputSpec)
    messages: list[MessageSpec] = Field(..., min_length=1)
    tools: list[ToolEntry] = Field(
        default_factory=list,
        max_length=MAX_TOOLS,
        description="Functions the model may call: {name, description, parameters (JSON Schema), strict}, or "
        "{use: FILE/TOOL} / {use: FILE/*} for shared definitions in prompts/_tools/FILE.yaml.",
    )
    tool_choice: ToolChoiceSpec | None = Field(
        None,
        description="auto (the model decides), required (it must call a tool), none (it may not), or {name: X} "
        "(it must call X). Unset: the provider's default.",
    )
    parallel_tool_calls: bool | None = Field(
        None, description="May the model call several tools in one turn? Unset: the provider's default."
    )
    guards: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=32,
        description="Serving guards around complete(): mappings with 'type' (pii, max_size, json_schema, refusal) "
        "and its options, e.g. {type: pii, on: input, action: redact}. Checked by `llmops prompt lint`.",
    )
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form (owner, ticket…).")

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, InputSpec]) -> dict[str, InputSpec]:
        for name in value:
            if not _IDENT.match(name):
                raise ValueError(f"input name {name!r} is not a valid identifier")
            if name in RESERVED_INPUT_NAMES:
                raise ValueError(f"input name {name!r} is reserved by the template engine")
        return value

    @model_validator(mode="after")
    def _attachments(self) -> "PromptSpec":
        attached: set[str] = set()
        for i, m in enumerate(self.messages):
            for name in m.attach or []:
                spec = self.inputs.get(name)
                if spec is None or not spec.is_media:
                    raise ValueError(f"messages -> {i} -> attach: {name[:60]!r} is not an image, file or pdf input")
                if name in attached:
                    raise ValueError(f"messages -> {i} -> attach: {name!r} is attached twice")
                attached.add(name)
        for name, spec in self.inputs.items():
            if spec.is_media and name not in attached:
                raise ValueError(f"input {name!r} ({spec.type}) is attached to no message (add attach: [{name}])")
        return self

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_params(value)

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        checked_label(value, "model")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            checked_label(tag, "tag")
        return value

    @field_validator("guards")
    @classmethod
    def _guards(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, guard in enumerate(value):
            if not isinstance(guard.get("type"), str):
                raise ValueError(f"guard {i} needs a 'type' (pii, max_size, json_schema, refusal)")
        return value


def _number(lo: float, hi: float, integer: bool = False) -> Any:
    def check(v: Any) -> str | None:
        kind = int if integer else (int, float)
        if isinstance(v, bool) or not isinstance(v, kind):
            return "must be " + ("a whole number" if integer else "a number")
        if not math.isfinite(v) or not lo <= v <= hi:
            return f"must be between {lo:g} and {hi:g}"
        return None

    return check


def _stop(v: Any) -> str | None:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not 1 <= len(v) <= 16 or not all(isinstance(s, str) and len(s) <= 200 for s in v):
        return "must be a string or a list of up to 16 strings"
    return None


def _logit_bias(v: Any) -> str | None:
    if not isinstance(v, dict) or len(v) > 1000:
        return "must be a mapping of token ids to numbers"
    for bias in v.values():
        if isinstance(bias, bool) or not isinstance(bias, int | float) or not math.isfinite(bias):
            return "must be a mapping of token ids to finite numbers"
    return None


def _choice(*options: str) -> Any:
    return lambda v: None if v in options else f"must be one of {', '.join(options)}"


# Generation parameters a prompt (or a model alias) may set. Anything that decides where, whether or how
# a call is made (mock_response, api_base, base_url, api_key, extra_body, headers, callbacks, timeout…)
# is not a generation parameter and is refused.
GENERATION_PARAMS: dict[str, Any] = {
    "temperature": _number(0, 2),
    "top_p": _number(0, 1),
    "top_k": _number(0, 1_000_000, integer=True),
    "min_p": _number(0, 1),
    "max_tokens": _number(1, 10_000_000, integer=True),
    "max_completion_tokens": _number(1, 10_000_000, integer=True),
    "seed": _number(-(2**63), 2**63 - 1, integer=True),
    "stop": _stop,
    "presence_penalty": _number(-2, 2),
    "frequency_penalty": _number(-2, 2),
    "repetition_penalty": _number(0, 10),
    "n": _number(1, 16, integer=True),
    "logit_bias": _logit_bias,
    "logprobs": lambda v: None if isinstance(v, bool) else "must be true or false",
    "top_logprobs": _number(0, 20, integer=True),
    "reasoning_effort": _choice("minimal", "low", "medium", "high"),
}


def check_params(value: dict[str, Any]) -> dict[str, Any]:
    """Validate generation parameters against :data:`GENERATION_PARAMS` (an allowlist)."""
    for key, v in value.items():
        check = GENERATION_PARAMS.get(key) if isinstance(key, str) else None
        if check is None:
            raise ValueError(
                f"param {str(key)[:60]!r} is not an allowed generation parameter "
                f"(allowed: {', '.join(GENERATION_PARAMS)}; endpoints and keys belong in llmops.yaml model aliases)"
            )
        problem = check(v)
        if problem:
            raise ValueError(f"param {key!r} {problem}")
    return value


def prompt_json_schema() -> dict[str, Any]:
    """The JSON Schema of a prompt file, generated from :class:`PromptSpec`."""
    schema = PromptSpec.model_json_schema(by_alias=True)
    # ``output: text`` / ``output: json`` are accepted as shorthands (see OutputSpec._shorthand).
    output = schema["properties"]["output"]
    schema["properties"]["output"] = {
        "anyOf": [{"$ref": "#/$defs/OutputSpec"}, {"enum": ["text", "json"], "type": "string"}],
        "description": "Output format: 'text', 'json', or an object with format and JSON Schema.",
        **({"default": output["default"]} if "default" in output else {}),
    }
    schema["properties"]["params"]["propertyNames"] = {"enum": list(GENERATION_PARAMS)}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "llmops prompt file"
    return schema


def import_stub(metadata: dict[str, Any]) -> str | None:
    """Why a prompt is a stub kept by ``llmops import`` (``metadata.import.stub``: it was built by code or its
    template has no translation), or None for a real prompt. ``eval run`` refuses stubs; lint warns."""
    record = metadata.get("import")
    stub = record.get("stub") if isinstance(record, dict) else None
    return str(stub)[:300] if stub else None
