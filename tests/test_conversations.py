"""Conversation cases end to end, over real HTTP to the loopback server (tests/support/toolllm.py): the model is
called at every assistant turn with the history so far, tool calls are answered from the golden set's script, the
transcript lands in the results, each turn is cached (a re-run sends nothing; a resumed run pays no turn twice),
and hostile scripts or models end as clean case errors or exit 2 within the documented bounds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from llmops_cli.evals.results import load_results
from tests.conftest import REPO_ROOT, GitRepo, run_cli
from tests.support.evalproj import KEY_ENV, KEY_VALUE, config_text, write
from tests.support.toolllm import ToolLLM, ToolReply, support_agent

ENV = {KEY_ENV: KEY_VALUE, "PYTHONPATH": str(REPO_ROOT)}

AGENT_PROMPT = """
model: chat
inputs:
  question: {type: string}
tools:
  - name: lookup_order
    description: Look up an order by its id.
    parameters:
      type: object
      properties: {order_id: {type: string}}
      required: [order_id]
      additionalProperties: false
  - name: update_address
    description: Change the delivery address of an order.
    parameters:
      type: object
      properties: {order_id: {type: string}, address: {type: string}}
      required: [order_id, address]
messages:
  - role: system
    content: You are a support agent. Look orders up before answering.
  - role: user
    content: "{{ question }}"
"""

CASE = """
  - id: @ID@
    vars: {question: "Where is my order A1? (ticket @ID@)"}
    turns:
      - tools:
          lookup_order:
            - when: {order_id: A1}
              result: {order_id: A1, status: shipped, eta: "2026-12-09"}
          update_address: {result: {ok: true}}
      - user: "Please change the address of it"
    assert:
      - {type: tool-call, name: lookup_order, args: {order_id: A1}}
      - {type: tool-sequence, names: [lookup_order, update_address]}
      - {type: tool-args-valid}
      - {type: icontains, value: shipped, turn: 1}
      - {type: tool-call, name: update_address, turn: 2}
      - {type: no-tool-call, name: update_address, turn: 1}
