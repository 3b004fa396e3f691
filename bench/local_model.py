"""Benchmark the offline local model: load time, generation tokens/s and wall time per short completion.

Usage: python bench/local_model.py [--model local/smollm2] [--runs 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmops_cli.providers import local

LONG_PROMPT = [{"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."}]
SHORT_PROMPT = [{"role": "user", "content": "Is 'The product arrived broken' positive or negative? One word."}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    path = local.preflight(args.model)
    started = time.perf_counter()
    local.load_model(path)
    load_s = time.perf_counter() - started
    print(f"model: {path} ({path.stat().st_size / 1e6:.0f} MB)")
    print(f"threads: {os.environ.get('LLMOPS_LOCAL_THREADS', local.DEFAULT_THREADS)}")
    print(f"load time: {load_s:.2f} s")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (contention skews timings)")

    rates: list[float] = []
    for seed in range(args.runs):
        started = time.perf_counter()
        result = local.run_chat(args.model, LONG_PROMPT, {"max_tokens": args.tokens, "seed": seed})
        elapsed = time.perf_counter() - started
        usage = result["usage"]
        rates.append(usage["completion_tokens"] / elapsed)
        print(
            f"  gen run {seed}: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion "
            f"tokens in {elapsed:.2f} s"
        )
    print(
        f"generation: median {statistics.median(rates):.1f} tokens/s, best {max(rates):.1f} tokens/s "
        "(incl. prompt eval)"
    )

    walls: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        local.run_chat(args.model, SHORT_PROMPT, {"max_tokens": 16, "temperature": 0})
        walls.append(time.perf_counter() - started)
    print(
        f"short completion (max_tokens=16): median {statistics.median(walls) * 1000:.0f} ms wall, "
        f"best {min(walls) * 1000:.0f} ms"
    )

    import litellm

    from llmops_cli.providers import register_custom_providers

    register_custom_providers(litellm)
    walls = []
    for _ in range(args.runs):
        started = time.perf_counter()
        litellm.completion(model=args.model, messages=SHORT_PROMPT, max_tokens=16, temperature=0)
        walls.append(time.perf_counter() - started)
    print(f"short completion via litellm.completion: median {statistics.median(walls) * 1000:.0f} ms wall")


if __name__ == "__main__":
    main()
