"""The one model layer (llmops_cli/models/): target resolution, the key rule, serving calls through it
(``complete()`` / ``acomplete()``, ``local/smollm2``), and ``--api-base`` / ``--judge-model`` for judges.

Provider calls go through litellm over real HTTP to the loopback server (tests/support/fakellm.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_cli.config import parse_config
from llmops_cli.errors import ProviderError
from llmops_cli.evals.runner import EvalOptions, run_eval
from llmops_cli.models import PLACEHOLDER_KEY, Target, choose_target, resolve_route, resolve_target
from llmops_cli.project import Project
from llmops_cli.releases.loader import clear_cache, load_prompt
from tests.conftest import GitRepo, write
from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project
from tests.support.fakellm import FakeLLM

AMBIENT = "ambient-openai-canary-0123456789"

PROMPT = """
model: {model}
params: {{max_tokens: 20}}
inputs:
  question: {{type: string}}
messages:
  - role: user
    content: "Q: {{{{ question }}}}"
"""


def project(root: Path, models: str, model: str = "custom") -> Path:
    write(root, "llmops.yaml", "models:\n" + models)
    write(root, "prompts/qa.prompt.yaml", PROMPT.format(model=model))
    return root


# -- the key rule, unit level ---------------------------------------------------------------------------------


def cfg(text: str):  # type: ignore[no-untyped-def]
    return parse_config(text)


def test_key_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", AMBIENT)
    monkeypatch.setenv("VLLM_KEY", "vllm-key-value-123")
    c = cfg(
        """
models:
  own: {model: openai/gpt-4o-mini-2024-07-18}
  named: {model: openai/gpt-4o-mini-2024-07-18, api_key_env: VLLM_KEY}
  bare: {model: openai/llama, api_base: "http://127.0.0.1:9/v1"}
  tied: {model: openai/llama, api_base: "http://127.0.0.1:9/v1", api_key_env: VLLM_KEY}
"""
    )
    # the provider's own endpoint: litellm reads OPENAI_API_KEY itself (None), or the named variable
    assert resolve_target(c, "own").api_key() is None
    assert resolve_target(c, "named").api_key() == "vllm-key-value-123"
    # a custom base with no api_key_env: the placeholder, never the ambient key
    bare = resolve_target(c, "bare")
    assert bare.api_key() == PLACEHOLDER_KEY and not bare.sends_key
    # the alias ties its base to its key variable
    assert resolve_target(c, "tied").api_key() == "vllm-key-value-123"
    # --api-base to another URL: the alias's key does not follow it; nor does the ambient key
    assert resolve_target(c, "tied", api_base_override="http://127.0.0.1:8/v1").api_key() == PLACEHOLDER_KEY
    assert resolve_target(c, "own", api_base_override="http://127.0.0.1:8/v1").api_key() == PLACEHOLDER_KEY
    assert resolve_target(c, "tied", api_base_override="http://127.0.0.1:9/v1").api_key() == "vllm-key-value-123"
    # a raw id with --api-base needs no key in the environment
    monkeypatch.delenv("OPENAI_API_KEY")
    t = resolve_target(c, "x", model_override="openai/any", api_base_override="http://127.0.0.1:8/v1")
    assert t.api_key() == PLACEHOLDER_KEY
    with pytest.raises(ProviderError, match="OPENAI_API_KEY"):
        resolve_target(c, "own")
    monkeypatch.delenv("VLLM_KEY")
    with pytest.raises(ProviderError, match="VLLM_KEY"):
        resolve_target(c, "tied")


def test_params_cannot_route_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a prompt's params say, where the call goes and which key it carries come from the target."""
    from llmops_cli.models import build_request, wire_request

    def request_kwargs(t, messages, params, rf):  # type: ignore[no-untyped-def]
        return wire_request(t, build_request(t.model, messages, params, rf)).kwargs

    monkeypatch.setenv("OPENAI_API_KEY", AMBIENT)
    t = resolve_target(cfg("models:\n  bare: {model: openai/llama, api_base: 'http://127.0.0.1:9/v1'}\n"), "bare")
    hostile = {
        "temperature": 0,
        "api_key": "attacker",
        "api_base": "https://collector.example/v1",
        "base_url": "https://collector.example/v1",
        "extra_headers": {"X-Leak": "1"},
        "mock_response": "pass",
    }
    kw = request_kwargs(t, [{"role": "user", "content": "hi"}], hostile, None)
    assert kw["api_base"] == "http://127.0.0.1:9/v1" and kw["api_key"] == PLACEHOLDER_KEY
    assert kw["temperature"] == 0 and not {"base_url", "extra_headers", "mock_response"} & set(kw)
    own = request_kwargs(resolve_target(cfg("models: {}"), "openai/gpt-4o"), [], {"api_key": "x"}, None)
    assert "api_key" not in own and "api_base" not in own  # litellm reads OPENAI_API_KEY for OpenAI itself


