"""A rendered prompt: what a provider receives (messages, the resolved model and params), as plain data.

:meth:`llmops_cli.prompt.Prompt.render` returns one; serving, eval and ``prompt diff`` read it. It lives in the
model layer so that the code calling models needs no :class:`~llmops_cli.prompt.Prompt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..hashing import sha256_of

__all__ = ["RenderedPrompt"]


@dataclass(frozen=True)
class RenderedPrompt:
    """What a provider receives: chat messages, the resolved model and params."""

    name: str
    messages: list[dict[str, str]]
    model: str
    params: dict[str, Any]
    response_format: dict[str, Any] | None
    prompt_sha256: str
    api_base: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def request_hash(self) -> str:
        """Hash of everything sent to the provider (model, messages, params, response format)."""
        return sha256_of(
            {
                "model": self.model,
                "messages": self.messages,
                "params": self.params,
                "response_format": self.response_format,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "params": self.params,
            "response_format": self.response_format,
            "messages": self.messages,
            "prompt_sha256": self.prompt_sha256,
            "request_hash": self.request_hash,
        }
