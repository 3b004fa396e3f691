"""OpenTelemetry spans and metrics for serving calls, following the GenAI semantic conventions.

Imported only when OpenTelemetry is enabled (``load_prompt(..., otel=True)``, ``complete(..., otel=True)``
or ``LLMOPS_OTEL=1``); needs the ``[otel]`` extra. Spans and metrics go to the tracer and meter providers
given (:class:`~llmops_cli.serving.options.OtelOptions`) or else the global ones the application configured
(``opentelemetry.trace.set_tracer_provider`` / ``metrics.set_meter_provider``, or ``opentelemetry-instrument``).

Each call is one ``CLIENT`` span named ``chat {gen_ai.request.model}``, current while the call runs (so an
instrumented HTTP client's spans nest under it), covering retries:

* request: ``gen_ai.operation.name`` (``chat``), ``gen_ai.provider.name`` and its older name ``gen_ai.system``,
  ``gen_ai.request.model``, ``gen_ai.request.max_tokens`` / ``temperature`` / ``top_p`` when set,
  ``server.address`` / ``server.port`` for an ``api_base``;
* response: ``gen_ai.response.model``, ``gen_ai.response.id``, ``gen_ai.response.finish_reasons``,
  ``gen_ai.usage.input_tokens`` / ``output_tokens``; on failure ``error.type`` (the exception's class name,
  never its message) and status ERROR;
* llmops: ``llmops.prompt.name`` / ``version`` / ``sha256`` / ``channel`` / ``arm``, ``llmops.request_id``,
  ``llmops.retries``, ``llmops.cost_usd`` (when known), ``llmops.tag.<name>`` per caller tag, ``llmops.guard``
  (the guards' summary, when the prompt has guards), ``llmops.tools_called`` (the names of the tools the model
  called, in order) and ``llmops.turn`` (a continued conversation's assistant turn);
* one ``gen_ai.tool.call`` span event per tool call the model made, with ``gen_ai.tool.name``,
  ``gen_ai.tool.call.id`` and ``gen_ai.tool.type`` (``function``) — never the arguments.

Metrics (histograms, with the conventions' bucket advice): ``gen_ai.client.token.usage`` (``{token}``, one
point per token type: ``gen_ai.token.type`` = ``input`` / ``output``) and ``gen_ai.client.operation.duration``
(``s``), with the operation, provider, request/response model, ``server.address``, ``error.type`` and the
prompt's name, version, channel and arm (caller tags are left out of metrics: unbounded cardinality).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._version import __version__
from .record import CallIdentity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..records.chat import ToolCall
    from .options import OtelOptions

SCOPE = "llmops_cli"
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

# litellm provider prefix -> gen_ai.provider.name well-known value (others: the prefix itself)
PROVIDER_NAMES = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "local": "llmops.local",
}
_REQUEST_PARAMS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("seed", "gen_ai.request.seed"),
)


def provider_name(model: str) -> str:
    prefix = model.split("/", 1)[0] if "/" in model else "openai"
    return PROVIDER_NAMES.get(prefix, prefix)


def request_model(model: str) -> str:
    """The model name the provider receives (the litellm id without its provider prefix)."""
    return model.split("/", 1)[1] if "/" in model else model


class Instruments:
    """A tracer and the two GenAI histograms, for one pair of providers (None: the global ones)."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )

    def start(
        self, prompt: CallIdentity, model: str, api_base: str | None, params: dict[str, Any], start_ns: int
    ) -> OtelCall:
        return OtelCall(self, prompt, model, api_base, params, start_ns)


