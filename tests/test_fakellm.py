"""Tests for the loopback fake LLM server, driven through litellm over real HTTP (no monkeypatching)."""

# Fixtures imported below are then requested as same-named parameters, which F811 would flag.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import openai
import pytest

from tests.support.fakellm import MALFORMED_JSON_REPLY, FakeLLM, Fault, Reply
from tests.support.fixtures import fake_llm, fake_llm_factory  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
# Both kwargs: num_retries=0 also turns off litellm's wrapper retries; max_retries=0 the openai SDK's.
NO_RETRY: dict[str, Any] = {"num_retries": 0, "max_retries": 0}


def ask(server: FakeLLM, text: str = "hello", *, timeout: float = 5.0, **kwargs: Any) -> Any:
    kwargs = {**NO_RETRY, **kwargs}
    return litellm.completion(
        model="openai/fake-model",
        api_base=server.url,
        api_key="sk-test",
        messages=[{"role": "user", "content": text}],
        timeout=timeout,
        **kwargs,
    )


async def aask(server: FakeLLM, text: str = "hello", *, timeout: float = 5.0, **kwargs: Any) -> Any:
    return await litellm.acompletion(
        model="openai/fake-model",
        api_base=server.url,
        api_key="sk-test",
        messages=[{"role": "user", "content": text}],
        timeout=timeout,
        **{**NO_RETRY, **kwargs},
    )


def content(resp: Any) -> str:
    return resp.choices[0].message.content


# -- scripted replies ---------------------------------------------------------------------------------------


def test_default_reply_is_a_valid_completion(fake_llm: FakeLLM) -> None:
    resp = ask(fake_llm, "one two three")
    assert content(resp) == "This is a fake reply."
    assert resp.choices[0].finish_reason == "stop"
    assert resp.id.startswith("chatcmpl-fake-")
    assert resp.model.endswith("fake-model")
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (3, 5, 8)
    record = fake_llm.last_request
    assert record is not None
    assert record.path == "/v1/chat/completions"  # litellm's openai/ provider appends /chat/completions
    assert record.body["model"] == "fake-model"
    assert record.headers["authorization"] == "Bearer sk-test"
    assert (record.status, record.fault, record.source) == (200, None, "default")


def test_rules_substring_regex_predicate_scope_and_times(fake_llm: FakeLLM) -> None:
    fake_llm.on("capital of France", "Paris")
    fake_llm.on(re.compile(r"^\d+ \+ \d+$"), "a sum")
    fake_llm.on(lambda body: body.get("temperature") == 0.5, "warm")
    fake_llm.on("SYSTEM-MARK", "saw system", scope="all")
    fake_llm.on("once", "first time", times=1)
    assert content(ask(fake_llm, "What is the capital of France?")) == "Paris"
    assert content(ask(fake_llm, "2 + 2")) == "a sum"
    assert content(ask(fake_llm, "x", temperature=0.5)) == "warm"
    resp = litellm.completion(
        model="openai/fake-model",
        api_base=fake_llm.url,
        api_key="sk-test",
        messages=[{"role": "system", "content": "SYSTEM-MARK"}, {"role": "user", "content": "hi"}],
        timeout=5,
        **NO_RETRY,
    )
    assert content(resp) == "saw system"
    assert content(ask(fake_llm, "once")) == "first time"
    assert content(ask(fake_llm, "once")) == "This is a fake reply."


def test_enqueue_is_fifo_and_wins_over_rules(fake_llm: FakeLLM) -> None:
    fake_llm.on("hello", "rule")
    fake_llm.enqueue("first", Reply("second", finish_reason="length"))
    first, second, third = (ask(fake_llm) for _ in range(3))
    assert [content(first), content(second), content(third)] == ["first", "second", "rule"]
    assert second.choices[0].finish_reason == "length"
    assert [r.source for r in fake_llm.requests] == ["queue", "queue", "rule:hello"]