"""


def golden(n: int = 1) -> str:
    return "cases:" + "".join(CASE.replace("@ID@", f"c{i:03d}") for i in range(n))


def project(root: Path, url: str, golden_text: str, prompt: str = AGENT_PROMPT) -> Path:
    write(root, "llmops.yaml", config_text(url))
    write(root, "prompts/support/agent.prompt.yaml", prompt)
    write(root, "evals/support/agent.yaml", golden_text)
    return root


@pytest.fixture
def agent() -> Any:
    with ToolLLM(responder=support_agent) as server:
        yield server


def eval_run(root: Path, *args: str) -> Any:
    return run_cli("eval", "run", "-q", "--out", "res.json", *args, cwd=root, env=ENV)


def test_three_turn_conversation_with_two_tool_calls(tmp_path: Path, agent: ToolLLM) -> None:
    root = project(tmp_path, agent.url, golden())
    r = eval_run(root)
    assert r.exit_code == 0, r.output
    (s,) = load_results(str(root / "res.json")).to_dict()["samples"]
    assert s["status"] == "pass", s["assertions"]
    roles = [(t["role"], [c["name"] for c in t["tool_calls"]]) for t in s["transcript"]["turns"]]
    assert roles == [
        ("user", []),
        ("assistant", ["lookup_order"]),
        ("tool", []),
        ("assistant", []),
        ("user", []),
        ("assistant", ["update_address"]),
        ("tool", []),
        ("assistant", []),
    ]
    assert s["transcript"]["stopped"] == "final" and s["output"] == 'Done: {"ok": true}'
    # on the wire: every call offers the tools; each tool message answers the call id the model made
    bodies = [q.body for q in agent.chat_requests]
    assert len(bodies) == 4 and all({t["function"]["name"] for t in b["tools"]} == {"lookup_order", "update_address"}
                                    for b in bodies)  # fmt: skip
    second = bodies[1]["messages"]
    assert second[-2]["role"] == "assistant" and second[-2]["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert second[-1] == {"role": "tool", "tool_call_id": second[-2]["tool_calls"][0]["id"],
                          "content": '{"order_id":"A1","status":"shipped","eta":"2026-12-09"}'}  # fmt: skip
    assert [m["role"] for m in bodies[3]["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool"
    ]  # fmt: skip
    # tokens are summed over the four calls
    turn_tokens = [t["usage"] for t in s["transcript"]["turns"] if t["role"] == "assistant"]
    assert s["tokens"]["prompt"] == sum(u["prompt_tokens"] for u in turn_tokens) > 0
    # the results file (transcript included) matches the published results schema
    schema = json.loads((REPO_ROOT / "schemas" / "results.schema.json").read_text())
    jsonschema.validate(json.loads((root / "res.json").read_text()), schema)


def test_a_rerun_replays_every_turn_from_the_cache(tmp_path: Path, agent: ToolLLM) -> None:
    root = project(tmp_path, agent.url, golden(3))
    assert eval_run(root).exit_code == 0
    sent = agent.count
    assert sent == 12
    r = run_cli("eval", "run", "-q", "--out", "again.json", cwd=root, env=ENV)
    assert r.exit_code == 0, r.output
    assert agent.count == sent  # 0 requests
    first = load_results(str(root / "res.json")).to_dict()["samples"]
    again = load_results(str(root / "again.json")).to_dict()["samples"]
    assert all(s["replay"] for s in again) and [s["transcript"] for s in again] == [s["transcript"] for s in first]


def test_resume_after_kill_9_mid_conversation_pays_no_turn_twice(tmp_path: Path) -> None:
    n = 12
    with ToolLLM(responder=support_agent, latency=0.2) as server:
        root = project(tmp_path, server.url, golden(n))
        env = {**os.environ, **ENV}
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmops_cli", "eval", "run", "-q", "--concurrency", "2", "--out", "res.json"],
            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert server.wait_for(11, timeout=60)  # mid-conversation: 11 is not a multiple of 4 turns
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        time.sleep(0.5)  # let in-flight handlers finish
        before = server.count
        cached = len(list((root / ".llmops" / "cache").rglob("*.json")))
        assert 0 < cached < 4 * n
        (run_dir,) = (root / ".llmops" / "runs").iterdir()
        r = run_cli("eval", "run", "-q", "--resume", run_dir.name, cwd=root, env=ENV)
        assert r.exit_code == 0, r.output
        resumed = server.chat_requests[before:]
        assert len(resumed) == 4 * n - cached  # every turn already answered and stored was not paid again
        assert len(server.duplicate_requests()) <= 2  # at most the calls in flight at the kill
        samples = load_results(str(root / "res.json")).to_dict()["samples"]
        assert len(samples) == n and all(s["status"] == "pass" for s in samples)


def test_a_model_that_loops_calling_tools_stops_at_the_turn_limit(tmp_path: Path) -> None:
    def looping(body: dict[str, Any]) -> ToolReply:
        return ToolReply("", calls=(("lookup_order", {"order_id": "A1"}),))

    with ToolLLM(responder=looping) as server:
        root = project(tmp_path, server.url, golden().replace("    turns:", "    max_turns: 5\n    turns:"))
        t0 = time.perf_counter()
        r = eval_run(root)
        assert time.perf_counter() - t0 < 60
        assert r.exit_code == 1, r.output  # an error sample fails the run, it does not crash it
        (s,) = load_results(str(root / "res.json")).to_dict()["samples"]
        assert server.count == 5 and s["transcript"]["stopped"] == "turn_limit"
        assert (
            s["status"] == "error" and s["error"]["kind"] == "turn_limit" and "5 model calls" in s["error"]["message"]
        )


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (ToolReply("", calls=(("delete_everything", {}),)), "case_error", "does not declare"),
        (ToolReply("", calls=(("lookup_order", {"order_id": "Z9"}),)), "case_error", "no scripted result"),
        (ToolReply("", calls=(("lookup_order", "{not json"),)), "case_error", "no scripted result"),
    ],
)
def test_unscripted_tool_calls_are_case_errors(tmp_path: Path, reply: ToolReply, kind: str, words: str) -> None:
    with ToolLLM(responder=lambda body: reply) as server:
        root = project(tmp_path, server.url, golden())
        r = eval_run(root)
        assert r.exit_code == 1, r.output
        (s,) = load_results(str(root / "res.json")).to_dict()["samples"]
        assert server.count == 1 and s["status"] == "error"
        assert s["error"]["kind"] == kind and words in s["error"]["message"], s["error"]
        assert s["transcript"]["stopped"] == "error"


def test_a_declared_tool_without_a_script_is_a_case_error(tmp_path: Path, agent: ToolLLM) -> None:
    text = golden().replace("          update_address: {result: {ok: true}}\n", "")
    root = project(tmp_path, agent.url, text)
    assert eval_run(root).exit_code == 1
    (s,) = load_results(str(root / "res.json")).to_dict()["samples"]
    assert "update_address" in s["error"]["message"] and "scripts no result" in s["error"]["message"]


@pytest.mark.parametrize(
    ("edit", "message", "line"),
    [
        (lambda g: g.replace("      - user: ", "      - tools: {}\n        user: "), "either {user: TEXT}", 10),
        (lambda g: g.replace("    turns:", "    max_turns: 500\n    turns:"), "less than or equal to 50", 4),
        (lambda g: g.replace("          lookup_order:", "          'bad name':"), "must be 1-64 letters", 5),
        (
            lambda g: g.replace("{type: icontains, value: shipped, turn: 1}", "{type: icontains, value: x, turn: 3}"),
            "looks at turn 3, but the case has 2",
            None,
        ),
        (lambda g: g.replace("result: {ok: true}", 'result: "' + "x" * 1_000_001 + '"'), "longer than 1,000,000", 9),
    ],
)
def test_bad_conversation_scripts_are_refused_before_any_call(
    tmp_path: Path, agent: ToolLLM, edit: Any, message: str, line: int | None
) -> None:
    root = project(tmp_path, agent.url, edit(golden()))
    r = eval_run(root)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "evals/support/agent.yaml" in r.stderr and "Traceback" not in r.stderr
    if line is not None:
        assert f"agent.yaml:{line}" in r.stderr
    assert agent.count == 0


def test_a_100_mb_tool_result_is_refused_without_a_call(tmp_path: Path, agent: ToolLLM) -> None:
    root = project(tmp_path, agent.url, golden())
    big = "x" * (100 * 1024 * 1024)
    (root / "evals/support/agent.yaml").write_text(golden().replace("result: {ok: true}", f'result: "{big}"'))
    t0 = time.perf_counter()
    r = eval_run(root)
    assert r.exit_code == 2 and "Traceback" not in r.stderr and "agent.yaml" in r.stderr, r.output
    assert time.perf_counter() - t0 < 60 and agent.count == 0


def test_single_turn_tool_prompt_records_the_reply_tool_calls(tmp_path: Path, agent: ToolLLM) -> None:
    text = """
