"""A rendered prompt: what a provider receives (messages, the resolved model and params, tools), as plain data.

:meth:`llmops_cli.prompt.Prompt.render` returns one; serving, eval and ``prompt diff`` read it. It lives in the
model layer so that the code calling models needs no :class:`~llmops_cli.prompt.Prompt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..hashing import sha256_of
from ..records.chat import ToolChoice, ToolSpec
from ..records.content import hash_view, input_digests
from ..toolspec import tool_call_fields

__all__ = ["RenderedPrompt"]


@dataclass(frozen=True)
class RenderedPrompt:
    """What a provider receives: chat messages, the resolved model and params.

    A message that attaches images or files has a list of content parts (``ContentPart`` dicts: a text part,
    then one per attached input, with its sha256 and data URL) as ``content``; every other message a string.
    See :mod:`llmops_cli.records.content` for the text, hash and wire views of such content.
    """

    name: str
    messages: list[dict[str, Any]]
    model: str
    params: dict[str, Any]
    response_format: dict[str, Any] | None
    prompt_sha256: str
    api_base: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None

    def tool_fields(self) -> dict[str, Any]:
        """``tools`` / ``tool_choice`` / ``parallel_tool_calls`` as JSON, only those set (see
        :func:`~llmops_cli.toolspec.tool_call_fields`)."""
        return tool_call_fields(self.tools, self.tool_choice, self.parallel_tool_calls)

    @property
    def request_hash(self) -> str:
        """Hash of everything sent to the provider (model, messages, params, response format, tools); an image or
        file counts by its bytes' sha256, not by its data URL or path."""
        return sha256_of(
            {
                "model": self.model,
                "messages": hash_view(self.messages),
                "params": self.params,
                "response_format": self.response_format,
                **self.tool_fields(),
            }
        )

    def input_digests(self) -> dict[str, str]:
        """Each attached input's ``sha256:<hex>`` (``url-sha256:<hex>`` for an https image); see
        :func:`llmops_cli.records.content.input_digests`."""
        return input_digests(self.messages)

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON (an image/file part without its data URL: its sha256, type and size stand for it)."""
        return {
            "name": self.name,
            "model": self.model,
            "params": self.params,
            "response_format": self.response_format,
            **self.tool_fields(),
            "messages": hash_view(self.messages),
            "prompt_sha256": self.prompt_sha256,
            "request_hash": self.request_hash,
        }
