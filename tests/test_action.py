"""The composite GitHub Action (``action.yml``) run by a local runner simulation: its own install step builds
and installs this checkout (not editable) into a fresh venv, then lints, diffs and gates a real temporary repo
whose model is the loopback fake LLM and whose commit status goes to a loopback GitHub API."""

from __future__ import annotations

import json
import os
import re
import shlex
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import GitRepo
from tests.support import gateproj as gp
from tests.support.actionrunner import ActionRunner
from tests.support.cleanvenv import REPO_ROOT, copy_checkout, make_venv
from tests.support.fakellm import FakeLLM
from tests.test_gate_workflows import check_against_cli, llmops_invocations

ACTION = REPO_ROOT / "action.yml"
TOKEN = "ghs_ACTIONtoken0123456789abcdef"

pytestmark = pytest.mark.slow


class _StatusRecorder(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv: Any = self.server
        srv.records.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": json.loads(body)})
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def github_api() -> Iterator[Any]:
    srv: Any = ThreadingHTTPServer(("127.0.0.1", 0), _StatusRecorder)
    srv.records = []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def action_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action as `uses: OWNER/REPO@sha` checks it out: the repository's files, nothing built."""
    return copy_checkout(tmp_path_factory.mktemp("action"))


@pytest.fixture
def server(fake_llm_factory: Callable[..., FakeLLM]) -> FakeLLM:
    return fake_llm_factory(responder=gp.responder)


def _pull_request(repo: GitRepo, url: str, tmp_path: Path, system: str) -> tuple[str, Path]:
    """main (base) and a feature branch changing the answer prompt; origin/main as actions/checkout leaves it."""
    gp.make_repo(repo, url)
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("prompts/support/answer.prompt.yaml", gp.answer_prompt(system))
    head = repo.commit("change the answer prompt")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": head}}}))
    return head, event


def _runner(checkout: Path, repo: GitRepo, tmp_path: Path, event: Path, api: str, key: bool) -> ActionRunner:
    bindir = make_venv(tmp_path / "runner-python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTHON", "LLMOPS_", "INPUT_"))}
    env.update(
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        PIP_NO_DEPS="1",  # the dependencies come from the test run's environment (see make_venv)
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        LLMOPS_CACHE_DIR=str(tmp_path / "cache"),
        GITHUB_REPOSITORY="acme/prompts",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_SHA="0" * 40,
        GITHUB_API_URL=api,
        GITHUB_SERVER_URL="https://github.example",
        GITHUB_RUN_ID="7",
    )
    if key:
        env[gp.KEY_ENV] = gp.KEY_VALUE
    github = {"token": TOKEN, "base_ref": "main", "event_name": "pull_request", "repository": "acme/prompts"}
    return ActionRunner(checkout, repo.root, env=env, github=github)


def test_action_metadata_is_safe_and_its_commands_exist() -> None:
    spec = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert spec["runs"]["using"] == "composite"
    assert {"base", "shard", "markdown", "status-context"} <= set(spec["inputs"])
    problems = []
    for step in spec["runs"]["steps"]:
        if "run" not in step:
            assert str(step["uses"]).startswith("actions/setup-python@")
            continue
        # inputs reach the shell through env only: an input spliced into the script text would be injectable
        assert "${{" not in step["run"], step["name"]
        assert step["shell"] == "bash"
        for args in llmops_invocations(step["run"]):
            if args not in (["--version"], ["${args[@]}"]):
                problems += check_against_cli(args)
    assert not problems, problems
    # the gate's arguments are built in a bash array: every word of it must be a real flag of `eval gate`
    gate = next(s["run"] for s in spec["runs"]["steps"] if s.get("id") == "gate")
    words = [w for line in gate.splitlines() for w in re.findall(r"args\+?=\((.*)\)", line)]
    flags = [w for part in words for w in shlex.split(part) if w.startswith("-")]
    assert flags and "--status-context" in flags and "--shard" in flags
    assert check_against_cli(["eval", "gate", *flags]) == []
    install = next(s for s in spec["runs"]["steps"] if "Install" in s.get("name", ""))
    assert '"$GITHUB_ACTION_PATH"' in install["run"] and ".ci/constraints.txt" in install["run"]


def test_action_gates_a_degraded_pull_request(
    action_checkout: Path, tmp_git_repo: GitRepo, server: FakeLLM, github_api: Any, tmp_path: Path
) -> None:
    head, event = _pull_request(tmp_git_repo, server.url, tmp_path, "Answer sloppily.")
    runner = _runner(action_checkout, tmp_git_repo, tmp_path, event, github_api.url, key=True)
    run = runner.run({"status-context": "llmops/eval (support)", "key-env": gp.KEY_ENV})

    assert [s.name for s in run.steps] == [
        "Install llmops (this action's pinned commit)",
        "Lint prompts",
        "Rendered diff against the base",
        "Eval gate",
    ], run.output
    assert run.skipped == ["Set up Python (uses: actions/setup-python@v5)"]
    install = run.steps[0]
    assert install.returncode == 0 and install.stdout.strip().startswith("llmops "), run.output
    installed = next((tmp_path / "runner-python/lib").glob("python*/site-packages/llmops_cli/__init__.py"))
    assert installed.is_file()  # a real, non-editable install into the runner's python
    assert run.failed is not None and run.failed.name == "Eval gate" and run.failed.returncode == 1, run.output
    assert run.outputs == {"verdict": "FAIL", "exit-code": "1"}
    (status,) = github_api.records
    assert status["path"] == f"/repos/acme/prompts/statuses/{head}" and status["auth"] == f"Bearer {TOKEN}"
    assert status["body"]["context"] == "llmops/eval (support)" and status["body"]["state"] == "failure"
    assert "llmops eval gate: FAIL" in run.summary and "sloppily" in run.summary  # gate + rendered diff
    assert (tmp_git_repo.root / "gate.md").is_file() and (tmp_git_repo.root / "gate.html").is_file()
    assert json.loads((tmp_git_repo.root / ".llmops/gate/gate.json").read_text())["verdict"] == "FAIL"
    assert gp.KEY_VALUE not in run.output + run.summary and TOKEN not in run.output + run.summary


