"""The one redactor (llmops_cli/redact.py) and the canary-key test: keys set in the environment, a provider that
echoes them back in 401/429/500 bodies and in a 200 answer — and afterwards no file llmops wrote and no line it
printed contains one."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from llmops_cli.errors import ProviderError, UserError
from llmops_cli.redact import STANDARD_KEY_ENVS, known_key_envs, redact, register_key_envs
from tests.conftest import run_cli
from tests.support.evalproj import KEY_ENV, make_eval_project
from tests.support.fakellm import ECHO, FakeLLM, Fault

# -- the redactor -------------------------------------------------------------------------------------------


def test_redacts_known_variables_and_token_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plainvalue-without-shape-123")
    monkeypatch.setenv("GITHUB_TOKEN", 'quote"and\\slash-token-456')
    monkeypatch.setenv("MY_ALIAS_KEY", "alias-secret-value-789")
    register_key_envs(["MY_ALIAS_KEY"])
    assert "MY_ALIAS_KEY" in known_key_envs() and "HF_TOKEN" in STANDARD_KEY_ENVS
    text = "a plainvalue-without-shape-123 b alias-secret-value-789 c"
    assert redact(text) == "a [REDACTED:OPENAI_API_KEY] b [REDACTED:MY_ALIAS_KEY] c"
    # the value as it appears inside JSON (escaped quote and backslash) is found too
    dumped = json.dumps({"m": 'say quote"and\\slash-token-456'})
    assert "slash-token-456" not in redact(dumped) and "[REDACTED:GITHUB_TOKEN]" in redact(dumped)
    shaped = {
        "sk-proj-abcdefghijklmnop1234": "[REDACTED]",
        "ghp_" + "a" * 36: "[REDACTED]",
        "github_pat_" + "b" * 30: "[REDACTED]",
        "hf_" + "C" * 30: "[REDACTED]",
        "Authorization: Bearer abc.def-ghi_jkl": "Authorization: Bearer [REDACTED]",
        "bearer alias-secret-value-789": "bearer [REDACTED:MY_ALIAS_KEY]",
        "extraheader = AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3h4eA==": "extraheader = AUTHORIZATION: basic [REDACTED]",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==": "Authorization: Basic [REDACTED]",
    }
    for raw, want in shaped.items():
        assert redact(f"x {raw} y") == f"x {want} y", raw
    # not secrets: short values, words that merely contain the prefixes
    monkeypatch.setenv("ANTHROPIC_API_KEY", "short")
    same = "short task-abcdefghijklmnopqrstu ask-me bearer of news hf_x basic authorization rules"
    assert redact(same) is same or redact(same) == same


def test_clean_text_is_returned_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "some-long-key-value-000")
    text = '{"output": "Refunds take 5 days.", "score": 1.0}' * 100
    assert redact(text) is text


def test_exception_messages_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "leaky-key-value-000111")
    exc = ProviderError("the server said: leaky-key-value-000111", file="llmops.yaml")
    assert "leaky" not in str(exc) and str(exc) == "llmops.yaml: the server said: [REDACTED:OPENAI_API_KEY]"
    assert isinstance(exc, UserError)


# -- the canary-key test ------------------------------------------------------------------------------------


def _canaries() -> dict[str, str]:
    tag = secrets.token_hex(8)
    # deliberately not token-shaped: only the environment tells the redactor they are secrets
    return {
        KEY_ENV: f"aliascanary{tag}A",  # the alias's api_key_env: sent to the fake server and echoed back
        "OPENAI_API_KEY": f"openaicanary{tag}B",
        "ANTHROPIC_API_KEY": f"anthropiccanary{tag}C",
        "GITHUB_TOKEN": f"githubcanary{tag}D",
        "HF_TOKEN": f"hfcanary{tag}E",
        "GROQ_API_KEY": f"groqcanary{tag}F",
    }


SHAPED = ("sk-live-" + "Z9" * 12, "ghs_" + "Q" * 36)

GOLDEN = """
cases:
  - id: ok
    vars: {question: "ok-case"}
    assert:
      - {type: icontains, value: answer}
      - {type: judge, criteria: "is it helpful"}
  - id: unauth
    vars: {question: "unauth-case"}
  - id: limited
    vars: {question: "ratelimit-case"}
  - id: boom
    vars: {question: "boom-case"}
