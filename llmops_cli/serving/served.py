"""What serving needs of a prompt, as data: who it is, how to render it, where its calls go, its options.

:meth:`llmops_cli.prompt.Prompt.served` builds one; :mod:`.call` takes it. Serving never sees a
:class:`~llmops_cli.prompt.Prompt` (no import of ``prompt`` in this package, not even for type hints), so the
dependency runs one way: ``prompt`` → ``serving``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..models.rendered import RenderedPrompt
from ..models.targets import Target
from .options import ServingOptions
from .record import CallIdentity

__all__ = ["CallIdentity", "ServedPrompt"]


@dataclass(frozen=True)
class ServedPrompt:
    """A prompt as serving sees it. ``render`` and ``target`` run inside the call (their errors are recorded)."""

    identity: CallIdentity  # what the request record says about the prompt
    file: str  # the prompt file (named in errors)
    model: str  # the resolved litellm model id, before a target is chosen
    params: Mapping[str, Any]  # the prompt's params (hashed when the call fails before rendering)
    output_schema: dict[str, Any] | None  # the declared output schema (strict output, json_schema guards)
    guard_specs: tuple[Any, ...]  # the guards the prompt file declares (``guards:``)
    options: ServingOptions | None  # load_prompt(log=, otel=, guards=)
    render: Callable[[dict[str, Any]], RenderedPrompt]
    target: Callable[[], Target]
