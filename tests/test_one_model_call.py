"""One model call, one retry policy: eval (the Caller's layers) and serving (``Prompt.complete()``) retry the same
failures the same way, over real HTTP to the loopback server; the Retry-After parser and the decisions; and the
package has one retry loop and one place that calls litellm."""

from __future__ import annotations

import ast
import asyncio
import email.utils
import time
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import UsageError
from llmops_cli.evals.calling import Caller
from llmops_cli.models import Target
from llmops_cli.models.call import CallFailed
from llmops_cli.models.retry import BadReply, RetryPolicy, decide, failure_kind, retry_after
from llmops_cli.models.wire import build_request
from llmops_cli.releases.loader import load_prompt
from llmops_cli.serving import file_sink
from tests.conftest import REPO_ROOT
from tests.support.fakellm import FakeLLM, Fault
from tests.support.servingproj import read_records, serving_project

PACKAGE = REPO_ROOT / "llmops_cli"


class _Exc(Exception):
    def __init__(self, status: int | None = None, headers: Any = None) -> None:
        super().__init__("boom")
        if status is not None:
            self.status_code = status
        if headers is not None:
            self.litellm_response_headers = headers


# -- the same failures, the same decisions, in eval and in serving ------------------------------------------------

FAULTS = [
    (Fault.rate_limit(0.05), "rate_limit"),
    (Fault.server_error(), "server_error"),
    (Fault.unavailable(), "server_error"),
    (Fault.http(409, "conflict"), "conflict"),
    (Fault.http(408, "request timeout"), "timeout"),  # litellm raises its Timeout for a 408
    (Fault.hang(3), "timeout"),
    (Fault.garbage(), "server_error"),
    (Fault.drop(), "server_error"),  # litellm reports a dropped connection as a 500
]


def _eval_call(server: FakeLLM, fault: Fault) -> tuple[int, dict[str, int], int]:
    server.enqueue(fault, "ok")
    caller = Caller(concurrency=2, timeout_s=0.5, max_retries=2, backoff_base_s=0.01)
    req = build_request("openai/fake-model", [{"role": "user", "content": "q"}], {"max_tokens": 5})
    reply = asyncio.run(caller.acall(Target("openai/fake-model", api_base=server.url), req))
    assert reply.text == "ok"
    return reply.attempts, dict(caller.stats.by_kind), caller.stats.retries


def _serving_call(server: FakeLLM, fault: Fault, root: Path) -> tuple[str, int]:
    log = root / "requests.jsonl"
    server.enqueue(fault, "ok")
    p = load_prompt("support/answer", root=root, log=log)
    reply = p.complete(question="q", retries=RetryPolicy(2, base_s=0.01, max_s=1.0), timeout=0.5)
    file_sink(log).flush()
    return reply.text, read_records(log)[-1]["retries"]


@pytest.mark.parametrize(("fault", "kind"), FAULTS, ids=[f[1] + "-" + str(f[0].kind) for f in FAULTS])
def test_eval_and_serving_retry_the_same_failures(tmp_path: Path, fake_llm: FakeLLM, fault: Fault, kind: str) -> None:
    attempts, by_kind, retries = _eval_call(fake_llm, fault)
    assert (attempts, by_kind, retries) == (2, {kind: 1}, 1)
    root = serving_project(tmp_path / "p", fake_llm.url)
    assert _serving_call(fake_llm, fault, root) == ("ok", 1)
    assert fake_llm.count == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_eval_and_serving_do_not_retry_other_4xx(tmp_path: Path, fake_llm: FakeLLM, status: int) -> None:
    fake_llm.enqueue(Fault.http(status, "no"), "never sent")
    caller = Caller(concurrency=1, timeout_s=5, max_retries=3, backoff_base_s=0.01)
    req = build_request("openai/fake-model", [{"role": "user", "content": "q"}])
    with pytest.raises(CallFailed) as info:
        asyncio.run(caller.acall(Target("openai/fake-model", api_base=fake_llm.url), req))
    assert info.value.attempts == 1 and info.value.status == status and not info.value.decision.retry
    fake_llm.clear_script()
    fake_llm.enqueue(Fault.http(status, "no"), "never sent")
    root = serving_project(tmp_path / "p", fake_llm.url)
    log = root / "r.jsonl"
    with pytest.raises(Exception) as raised:
        load_prompt("support/answer", root=root, log=log).complete(question="q", retries=3)
    assert getattr(raised.value, "status_code", None) == status  # the provider's exception, as before
    file_sink(log).flush()
    assert read_records(log)[-1]["retries"] == 0 and fake_llm.count == 2


