"""Serving: one structured record per ``Prompt.complete()`` / ``acomplete()`` call, to a JSON Lines file and/or
OpenTelemetry.

Turn it on with ``LLMOPS_LOG=/var/log/app/llm-requests.jsonl`` or ``load_prompt(..., log=PATH_OR_SINK)``;
OpenTelemetry spans and metrics (the ``[otel]`` extra) with ``LLMOPS_OTEL=1`` or ``load_prompt(..., otel=True)``.

* :mod:`.record` — building the record (its format: :mod:`llmops_cli.records.requests`), tags and request ids;
* :mod:`.served` — :class:`~.served.ServedPrompt`, what serving needs of a prompt (no ``Prompt`` import here);
* :mod:`.sinks` — :class:`JsonlFileSink` (buffered, bounded queue, background writer, rotation-safe);
* :mod:`.retry` — :class:`RetryPolicy` (counted retries on 429/5xx/timeouts);
* :mod:`.otel` — GenAI semantic-convention spans and metrics (imported only when enabled);
* :mod:`.call` — the call itself.

Importing this package loads neither litellm nor OpenTelemetry.
"""

from __future__ import annotations

from .options import OtelOptions, ServingOptions
from .record import RECORD_KEYS, SCHEMA_VERSION
from .retry import DEFAULT_RETRIES, RetryPolicy
from .sinks import JsonlFileSink, Sink, file_sink, flush_all

__all__ = [
    "DEFAULT_RETRIES",
    "RECORD_KEYS",
    "SCHEMA_VERSION",
    "JsonlFileSink",
    "OtelOptions",
    "RetryPolicy",
    "ServingOptions",
    "Sink",
    "file_sink",
    "flush_all",
]
