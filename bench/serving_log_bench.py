"""Benchmark the request log's overhead per serving call (target: ≤ 20 µs median with the file sink).

Two measurements, each reported as median and p90:

* **record + enqueue** — the serving wrapper's own work on the request path of ``Prompt.complete()`` around
  the provider call, with the JSONL file sink: resolving the sink, checking the caller's tags, building the
  record (timestamp, request id, params hash, tokens, cost from litellm's price table) and handing it to the
  sink's queue; timed per call over ``--records`` calls on a real litellm response from the loopback server,
  next to the same wrapper with logging off (the difference is what logging adds) and with
  ``log_content=True`` (redacted messages and reply). The background writer's cost per record (serialise +
  ``write()``, off the request path) is reported too.
* **end to end** — ``Prompt.complete()`` against the loopback OpenAI-compatible server (real HTTP through
  litellm), logging off vs. on, interleaved call by call over ``--calls`` pairs; the difference of medians is
  the overhead as a caller sees it (it is within the noise of an HTTP call).

Usage: ``python bench/serving_log_bench.py [--records 20000] [--calls 1000] [--json]``
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
  tenant: {type: string}
messages:
  - role: system
    content: You answer support questions for {{ tenant }} from the knowledge base, briefly and politely.
  - role: user
    content: "Question: {{ question }}"
"""
TAGS = {"tenant": "acme", "customer": "c-10492", "feature": "support-answer"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values_s: list[float]) -> dict[str, float]:
    us = [v * 1e6 for v in values_s]
    return {"median_us": round(statistics.median(us), 2), "p90_us": round(pct(us, 0.9), 2), "n": len(us)}


def make_project(root: Path, url: str) -> Path:
    (root / "prompts").mkdir(parents=True)
    (root / "llmops.yaml").write_text(f"models:\n  chat: {{model: openai/fake-model, api_base: '{url}'}}\n")
    (root / "prompts" / "answer.prompt.yaml").write_text(PROMPT)
    return root


def bench_record(prompt: Any, response: Any, log: Any, n: int, *, content: bool) -> list[float]:
    """Per call, the serving wrapper's own work around the provider call: options, tags and sink resolved
    (``_Call``), then the record built and enqueued (``finish``). With ``log=False`` it is the baseline."""
    from llmops_cli.models.call import Answer
    from llmops_cli.models.wire import messages_of
    from llmops_cli.serving.call import _Call

    variables = {"question": "How long do refunds take?", "tenant": "acme"}
    rendered = prompt.render(variables)
    messages = messages_of(rendered.messages)
    answer = Answer(response.reply, response.response)  # what the model call returned (a Completion wraps it)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call = _Call(
            prompt.served(),
            variables,
            tags=TAGS,
            request_id=None,
            log=log,
            log_content=content,
            retries=None,
            timeout=None,
        )
        call.model, call.params, call.messages = prompt.model, rendered.params, messages
        call.finish(answer, None)
        times.append(time.perf_counter() - start)
    return times


def bench_writer(log_path: Path, record: dict[str, Any], n: int) -> float:
    """Seconds per record the background writer spends (serialise + write), measured in the caller."""
    from llmops_cli.serving.sinks import JsonlFileSink

    sink = JsonlFileSink(log_path, max_queue=n + 1, flush_interval=3600)
    with sink._io_lock:  # keep the writer thread from draining while the queue fills
        for _ in range(n):
            sink.emit(dict(record))
    start = time.perf_counter()
    sink.flush()
    elapsed = time.perf_counter() - start
    sink.close()
    assert sink.written == n, sink.stats()
    return elapsed / n