def test_both_wait_what_retry_after_asks(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Fault.rate_limit(0.4), "ok")
    caller = Caller(concurrency=1, timeout_s=5, max_retries=2, backoff_base_s=0.01)
    req = build_request("openai/fake-model", [{"role": "user", "content": "q"}])
    t0 = time.perf_counter()
    asyncio.run(caller.acall(Target("openai/fake-model", api_base=fake_llm.url), req))
    assert 0.4 <= time.perf_counter() - t0 < 3
    root = serving_project(tmp_path / "p", fake_llm.url)
    fake_llm.enqueue(Fault.rate_limit(0.4), "ok")
    t0 = time.perf_counter()
    load_prompt("support/answer", root=root).complete(question="q", retries=RetryPolicy(2, base_s=0.01, max_s=1))
    assert 0.4 <= time.perf_counter() - t0 < 3


def test_a_retry_after_longer_than_the_policy_waits_is_not_waited_for(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Fault.rate_limit(120), "ok")
    caller = Caller(concurrency=1, timeout_s=5, max_retries=3, backoff_base_s=0.01)
    req = build_request("openai/fake-model", [{"role": "user", "content": "q"}])
    t0 = time.perf_counter()
    with pytest.raises(CallFailed) as info:
        asyncio.run(caller.acall(Target("openai/fake-model", api_base=fake_llm.url), req))
    assert time.perf_counter() - t0 < 3 and info.value.kind == "rate_limit" and info.value.attempts == 1
    assert "120 s" in info.value.decision.reason and fake_llm.count == 1


# -- the decisions -----------------------------------------------------------------------------------------------