def test_route_and_offline_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    c = cfg(
        """
models:
  chat: {model: openai/gpt-real, api_key_env: REAL_KEY, offline: stand-in}
  stand-in: {model: openai/small, api_base: "http://127.0.0.1:9/v1", params: {max_tokens: 5}}
"""
    )
    route = resolve_route(c, "chat")
    assert route.hash_fields() == {
        "api_key_env": "REAL_KEY",
        "offline": {"model": "openai/small", "api_base": "http://127.0.0.1:9/v1", "api_key_env": None,
                    "params": {"max_tokens": 5}},
    }  # fmt: skip
    assert resolve_route(c, "openai/plain").hash_fields() == {}
    monkeypatch.delenv("REAL_KEY", raising=False)
    t = choose_target(route)
    assert (t.model, t.offline_from, t.params, t.api_key()) == ("openai/small", "openai/gpt-real", {"max_tokens": 5},
                                                                 PLACEHOLDER_KEY)  # fmt: skip
    monkeypatch.setenv("REAL_KEY", "real-key-value-1")
    t = choose_target(route)
    assert (t.model, t.offline_from, t.api_key()) == ("openai/gpt-real", None, "real-key-value-1")


# -- serving code: complete() / acomplete() -----------------------------------------------------------------


def test_complete_sends_placeholder_not_ambient_key_to_custom_base(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alias with api_base and no api_key_env: complete() sends the placeholder, not OPENAI_API_KEY."""
    monkeypatch.setenv("OPENAI_API_KEY", AMBIENT)
    fake_llm.default_reply = "five days"
    root = project(tmp_path / "p", f"  custom: {{model: openai/fake-model, api_base: '{fake_llm.url}'}}\n")
    p = load_prompt("qa", root=root)
    answer = p.complete(question="refunds?")
    assert answer.choices[0].message.content == "five days"
    req = fake_llm.last_request
    assert req.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
    assert AMBIENT not in json.dumps(req.headers) + json.dumps(req.body)
    assert req.body["messages"] == [{"role": "user", "content": "Q: refunds?"}] and req.body["max_tokens"] == 20


def test_released_bundle_complete_sends_placeholder(
    tmp_git_repo: GitRepo, tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same from a release exported to a bundle (serving code without git)."""
    from llmops_cli.git import discover as open_repo
    from llmops_cli.releases.bundle import build_bundle, write_bundle
    from llmops_cli.releases.create import create_release

    monkeypatch.setenv("OPENAI_API_KEY", AMBIENT)
    project(tmp_git_repo.root, f"  custom: {{model: openai/fake-model, api_base: '{fake_llm.url}'}}\n")
    tmp_git_repo.commit("prompt")
    create_release("qa", root=tmp_git_repo.root, allow_no_gate=True)
    out = write_bundle(build_bundle(open_repo(tmp_git_repo.root)), tmp_path / "prompts.lock.json")
    p = load_prompt("qa", "1.0.0", bundle=out)
    p.complete(question="from the bundle")
    req = fake_llm.last_request
    assert req.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}" and AMBIENT not in json.dumps(req.headers)
    assert req.body["messages"][0]["content"] == "Q: from the bundle"


def test_acomplete_sends_the_named_key_to_its_alias_base(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", AMBIENT)
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    root = project(
        tmp_path / "p", f"  custom: {{model: openai/fake-model, api_base: '{fake_llm.url}', api_key_env: {KEY_ENV}}}\n"
    )
    p = Project.open(root).load("qa")
    answer = asyncio.run(p.acomplete(question="hi"))
    assert answer.choices[0].message.content == fake_llm.default_reply
    assert fake_llm.last_request.headers["authorization"] == f"Bearer {KEY_VALUE}"
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ProviderError, match=KEY_ENV):  # never falls back to the ambient key
        p.complete(question="hi")
    assert fake_llm.count == 1


