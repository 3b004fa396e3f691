"""``Prompt.complete()`` / ``acomplete()``: render, call the model (with counted retries), and record the call.

One record per call — also when rendering, target resolution or the provider call raises (the record says
``outcome: "error"`` and the exception's class name; the exception is re-raised). Nothing is recorded or
timed beyond the call itself when neither a log sink nor OpenTelemetry is enabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..records.content import content_text
from ..redact import redact_exception, redactor
from .options import OtelOptions, env_otel, file_guards
from .record import (
    build_record,
    clean_cost,
    new_request_id,
    params_hash,
    response_text,
    usage_tokens,
    utc_timestamp,
    validate_request_id,
    validate_tags,
)
from .retry import RetryPolicy
from .sinks import Sink, env_sink, resolve_sink

if TYPE_CHECKING:
    from ..prompt import Prompt
    from ..safety.guards import GuardRecord, GuardSet
    from .otel import OtelCall

_logger = logging.getLogger("llmops_cli.serving")
_NO_PRICE: set[str] = set()  # models found unpriced in litellm's table (cost: null)
_warned_record = False


def _sink_for(prompt: Prompt, log: Any) -> Sink | None:
    if log is not None:
        return resolve_sink(log)
    options = prompt.serving
    if options is not None and options.log is not None:
        return None if options.log is False else options.log  # type: ignore[return-value]
    return env_sink()


def _otel_for(prompt: Prompt) -> OtelOptions | None:
    options = prompt.serving
    if options is not None and options.otel is not None:
        return options.otel if isinstance(options.otel, OtelOptions) else None
    return env_otel()


_price_lookup: Any = None


def _cost(response: Any, model: str) -> float | None:
    """USD cost of a response from litellm's price table (the model layer's lookup): None when unknown."""
    global _price_lookup
    if _price_lookup is None:
        from ..models.prices import response_cost
        from ..models.runtime import import_litellm

        litellm = import_litellm()
        _price_lookup = lambda resp, m: response_cost(litellm, resp, m, _NO_PRICE)  # noqa: E731
    return _price_lookup(response, model)  # type: ignore[no-any-return]


class _Call:
    """The state of one serving call, from the first line of ``complete()`` to its record."""

    def __init__(
        self,
        prompt: Prompt,
        variables: Mapping[str, Any],
        *,
        tags: Mapping[str, str] | None,
        request_id: str | None,
        log: Any,
        log_content: bool,
        retries: int | RetryPolicy | None,
        timeout: float | None,
    ) -> None:
        self.prompt = prompt
        self.variables = variables
        self.tags = validate_tags(tags)
        self.request_id = validate_request_id(request_id) if request_id is not None else None
        self.policy = RetryPolicy.of(retries)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise UsageError("timeout must be a positive number of seconds")
        self.timeout = timeout
        self.log_content = bool(log_content)
        self.sink = _sink_for(prompt, log)
        otel = _otel_for(prompt)
        self.recording = self.sink is not None or otel is not None
        self.otel_options = otel
        self.otel: OtelCall | None = None
        self.retries = 0
        self.model = prompt.model
        self.params: dict[str, Any] | None = None
        self.messages: list[dict[str, Any]] | None = None
        options = prompt.serving
        self.guards: GuardSet | None = options.guards if options is not None else None
        if self.guards is None and prompt.spec.guards:
            self.guards = file_guards(prompt)
        self.guard: GuardRecord | None = None
        if self.guards is not None:
            from ..safety.guards import GuardRecord

            self.guard = GuardRecord(checked=self.guards.names())
        self.start_wall = time.time()
        self.start = time.perf_counter()

    def request(self) -> dict[str, Any]:
        """Render and resolve the target: litellm's keyword arguments (SDK retries off: counted here).
        Input guards run first: a block raises before anything is sent."""
        from ..models.runtime import request_kwargs

        prompt = self.prompt
        variables = dict(self.variables)
        if self.guards is not None and self.guard is not None:
            variables = self.guards.check_variables(variables, self.guard)
        rendered = prompt.render(variables)
        if self.guards is not None and self.guard is not None:
            self.guards.check_messages(rendered.messages, self.guard)
        self.messages = rendered.messages
        target = prompt.target()
        self.model = target.model
        params, response_format = target.prepare(rendered.params, rendered.response_format, prompt.spec.output.schema_)
        self.params = params
        extra: dict[str, Any] = {"num_retries": 0, "max_retries": 0}
        if self.timeout is not None:
            extra["timeout"] = self.timeout
        kwargs = request_kwargs(target, rendered.messages, params, response_format, **extra)
        if self.otel_options is not None:
            self._start_span(target.api_base)
        return kwargs

    def _start_span(self, api_base: str | None) -> None:
        try:
            from .otel import instruments_for

            instruments = instruments_for(self.otel_options)  # type: ignore[arg-type]
            start_ns = int(self.start_wall * 1e9)
            self.otel = instruments.start(self.prompt, self.model, api_base, self.params or {}, start_ns)
        except Exception:  # telemetry never breaks a call
            _logger.warning("llmops: could not start an OpenTelemetry span", exc_info=True)
            self.otel = None

    def check_output(self, response: Any) -> None:
        """Output guards on the reply; a redaction is written into the response's first choice."""
        if self.guards is None or self.guard is None:
            return
        text = response_text(response)
        if text is None:
            return
        checked = self.guards.check_output(text, self.guard)
        if checked is not text:
            response.choices[0].message.content = checked

    def active(self) -> contextlib.AbstractContextManager[Any]:
        """The span made current while the provider is called (a no-op without OpenTelemetry)."""
        return self.otel if self.otel is not None else contextlib.nullcontext()

    def finish(self, response: Any, exc: BaseException | None) -> None:
        """Build the record and hand it to the sink and the span. Never raises."""
        if not self.recording:
            return
        global _warned_record
        try:
            if self.otel is None and self.otel_options is not None:  # it failed before the request: a span too
                self._start_span(None)
            record = self._record(response, exc)
            if self.sink is not None:
                self.sink.emit(record)
            if self.otel is not None:
                self.otel.end(record, response)
        except Exception:
            if not _warned_record:
                _warned_record = True
                _logger.warning("llmops: could not record a serving call", exc_info=True)

    def _record(self, response: Any, exc: BaseException | None) -> dict[str, Any]:
        latency_ms = (time.perf_counter() - self.start) * 1000.0
        tokens_in = tokens_out = cost = None
        if response is not None:  # also when an output guard blocked it: the call was made and paid
            tokens_in, tokens_out = usage_tokens(response)
            cost = clean_cost(_cost(response, self.model))
        record = build_record(
            self.prompt,
            ts=utc_timestamp(self.start_wall),
            request_id=self.request_id or new_request_id(),
            model=self.model,
            params_hash=params_hash(self.params if self.params is not None else self.prompt.params),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=cost,
            latency_ms=latency_ms,
            error_class=None if exc is None else type(exc).__name__,
            retries=self.retries,
            tags=self.tags,
            guard=self.guard,
        )
        if self.log_content:
            redact = redactor()
            record["input"] = (
                [{"role": str(m.get("role")), "content": redact(content_text(m.get("content")))} for m in self.messages]
                if self.messages is not None
                else None
            )
            text = response_text(response) if exc is None else None
            record["output"] = redact(text) if text is not None else None
        return record