def test_templated_reply_and_responder_see_the_request(fake_llm_factory: Callable[..., FakeLLM]) -> None:
    def responder(body: dict[str, Any]) -> str | None:
        text = body["messages"][-1]["content"]
        return None if text == "pass" else f"responder got {text!r} at t={body.get('temperature')}"

    server = fake_llm_factory(lambda body: f"default for {body['model']}", responder=responder)
    server.on("echo", lambda body: body["messages"][-1]["content"].upper())
    assert content(ask(server, "echo me")) == "ECHO ME"
    assert content(ask(server, "hi", temperature=0.25)) == "responder got 'hi' at t=0.25"
    assert content(ask(server, "pass")) == "default for fake-model"


def test_script_error_becomes_http_500(fake_llm: FakeLLM) -> None:
    fake_llm.on("boom", lambda body: body["no-such-key"])
    with pytest.raises(litellm.InternalServerError, match="script error"):
        ask(fake_llm, "boom")
    assert [type(e) for e in fake_llm.script_errors] == [KeyError]
    assert fake_llm.last_request is not None and fake_llm.last_request.source == "script_error"


def test_malformed_json_reply_is_a_well_formed_completion(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(MALFORMED_JSON_REPLY)
    text = content(ask(fake_llm))
    assert text == MALFORMED_JSON_REPLY
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_streaming_reply_with_usage(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue("streamed reply in pieces")

    async def run() -> tuple[str, Any]:
        stream = await aask(fake_llm, "a b", stream=True, stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks[-1].usage

    text, usage = asyncio.run(run())
    assert text == "streamed reply in pieces"
    assert (usage.prompt_tokens, usage.completion_tokens) == (2, 4)


# -- latency ------------------------------------------------------------------------------------------------


def test_latency_is_concurrent(fake_llm_factory: Callable[..., FakeLLM]) -> None:
    server = fake_llm_factory(latency=0.2)

    async def burst() -> float:
        start = time.monotonic()
        results = await asyncio.gather(*(aask(server, f"q{i}") for i in range(16)))
        assert all(content(r) == "This is a fake reply." for r in results)
        return time.monotonic() - start

    elapsed = asyncio.run(burst())
    assert 0.2 <= elapsed < 1.5, elapsed  # serial would be 16 × 0.2 = 3.2 s
    assert server.count == 16


def test_per_rule_latency_overrides_server_latency(fake_llm: FakeLLM) -> None:
    fake_llm.on("slow", "late", latency=0.3)
    start = time.monotonic()
    assert content(ask(fake_llm, "fast")) == "This is a fake reply."
    fast = time.monotonic() - start
    start = time.monotonic()
    assert content(ask(fake_llm, "slow")) == "late"
    assert time.monotonic() - start >= 0.3 > fast


# -- faults -------------------------------------------------------------------------------------------------


def test_rate_limit_surfaces_with_retry_after(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Fault.rate_limit(retry_after=7))
    with pytest.raises(litellm.RateLimitError) as info:
        ask(fake_llm)
    assert info.value.status_code == 429
    # litellm rebuilds ``.response``; the server's headers are kept in ``litellm_response_headers``.
    assert info.value.litellm_response_headers["retry-after"] == "7"
    assert info.value.litellm_response_headers["retry-after-ms"] == "7000"
    assert fake_llm.count_by_status == {429: 1}


@pytest.mark.parametrize(
    ("fault", "exc_type", "status"),
    [
        (Fault.server_error(), litellm.InternalServerError, 500),
        (Fault.unavailable(), litellm.ServiceUnavailableError, 503),
        (Fault.http(400, "bad input"), litellm.BadRequestError, 400),
        (Fault.http(401, "no key"), litellm.AuthenticationError, 401),
        (Fault.http(403, "forbidden"), litellm.APIError, 403),  # litellm has no 403 mapping for openai/
        (Fault.http(404, "no such model"), litellm.NotFoundError, 404),
        (Fault.http(422, "unprocessable"), litellm.BadRequestError, 422),  # litellm maps 422 to 400
    ],
    ids=["500", "503", "400", "401", "403", "404", "422"],
)
def test_http_error_faults(fake_llm: FakeLLM, fault: Fault, exc_type: type[Exception], status: int) -> None:
    fake_llm.enqueue(fault)
    with pytest.raises(exc_type) as info:
        ask(fake_llm)
    assert info.value.status_code == status
    assert fake_llm.count_by_status == {status: 1}
    assert content(ask(fake_llm)) == "This is a fake reply."  # the fault was one call only


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_dropped_connection(fake_llm: FakeLLM, reset: bool) -> None:
    fake_llm.enqueue(Fault.drop(reset=reset))
    # litellm (openai provider) turns openai.APIConnectionError into InternalServerError("Connection error.").
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        ask(fake_llm)
    assert fake_llm.count_by_status == {None: 1}
    assert fake_llm.count_by_fault == {"drop": 1}
    assert content(ask(fake_llm)) == "This is a fake reply."


def test_hang_times_out_client(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Fault.hang(seconds=5))
    start = time.monotonic()
    with pytest.raises(litellm.Timeout):
        ask(fake_llm, timeout=0.5)
    assert time.monotonic() - start < 3
    assert isinstance(litellm.Timeout, type) and issubclass(litellm.Timeout, openai.APIConnectionError)
    assert fake_llm.count_by_fault == {"hang": 1}


@pytest.mark.parametrize("content_type", ["application/json", "text/html"])
def test_garbage_body(fake_llm: FakeLLM, content_type: str) -> None:
    fake_llm.enqueue(Fault.garbage(content_type=content_type))
    with pytest.raises(openai.APIError) as info:
        ask(fake_llm)
    assert isinstance(info.value, litellm.InternalServerError)
    assert fake_llm.count_by_status == {200: 1}


def test_async_faults(fake_llm: FakeLLM) -> None:
    fake_llm.enqueue(Fault.server_error(), Fault.drop(), Fault.hang(5), "ok")

    async def run() -> list[str]:
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append(content(await aask(fake_llm, timeout=0.5)))
            except openai.APIError as exc:
                outcomes.append(type(exc).__name__)
        return outcomes

    assert asyncio.run(run()) == ["InternalServerError", "InternalServerError", "Timeout", "ok"]


def test_stop_is_not_blocked_by_a_hanging_request() -> None:
    server = FakeLLM().start()
    server.enqueue(Fault.hang(seconds=60))
    errors: list[BaseException] = []

    def client() -> None:
        try:
            ask(server, timeout=30)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    assert server.wait_for(1, timeout=5)
    start = time.monotonic()
    server.stop()
    thread.join(10)
    assert time.monotonic() - start < 5
    assert not thread.is_alive() and errors


def test_litellm_default_retries_resend_the_same_body(fake_llm: FakeLLM) -> None:
    """Without num_retries/max_retries the openai SDK silently retries (3 requests, same body)."""
    fake_llm.enqueue(*[Fault.server_error()] * 3)
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(
            model="openai/fake-model",
            api_base=fake_llm.url,
            api_key="sk-test",
            messages=[{"role": "user", "content": "hello"}],
            timeout=5,
        )
    assert fake_llm.count == 3
    assert list(fake_llm.duplicate_requests().values()) == [3]
    assert [r.headers["x-stainless-retry-count"] for r in fake_llm.requests] == ["0", "1", "2"]


# -- history ------------------------------------------------------------------------------------------------


def test_history_and_duplicate_detection(fake_llm: FakeLLM) -> None:
    ask(fake_llm, "a")
    ask(fake_llm, "b")
    assert fake_llm.duplicate_requests() == {}
    ask(fake_llm, "a")
    ask(fake_llm, "a", temperature=0.1)  # different params: a different body
    counts = fake_llm.request_counts()
    assert sorted(counts.values()) == [1, 1, 2]
    (dup_hash,) = fake_llm.duplicate_requests()
    assert [r.attempt for r in fake_llm.requests if r.body_hash == dup_hash] == [0, 1]
    assert fake_llm.count == 4 and fake_llm.count_by_status == {200: 4}
    fake_llm.reset_history()
    assert fake_llm.count == 0 and fake_llm.request_counts() == {}


def test_raw_http_paths(fake_llm: FakeLLM) -> None:
    base = fake_llm.url.removesuffix("/v1")
    with urllib.request.urlopen(f"{fake_llm.url}/models", timeout=5) as resp:
        assert json.load(resp)["data"][0]["id"] == "fake-model"
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"{base}/chat/completions", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert json.load(resp)["choices"][0]["message"]["content"] == "This is a fake reply."
    bad = urllib.request.Request(f"{base}/v1/chat/completions", data=b"{nope", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad, timeout=5)
    assert info.value.code == 400
    assert fake_llm.count == 1  # only well-formed chat requests count


# -- deterministic chaos ------------------------------------------------------------------------------------


def _chaos_run(seed: int) -> list[bool]:
    with FakeLLM(fault_rate=0.5, faults=[Fault.server_error(), Fault.rate_limit(0)], seed=seed) as server:
        faulted = []
        for i in range(20):
            try:
                ask(server, f"prompt {i}")
                faulted.append(False)
            except (litellm.InternalServerError, litellm.RateLimitError):
                faulted.append(True)
        for record in server.requests:
            assert (record.fault is not None) == (server.chaos_fault(record.body, record.attempt) is not None)
        return faulted


def test_fault_rate_is_deterministic_per_body_and_attempt() -> None:
    first, again, other = _chaos_run(seed=1), _chaos_run(seed=1), _chaos_run(seed=2)
    assert first == again
    assert first != other
    assert 4 <= sum(first) <= 16


def test_fault_rate_retry_succeeds_within_max_faults(fake_llm_factory: Callable[..., FakeLLM]) -> None:
    server = fake_llm_factory(fault_rate=1.0, faults=[Fault.unavailable()], max_faults_per_body=2)
    for prompt in ("x", "y"):
        for _attempt in range(3):  # bounded caller-side retry loop
            try:
                assert content(ask(server, prompt)) == "This is a fake reply."
                break
            except litellm.ServiceUnavailableError:
                continue
        else:
            pytest.fail("no success within 3 attempts")
    assert server.count_by_status == {503: 4, 200: 2}
    assert sorted(server.request_counts().values()) == [3, 3]


# -- command line -------------------------------------------------------------------------------------------


def _read_first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    if not lines:
        proc.kill()
        pytest.fail("fakellm CLI printed no URL in time")
    return lines[0].strip()


def test_cli_serves_logs_and_terminates(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    cmd = [sys.executable, "-m", "tests.support.fakellm", "--port", "0", "--latency", "0.05"]
    cmd += ["--reply", "pong", "--fault-rate", "1", "--faults", "rate_limit", "--max-faults-per-body", "1"]
    cmd += ["--retry-after", "0", "--seed", "3", "--log", str(log)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = _read_first_line(proc, timeout=10)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        with pytest.raises(litellm.RateLimitError):
            litellm.completion(
                model="openai/fake-model",
                api_base=url,
                api_key="sk-test",
                messages=[{"role": "user", "content": "ping"}],
                timeout=5,
                **NO_RETRY,
            )
        resp = litellm.completion(
            model="openai/fake-model",
            api_base=url,
            api_key="sk-test",
            messages=[{"role": "user", "content": "ping"}],
            timeout=5,
            **NO_RETRY,
        )
        assert content(resp) == "pong"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["status"], r["fault"], r["attempt"]) for r in records] == [
        (429, "rate_limit", 0),
        (200, None, 1),
    ]
    assert records[0]["body_hash"] == records[1]["body_hash"]
    assert records[1]["reply"] == "pong"
