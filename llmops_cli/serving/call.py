"""``Prompt.complete()`` / ``acomplete()``: render, call the model through the one model call
(:func:`llmops_cli.models.call.call_raw` / ``acall_raw``: the one retry policy, retries counted here), and
record the call. Returns a :class:`~llmops_cli.serving.completion.Completion` (text, typed tool calls, and
litellm's response for older code).

One record per call — also when rendering, target resolution or the provider call raises (the record says
``outcome: "error"`` and the exception's class name; the provider's exception, its message redacted, is
re-raised). Nothing is recorded or timed beyond the call itself when neither a log sink nor OpenTelemetry is
enabled.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..models.retry import RetryPolicy
from ..records.base import dump_record
from ..records.chat import ChatMessage, ModelRequest
from ..records.content import content_text
from ..redact import redactor
from .completion import Completion
from .options import OtelOptions, env_otel, file_guards
from .record import (
    build_record,
    clean_cost,
    loggable_vars,
    new_request_id,
    params_hash,
    usage_tokens,
    utc_timestamp,
    validate_request_id,
    validate_tags,
)
from .served import ServedPrompt
from .sinks import Sink, env_sink, resolve_sink

if TYPE_CHECKING:
    from ..models.call import Answer
    from ..models.targets import Target
    from ..safety.guards import GuardRecord, GuardSet
    from .otel import OtelCall

_logger = logging.getLogger("llmops_cli.serving")
_warned_record = False
MAX_HISTORY_MESSAGES = 1000  # turns a caller may pass back in one call
MAX_HISTORY_CHARS = 16 * 1024 * 1024  # their text together (tool results included)


def sink_for(prompt: ServedPrompt, log: Any) -> Sink | None:
    if log is not None:
        return resolve_sink(log)
    options = prompt.options
    if options is not None and options.log is not None:
        return None if options.log is False else options.log  # type: ignore[return-value]
    return env_sink()


def _otel_for(prompt: ServedPrompt) -> OtelOptions | None:
    options = prompt.options
    if options is not None and options.otel is not None:
        return options.otel if isinstance(options.otel, OtelOptions) else None
    return env_otel()


class _Call:
    """The state of one serving call, from the first line of ``complete()`` to its record."""

    def __init__(
        self,
        prompt: ServedPrompt,
        variables: Mapping[str, Any],
        *,
        tags: Mapping[str, str] | None,
        request_id: str | None,
        log: Any,
        log_content: bool,
        retries: int | RetryPolicy | None,
        timeout: float | None,
        history: Sequence[ChatMessage | Mapping[str, Any]] | None = None,
    ) -> None:
        self.prompt = prompt
        self.history = _history(history)
        self.variables = variables
        self.tags = validate_tags(tags)
        self.request_id = validate_request_id(request_id) if request_id is not None else None
        self.policy = RetryPolicy.of(retries)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise UsageError("timeout must be a positive number of seconds")
        self.timeout = timeout
        self.log_content = bool(log_content)
        self.sink = sink_for(prompt, log)
        otel = _otel_for(prompt)
        self.recording = self.sink is not None or otel is not None
        self.otel_options = otel
        self.otel: OtelCall | None = None
        self.retries = 0
        self.model = prompt.model
        self.params: dict[str, Any] | None = None
        self.messages: list[ChatMessage] | None = None
        self.render_vars: dict[str, Any] | None = None
        options = prompt.options
        self.guards: GuardSet | None = options.guards if options is not None else None
        if self.guards is None and prompt.guard_specs:
            self.guards = file_guards(prompt.identity.sha256, prompt.guard_specs, prompt.output_schema, prompt.file)
        self.guard: GuardRecord | None = None
        if self.guards is not None:
            from ..safety.guards import GuardRecord

            self.guard = GuardRecord(checked=self.guards.names())
        self.start_wall = time.time()
        self.start = time.perf_counter()

    def request(self) -> tuple[Target, ModelRequest]:
        """Render, resolve the target and build the request (the rendered messages, then ``history``).
        Input guards run first: a block raises before anything is sent."""
        from ..models.wire import build_request

        prompt = self.prompt
        variables = dict(self.variables)
        if self.guards is not None and self.guard is not None:
            variables = self.guards.check_variables(variables, self.guard)
        self.render_vars = variables
        rendered = prompt.render(variables)
        if self.guards is not None and self.guard is not None:
            self.guards.check_messages(rendered.messages, self.guard)
        target = prompt.target()
        self.model = target.model
        params, response_format = target.prepare(rendered.params, rendered.response_format, prompt.output_schema)
        self.params = params
        request = build_request(
            target.model,
            rendered.messages,
            params,
            response_format,
            tools=rendered.tools,  # the prompt file's tools, tool_choice and parallel_tool_calls
            tool_choice=rendered.tool_choice,
            parallel_tool_calls=rendered.parallel_tool_calls,
            history=self.history,
        )
        self.messages = request.messages
        if self.otel_options is not None:
            self._start_span(target.api_base)
        return target, request

    def _start_span(self, api_base: str | None) -> None:
        try:
            from .otel import instruments_for

            instruments = instruments_for(self.otel_options)  # type: ignore[arg-type]
            start_ns = int(self.start_wall * 1e9)
            self.otel = instruments.start(self.prompt.identity, self.model, api_base, self.params or {}, start_ns)
        except Exception:  # telemetry never breaks a call
            _logger.warning("llmops: could not start an OpenTelemetry span", exc_info=True)
            self.otel = None

    def completion(self, answer: Answer) -> Completion:
        """The caller's :class:`Completion`; output guards run on the reply's text first (a redaction is
        written into the reply and into the response's first choice)."""
        reply = answer.reply
        if self.guards is not None and self.guard is not None and reply.text:
            checked = self.guards.check_output(reply.text, self.guard)
            if checked is not reply.text:
                reply = reply.model_copy(update={"text": checked})
                with contextlib.suppress(AttributeError, IndexError, TypeError):
                    answer.response.choices[0].message.content = checked
        return Completion(reply, answer.response, self.history)

    def active(self) -> contextlib.AbstractContextManager[Any]:
        """The span made current while the provider is called (a no-op without OpenTelemetry)."""
        return self.otel if self.otel is not None else contextlib.nullcontext()

    def finish(self, answer: Answer | None, exc: BaseException | None) -> None:
        """Build the record and hand it to the sink and the span. Never raises."""
        if not self.recording:
            return
        global _warned_record
        try:
            if self.otel is None and self.otel_options is not None:  # it failed before the request: a span too
                self._start_span(None)
            record = self._record(answer, exc)
            if self.sink is not None:
                self.sink.emit(record)
            if self.otel is not None:
                response = answer.response if answer is not None else None
                calls = answer.reply.tool_calls if answer is not None else []
                self.otel.end(record, response, calls)
        except Exception:
            if not _warned_record:
                _warned_record = True
                _logger.warning("llmops: could not record a serving call", exc_info=True)

    def _record(self, answer: Answer | None, exc: BaseException | None) -> dict[str, Any]:
        latency_ms = (time.perf_counter() - self.start) * 1000.0
        tokens_in = tokens_out = cost = None
        if answer is not None:  # also when an output guard blocked it: the call was made and paid
            tokens_in, tokens_out = usage_tokens(answer.response)
            cost = clean_cost(answer.reply.cost_usd)
        record = build_record(
            self.prompt.identity,
            ts=utc_timestamp(self.start_wall),
            request_id=self.request_id or new_request_id(),
            model=self.model,
            params_hash=params_hash(self.params if self.params is not None else dict(self.prompt.params)),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=cost,
            latency_ms=latency_ms,
            error_class=None if exc is None else type(exc).__name__,
            retries=self.retries,
            tags=self.tags,
            guard=self.guard,
        )
        calls = answer.reply.tool_calls if answer is not None else []
        if calls:  # only then: records of calls without tools keep their keys
            record["tools_called"] = [c.name for c in calls]
        if self.history:  # a continued conversation: which assistant turn this call is (its tokens are per turn)
            record["turn"] = 1 + sum(1 for m in self.history if m.role == "assistant")
        if self.log_content:
            redact = redactor()
            record["input"] = (
                [{"role": m.role, "content": redact(_logged_text(m))} for m in self.messages]
                if self.messages is not None
                else None
            )
            record["output"] = redact(answer.reply.text) if answer is not None and exc is None else None
            record["vars"] = loggable_vars(self.render_vars, redact) if self.render_vars is not None else None
            if calls:
                record["tool_calls"] = [{**dump_record(c), "arguments": redact(c.arguments)} for c in calls]
        return record


def _logged_text(message: ChatMessage) -> str:
    """A message as the record shows it: its text (an image or file as its label, never its bytes), and the
    calls an assistant message made."""
    content = message.content
    text = content_text([dump_record(p) for p in content] if isinstance(content, list) else content)
    if message.tool_calls:
        text = (text + "\n" if text else "") + "\n".join(
            f"[tool call {c.name} {c.arguments}]" for c in message.tool_calls
        )
    return text


def _history(history: Sequence[ChatMessage | Mapping[str, Any]] | None) -> list[ChatMessage]:
    """The caller's conversation so far, as typed messages; :class:`UsageError` when it is not one."""
    if history is None:
        return []
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise UsageError("history must be a list of chat messages (ChatMessage objects or dicts)")
    if len(history) > MAX_HISTORY_MESSAGES:
        raise UsageError(f"history: at most {MAX_HISTORY_MESSAGES} messages, got {len(history)}")
    from pydantic import ValidationError

    from ..models.wire import messages_of

    try:
        messages = messages_of(history)
    except (ValidationError, TypeError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        detail = f"{where}: {first['msg']}" if first else str(exc)
        raise UsageError(f"history: not a chat message ({detail})") from None
    size = sum(len(m.text()) + sum(len(c.arguments) for c in m.tool_calls or ()) for m in messages)
    if size > MAX_HISTORY_CHARS:
        raise UsageError(f"history: at most {MAX_HISTORY_CHARS:,} characters of text, got {size:,}")
    return messages


def complete(prompt: ServedPrompt, variables: Mapping[str, Any], **options: Any) -> Completion:
    """One blocking serving call of ``prompt`` (see :meth:`llmops_cli.prompt.Prompt.complete`)."""
    from ..models.call import CallFailed, call_raw
    from ..models.runtime import import_litellm

    import_litellm()  # before the clock starts: a one-time import is not the call's latency
    call = _Call(prompt, variables, **options)
    try:
        target, request = call.request()
        with call.active():
            try:
                answer = call_raw(target, request, policy=call.policy, timeout_s=call.timeout)
            except CallFailed as failed:
                call.retries = failed.attempts - 1
                raise (failed.error or failed) from None
        call.retries = answer.reply.attempts - 1
    except BaseException as exc:
        call.finish(None, exc)
        raise
    try:
        completion = call.completion(answer)
    except BaseException as exc:
        call.finish(answer, exc)
        raise
    call.finish(answer, None)
    return completion


async def acomplete(prompt: ServedPrompt, variables: Mapping[str, Any], **options: Any) -> Completion:
    """One awaited serving call of ``prompt`` (see :meth:`llmops_cli.prompt.Prompt.acomplete`)."""
    from ..models.call import CallFailed, acall_raw
    from ..models.runtime import import_litellm

    import_litellm()  # before the clock starts: a one-time import is not the call's latency
    call = _Call(prompt, variables, **options)
    try:
        target, request = call.request()
        with call.active():
            try:
                answer = await acall_raw(target, request, policy=call.policy, timeout_s=call.timeout)
            except CallFailed as failed:
                call.retries = failed.attempts - 1
                raise (failed.error or failed) from None
        call.retries = answer.reply.attempts - 1
    except BaseException as exc:
        call.finish(None, exc)
        raise
    try:
        completion = call.completion(answer)
    except BaseException as exc:
        call.finish(answer, exc)
        raise
    call.finish(answer, None)
    return completion
