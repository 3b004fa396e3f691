"""Request records of serving calls (llmops_cli/serving/): one JSON line per ``Prompt.complete()`` /
``acomplete()``, written by real calls through litellm to the loopback server (tests/support/fakellm.py).

Covers the record's fields and types, errors (429, 500, timeouts, 401 with an echoed key), counted retries,
unknown and known prices, caller tags and request ids, redacted content logging, ``$LLMOPS_LOG``, the file
sink's bounded queue, rotation (moved or removed file), concurrency (threads and asyncio) and exit flushing.
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from llmops_cli.errors import UsageError, VariablesError
from llmops_cli.releases.loader import load_prompt
from llmops_cli.serving import RECORD_KEYS, JsonlFileSink, RetryPolicy, file_sink, flush_all
from tests.conftest import REPO_ROOT, GitRepo
from tests.support.evalproj import KEY_ENV, KEY_VALUE
from tests.support.fakellm import ECHO, FakeLLM, Fault, estimate_tokens
from tests.support.servingproj import read_records, serving_project

FAST = RetryPolicy(max_retries=3, base_s=0.005, max_s=0.05)
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
TYPES: dict[str, tuple[type, ...]] = {
    "v": (int,),
    "ts": (str,),
    "request_id": (str,),
    "prompt": (str,),
    "version": (str, type(None)),
    "channel": (str, type(None)),
    "arm": (str, type(None)),
    "content_sha256": (str,),
    "git_sha": (str, type(None)),
    "model": (str,),
    "params_hash": (str,),
    "tokens_in": (int, type(None)),
    "tokens_out": (int, type(None)),
    "cost_usd": (float, type(None)),
    "latency_ms": (float, int),
    "outcome": (str,),
    "error_class": (str, type(None)),
    "retries": (int,),
    "tags": (dict,),
    "guard": (dict, type(None)),
}


def check_schema(record: dict[str, Any]) -> None:
    assert tuple(record)[: len(RECORD_KEYS)] == RECORD_KEYS
    assert set(record) - set(RECORD_KEYS) <= {"input", "output", "vars"}
    for key, types in TYPES.items():
        assert isinstance(record[key], types) and not isinstance(record[key], bool), (key, record[key])
    assert record["v"] == 2 and TS.match(record["ts"])
    assert record["outcome"] in ("ok", "error") and (record["error_class"] is None) == (record["outcome"] == "ok")
    assert re.fullmatch(r"[0-9a-f]{16}", record["params_hash"]) and re.fullmatch(
        r"[0-9a-f]{64}", record["content_sha256"]
    )
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in record["tags"].items())
    assert record["latency_ms"] >= 0 and record["retries"] >= 0


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "requests.jsonl"


@pytest.fixture
def project(tmp_path: Path, fake_llm: FakeLLM) -> Path:
    return serving_project(tmp_path / "proj", fake_llm.url)


def records(path: Path) -> list[dict[str, Any]]:
    file_sink(path).flush()
    out = read_records(path)
    for r in out:
        check_schema(r)
    return out


# -- successful calls ------------------------------------------------------------------------------------------


def test_record_of_a_released_prompt_call(tmp_git_repo: GitRepo, fake_llm: FakeLLM, log_path: Path) -> None:
    from llmops_cli.releases.create import create_release

    serving_project(tmp_git_repo.root, fake_llm.url)
    commit = tmp_git_repo.commit("prompt")
    create_release("support/answer", root=tmp_git_repo.root, allow_no_gate=True)
    fake_llm.default_reply = "Refunds take five days."
    p = load_prompt("support/answer", "1.0.0", root=tmp_git_repo.root, log=str(log_path))
    before = time.time()
    answer = p.complete(question="How do refunds work?", tags={"tenant": "acme", "feature": "faq"})
    assert answer.choices[0].message.content == "Refunds take five days."

    [rec] = records(log_path)
    assert rec["prompt"] == "support/answer" and rec["version"] == "1.0.0" and rec["git_sha"] == commit
    assert rec["content_sha256"] == p.sha256 and rec["model"] == "openai/fake-model"
    assert (rec["channel"], rec["arm"]) == (None, None)
    assert re.fullmatch(r"[0-9a-f]{32}", rec["request_id"])
    body = fake_llm.last_request.body
    sent = {k: v for k, v in body.items() if k in ("max_tokens", "temperature")}
    canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"))
    assert rec["params_hash"] == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    words = "You answer support questions.\nQ: How do refunds work?"
    assert (rec["tokens_in"], rec["tokens_out"]) == (estimate_tokens(words), 4)
    assert rec["cost_usd"] is None  # fake-model has no price in litellm's table: unknown, never 0
    assert (rec["outcome"], rec["error_class"], rec["retries"]) == ("ok", None, 0)
    assert rec["tags"] == {"tenant": "acme", "feature": "faq"}
    assert "input" not in rec and "output" not in rec and "refunds" not in log_path.read_text().lower()
    ts = calendar.timegm(time.strptime(rec["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert before - 1 <= ts <= time.time() + 1
    assert 0 < rec["latency_ms"] < 30_000
    assert oct(log_path.stat().st_mode & 0o777) == oct(0o600)


def test_known_price_gives_the_cost(tmp_path: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    from llmops_cli.models.prices import price_of

    model = "openai/gpt-4o-mini-2024-07-18"
    root = serving_project(tmp_path / "p", fake_llm.url, model=model)
    p = load_prompt("support/answer", root=root, log=log_path)
    p.complete(question="hi")
    [rec] = records(log_path)
    price = price_of(model)
    assert price is not None and rec["model"] == model
    expected = rec["tokens_in"] * price.input_per_token + rec["tokens_out"] * price.output_per_token
    assert rec["cost_usd"] == pytest.approx(expected) and rec["cost_usd"] > 0


def test_channel_and_arm_come_from_the_prompt(project: Path, log_path: Path) -> None:
    """Canary channels (serving.md §2) set ``channel`` / ``arm`` on the Prompt copy they return."""
    p = load_prompt("support/answer", root=project, log=log_path)  # a copy: safe to set attributes on
    p.channel, p.arm = "production", "canary"  # type: ignore[attr-defined]
    p.complete(question="hi")
    [rec] = records(log_path)
    assert (rec["channel"], rec["arm"]) == ("production", "canary")


def test_acomplete_writes_a_record_with_request_id(project: Path, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=log_path)
    asyncio.run(p.acomplete(question="hi", request_id="trace-0af7651916cd43dd"))
    [rec] = records(log_path)
    assert rec["request_id"] == "trace-0af7651916cd43dd" and rec["outcome"] == "ok"


# -- errors and retries ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error_class"),
    [(Fault.rate_limit(0.01), "RateLimitError"), (Fault.server_error(), "InternalServerError")],
)
def test_http_errors_are_recorded_and_raised(
    project: Path, fake_llm: FakeLLM, log_path: Path, fault: Fault, error_class: str
) -> None:
    fake_llm.enqueue(fault)
    p = load_prompt("support/answer", root=project, log=log_path)
    with pytest.raises(Exception) as info:
        p.complete(question="hi", retries=0, tags={"tenant": "t1"})
    assert type(info.value).__name__ == error_class
    assert fake_llm.count == 1  # litellm's and the SDK's own retries are off
    [rec] = records(log_path)
    assert (rec["outcome"], rec["error_class"], rec["retries"]) == ("error", error_class, 0)
    assert (rec["tokens_in"], rec["tokens_out"], rec["cost_usd"]) == (None, None, None)
    assert rec["tags"] == {"tenant": "t1"} and rec["model"] == "openai/fake-model"


def test_timeout_is_recorded(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    fake_llm.enqueue(Fault.hang(5))
    p = load_prompt("support/answer", root=project, log=log_path)
    with pytest.raises(Exception) as info:
        p.complete(question="hi", retries=0, timeout=0.3)
    assert type(info.value).__name__ == "Timeout" and fake_llm.count == 1
    [rec] = records(log_path)
    assert (rec["error_class"], rec["retries"]) == ("Timeout", 0) and 250 <= rec["latency_ms"] < 4000


def test_retries_are_counted(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=log_path)
    fake_llm.enqueue(Fault.server_error(), Fault.unavailable(), Fault.rate_limit(0.01), "third time lucky")
    assert p.complete(question="a", retries=FAST).choices[0].message.content == "third time lucky"
    fake_llm.enqueue(Fault.hang(5), "after a timeout")
    assert p.complete(question="b", retries=FAST, timeout=0.3).choices[0].message.content == "after a timeout"
    fake_llm.enqueue(*[Fault.rate_limit(0.01)] * 3)
    with pytest.raises(Exception, match="Rate limit"):
        p.complete(question="c", retries=RetryPolicy(2, base_s=0.005, max_s=0.05))
    fake_llm.enqueue(Fault.http(400, "bad request"))
    with pytest.raises(Exception, match="bad request"):
        p.complete(question="d", retries=FAST)  # a 400 is not retried
    got = [(r["outcome"], r["error_class"], r["retries"]) for r in records(log_path)]
    assert got == [("ok", None, 3), ("ok", None, 1), ("error", "RateLimitError", 2), ("error", "BadRequestError", 0)]
    assert fake_llm.count == 4 + 2 + 3 + 1


def test_default_retries_are_two(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    """What the OpenAI SDK did silently before (2 retries on 429/5xx), now counted."""
    p = load_prompt("support/answer", root=project, log=log_path)
    fake_llm.enqueue(*[Fault.rate_limit(0.01)] * 3, "ok")
    with pytest.raises(Exception, match="Rate limit"):
        p.complete(question="hi")
    [rec] = records(log_path)
    assert (rec["error_class"], rec["retries"]) == ("RateLimitError", 2) and fake_llm.count == 3


def test_long_retry_after_is_not_waited_for(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    fake_llm.enqueue(Fault.rate_limit(30), "ok")
    p = load_prompt("support/answer", root=project, log=log_path)
    start = time.monotonic()
    with pytest.raises(Exception, match="Rate limit"):
        p.complete(question="hi", retries=RetryPolicy(3, base_s=0.01, max_s=2))
    assert time.monotonic() - start < 5 and fake_llm.count == 1


def test_error_messages_never_reach_the_record(
    tmp_path: Path, fake_llm: FakeLLM, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that echoes the key in its error body: the record holds the class name only."""
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    root = serving_project(tmp_path / "p", fake_llm.url, key_env=KEY_ENV)
    fake_llm.enqueue(Fault.http(401, f"Incorrect API key provided: {ECHO}"))
    p = load_prompt("support/answer", root=root, log=log_path)
    with pytest.raises(Exception) as info:
        p.complete(question="hi")
    assert KEY_VALUE in fake_llm.last_request.headers["authorization"]  # sent, and echoed back
    assert KEY_VALUE not in str(info.value)
    [rec] = records(log_path)
    assert rec["error_class"] == "AuthenticationError" and rec["retries"] == 0
    text = log_path.read_text()
    assert KEY_VALUE not in text and "Incorrect" not in text