def test_action_without_a_provider_key_lints_and_skips_the_gate(
    action_checkout: Path, tmp_git_repo: GitRepo, server: FakeLLM, github_api: Any, tmp_path: Path
) -> None:
    _head, event = _pull_request(tmp_git_repo, server.url, tmp_path, "Answer briefly and kindly.")
    runner = _runner(action_checkout, tmp_git_repo, tmp_path, event, github_api.url, key=False)
    run = runner.run({"key-env": gp.KEY_ENV, "python-version": ""})
    assert run.failed is None, run.output
    assert run.skipped == ["Set up Python"]  # its `if:` is false: the runner's python
    assert run.outputs == {"verdict": "skipped", "exit-code": "0"}
    assert "llmops eval gate: skipped" in run.summary and f"No {gp.KEY_ENV}" in run.summary
    assert server.count == 0 and github_api.records == []


def test_action_shard_writes_results_and_tolerates_a_failing_slice(
    action_checkout: Path, tmp_git_repo: GitRepo, server: FakeLLM, github_api: Any, tmp_path: Path
) -> None:
    _head, event = _pull_request(tmp_git_repo, server.url, tmp_path, "Answer sloppily.")
    runner = _runner(action_checkout, tmp_git_repo, tmp_path, event, github_api.url, key=True)
    run = runner.run(
        {"shard": "1/2", "out-dir": "shard", "key-env": gp.KEY_ENV, "lint": "false", "diff": "false", "base": "main"}
    )
    assert run.failed is None, run.output  # one slice's FAIL is not the gate's verdict
    assert run.outputs["exit-code"] in ("0", "1")
    assert (tmp_git_repo.root / "shard/base.json").is_file() and (tmp_git_repo.root / "shard/head.json").is_file()
    assert github_api.records == [] and not (tmp_git_repo.root / "gate.md").exists()


def test_action_refuses_a_bad_key_env_name(
    action_checkout: Path, tmp_git_repo: GitRepo, server: FakeLLM, github_api: Any, tmp_path: Path
) -> None:
    _head, event = _pull_request(tmp_git_repo, server.url, tmp_path, "Answer briefly.")
    runner = _runner(action_checkout, tmp_git_repo, tmp_path, event, github_api.url, key=True)
    run = runner.run({"key-env": "X; touch pwned", "lint": "false", "diff": "false", "python-version": ""})
    assert run.failed is not None and run.failed.returncode == 2
    assert "key-env must be an environment variable name" in run.failed.stdout
    assert not (tmp_git_repo.root / "pwned").exists() and server.count == 0


SHA = "0123456789abcdef0123456789abcdef01234567"


def test_init_writes_the_action_form_of_the_workflow(tmp_path: Path) -> None:
    from tests.conftest import run_cli
    from tests.test_gate_workflows import _triggers

    r = run_cli("init", str(tmp_path / "p"), "--action", f"acme/llmops@{SHA}")
    assert r.exit_code == 0, r.output
    assert "no pinned llmops source" not in r.output
    assert not (tmp_path / "p/.github/llmops-requirements.txt").exists()  # the action installs its own commit
    workflow = yaml.safe_load((tmp_path / "p/.github/workflows/llmops-pr.yml").read_text(encoding="utf-8"))
    assert set(_triggers(workflow)) == {"pull_request"} and workflow["permissions"]["contents"] == "read"
    steps = workflow["jobs"]["gate"]["steps"]
    (step,) = [s for s in steps if str(s.get("uses", "")).startswith("acme/")]
    assert step["uses"] == f"acme/llmops@{SHA}"
    inputs = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"]
    assert set(step["with"]) <= set(inputs)  # every `with:` key is an input of action.yml
    assert step["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    assert [s["uses"].split("@")[0] for s in steps if "uses" in s].index("acme/llmops") > 0  # after checkout


@pytest.mark.parametrize(
    "ref",
    ["acme/llmops@v1", "acme/llmops@main", f"acme/llmops@{SHA[:12]}", f"acme@{SHA}", f"acme/llmops@{SHA}\nx: y",
     f"acme/llmops@{SHA.upper()}", f"../x/y@{SHA}"],
)  # fmt: skip
def test_init_refuses_an_unpinned_action(tmp_path: Path, ref: str) -> None:
    from tests.conftest import run_cli

    r = run_cli("init", str(tmp_path / "p"), "--action", ref)
    assert r.exit_code == 2, r.output
    assert "40-hex commit" in r.stderr and not (tmp_path / "p").exists()


def test_init_action_and_source_exclude_each_other(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    r = run_cli("init", str(tmp_path / "p"), "--action", f"a/b@{SHA}", "--llmops-source", f"git+https://h/a/b@{SHA}")
    assert r.exit_code == 2 and "exclude each other" in r.stderr


@pytest.mark.parametrize("name", ["", "x" * 101, 'llmops"; rm -rf /', "line\nbreak", "-leading", "ctx\u200b"])
def test_gate_refuses_a_bad_status_context_before_any_work(name: str, tmp_path: Path) -> None:
    from tests.conftest import make_sample_project, run_cli

    root = make_sample_project(tmp_path / "p")
    r = run_cli("eval", "gate", "--base", "main", "--github-status", "--status-context", name, cwd=root)
    assert r.exit_code == 2 and "--status-context" in r.stderr, r.output
    assert not (root / ".llmops").exists()