def test_retry_after_parser() -> None:
    assert retry_after(_Exc(429, {"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert retry_after(_Exc(429, {"Retry-After": "3"})) == 3.0  # a plain dict: any case
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after(_Exc(429, {"retry-after": date})) or 0) <= 31
    assert retry_after(_Exc(429, {"retry-after": email.utils.formatdate(time.time() - 60, usegmt=True)})) == 0.0
    for hostile in ("-5", "nan", "inf", "1e999", "soon", "9" * 100, "", "Mon, 99 Foo 2026"):
        value = retry_after(_Exc(429, {"retry-after": hostile}))
        assert value is None or value == 0.0, hostile
    assert retry_after(_Exc(429, None)) is None
    assert retry_after(_Exc(429, {"retry-after-ms": "abc"})) is None


def test_decisions_say_whether_why_and_how_long() -> None:
    policy = RetryPolicy(max_retries=2, base_s=0.1, max_s=1.0, max_retry_after_s=5.0)
    d = decide(policy, 0, _Exc(429, {"retry-after": "2"}))
    assert d.retry and d.kind == "rate_limit" and 2.0 <= d.wait_s <= 2.2 and "2 s" in d.reason
    d = decide(policy, 0, _Exc(429, {"retry-after": "6"}))
    assert not d.retry and "6 s" in d.reason
    d = decide(policy, 1, _Exc(503))
    assert d.retry and d.kind == "server_error" and 0 <= d.wait_s <= 0.2
    d = decide(policy, 2, _Exc(503))
    assert not d.retry and "gave up after 3 attempts" in d.reason
    assert decide(policy, 0, _Exc(409)).retry and decide(policy, 0, _Exc(409)).kind == "conflict"
    assert not decide(policy, 0, _Exc(400)).retry and decide(policy, 0, _Exc(400)).kind == "bad_request"
    assert decide(policy, 0, TimeoutError()).kind == "timeout"
    assert decide(policy, 0, BadReply("empty")).kind == "bad_response"
    assert failure_kind(ConnectionResetError()) == ("connection", True, None)
    unknown = decide(policy, 0, KeyError("x"))  # an error raised before any request: not retried
    assert not unknown.retry and unknown.kind == "error" and unknown.message.startswith("KeyError")


def test_retry_policy_refuses_nonsense() -> None:
    for bad in ({"max_retries": -1}, {"max_retries": 99}, {"max_retries": True}, {"base_s": 5, "max_s": 1}):
        with pytest.raises(UsageError):
            RetryPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        RetryPolicy(max_retry_after_s=float("inf"))


def test_secrets_in_error_messages_are_redacted(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-" + "a" * 40
    fake_llm.enqueue(Fault.http(401, f"bad key {secret}"))
    caller = Caller(concurrency=1, timeout_s=5, max_retries=0)
    req = build_request("openai/fake-model", [{"role": "user", "content": "q"}])
    with pytest.raises(CallFailed) as info:
        asyncio.run(caller.acall(Target("openai/fake-model", api_base=fake_llm.url), req))
    assert secret not in info.value.message and secret not in str(info.value.error)


# -- one loop, one door --------------------------------------------------------------------------------------------


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def _calls_named(node: ast.AST, names: set[str]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in names:
                return True
    return False


def test_there_is_one_retry_loop_in_the_package() -> None:
    """A loop that catches an exception and sleeps before going round again is a retry loop: only the blocking
    and the awaited driver of :func:`llmops_cli.models.retry.retry_loop` have one (the model call and the GitHub
    status post both retry through them)."""
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.While | ast.For | ast.AsyncFor):
                has_try = any(isinstance(n, ast.Try) and n.handlers for n in ast.walk(node))
                if has_try and _calls_named(node, {"sleep"}):
                    found.append(str(path.relative_to(REPO_ROOT)))
    assert found == ["llmops_cli/models/retry.py", "llmops_cli/models/retry.py"]
    retry_source = (PACKAGE / "models" / "retry.py").read_text(encoding="utf-8")
    assert retry_source.count("def decide(") == 1 and retry_source.count("while True:") == 3


def test_the_loop_catches_itself() -> None:
    """The check above finds a hand-written retry loop."""
    code = "def f():\n    for i in range(3):\n        try:\n            g()\n        except E:\n            time.sleep(1)\n"
    loop = next(n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.For))
    assert any(isinstance(n, ast.Try) for n in ast.walk(loop)) and _calls_named(loop, {"sleep"})


def test_only_the_model_call_sends_requests_and_reads_retry_after() -> None:
    senders, parsers = [], []
    for path, tree in _modules():
        rel = str(path.relative_to(REPO_ROOT))
        if rel.startswith("llmops_cli/providers/"):  # the in-process model's litellm handler
            continue
        if any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("completion", "acompletion")
            and isinstance(n.func.value, ast.Name)
            and n.func.value.id == "litellm"
            for n in ast.walk(tree)
        ):
            senders.append(rel)
        if any(
            isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.lower().startswith("retry-after")
            for n in ast.walk(tree)
        ):
            parsers.append(rel)
    assert senders == ["llmops_cli/models/call.py"]
    assert parsers == ["llmops_cli/models/retry.py"]


# -- the eval layer keeps tool calls in its cache ----------------------------------------------------------------


def test_cached_tool_calls_round_trip_and_unreadable_ones_are_a_miss() -> None:
    from llmops_cli.evals.calling import CallResult
    from llmops_cli.records.chat import ModelReply, ToolCall, Usage

    reply = ModelReply(
        text="",
        tool_calls=[ToolCall(id="c1", name="lookup_order", arguments='{"order_id": "42"}')],
        finish_reason="tool_calls",
        usage=Usage(prompt_tokens=12, completion_tokens=3),
        cost_usd=0.001,
        latency_ms=5.0,
        model="m",
    )
    entry = CallResult.of(reply).cache_entry("generation")
    back = CallResult.from_cache(entry)
    assert back.tool_calls == reply.tool_calls and back.finish_reason == "tool_calls" and back.attempts == 0
    text_entry = CallResult.of(ModelReply(text="hi")).cache_entry("generation")
    assert "tool_calls" not in text_entry and "finish_reason" not in text_entry  # text entries as before
    for bad in ("nope", [{"id": "x"}], [{"id": "x", "name": "t", "arguments": "{}", "extra": 1}]):
        with pytest.raises(ValueError):
            CallResult.from_cache({**entry, "tool_calls": bad})
