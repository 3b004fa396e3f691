"""Tool-calling eval suites against the loopback server (tests/support/toolllm.py) vs the same-size text suite.

The server runs in this process; the CLI runs as a subprocess, as a user would run it. Each suite has 1,000 cases
(distinct questions), 100 ms server latency, concurrency 16, fresh cache per run; the suites alternate, and the
median of ``--runs`` runs of each is reported: wall time, and the CLI process's CPU time (user + system, from
``wait4``), which a busy machine inflates less than wall time.

* text: a text prompt, one call per case, ``icontains`` assertion (the baseline);
* tools: the same prompt declaring two tools; the model answers every case with a tool call, checked with
  ``tool-call`` (arguments subset match), ``tool-args-valid`` and ``no-tool-call`` — one call per case;
* conversation: the same tools with a scripted conversation per case: the model calls ``lookup_order``, gets the
  scripted result and answers — two calls per case; reported per model call as well.

    PYTHONPATH=. python bench/tool_bench.py [--cases 1000] [--runs 3] [--latency 0.1]

Target (issue #22): the tool suite's wall time within 1.2x of the text suite's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.evalproj import KEY_ENV, KEY_VALUE, config_text, write  # noqa: E402
from tests.support.toolllm import ToolLLM, support_agent  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(REPO), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
ENV.pop("LLMOPS_CACHE_DIR", None)

TEXT_PROMPT = """
model: chat
inputs:
  question: {type: string}
messages:
  - role: system
    content: You are a support agent.
  - role: user
    content: "{{ question }}"
"""

TOOLS = """
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
"""


def golden(kind: str, n: int) -> str:
    lines = ["cases:"]
    for i in range(n):
        oid = f"A{i + 1}"
        lines.append(f"  - id: c{i:05d}")
        lines.append(f'    vars: {{question: "Where is my order {oid}?"}}')
        if kind == "text":
            lines.append("    assert: [{type: icontains, value: order}]")
        elif kind == "tools":
            lines.append(
                f"    assert: [{{type: tool-call, name: lookup_order, args: {{order_id: {oid}}}}}, "
                "{type: tool-args-valid}, {type: no-tool-call, name: update_address}]"
            )
        else:
            lines.append("    turns:")
            lines.append(
                f"      - tools: {{lookup_order: {{when: {{order_id: {oid}}}, "
                f'result: {{order_id: {oid}, status: shipped, eta: "2026-12-09"}}}}}}'
            )
            lines.append(
                "    assert: [{type: tool-sequence, names: [lookup_order]}, {type: icontains, value: shipped}]"
            )
    return "\n".join(lines) + "\n"


def run_suite(kind: str, n: int, latency: float) -> dict[str, float | int]:
    with ToolLLM(responder=support_agent, latency=latency) as server, tempfile.TemporaryDirectory() as d:
        root = Path(d)
        write(root, "llmops.yaml", config_text(server.url))
        prompt = TEXT_PROMPT if kind == "text" else TEXT_PROMPT.replace("messages:", TOOLS.strip() + "\nmessages:")
        write(root, "prompts/support/agent.prompt.yaml", prompt)
        write(root, "evals/support/agent.yaml", golden(kind, n))
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmops_cli", "eval", "run", "-q", "--concurrency", "16", "--out", "r.json"],
            cwd=root, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        cpu = usage.ru_utime + usage.ru_stime  # the CLI's own CPU: less sensitive to a busy machine than wall
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{kind} suite failed: {err.decode()[-2000:]}")
        samples = json.loads((root / "r.json").read_text())["samples"]
        passed = sum(s["status"] == "pass" for s in samples)
        return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "requests": server.count, "passed": passed,
                "cases": len(samples)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.1)
    a = ap.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "llmops_cli")], check=True)
    walls: dict[str, list[float]] = {"text": [], "tools": [], "conversation": []}
    cpus: dict[str, list[float]] = {k: [] for k in walls}
    last: dict[str, dict[str, float | int]] = {}
    for _ in range(a.runs):
        for kind in walls:
            last[kind] = run_suite(kind, a.cases, a.latency)
            walls[kind].append(float(last[kind]["wall_s"]))
            cpus[kind].append(float(last[kind]["cpu_s"]))
    med = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    calls = {k: int(last[k]["requests"]) for k in walls}
    for kind in walls:
        print(json.dumps({"bench": "tool_suite", "suite": kind, "median_wall_s": round(med[kind], 3),
                          "median_cpu_s": round(cpu[kind], 3), "wall_runs": walls[kind], "cpu_runs": cpus[kind],
                          **last[kind]}), flush=True)  # fmt: skip
    print(
        json.dumps(
            {
                "bench": "tool_suite_ratio",
                "cases": a.cases,
                "latency_s": a.latency,
                "tools_vs_text": round(med["tools"] / med["text"], 3),
                "tools_vs_text_cpu": round(cpu["tools"] / cpu["text"], 3),
                "conversation_vs_text_cpu": round(cpu["conversation"] / cpu["text"], 3),
                "load_average": os.getloadavg()[0],
                "conversation_vs_text": round(med["conversation"] / med["text"], 3),
                "conversation_per_call_vs_text": round(
                    (med["conversation"] / calls["conversation"]) / (med["text"] / calls["text"]), 3
                ),
                "target": "tools_vs_text <= 1.2",
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