"""


def test_no_key_in_any_output(tmp_path: Path, fake_llm: FakeLLM) -> None:
    keys = _canaries()
    leak = " ".join([ECHO, *keys.values(), *SHAPED])
    fake_llm.on("GRADE", json.dumps({"reasoning": f"graded; {leak}", "score": 4}))
    fake_llm.on("ok-case", f"the answer, with {leak}")
    fake_llm.on("unauth-case", Fault.http(401, f"Incorrect API key provided: {leak}"))
    fake_llm.on("ratelimit-case", Fault.rate_limit(retry_after=0.01, message=f"Slow down {leak}"))
    fake_llm.on("boom-case", Fault.server_error(f"internal error echo {leak}"))
    root = make_eval_project(tmp_path / "proj", fake_llm.url, golden=GOLDEN)
    out = tmp_path / "out"
    summary = tmp_path / "step-summary.md"
    env = {**keys, "GITHUB_STEP_SUMMARY": str(summary)}

    results = out / "results.json"
    runs = [
        run_cli(
            "eval",
            "run",
            "--out",
            str(results),
            "--junit",
            str(out / "junit.xml"),
            "--max-retries",
            "0",
            cwd=root,
            env=env,
        ),
        run_cli("eval", "run", "--out", str(out / "again.json"), "--json", cwd=root, env=env),  # the cached re-run
        run_cli("eval", "show", str(results), cwd=root, env=env),
        run_cli("eval", "show", str(results), "--failed", cwd=root, env=env),
        run_cli("eval", "show", str(results), "--json", cwd=root, env=env),
        run_cli(
            "eval",
            "merge",
            str(results),
            "--out",
            str(out / "merged.json"),
            "--junit",
            str(out / "m.xml"),
            cwd=root,
            env=env,
        ),
        run_cli(
            "eval",
            "gate",
            "--base",
            str(results),
            "--head",
            str(results),
            "--markdown",
            str(out / "gate.md"),
            "--html",
            str(out / "gate.html"),
            cwd=root,
            env=env,
        ),
        run_cli("eval", "compare", str(results), str(results), cwd=root, env=env),
        run_cli("eval", "report", str(results), "--html", str(out / "report.html"), cwd=root, env=env),
    ]
    assert runs[0].exit_code == 1, runs[0].output  # the errored cases fail the run
    # the leak was real: the alias key went to the server and came back in every kind of answer
    assert all(r.headers.get("authorization") == f"Bearer {keys[KEY_ENV]}" for r in fake_llm.chat_requests)
    assert {r.status for r in fake_llm.chat_requests} >= {200, 401, 429, 500}
    assert any(keys[KEY_ENV] in (r.reply or "") for r in fake_llm.chat_requests)

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {
        "results.json",
        "junit.xml",
        "journal.jsonl",
        "run.json",
        "gate.json",
        "gate.md",
        "m.xml",
        "gate.html",
        "report.html",
    } <= names
    assert any(".llmops" in p.parts and "cache" in p.parts for p in written)  # cache entries were written
    secrets_to_find = [*keys.values(), *SHAPED]
    for path in written:
        data = path.read_bytes().decode("utf-8", errors="replace")
        for value in secrets_to_find:
            assert value not in data, f"{value[:14]}… found in {path.relative_to(tmp_path)}"
    for res in runs:
        for value in secrets_to_find:
            assert value not in res.output, f"{value[:14]}… printed by a command"
    # what was there is marked, so a reader knows something was removed
    text = results.read_text()
    assert f"[REDACTED:{KEY_ENV}]" in text and "[REDACTED:OPENAI_API_KEY]" in text and "[REDACTED]" in text
    assert "[REDACTED" in summary.read_text()
