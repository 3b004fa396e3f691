"""Serving: one structured record per ``Prompt.complete()`` / ``acomplete()`` call, to a JSON Lines file and/or
OpenTelemetry.

Turn it on with ``LLMOPS_LOG=/var/log/app/llm-requests.jsonl`` or ``load_prompt(..., log=PATH_OR_SINK)``;
OpenTelemetry spans and metrics (the ``[otel]`` extra) with ``LLMOPS_OTEL=1`` or ``load_prompt(..., otel=True)``.

* :mod:`.record` — building the record (its format: :mod:`llmops_cli.records.requests`), tags and request ids;
* :mod:`.served` — :class:`~.served.ServedPrompt`, what serving needs of a prompt (no ``Prompt`` import here);
* :mod:`.sinks` — :class:`JsonlFileSink` (buffered, bounded queue, background writer, rotation-safe);
* :class:`RetryPolicy` — the model layer's one retry policy (:mod:`llmops_cli.models.retry`), counted here;
* :mod:`.completion` — :class:`Completion`, what a call returns (text, typed tool calls, litellm's response);
* :mod:`.otel` — GenAI semantic-convention spans and metrics (imported only when enabled);
* :mod:`.call` — the call itself.

Importing this package loads neither litellm nor OpenTelemetry.
"""

from __future__ import annotations

from ..models.retry import DEFAULT_RETRIES, RetryPolicy
from .completion import Completion, tool_result
from .options import OtelOptions, ServingOptions
from .record import RECORD_KEYS, SCHEMA_VERSION
from .sinks import JsonlFileSink, Sink, file_sink, flush_all

__all__ = [
    "DEFAULT_RETRIES",
    "RECORD_KEYS",
    "SCHEMA_VERSION",
    "Completion",
    "JsonlFileSink",
    "OtelOptions",
    "RetryPolicy",
    "ServingOptions",
    "Sink",
    "file_sink",
    "flush_all",
    "tool_result",
]
