"""Benchmark the one model call's own cost per request, and ``Prompt.complete()`` end to end.

* **layer** — what :mod:`llmops_cli.models` adds around litellm for one request: ``build_request`` (typed
  messages, tools), ``wire_request`` (litellm's arguments) and ``read_reply`` (typed reply, tool calls, cost) on a
  real litellm response from the loopback server; for a text request and for one with two tools and a tool call.
* **end to end** — ``Prompt.complete()`` against the loopback OpenAI-compatible server (real HTTP through litellm),
  logging off, median of ``--calls`` calls. Run it in two checkouts (e.g. ``main`` and a branch) on the same
  machine to compare: ``cd CHECKOUT && python bench/model_call_bench.py --json``. The layer measurement needs a
  checkout that has ``llmops_cli.models.call``; without it only the end-to-end figure is printed.

Usage: ``python bench/model_call_bench.py [--calls 500] [--requests 5000] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROMPT = """\
model: chat
params: {max_tokens: 200, temperature: 0.2}
inputs:
  question: {type: string}
messages:
  - role: system
    content: You answer support questions in two sentences.
  - role: user
    content: "Q: {{ question }}"
"""
TOOLS = [
    {"name": "lookup_order", "description": "Look up an order.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}},
    {"name": "refund", "description": "Refund an order.",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}},
]  # fmt: skip


def summary(seconds: list[float]) -> dict[str, float]:
    us = sorted(s * 1e6 for s in seconds)
    return {"median_us": round(statistics.median(us), 1), "p90_us": round(us[int(0.9 * (len(us) - 1))], 1)}


def bench_layer(server: Any, n: int, *, tools: bool) -> dict[str, float]:
    import litellm

    from llmops_cli.models import Target
    from llmops_cli.models.reply import read_reply
    from llmops_cli.models.wire import build_request, wire_request

    target = Target("openai/fake-model", api_base=server.url)
    messages = [{"role": "system", "content": "You answer."}, {"role": "user", "content": "Q: where is order 42?"}]
    req = build_request(target.model, messages, {"max_tokens": 200}, tools=TOOLS if tools else ())
    kwargs = wire_request(target, req).kwargs
    response = litellm.completion(**kwargs, num_retries=0, max_retries=0)
    no_price: set[str] = set()  # as the model call keeps it: a model found unpriced is not looked up again
    times = []
    for _ in range(n):
        start = time.perf_counter()
        req = build_request(target.model, messages, {"max_tokens": 200}, tools=TOOLS if tools else ())
        wire_request(target, req)
        read_reply(litellm, response, target.model, 0.1, 1, no_price)
        times.append(time.perf_counter() - start)
    return summary(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="end-to-end complete() calls")
    parser.add_argument("--requests", type=int, default=5_000, help="requests timed through the layer alone")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    from llmops_cli.releases.loader import load_prompt
    from tests.support.fakellm import FakeLLM, Reply

    results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "checkout": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp, FakeLLM("Refunds take five business days.") as server:
        root = Path(tmp) / "proj"
        (root / "prompts").mkdir(parents=True)
        (root / "llmops.yaml").write_text(f"models:\n  chat: {{model: openai/fake-model, api_base: '{server.url}'}}\n")
        (root / "prompts" / "answer.prompt.yaml").write_text(PROMPT)
        prompt = load_prompt("answer", root=root, log=False)
        for _ in range(30):  # warm-up: litellm import, connection pool, price lookups
            prompt.complete(question="warm up")
        times = []
        for _ in range(args.calls):
            start = time.perf_counter()
            prompt.complete(question="How long do refunds take?")
            times.append(time.perf_counter() - start)
        results["complete_end_to_end"] = summary(times)
        try:
            import llmops_cli.models.call  # noqa: F401
        except ImportError:
            results["layer"] = None
        else:
            results["layer_text"] = bench_layer(server, args.requests, tools=False)
            server.default_reply = Reply.calling(("lookup_order", {"order_id": "42"}))
            results["layer_tools"] = bench_layer(server, args.requests, tools=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