class OtelCall:
    """One call's span (made current while the call runs) and its metric attributes."""

    def __init__(
        self,
        instruments: Instruments,
        prompt: CallIdentity,
        model: str,
        api_base: str | None,
        params: dict[str, Any],
        start_ns: int,
    ) -> None:
        self.instruments = instruments
        req_model = request_model(model)
        provider = provider_name(model)
        common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": req_model,
        }
        if api_base:
            parts = urlsplit(api_base)
            if parts.hostname:
                common["server.address"] = parts.hostname
                port = parts.port or (443 if parts.scheme == "https" else 80)
                common["server.port"] = port
        prompt_attrs: dict[str, Any] = {"llmops.prompt.name": prompt.name}
        for attr, value in (
            ("llmops.prompt.version", prompt.version),
            ("llmops.prompt.channel", prompt.channel),
            ("llmops.prompt.arm", prompt.arm),
        ):
            if value is not None:
                prompt_attrs[attr] = value
        self.metric_attrs = {**common, **prompt_attrs}
        self.metric_attrs.pop("server.port", None)
        span_attrs = {**common, "gen_ai.system": provider, **prompt_attrs, "llmops.prompt.sha256": prompt.sha256}
        for key, attr in _REQUEST_PARAMS:
            value = params.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                span_attrs[attr] = value
        self.span = instruments.tracer.start_span(
            f"chat {req_model}", kind=SpanKind.CLIENT, attributes=span_attrs, start_time=start_ns
        )
        self._token: object | None = None

    def __enter__(self) -> OtelCall:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self._token = None

    def end(self, record: dict[str, Any], response: Any, tool_calls: Sequence[ToolCall] = ()) -> None:
        """Response attributes from the record (and the response object), the metrics, then end the span.
        Each tool call the model made is a ``gen_ai.tool.call`` event of the span with ``gen_ai.tool.name``,
        ``gen_ai.tool.call.id`` and ``gen_ai.tool.type`` (never its arguments)."""
        span = self.span
        for call in tool_calls:
            span.add_event(
                "gen_ai.tool.call",
                {"gen_ai.tool.name": call.name, "gen_ai.tool.call.id": call.id, "gen_ai.tool.type": "function"},
            )
        attrs: dict[str, Any] = {"llmops.request_id": record["request_id"], "llmops.retries": record["retries"]}
        guard = record.get("guard")
        if isinstance(guard, dict):  # serving guards ran: their outcome (pass, flagged:…, redacted:…, blocked:…)
            attrs["llmops.guard"] = guard["summary"]
        metric_attrs = dict(self.metric_attrs)
        response_model = getattr(response, "model", None) if response is not None else None
        if isinstance(response_model, str) and response_model:
            attrs["gen_ai.response.model"] = metric_attrs["gen_ai.response.model"] = response_model
        response_id = getattr(response, "id", None) if response is not None else None
        if isinstance(response_id, str) and response_id:
            attrs["gen_ai.response.id"] = response_id
        reasons = _finish_reasons(response)
        if reasons:
            attrs["gen_ai.response.finish_reasons"] = reasons
        if record["tokens_in"] is not None:
            attrs["gen_ai.usage.input_tokens"] = record["tokens_in"]
        if record["tokens_out"] is not None:
            attrs["gen_ai.usage.output_tokens"] = record["tokens_out"]
        if record["cost_usd"] is not None:
            attrs["llmops.cost_usd"] = record["cost_usd"]
        if record.get("tools_called"):
            attrs["llmops.tools_called"] = list(record["tools_called"])
        if record.get("turn") is not None:
            attrs["llmops.turn"] = record["turn"]
        for key, value in record["tags"].items():
            attrs[f"llmops.tag.{key}"] = value
        error = record["error_class"]
        if error is not None:
            attrs["error.type"] = metric_attrs["error.type"] = error
            span.set_status(Status(StatusCode.ERROR, error))
        span.set_attributes(attrs)
        self.instruments.duration.record(record["latency_ms"] / 1000.0, metric_attrs)
        usage = self.instruments.token_usage
        if record["tokens_in"] is not None:
            usage.record(record["tokens_in"], {**metric_attrs, "gen_ai.token.type": "input"})
        if record["tokens_out"] is not None:
            usage.record(record["tokens_out"], {**metric_attrs, "gen_ai.token.type": "output"})
        span.end(end_time=time.time_ns())


def _finish_reasons(response: Any) -> list[str]:
    try:
        reasons = [c.finish_reason for c in response.choices]
    except (AttributeError, TypeError):
        return []
    return [r for r in reasons if isinstance(r, str)]


_CACHE: dict[tuple[int, int], tuple[Any, Any, Instruments]] = {}
_LOCK = threading.Lock()


def instruments_for(options: OtelOptions) -> Instruments:
    """The instruments for these providers (cached per pair of providers)."""
    key = (id(options.tracer_provider), id(options.meter_provider))
    found = _CACHE.get(key)
    if found is None:
        with _LOCK:
            found = _CACHE.get(key)
            if found is None:  # the providers are kept with their instruments, so an id is never reused
                tp, mp = options.tracer_provider, options.meter_provider
                found = _CACHE[key] = (tp, mp, Instruments(tp, mp))
    return found[2]