def test_complete_error_messages_are_redacted(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.fakellm import ECHO, Fault

    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    fake_llm.enqueue(Fault.http(401, f"Incorrect API key provided: {ECHO}"))
    root = project(
        tmp_path / "p", f"  custom: {{model: openai/fake-model, api_base: '{fake_llm.url}', api_key_env: {KEY_ENV}}}\n"
    )
    p = Project.open(root).load("qa")
    with pytest.raises(Exception) as info:
        p.complete(question="hi")
    assert KEY_VALUE in fake_llm.requests[-1].headers["authorization"]  # it was sent, and echoed back
    assert KEY_VALUE not in str(info.value) and f"[REDACTED:{KEY_ENV}]" in str(info.value)


def test_release_complete_uses_offline_stand_in(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offline fallback applies to serving calls too (the stand-in's params on top)."""
    monkeypatch.delenv("REAL_KEY", raising=False)
    root = project(
        tmp_path / "p",
        "  custom: {model: openai/gpt-real, api_key_env: REAL_KEY, offline: stand-in}\n"
        f"  stand-in: {{model: openai/fake-model, api_base: '{fake_llm.url}', params: {{max_tokens: 7}}}}\n",
    )
    p = Project.open(root).load("qa")
    p.complete(question="hi")
    req = fake_llm.last_request
    assert req.body["model"] == "fake-model" and req.body["max_tokens"] == 7
    assert req.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


@pytest.mark.local_model
def test_complete_with_local_smollm2_from_a_release(tmp_path: Path) -> None:
    """``local/smollm2`` works from serving code: a released prompt, a fresh process, litellm's custom provider."""
    pytest.importorskip("llama_cpp")
    from tests.conftest import run_cli

    (tmp_path / "r").mkdir()
    repo = GitRepo(tmp_path / "r")
    project(repo.root, "  custom: {model: local/smollm2, params: {temperature: 0, max_tokens: 8}}\n")
    repo.commit("local prompt")
    res = run_cli("release", "create", "qa", "--allow-no-gate", cwd=repo.root)
    assert res.exit_code == 0, res.output
    code = (
        "import asyncio; from llmops_cli import load_prompt; "
        f"p = load_prompt('qa', '1.0.0', root={str(repo.root)!r}); "
        "r = p.complete(question='Say hi'); a = asyncio.run(p.acomplete(question='Say hi')); "
        "print(r.model, '|', r.choices[0].message.content, '|', a.choices[0].message.content)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    model, text, atext = (s.strip() for s in proc.stdout.strip().split("|"))
    assert "smollm2" in model and text and atext


# -- eval run: --api-base follows --judge-model to the judges -------------------------------------------------


JUDGED = """
cases:
  - id: a
    vars: {question: "Is it?"}
    assert:
      - {type: judge, criteria: "answers"}
"""


def test_api_base_applies_to_judges_with_judge_model(
    tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_VALUE)
    monkeypatch.setenv("OPENAI_API_KEY", AMBIENT)
    fake_llm.on("GRADE", '{"reasoning": "fine", "score": 5}')
    root = make_eval_project(tmp_path / "p", fake_llm.url, golden=JUDGED)
    # the configured judge model points at a dead server
    cfg_text = (root / "llmops.yaml").read_text()
    cfg_text = cfg_text.replace("model: chat, samples", "model: dead, samples")
    cfg_text = cfg_text.replace(
        "models:\n", "models:\n  dead: {model: openai/dead, api_base: 'http://127.0.0.1:9/v1'}\n"
    )
    (root / "llmops.yaml").write_text(cfg_text)
    out = run_eval(
        Project.open(root),
        EvalOptions(judge_model="openai/fake-model", api_base=fake_llm.url, max_retries=0, use_cache=False),
    )
    assert out.summary.passed, out.summary
    judged = [r for r in fake_llm.chat_requests if "GRADE" in json.dumps(r.body)]
    assert len(judged) == 1
    # the judge (a raw id sent to --api-base) gets the placeholder, never the ambient OPENAI_API_KEY; the
    # generations go to their alias's own base URL (the same as --api-base here), so the alias's key goes along
    assert judged[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"
    gens = [r for r in fake_llm.chat_requests if "GRADE" not in json.dumps(r.body)]
    assert gens and all(r.headers["authorization"] == f"Bearer {KEY_VALUE}" for r in gens)
    # without --judge-model, judges keep their configured (dead) server: a judge error, not a call here
    before = fake_llm.count
    out = run_eval(Project.open(root), EvalOptions(api_base=fake_llm.url, max_retries=0, use_cache=False))
    assert fake_llm.count == before + 1  # only the generation
    assert out.summary.prompts["support/answer"].judge_errors == 1


def test_target_describe_has_no_key() -> None:
    t = Target("openai/x", "http://h/v1", "SOME_ENV")
    assert "SOME_ENV" not in json.dumps(t.describe())


@pytest.fixture(autouse=True)
def _fresh_loader() -> None:
    clear_cache()
