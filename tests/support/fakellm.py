"""A loopback, OpenAI-compatible chat-completions server for tests and benchmarks.

``FakeLLM`` runs a standard-library ``ThreadingHTTPServer`` on ``127.0.0.1`` (random free port) in a
background thread, so litellm can be exercised over real HTTP without any monkeypatching.

Endpoints: ``POST /v1/chat/completions``, ``POST /chat/completions`` and ``GET /v1/models`` (also
``GET /models``). litellm, called as ``model="openai/<name>", api_base=server.url`` (``.../v1``), posts to
``/v1/chat/completions``. ``"stream": true`` is answered with server-sent events.

The Anthropic Messages API too: ``POST /v1/messages`` answers the same scripted replies as a ``message`` with
``text`` and ``tool_use`` content blocks, ``stop_reason`` and ``usage`` (``input_tokens`` / ``output_tokens``),
and faults with Anthropic's error bodies. litellm, called as ``model="anthropic/<name>",
api_base=server.anthropic_url`` (no ``/v1``: litellm appends ``/v1/messages``), posts there.

Tool calls: a :class:`Reply` may carry ``tool_calls`` (:class:`ToolCallReply`: name, arguments, optional id),
answered as OpenAI ``tool_calls`` (``finish_reason: "tool_calls"``) or Anthropic ``tool_use`` blocks
(``stop_reason: "tool_use"``). The request's ``tool_choice`` is honoured on either API: ``none`` drops the
scripted calls, ``required`` (Anthropic ``any``) calls the first declared tool with ``{}`` when the script made
no call, a named function keeps only the calls to it (or makes one with ``{}``). Tool definitions count in
``prompt_tokens`` (their JSON's whitespace words), as real providers count them.

Example::

    import litellm
    from tests.support.fakellm import FakeLLM, Fault

    with FakeLLM(default_reply="hello", latency=0.05) as server:
        server.on("capital of France", "Paris")                   # substring of the last user message
        server.on(re.compile(r"^rate me"), Fault.rate_limit(2))   # regex -> 429 with Retry-After: 2
        server.enqueue("first", Fault.server_error(), "third")    # FIFO, consumed before rules
        resp = litellm.completion(
            model="openai/fake-model", api_base=server.url, api_key="sk-test",
            messages=[{"role": "user", "content": "hi"}], num_retries=0, timeout=5,
        )
        assert server.count == 1 and not server.duplicate_requests()

How a reply is chosen, first hit wins:

1. the chaos layer: with ``fault_rate > 0`` a deterministic draw per *(request-body hash, attempt)* may
   answer with one of ``faults`` (see :meth:`FakeLLM.chaos_fault`); such a request consumes nothing below;
2. the FIFO queue filled by :meth:`FakeLLM.enqueue` (one item per request);
3. rules added by :meth:`FakeLLM.on`, in registration order (a rule with ``times`` expires after that many);
4. the ``responder`` hook (returning ``None`` falls through);
5. ``default_reply``.

A reply spec is a ``str``, a :class:`Reply`, a :class:`Fault`, or a callable taking the parsed request JSON
and returning one of those (templated replies). :data:`ECHO` in a reply's content or a fault's message is
replaced by the request's credential headers (``authorization: Bearer …``, ``api-key``, ``x-api-key``), as a
careless provider or proxy echoes them in error bodies — for the secret-redaction tests. Faults: 429 + ``Retry-After``, 500, 503, any HTTP error,
a hang (sleep, then close without answering), a dropped connection and a garbage 200 body.
``MALFORMED_JSON_REPLY`` is a well-formed completion whose *content* is broken JSON.

Command line (foreground until SIGTERM/SIGINT; the first stdout line is the base URL)::

    python -m tests.support.fakellm --port 8765 --latency 0.2 --reply TEXT --fault-rate 0.1 --seed 1 \
        --log requests.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import hashlib
import itertools
import json
import math
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeAlias

__all__ = [
    "ANTHROPIC_PATHS",
    "DEFAULT_CHAOS_FAULTS",
    "ECHO",
    "MALFORMED_JSON_REPLY",
    "FakeLLM",
    "Fault",
    "FaultKind",
    "Reply",
    "RequestRecord",
    "ToolCallReply",
    "body_hash",
    "estimate_tokens",
]

HOST = "127.0.0.1"
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
ANTHROPIC_PATHS = frozenset({"/v1/messages", "/messages"})
API_PATHS = CHAT_PATHS | ANTHROPIC_PATHS
MODEL_PATHS = frozenset({"/v1/models", "/models"})

#: A syntactically broken JSON document, to be returned as completion *content* (``server.on(..., it)``).
MALFORMED_JSON_REPLY = '{"verdict": "pass", "score": 0.9, "reasons": ["looks fine",'


class FaultKind(enum.StrEnum):
    """What went wrong, as recorded in :attr:`RequestRecord.fault`."""

    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    HTTP_ERROR = "http_error"
    HANG = "hang"
    DROP = "drop"
    GARBAGE = "garbage"


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure. Build one with the classmethods rather than by hand."""

    kind: FaultKind
    status: int | None = None
    message: str = ""
    retry_after: float | None = None
    seconds: float = 0.0
    body: str = ""
    content_type: str = "application/json"
    reset: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0, message: str = "Rate limit reached") -> Fault:
        """HTTP 429; ``Retry-After`` has whole seconds (rounded up), ``retry-after-ms`` the exact value."""
        return cls(FaultKind.RATE_LIMIT, status=429, message=message, retry_after=retry_after)

    @classmethod
    def server_error(cls, message: str = "The server had an error processing your request") -> Fault:
        """HTTP 500 with an OpenAI-style error body."""
        return cls(FaultKind.SERVER_ERROR, status=500, message=message)

    @classmethod
    def unavailable(cls, message: str = "The engine is currently overloaded") -> Fault:
        """HTTP 503 with an OpenAI-style error body."""
        return cls(FaultKind.UNAVAILABLE, status=503, message=message)

    @classmethod
    def http(cls, status: int, message: str = "error", headers: dict[str, str] | None = None) -> Fault:
        """Any HTTP error status (e.g. 400, 401, 404, 422) with an OpenAI-style error body."""
        return cls(FaultKind.HTTP_ERROR, status=status, message=message, headers=tuple((headers or {}).items()))

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Read the request, send nothing for ``seconds`` (cut short by ``stop()``), then close the socket."""
        return cls(FaultKind.HANG, seconds=seconds)

    @classmethod
    def drop(cls, reset: bool = False) -> Fault:
        """Close the connection without any response (FIN; TCP RST if ``reset``)."""
        return cls(FaultKind.DROP, reset=reset)

    @classmethod
    def garbage(
        cls,
        body: str = "<html><body>502 Bad Gateway</body></html> {not json",
        status: int = 200,
        content_type: str = "application/json",
    ) -> Fault:
        """A response whose body is not JSON (200 and ``application/json`` by default)."""
        return cls(FaultKind.GARBAGE, status=status, body=body, content_type=content_type)


#: In a reply's content or a fault's message: replaced by the request's credential headers.
ECHO = "{echo-credentials}"
_CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")


def _echo(outcome: Fault | Reply, headers: dict[str, str]) -> Fault | Reply:
    creds = " ".join(f"{k}: {headers[k]}" for k in _CREDENTIAL_HEADERS if k in headers)
    if isinstance(outcome, Reply) and ECHO in outcome.content:
        return replace(outcome, content=outcome.content.replace(ECHO, creds))
    if isinstance(outcome, Fault) and ECHO in outcome.message:
        return replace(outcome, message=outcome.message.replace(ECHO, creds))
    return outcome


#: Faults drawn by the chaos layer when ``fault_rate`` is set but ``faults`` is not.
DEFAULT_CHAOS_FAULTS: tuple[Fault, ...] = (
    Fault.rate_limit(retry_after=1.0),
    Fault.server_error(),
    Fault.unavailable(),
    Fault.drop(),
)


@dataclass(frozen=True, slots=True)
class ToolCallReply:
    """A tool call in a scripted reply: ``arguments`` is a JSON-serialisable value, or raw text sent as is
    (to script a model that writes invalid JSON); ``id`` defaults to ``call_<request seq>_<index>``."""

    name: str
    arguments: Any = "{}"
    id: str | None = None

    def arguments_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)

    def arguments_object(self) -> Any:
        """The arguments as a JSON value (Anthropic's ``input``); text that is not JSON is kept as a string."""
        if not isinstance(self.arguments, str):
            return self.arguments
        try:
            return json.loads(self.arguments)
        except ValueError:
            return self.arguments


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful completion with more control than a plain string: its text, finish reason, and the tool
    calls the "model" makes (``finish_reason`` becomes ``tool_calls`` when it is left at ``stop``)."""

    content: str = ""
    finish_reason: str = "stop"
    tool_calls: tuple[ToolCallReply, ...] = ()

    @classmethod
    def calling(cls, *calls: ToolCallReply | tuple[str, Any], content: str = "") -> Reply:
        """A reply that calls tools: ``Reply.calling(("lookup_order", {"id": "42"}))``."""
        made = tuple(c if isinstance(c, ToolCallReply) else ToolCallReply(c[0], c[1]) for c in calls)
        return cls(content=content, tool_calls=made)

    @property
    def finish(self) -> str:
        return "tool_calls" if self.tool_calls and self.finish_reason == "stop" else self.finish_reason


Resolved: TypeAlias = str | Reply | Fault
ReplySpec: TypeAlias = Resolved | Callable[[dict[str, Any]], Resolved]
Matcher: TypeAlias = str | re.Pattern[str] | Callable[[dict[str, Any]], bool]
Responder: TypeAlias = Callable[[dict[str, Any]], Resolved | None]


@dataclass(slots=True)
class RequestRecord:
    """One request as seen by the server. ``status`` is ``None`` when no response was sent."""

    seq: int
    time: float
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    body_hash: str | None = None
    attempt: int = 0
    status: int | None = None
    fault: str | None = None
    source: str | None = None
    reply: str | None = None
    tool_calls: list[str] | None = None  # names of the tool calls answered

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (used for the ``--log`` JSON lines)."""
        return asdict(self)


@dataclass(slots=True)
class _Rule:
    match: Matcher
    reply: ReplySpec
    scope: str
    latency: float | None
    remaining: int | None
    name: str

    def matches(self, body: dict[str, Any]) -> bool:
        if callable(self.match) and not isinstance(self.match, re.Pattern):
            return bool(self.match(body))
        text = last_user_text(body) if self.scope == "last_user" else all_text(body)
        if isinstance(self.match, re.Pattern):
            return self.match.search(text) is not None
        return self.match in text


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    """Text of the last ``user`` message of a chat request ("" if none)."""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return _content_text(msg.get("content"))
    return ""


def all_text(body: dict[str, Any]) -> str:
    """All message contents joined by newlines."""
    msgs = body.get("messages") or []
    return "\n".join(_content_text(m.get("content")) for m in msgs if isinstance(m, dict))


def estimate_tokens(text: str) -> int:
    """Whitespace word count: the fake tokenizer behind ``usage``."""
    return len(text.split())


def declared_tools(body: dict[str, Any]) -> list[str]:
    """The tool names a request declares (OpenAI ``tools[].function.name`` or Anthropic ``tools[].name``)."""
    names = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            fn = tool.get("function")
            name = fn.get("name") if isinstance(fn, dict) else tool.get("name")
            if isinstance(name, str):
                names.append(name)
    return names


def tool_choice_of(body: dict[str, Any]) -> tuple[str, str | None]:
    """The request's tool choice as ``(mode, name)``: mode ``auto``, ``required``, ``none`` or ``function``
    (OpenAI strings / ``{"type": "function"}``; Anthropic ``auto`` / ``any`` / ``none`` / ``{"type": "tool"}``)."""
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        return ("required" if choice == "any" else choice), None
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "function":
            fn = choice.get("function")
            return "function", fn.get("name") if isinstance(fn, dict) else None
        if kind == "tool":
            return "function", choice.get("name")
        if kind in ("auto", "any", "none"):
            return ("required" if kind == "any" else str(kind)), None
    return "auto", None


def apply_tool_choice(body: dict[str, Any], reply: Reply) -> Reply:
    """``reply`` as a model bound by the request's ``tool_choice`` would answer (see the module docstring)."""
    mode, name = tool_choice_of(body)
    declared = declared_tools(body)
    if mode == "none" and reply.tool_calls:
        return Reply(reply.content or "I answer without calling a tool.", "stop")
    if mode == "required" and not reply.tool_calls and declared:
        return replace(reply, tool_calls=(ToolCallReply(declared[0], "{}"),))
    if mode == "function" and name:
        kept = tuple(c for c in reply.tool_calls if c.name == name) or (ToolCallReply(name, "{}"),)
        return replace(reply, tool_calls=kept)
    return reply


def body_hash(body: Any) -> str:
    """SHA-256 of the canonical JSON (sorted keys, compact) of a request body: model, messages and params."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, fake: FakeLLM, port: int) -> None:
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) or self.fake._stop_event.is_set():
            return  # client went away (e.g. its timeout fired) or we are shutting down
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: avoid Nagle + delayed-ACK 40 ms stalls
    server_version = "fakellm/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        fake = self.server.fake
        record = fake._new_record("GET", path, dict(self.headers.items()), None)
        if path in MODEL_PATHS:
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fakellm"} for m in fake.models]
            fake._finish_record(record, status=200, source="models")
            self._send_json(200, {"object": "list", "data": data})
        else:
            fake._finish_record(record, status=404, source="not_found")
            self._send_json(404, _error_body(f"no route for GET {path}", "not_found_error", None))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        fake = self.server.fake
        headers = dict(self.headers.items())
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            record = fake._new_record("POST", path, headers, None)
            fake._finish_record(record, status=411, source="bad_request")
            self._send_json(411, _error_body("Content-Length required", _error_type(411), None))
            return
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if path not in API_PATHS or not isinstance(body, dict):
            record = fake._new_record("POST", path, headers, body if body is not None else raw.decode(errors="replace"))
            status = 404 if path not in API_PATHS else 400
            fake._finish_record(record, status=status, source="bad_request")
            msg = f"no route for POST {path}" if status == 404 else "request body must be a JSON object"
            self._send_json(status, _error_body(msg, _error_type(status), None))
            return

        record, outcome, latency = fake._decide(path, headers, body)
        if isinstance(outcome, Fault) and outcome.kind in (FaultKind.HANG, FaultKind.DROP):
            if outcome.kind is FaultKind.HANG:
                fake._sleep(outcome.seconds)
            elif latency:
                fake._sleep(latency)
            self._drop(reset=outcome.reset)
            return
        if latency:
            fake._sleep(latency)
        anthropic = path in ANTHROPIC_PATHS
        if isinstance(outcome, Fault):
            self._send_fault(outcome, anthropic=anthropic)
        elif anthropic:
            self._send_json(200, fake._anthropic_message(record, body, outcome), {"request-id": f"req-{record.seq}"})
        elif body.get("stream"):
            self._send_stream(record, body, outcome)
        else:
            self._send_json(200, fake._completion(record, body, outcome), {"x-request-id": f"req-{record.seq}"})

    # -- response writers ---------------------------------------------------------------------------------

    def _send_bytes(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json", headers or {})

    def _send_fault(self, fault: Fault, *, anthropic: bool = False) -> None:
        status = fault.status or 500
        if fault.kind is FaultKind.GARBAGE:
            self._send_bytes(status, fault.body.encode(), fault.content_type, {})
            return
        headers = dict(fault.headers)
        if fault.kind is FaultKind.RATE_LIMIT and fault.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
            headers["retry-after-ms"] = str(round(fault.retry_after * 1000))
        if anthropic:
            self._send_json(status, _anthropic_error_body(fault.message, status), headers)
            return
        code = {FaultKind.RATE_LIMIT: "rate_limit_exceeded", FaultKind.UNAVAILABLE: "service_unavailable"}
        self._send_json(status, _error_body(fault.message, _error_type(status), code.get(fault.kind)), headers)

    def _send_stream(self, record: RequestRecord, body: dict[str, Any], reply: Reply) -> None:
        fake = self.server.fake
        full = fake._completion(record, body, reply)
        base = {k: full[k] for k in ("id", "created", "model", "system_fingerprint")}
        base["object"] = "chat.completion.chunk"

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"

        parts = [chunk({"role": "assistant", "content": ""}, None)]
        parts += [chunk({"content": piece}, None) for piece in re.findall(r"\S+\s*|\s+", reply.content)]
        calls = full["choices"][0]["message"].get("tool_calls") or []
        if calls:
            parts.append(chunk({"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]}, None))
        parts.append(chunk({}, full["choices"][0]["finish_reason"]))
        if (body.get("stream_options") or {}).get("include_usage"):
            parts.append(b"data: " + json.dumps({**base, "choices": [], "usage": full["usage"]}).encode() + b"\n\n")
        parts.append(b"data: [DONE]\n\n")
        self._send_bytes(200, b"".join(parts), "text/event-stream", {"Cache-Control": "no-cache"})

    def _drop(self, reset: bool) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)


def _error_type(status: int) -> str:
    # litellm maps any error whose text contains "invalid_request_error" to BadRequestError, whatever the
    # status, so only 400/422 use it; the others get OpenAI's status-specific types.
    types = {
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    if status in (400, 422):
        return "invalid_request_error"
    return types.get(status, "server_error" if status >= 500 else "api_error")


def _error_body(message: str, err_type: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


def _anthropic_error_body(message: str, status: int) -> dict[str, Any]:
    types = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
             404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error",
             503: "overloaded_error"}  # fmt: skip
    err_type = types.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": err_type, "message": message}}


class FakeLLM:
    """A scripted OpenAI-compatible chat-completions server on ``127.0.0.1`` (see the module docstring).

    Args:
        default_reply: content returned when nothing else matches.
        latency: seconds every response waits before being sent (a per-request, non-blocking sleep).
        responder: whole-request hook ``f(request_json) -> str | Reply | Fault | None``; None falls through.
        fault_rate: probability in ``[0, 1]`` that the chaos layer faults a request.
        faults: the faults the chaos layer chooses among (``DEFAULT_CHAOS_FAULTS`` if omitted).
        seed: seeds the chaos layer's draws.
        max_faults_per_body: chaos only faults attempts ``< N`` of a body, so the N-th retry gets through.
        models: ids listed by ``GET /v1/models``.
        port: 0 picks a free port.
        log_path: append each chat request as a JSON line (flushed) once its outcome is decided.
        verbose: let ``http.server`` log each request to stderr.
        usage: ``f(request_json, reply_content) -> (prompt_tokens, completion_tokens)`` for ``usage``
            (default: whitespace word counts, :func:`estimate_tokens`), e.g. a real tokenizer.
    """

    def __init__(
        self,
        default_reply: ReplySpec = "This is a fake reply.",
        *,
        latency: float = 0.0,
        responder: Responder | None = None,
        fault_rate: float = 0.0,
        faults: Sequence[Fault] | None = None,
        seed: int = 0,
        max_faults_per_body: int | None = None,
        models: Sequence[str] = ("fake-model",),
        port: int = 0,
        log_path: str | Path | None = None,
        verbose: bool = False,
        usage: Callable[[dict[str, Any], str], tuple[int, int]] | None = None,
    ) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within [0, 1], got {fault_rate}")
        self.default_reply = default_reply
        self.latency = latency
        self.responder = responder
        self.fault_rate = fault_rate
        self.faults: tuple[Fault, ...] = tuple(faults) if faults else DEFAULT_CHAOS_FAULTS
        self.seed = seed
        self.max_faults_per_body = max_faults_per_body
        self.models = list(models)
        self.verbose = verbose
        self.usage = usage
        self._port = port
        self._lock = threading.Lock()
        self._queue: deque[ReplySpec] = deque()
        self._rules: list[_Rule] = []
        self._records: list[RequestRecord] = []
        #: Exceptions raised by matcher/reply/responder callables (each answered with HTTP 500).
        self.script_errors: list[Exception] = []
        self._seen: Counter[str] = Counter()
        self._seq = itertools.count(1)
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log_path = Path(log_path) if log_path is not None else None
        self._log: IO[str] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> FakeLLM:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._stop_event.clear()
        if self._log_path is not None:
            self._log = self._log_path.open("a", encoding="utf-8")
        self._server = _Server(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakellm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: wakes sleeping/hanging handlers, closes open connections. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stop_event.set()
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (server must be started)."""
        if self._server is None:
            raise RuntimeError("FakeLLM is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for ``api_base``: ``http://127.0.0.1:PORT/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        """Base URL for an ``anthropic/…`` model's ``api_base``: ``http://127.0.0.1:PORT`` (litellm appends
        ``/v1/messages``)."""
        return f"http://{HOST}:{self.port}"

    # -- scripting ----------------------------------------------------------------------------------------

    def enqueue(self, *replies: ReplySpec) -> FakeLLM:
        """Append replies (str, Reply, Fault or callable) to the FIFO queue; each answers one request."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def on(
        self,
        match: Matcher,
        reply: ReplySpec,
        *,
        scope: str = "last_user",
        latency: float | None = None,
        times: int | None = None,
    ) -> FakeLLM:
        """Add a rule: when ``match`` fits, answer with ``reply``.

        ``match`` is a substring (``str``) or a compiled regex (``re.search``) tested against the last user
        message (``scope="last_user"``) or all message text (``scope="all"``), or a predicate on the request
        JSON. ``latency`` overrides the server latency for this rule; ``times`` limits how often it fires.
        """
        if scope not in ("last_user", "all"):
            raise ValueError("scope must be 'last_user' or 'all'")
        name = match.pattern if isinstance(match, re.Pattern) else getattr(match, "__name__", str(match))
        with self._lock:
            self._rules.append(_Rule(match, reply, scope, latency, times, f"rule:{name}"))
        return self

    def clear_script(self) -> None:
        """Forget queued replies and rules (history is kept)."""
        with self._lock:
            self._queue.clear()
            self._rules.clear()

    def chaos_fault(self, body: dict[str, Any], attempt: int) -> Fault | None:
        """The chaos layer's decision for the ``attempt``-th (0-based) sighting of ``body``.

        Deterministic: ``sha256(seed, body_hash, attempt)`` gives a uniform draw; below ``fault_rate`` it
        faults, with the fault picked from ``faults`` by further hash bits. A retry of the same body is a new
        attempt and hence an independent draw, so it can succeed; thread scheduling never changes a decision.
        """
        if self.fault_rate <= 0.0:
            return None
        if self.max_faults_per_body is not None and attempt >= self.max_faults_per_body:
            return None
        digest = hashlib.sha256(f"{self.seed}:{body_hash(body)}:{attempt}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2.0**64
        if draw >= self.fault_rate:
            return None
        return self.faults[int.from_bytes(digest[8:16], "big") % len(self.faults)]

    # -- history ------------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._records)

    @property
    def chat_requests(self) -> list[RequestRecord]:
        """Only the model requests (OpenAI chat completions and Anthropic messages)."""
        return [r for r in self.requests if r.path in API_PATHS and r.body_hash is not None]

    @property
    def count(self) -> int:
        """Number of chat-completion requests received."""
        return len(self.chat_requests)

    @property
    def count_by_status(self) -> Counter[int | None]:
        """Chat requests per HTTP status returned (``None``: no response, i.e. hang or drop)."""
        return Counter(r.status for r in self.chat_requests)

    @property
    def count_by_fault(self) -> Counter[str | None]:
        """Chat requests per fault kind (``None``: answered normally)."""
        return Counter(r.fault for r in self.chat_requests)

    def request_counts(self) -> Counter[str]:
        """How many times each distinct request body (by :func:`body_hash`) was received."""
        with self._lock:
            return Counter(self._seen)

    def duplicate_requests(self) -> dict[str, int]:
        """Bodies received more than once, ``{body_hash: times}``; empty means no request was sent twice."""
        return {h: n for h, n in self.request_counts().items() if n > 1}

    @property
    def last_request(self) -> RequestRecord | None:
        """The most recent chat request, if any."""
        chats = self.chat_requests
        return chats[-1] if chats else None

    def reset_history(self) -> None:
        """Clear records and body counts (which also resets chaos attempt numbers)."""
        with self._lock:
            self._records.clear()
            self._seen.clear()

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        """Poll until at least ``n`` chat requests arrived, or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count >= n:
                return True
            time.sleep(0.01)
        return self.count >= n

    # -- internals (called from handler threads) ----------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop_event.wait(seconds)

    def _new_record(self, method: str, path: str, headers: dict[str, str], body: Any) -> RequestRecord:
        record = RequestRecord(
            seq=next(self._seq),
            time=time.time(),
            method=method,
            path=path,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )
        with self._lock:
            self._records.append(record)
        return record

    def _finish_record(self, record: RequestRecord, *, status: int | None, source: str) -> None:
        record.status, record.source = status, source

    def _decide(
        self, path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[RequestRecord, Fault | Reply, float]:
        digest = body_hash(body)
        record = RequestRecord(
            seq=next(self._seq),
            time=time.time(),
            method="POST",
            path=path,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            body_hash=digest,
        )
        with self._lock:
            record.attempt = self._seen[digest]
            self._seen[digest] += 1
            self._records.append(record)
        try:
            spec, source, latency = self._pick(body, record.attempt)
            outcome = _echo(self._resolve(spec, body), record.headers)
        except Exception as exc:  # a broken matcher/reply callable: answer 500 and keep it for the test
            with self._lock:
                self.script_errors.append(exc)
            source, latency = "script_error", None
            outcome = Fault.server_error(f"fakellm script error: {exc!r}")
        record.source = source
        if isinstance(outcome, Fault):
            record.fault = str(outcome.kind)
            record.status = outcome.status if outcome.kind not in (FaultKind.HANG, FaultKind.DROP) else None
        else:
            outcome = apply_tool_choice(body, outcome)
            record.status, record.reply = 200, outcome.content
            record.tool_calls = [c.name for c in outcome.tool_calls] or None
        self._write_log(record)
        return record, outcome, self.latency if latency is None else latency

    def _pick(self, body: dict[str, Any], attempt: int) -> tuple[ReplySpec, str, float | None]:
        fault = self.chaos_fault(body, attempt)
        if fault is not None:
            return fault, "chaos", None
        with self._lock:
            if self._queue:
                return self._queue.popleft(), "queue", None
            for rule in self._rules:
                if rule.remaining != 0 and rule.matches(body):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.reply, rule.name, rule.latency
        if self.responder is not None:
            result = self.responder(body)
            if result is not None:
                return result, "responder", None
        return self.default_reply, "default", None

    @staticmethod
    def _resolve(spec: ReplySpec, body: dict[str, Any]) -> Fault | Reply:
        value = spec(body) if callable(spec) else spec
        if isinstance(value, Fault | Reply):
            return value
        return Reply(str(value))

    def _tokens(self, body: dict[str, Any], reply: Reply) -> tuple[int, int]:
        if self.usage is not None:
            return self.usage(body, reply.content)
        prompt_tokens = estimate_tokens(all_text(body))
        if body.get("tools"):
            prompt_tokens += estimate_tokens(json.dumps(body["tools"]))
        system = body.get("system")  # Anthropic's system prompt is outside the messages
        if isinstance(system, str | list):
            prompt_tokens += estimate_tokens(_content_text(system))
        out = estimate_tokens(reply.content) + sum(estimate_tokens(c.arguments_text()) + 1 for c in reply.tool_calls)
        return prompt_tokens, out

    @staticmethod
    def _call_id(record: RequestRecord, call: ToolCallReply, index: int, prefix: str) -> str:
        return call.id or f"{prefix}_{record.seq}_{index}"

    def _anthropic_message(self, record: RequestRecord, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_tokens, completion_tokens = self._tokens(body, reply)
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.content}] if reply.content else []
        for i, c in enumerate(reply.tool_calls):
            block = {"type": "tool_use", "id": self._call_id(record, c, i, "toolu"), "name": c.name}
            content.append({**block, "input": c.arguments_object()})
        stop = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}.get(reply.finish, reply.finish)
        return {
            "id": f"msg_fake_{record.seq}",
            "type": "message",
            "role": "assistant",
            "model": str(body.get("model", "fake-model")),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
        }

    def _completion(self, record: RequestRecord, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_tokens, completion_tokens = self._tokens(body, reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.tool_calls:
            message["content"] = reply.content or None
            message["tool_calls"] = [
                {
                    "id": self._call_id(record, c, i, "call"),
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments_text()},
                }
                for i, c in enumerate(reply.tool_calls)
            ]
        return {
            "id": f"chatcmpl-fake-{record.seq}",
            "object": "chat.completion",
            "created": int(record.time),
            "model": str(body.get("model", "fake-model")),
            "system_fingerprint": "fp_fakellm",
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _write_log(self, record: RequestRecord) -> None:
        if self._log is None:
            return
        line = json.dumps(record.to_json(), default=str)
        with self._lock:
            if self._log is not None:
                self._log.write(line + "\n")
                self._log.flush()


# -- command line -------------------------------------------------------------------------------------------

_CLI_FAULTS: dict[str, Callable[[argparse.Namespace], Fault]] = {
    "rate_limit": lambda a: Fault.rate_limit(a.retry_after),
    "server_error": lambda a: Fault.server_error(),
    "unavailable": lambda a: Fault.unavailable(),
    "hang": lambda a: Fault.hang(a.hang_seconds),
    "drop": lambda a: Fault.drop(),
    "garbage": lambda a: Fault.garbage(),
}


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fakellm", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    parser.add_argument("--reply", default="This is a fake reply.", help="default reply content")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="chaos fault probability per request")
    parser.add_argument(
        "--faults",
        default="rate_limit,server_error,unavailable,drop",
        help=f"comma-separated chaos faults among: {', '.join(_CLI_FAULTS)}",
    )
    parser.add_argument("--max-faults-per-body", type=int, default=None, help="attempt N of a body never faults")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds for rate_limit")
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="how long a hang fault lasts")
    parser.add_argument("--seed", type=int, default=0, help="chaos seed")
    parser.add_argument("--log", type=Path, default=None, help="append each request as a JSON line")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    unknown = [f for f in args.faults.split(",") if f and f not in _CLI_FAULTS]
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Serve in the foreground until SIGTERM/SIGINT; print the base URL as the first stdout line."""
    args = _parse_args(argv)
    faults = [_CLI_FAULTS[f](args) for f in args.faults.split(",") if f]
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server = FakeLLM(
        args.reply,
        latency=args.latency,
        fault_rate=args.fault_rate,
        faults=faults,
        seed=args.seed,
        max_faults_per_body=args.max_faults_per_body,
        port=args.port,
        log_path=args.log,
        verbose=args.verbose,
    )
    with server:
        print(server.url, flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