def test_a_call_that_fails_before_the_request_is_recorded(project: Path, fake_llm: FakeLLM, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=log_path)
    with pytest.raises(VariablesError):
        p.complete(questoin="typo")
    [rec] = records(log_path)
    assert (rec["error_class"], rec["model"], rec["tokens_in"]) == ("VariablesError", "openai/fake-model", None)
    assert fake_llm.count == 0


# -- tags, request ids, options ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags",
    [
        ["tenant", "acme"],
        {"tenant": 42},
        {"": "x"},
        {"has space": "x"},
        {"k" * 65: "x"},
        {"tenant": "x" * 257},
        {"tenant": "line\nbreak"},
        {f"t{i}": "x" for i in range(33)},
    ],
)
def test_bad_tags_are_refused_before_any_request(project: Path, fake_llm: FakeLLM, log_path: Path, tags: Any) -> None:
    p = load_prompt("support/answer", root=project, log=log_path)
    with pytest.raises(UsageError, match="tag"):
        p.complete(question="hi", tags=tags)
    assert fake_llm.count == 0 and records(log_path) == []


@pytest.mark.parametrize("request_id", ["", "x" * 129, "has space", "new\nline", 42])
def test_bad_request_ids_are_refused(project: Path, fake_llm: FakeLLM, request_id: Any) -> None:
    p = load_prompt("support/answer", root=project)
    with pytest.raises(UsageError, match="request_id"):
        p.complete(question="hi", request_id=request_id)
    assert fake_llm.count == 0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"retries": -1}, "retries"),
        ({"retries": "3"}, "retries"),
        ({"retries": 21}, "retries"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_retry_and_timeout_options(project: Path, fake_llm: FakeLLM, options: dict[str, Any], match: str) -> None:
    p = load_prompt("support/answer", root=project)
    with pytest.raises(UsageError, match=match):
        p.complete(question="hi", **options)
    assert fake_llm.count == 0


def test_tags_are_copied_at_call_time(project: Path, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=log_path)
    tags = {"tenant": "a", f"k{'x' * 62}": "v" * 256}
    p.complete(question="hi", tags=tags)
    tags["tenant"] = "changed"
    [rec] = records(log_path)
    assert rec["tags"]["tenant"] == "a" and len(rec["tags"]) == 2


def test_env_enables_the_file_sink_and_log_false_disables_it(
    project: Path, log_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = load_prompt("support/answer", root=project)
    p.complete(question="not logged")  # nothing set: no record anywhere
    monkeypatch.setenv("LLMOPS_LOG", str(log_path))
    p.complete(question="logged by env")
    load_prompt("support/answer", root=project, log=False).complete(question="off despite env")
    p.complete(question="per-call off", log=False)
    other = tmp_path / "other.jsonl"
    p.complete(question="per-call path", log=other)
    assert len(records(log_path)) == 1 and len(records(other)) == 1


def test_a_custom_sink_object(project: Path) -> None:
    class Collect:
        def __init__(self) -> None:
            self.got: list[dict[str, Any]] = []

        def emit(self, record: dict[str, Any]) -> None:
            self.got.append(record)

    sink = Collect()
    p = load_prompt("support/answer", root=project, log=sink)
    p.complete(question="hi", tags={"customer": "c-1"})
    [rec] = sink.got
    check_schema(rec)
    assert rec["tags"] == {"customer": "c-1"}
    with pytest.raises(UsageError, match="log="):
        load_prompt("support/answer", root=project, log=42)


def test_cached_prompts_are_not_changed_by_log(tmp_git_repo: GitRepo, log_path: Path) -> None:
    from llmops_cli.releases.create import create_release

    serving_project(tmp_git_repo.root, "http://127.0.0.1:9/v1")
    tmp_git_repo.commit("prompt")
    create_release("support/answer", root=tmp_git_repo.root, allow_no_gate=True)
    plain = load_prompt("support/answer", "1.0.0", root=tmp_git_repo.root)
    logged = load_prompt("support/answer", "1.0.0", root=tmp_git_repo.root, log=log_path)
    assert plain.serving is None and logged.serving is not None and logged is not plain
    assert load_prompt("support/answer", "1.0.0", root=tmp_git_repo.root) is plain
    assert logged.sha256 == plain.sha256 and logged == plain


# -- content logging -----------------------------------------------------------------------------------------


def test_content_logging_is_redacted(
    tmp_path: Path, fake_llm: FakeLLM, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    root = serving_project(tmp_path / "p", fake_llm.url, key_env=KEY_ENV)
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    fake_llm.on("echo", f"your headers were {ECHO} and {token}")
    p = load_prompt("support/answer", root=root, log=log_path)
    p.complete(question=f"echo my key {KEY_VALUE} please", log_content=True)
    p.complete(question="plain question")
    first, second = records(log_path)
    text = log_path.read_text()
    assert KEY_VALUE not in text and token not in text
    assert first["input"][0] == {"role": "system", "content": "You answer support questions."}
    assert first["input"][1]["content"] == f"Q: echo my key [REDACTED:{KEY_ENV}] please"
    assert f"[REDACTED:{KEY_ENV}]" in first["output"] and "[REDACTED]" in first["output"]
    assert "input" not in second and "plain question" not in text


# -- the file sink ---------------------------------------------------------------------------------------------


def _synthetic(i: int, pad: str = "") -> dict[str, Any]:
    return {"v": 1, "request_id": f"r{i}", "tags": {"pad": pad}}


def test_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    sink = JsonlFileSink(tmp_path / "q.jsonl", max_queue=10, flush_interval=60)
    with sink._io_lock:  # the writer is stuck on a slow disk
        start = time.perf_counter()
        for i in range(25):
            sink.emit(_synthetic(i))
        elapsed = time.perf_counter() - start
        assert sink.dropped == 15 and sink.pending == 10
    assert elapsed < 0.5
    sink.close()
    assert sink.written == 10 and sink.stats()["dropped"] == 15
    assert [r["request_id"] for r in read_records(tmp_path / "q.jsonl")] == [f"r{i}" for i in range(10)]


def test_rotation_by_move_and_by_removal(project: Path, log_path: Path) -> None:
    """logrotate moves the file (then creates a new one, or not): records continue in a new file."""
    p = load_prompt("support/answer", root=project, log=log_path)
    sink = file_sink(log_path)
    for i in range(5):
        p.complete(question=f"q{i}", tags={"i": str(i)})
    flush_all()
    rotated = log_path.with_name("requests.jsonl.1")
    os.rename(log_path, rotated)
    for i in range(5, 10):
        p.complete(question=f"q{i}", tags={"i": str(i)})
    sink.flush()
    assert log_path.exists() and sink.reopened == 1
    log_path.unlink()  # removed outright: the records after it go to a fresh file
    for i in range(10, 12):
        p.complete(question=f"q{i}", tags={"i": str(i)})
    sink.flush()
    assert [r["tags"]["i"] for r in read_records(rotated)] == [str(i) for i in range(5)]
    assert [r["tags"]["i"] for r in read_records(log_path)] == ["10", "11"]
    assert sink.dropped == 0


def test_rotation_under_load_loses_nothing_but_counted_drops(tmp_path: Path) -> None:
    path = tmp_path / "load.jsonl"
    sink = JsonlFileSink(path, max_queue=2000, flush_interval=0.005)
    n, rotations = 20_000, []
    done = threading.Event()

    def rotate() -> None:
        k = 0
        while not done.is_set():
            time.sleep(0.01)
            if path.exists():
                k += 1
                target = tmp_path / f"load.jsonl.{k}"
                os.rename(path, target)
                rotations.append(target)

    rotator = threading.Thread(target=rotate)
    rotator.start()
    for i in range(n):
        sink.emit(_synthetic(i))
        if i % 100 == 0:
            time.sleep(0.001)
    done.set()
    rotator.join()
    sink.close()
    ids = [r["request_id"] for r in read_records(path, *rotations)]
    assert len(rotations) >= 2 and sink.reopened >= 2
    assert len(ids) == len(set(ids)) == sink.written == n - sink.dropped
    assert sink.written > 0


def test_threads_and_asyncio_write_one_valid_line_per_call(project: Path, log_path: Path) -> None:
    p = load_prompt("support/answer", root=project, log=log_path)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(15):
                p.complete(question=f"thread {t} call {i}", tags={"worker": f"t{t}"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    async def many() -> None:
        await asyncio.gather(*(p.acomplete(question=f"async {i}", tags={"worker": "async"}) for i in range(40)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    asyncio.run(many())
    for t in threads:
        t.join()
    assert not errors
    # and plenty of large synthetic records from many threads at once, through the same sink
    sink = file_sink(log_path)
    big = "é" * 3000 + "\u2028"

    def flood(t: int) -> None:
        for i in range(500):
            sink.emit({**_synthetic(i), "request_id": f"flood-{t}-{i}", "tags": {"pad": big}})

    floods = [threading.Thread(target=flood, args=(t,)) for t in range(4)]
    for t in floods:
        t.start()
    for t in floods:
        t.join()
    sink.flush()
    lines = log_path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:-1]]  # every line is one JSON object
    calls = [r for r in parsed if "content_sha256" in r]
    for r in calls:
        check_schema(r)
    assert len(calls) == 6 * 15 + 40 and len({r["request_id"] for r in calls}) == len(calls)
    floods_seen = [r for r in parsed if r["request_id"].startswith("flood-")]
    assert len(floods_seen) + sink.dropped == 2000 and all(r["tags"]["pad"] == big for r in floods_seen)


def test_queued_records_are_written_at_exit(project: Path, log_path: Path) -> None:
    """A process that exits right after its last call: atexit writes what is still queued."""
    code = (
        "from llmops_cli import load_prompt\n"
        f"p = load_prompt('support/answer', root={str(project)!r})\n"
        "for i in range(3):\n"
        "    p.complete(question=f'q{i}')\n"
    )
    env = {**os.environ, "LLMOPS_LOG": str(log_path), "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = read_records(log_path)
    assert len(got) == 3 and all(r["outcome"] == "ok" for r in got)


def test_unwritable_log_is_counted_not_raised(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    path = blocker / "requests.jsonl"
    p = load_prompt("support/answer", root=project, log=path)
    assert p.complete(question="still served").choices[0].message.content
    sink = file_sink(path)
    sink.flush()
    assert sink.dropped == 1 and sink.write_errors == 1 and sink.written == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_forked_child_does_not_write_the_parents_queue_again(tmp_path: Path) -> None:
    path = tmp_path / "fork.jsonl"
    sink = JsonlFileSink(path, flush_interval=3600)
    with sink._io_lock:  # keep the parent's record queued across the fork
        sink.emit(_synthetic(0))
        pid = os.fork()
        if pid == 0:  # the child: its queue starts empty
            try:
                sink.emit({**_synthetic(1), "request_id": "child"})
                sink.flush()
            finally:
                os._exit(0 if sink.written == 1 else 1)
    _, status = os.waitpid(pid, 0)
    sink.close()
    assert os.waitstatus_to_exitcode(status) == 0
    assert sorted(r["request_id"] for r in read_records(path)) == ["child", "r0"]


def test_params_hash_of_unhashable_params() -> None:
    from llmops_cli.serving.record import params_hash

    a = params_hash({"stop": ["\n\n"], "max_tokens": 5})
    assert a == params_hash({"max_tokens": 5, "stop": ["\n\n"]}) != params_hash({"stop": ["\n"], "max_tokens": 5})
    assert params_hash({"temperature": 1}) != params_hash({"temperature": 1.0}) != params_hash({"temperature": True})