cases:
  - id: asks
    vars: {question: "Where is my order B7?"}
    assert:
      - {type: tool-call, name: lookup_order, args: {order_id: B7}}
      - {type: tool-args-valid}
  - id: no-order
    vars: {question: "Hello there"}
    assert:
      - {type: no-tool-call}
"""
    root = project(tmp_path, agent.url, text)
    r = eval_run(root)
    assert r.exit_code == 0, r.output
    by_id = {s["case_id"]: s for s in load_results(str(root / "res.json")).to_dict()["samples"]}
    assert by_id["asks"]["status"] == "pass" and agent.count == 2  # the calls are recorded, not answered
    assert [t["role"] for t in by_id["asks"]["transcript"]["turns"]] == ["user", "assistant"]


def test_judges_receive_the_transcript(tmp_path: Path) -> None:
    judge = """
model: chat
inputs:
  criteria: {type: string}
  question: {type: string}
  answer: {type: string}
output: json
messages:
  - role: user
    content: "GRADE criteria={{ criteria }} answer={{ answer }}"
"""

    def responder(body: dict[str, Any]) -> Any:
        text = body["messages"][-1].get("content") or ""
        if isinstance(text, str) and text.startswith("GRADE"):
            return json.dumps({"reasoning": "ok", "score": 5})
        return support_agent(body)

    with ToolLLM(responder=responder) as server:
        root = project(tmp_path, server.url, golden().replace(
            "      - {type: tool-args-valid}", "      - {type: judge, criteria: helpful}"))  # fmt: skip
        write(root, "prompts/judges/rubric.prompt.yaml", judge)
        r = eval_run(root)
        assert r.exit_code == 0, r.output
        (grade,) = [q.body for q in server.chat_requests if "GRADE" in str(q.body["messages"][-1].get("content"))]
        content = grade["messages"][-1]["content"]
        assert 'ASSISTANT calls tool lookup_order({"order_id": "A1"})' in content
        assert "TOOL lookup_order returned" in content and "USER: Please change the address of it" in content


def test_prompt_render_case_shows_the_scripted_conversation(tmp_path: Path, agent: ToolLLM) -> None:
    root = project(tmp_path, agent.url, golden())
    r = run_cli("prompt", "render", "support/agent", "--case", "c000", cwd=root, env=ENV)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "Where is my order A1? (ticket c000)" in out and "Please change the address of it" in out
    assert 'tool lookup_order (when {"order_id": "A1"}) returns' in out and "turn limit" in out
    j = run_cli("prompt", "render", "support/agent", "--case", "c000", "--json", cwd=root, env=ENV)
    conv = json.loads(j.stdout)["conversation"]
    assert conv["max_turns"] == 8 and conv["turns"][1] == {"user": "Please change the address of it"}


def test_the_gate_fails_a_pr_that_drops_a_tool(tmp_git_repo: GitRepo, agent: ToolLLM) -> None:
    repo = tmp_git_repo
    repo.write(".gitignore", ".llmops/\n")
    repo.write("llmops.yaml", config_text(agent.url))
    repo.write("prompts/support/agent.prompt.yaml", AGENT_PROMPT)
    repo.write("evals/support/agent.yaml", golden(12))
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    dropped = (
        AGENT_PROMPT.split("  - name: update_address")[0] + AGENT_PROMPT.split("required: [order_id, address]\n")[1]
    )
    repo.write("prompts/support/agent.prompt.yaml", dropped)
    repo.commit("drop update_address")
    r = run_cli("eval", "gate", "--base", "main", "-f", "json", cwd=repo.root, env=ENV)
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    (agent_report,) = [p for p in report["prompts"] if p["prompt"] == "support/agent"]
    assert report["verdict"] == "FAIL" and agent_report["state"] == "FAIL", agent_report


def test_a_tampered_transcript_in_a_results_file_is_exit_2_with_its_json_path(tmp_path: Path, agent: ToolLLM) -> None:
    root = project(tmp_path, agent.url, golden())
    assert eval_run(root).exit_code == 0
    data = json.loads((root / "res.json").read_text())
    data["samples"][0]["transcript"]["turns"][1]["role"] = "robot"
    (root / "bad.json").write_text(json.dumps(data))
    r = run_cli("eval", "show", "bad.json", cwd=root, env=ENV)
    assert r.exit_code == 2 and "Traceback" not in r.stderr, r.output
    assert "samples[0].transcript.turns[1].role" in r.stderr
    data["samples"][0]["transcript"]["turns"][1] = {"index": 1, "role": "assistant", "surprise": True}
    (root / "bad.json").write_text(json.dumps(data))
    r = run_cli("eval", "show", "bad.json", cwd=root, env=ENV)
    assert r.exit_code == 2 and "samples[0].transcript.turns[1].surprise" in r.stderr, r.output