def bench_end_to_end(prompt: Any, log_path: Path, n: int) -> tuple[list[float], list[float]]:
    off, on = [], []
    for i in range(n):
        for logged in (False, True) if i % 2 else (True, False):
            start = time.perf_counter()
            prompt.complete(
                question="How long do refunds take?", tenant="acme", tags=TAGS, log=log_path if logged else False
            )
            (on if logged else off).append(time.perf_counter() - start)
    return off, on


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="calls timed for record + enqueue")
    parser.add_argument("--calls", type=int, default=1_000, help="end-to-end call pairs (off/on)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    from llmops_cli.releases.loader import load_prompt
    from llmops_cli.serving import file_sink
    from tests.support.fakellm import FakeLLM

    with tempfile.TemporaryDirectory() as tmp, FakeLLM("Refunds take five business days.") as server:
        root = make_project(Path(tmp) / "proj", server.url)
        log_path = Path(tmp) / "requests.jsonl"
        prompt = load_prompt("answer", root=root)
        for _ in range(20):  # warm-up: litellm import, connection pool, price lookups
            response = prompt.complete(question="warm up", tenant="acme", log=log_path)
        file_sink(log_path).flush()
        record = json.loads(log_path.read_text().splitlines()[-1])

        results: dict[str, Any] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
        results["wrapper_logging_off"] = summary(bench_record(prompt, response, False, args.records, content=False))
        results["record_enqueue"] = summary(bench_record(prompt, response, log_path, args.records, content=False))
        file_sink(log_path).flush()
        results["record_enqueue_with_content"] = summary(
            bench_record(prompt, response, log_path, max(1, args.records // 4), content=True)
        )
        file_sink(log_path).close()
        results["writer_per_record_us"] = round(bench_writer(Path(tmp) / "writer.jsonl", record, args.records) * 1e6, 2)
        off, on = bench_end_to_end(prompt, log_path, args.calls)
        file_sink(log_path).close()
        results["end_to_end_off"] = summary(off)
        results["end_to_end_on"] = summary(on)
        results["end_to_end_overhead_median_us"] = round(
            results["end_to_end_on"]["median_us"] - results["end_to_end_off"]["median_us"], 2
        )
        diffs = sorted((a - b) * 1e6 for a, b in zip(on, off, strict=True))
        results["end_to_end_paired_difference_median_us"] = round(statistics.median(diffs), 2)
        half = 1.96 * len(diffs) ** 0.5 / 2  # distribution-free 95% interval of a median (order statistics)
        lo, hi = max(0, int(len(diffs) / 2 - half)), min(len(diffs) - 1, int(len(diffs) / 2 + half))
        results["end_to_end_paired_difference_ci95_us"] = [round(diffs[lo], 1), round(diffs[hi], 1)]
        results["record_enqueue_overhead_median_us"] = round(
            results["record_enqueue"]["median_us"] - results["wrapper_logging_off"]["median_us"], 2
        )
        results["dropped"] = file_sink(log_path).dropped
        results["target_met"] = results["record_enqueue"]["median_us"] <= 20.0

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        r = results
        print(f"python {r['python']}, {r['cpus']} CPUs")
        b = r["wrapper_logging_off"]
        print(f"serving wrapper, logging off:       median {b['median_us']:8.2f} µs   p90 {b['p90_us']:8.2f} µs")
        print(
            f"record + enqueue (file sink):        median {r['record_enqueue']['median_us']:8.2f} µs   "
            f"p90 {r['record_enqueue']['p90_us']:8.2f} µs   (n={r['record_enqueue']['n']}, target ≤ 20 µs)"
        )
        c = r["record_enqueue_with_content"]
        print(f"  with log_content=True (redacted): median {c['median_us']:8.2f} µs   p90 {c['p90_us']:8.2f} µs")
        print(
            f"  overhead vs. logging off:         {r['record_enqueue_overhead_median_us']:8.2f} µs (difference of medians)"
        )
        print(f"background writer per record:       {r['writer_per_record_us']:8.2f} µs (off the request path)")
        for key, label in (("end_to_end_off", "logging off"), ("end_to_end_on", "logging on ")):
            e = r[key]
            print(f"end to end, loopback, {label}:    median {e['median_us']:8.1f} µs   p90 {e['p90_us']:8.1f} µs")
        print(
            f"end-to-end overhead: difference of medians {r['end_to_end_overhead_median_us']:.1f} µs, "
            f"median of paired differences {r['end_to_end_paired_difference_median_us']:.1f} µs "
            f"(95% interval {r['end_to_end_paired_difference_ci95_us'][0]:.1f} to "
            f"{r['end_to_end_paired_difference_ci95_us'][1]:.1f} µs)"
        )
        print(f"dropped records: {r['dropped']}")
    return 0 if results["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