def complete(prompt: Prompt, variables: Mapping[str, Any], **options: Any) -> Any:
    """One blocking serving call of ``prompt`` (see :meth:`llmops_cli.prompt.Prompt.complete`)."""
    from ..models.runtime import import_litellm

    litellm = import_litellm()  # before the clock starts: a one-time import is not the call's latency
    call = _Call(prompt, variables, **options)
    try:
        kwargs = call.request()
        with call.active():
            while True:
                try:
                    response = litellm.completion(**kwargs)
                    break
                except Exception as exc:
                    delay = call.policy.delay(call.retries, exc)
                    if delay is None:
                        raise redact_exception(exc) from None
                    call.retries += 1
                    time.sleep(delay)
    except BaseException as exc:
        call.finish(None, exc)
        raise
    try:
        call.check_output(response)
    except BaseException as exc:
        call.finish(response, exc)
        raise
    call.finish(response, None)
    return response


async def acomplete(prompt: Prompt, variables: Mapping[str, Any], **options: Any) -> Any:
    """One awaited serving call of ``prompt`` (see :meth:`llmops_cli.prompt.Prompt.acomplete`)."""
    from ..models.runtime import import_litellm

    litellm = import_litellm()  # before the clock starts: a one-time import is not the call's latency
    call = _Call(prompt, variables, **options)
    try:
        kwargs = call.request()
        with call.active():
            while True:
                try:
                    response = await litellm.acompletion(**kwargs)
                    break
                except Exception as exc:
                    delay = call.policy.delay(call.retries, exc)
                    if delay is None:
                        raise redact_exception(exc) from None
                    call.retries += 1
                    await asyncio.sleep(delay)
    except BaseException as exc:
        call.finish(None, exc)
        raise
    try:
        call.check_output(response)
    except BaseException as exc:
        call.finish(response, exc)
        raise
    call.finish(response, None)
    return response
