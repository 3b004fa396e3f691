"""Benchmark of the results model: load + validate, and save, a 30,000-sample results file.

    PYTHONPATH=. python bench/results_records_bench.py            # this checkout
    PYTHONPATH=/path/to/other/checkout python bench/results_records_bench.py   # a baseline, same machine
    PYTHONPATH=. python bench/results_records_bench.py cached     # + a fully cached eval run of 1,000 cases
    PYTHONPATH=. python bench/results_records_bench.py gate       # + the gate's per-PR compare (simulation)

``cached``: an eval project of 1,000 cases (tests/support/evalproj.py) run once against the loopback fake
server, then run again in-process five times, every answer from the response cache (no request sent):
median wall and CPU seconds of ``run_eval`` (planning, cache reads, journal, summary, the results file).

``gate``: 40 simulated PRs of bench/gate_simulation.py's ``plain-k3-n50`` row (50 cases, K = 3): CPU ms per PR of
``collect`` + ``compare_arms`` on both arms (best of 5), and of building one arm's 50 sample records.

The file is synthetic but shaped like ``eval run`` output: 3 prompts x 2,000 cases x R = 5, every sample with
one deterministic assertion and one judge assertion of K = 3 judge samples (a few nulled: judge errors), tokens,
costs and latencies. It is built once from plain JSON, loaded (its summary recomputed) and saved by the code
under test, then timed. Figures are medians (wall and this process's CPU time), printed as one JSON line.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any

from llmops_cli.evals.results import load_results, save_results

PROMPTS, CASES, REPEAT, K = 3, 2000, 5, 3


def _sample(rng: random.Random, prompt: str, case: int, sample: int) -> dict[str, Any]:
    scores: list[float | None] = [rng.choice((0.25, 0.5, 0.75, 1.0)) for _ in range(K)]
    if rng.random() < 0.02:
        scores[0] = None
    nulls = sum(1 for s in scores if s is None)
    good = [s for s in scores if s is not None]
    mean = round(sum(good) / len(good), 6) if good else None
    exact = rng.random() < 0.8
    passed = exact and (mean or 0) >= 0.5
    return {
        "prompt": prompt, "case_id": f"case-{case:05d}", "sample": sample, "cluster": f"cl{case % 7}",
        "model": "openai/fake-model", "request_hash": f"{case:064x}", "output": f"answer {case} {sample} " * 8,
        "replay": False, "tokens": {"prompt": 120 + case % 50, "completion": 40 + sample},
        "cost_usd": round(0.0001 * (1 + case % 5), 8), "latency_ms": round(rng.uniform(50, 900), 1), "attempts": 1,
        "error": None, "status": "pass" if passed else "fail", "score": 1.0 if passed else 0.0,
        "assertions": [
            {"metric": "icontains", "index": 0, "type": "icontains", "weight": 1.0, "threshold": None,
             "score": 1.0 if exact else 0.0, "passed": exact, "reason": "found" if exact else "not found"},
            {"metric": "helpfulness", "index": 1, "type": "judge", "weight": 1.0, "threshold": 0.5, "score": mean,
             "passed": None if mean is None else mean >= 0.5, "reason": "graded", "samples": scores,
             "judge_errors": nulls, "reasonings": ["fine" if s is not None else None for s in scores]},
        ],
        "judge": {"samples": K, "errors": nulls, "replays": 0, "tokens": {"prompt": 300, "completion": 30},
                  "cost_usd": 0.0003},
    }  # fmt: skip


def build(path: str) -> None:
    rng = random.Random(0)
    prompts = [f"team/prompt-{p}" for p in range(PROMPTS)]
    samples = [_sample(rng, p, c, s) for p in prompts for c in range(CASES) for s in range(REPEAT)]
    doc = {
        "schema_version": 1,
        "kind": "llmops-eval-results",
        "run": {
            "llmops_version": "bench", "git_sha": "0" * 40, "source": "working tree", "config_hash": "c" * 64,
            "repeat": REPEAT, "judge_samples": K, "selection": {"names": prompts},
            "judges": {"judges/grade": {"prompt": "judges/grade", "prompt_sha256": "a" * 64, "model": "m",
                                        "samples": K}},
            "execution": {"id": "bench", "concurrency": 16, "shard": None},
        },
        "prompts": {
            p: {"prompt_sha256": "b" * 64, "model": "openai/fake-model", "golden_set": {"file": "g.yaml",
                "sha256": "d" * 64, "cases": CASES}, "min_pass_rate": 0.8, "max_error_rate": 0.05,
                "clusters": {f"case-{c:05d}": f"cl{c % 7}" for c in range(CASES)}, "judges": ["judges/grade"]}
            for p in prompts
        },
        "samples": samples,
    }  # fmt: skip
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    save_results(path, load_results(path))  # the summary, computed and written by the code under test


def timed(fn: Any, runs: int) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds of this process): on a shared machine the CPU time is the steadier
    figure (another process's load stretches the wall time, not this one's CPU time)."""
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def cached_run() -> dict[str, Any]:
    """The fully cached re-run of 1,000 cases (see the module docstring)."""
    from pathlib import Path

    from llmops_cli.evals.runner import EvalOptions, run_eval
    from llmops_cli.project import Project
    from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project, many_cases
    from tests.support.fakellm import FakeLLM

    os.environ[KEY_ENV] = KEY_VALUE
    os.environ.pop("LLMOPS_CACHE_DIR", None)
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(default_reply="a fake answer") as server:
        root = make_eval_project(Path(tmp), server.url, golden=many_cases(1000))
        run_eval(Project.open(root), EvalOptions(out=str(root / "r.json")))
        before = server.count
        wall, cpu = timed(lambda: run_eval(Project.open(root), EvalOptions(out=str(root / "r2.json"))), runs=5)
        sent = server.count - before
    return {"cached_cases": 1000, "cached_run_s": round(wall, 3), "cached_run_cpu_s": round(cpu, 3),
            "cached_requests": sent}  # fmt: skip


def gate_compare() -> dict[str, Any]:
    """The gate's per-PR compare time on simulated arms (see the module docstring)."""
    import llmops_cli

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(llmops_cli.__file__)), "bench"))
    import gate_simulation as g  # the simulation of the checkout under test

    from llmops_cli.gate.collect import collect
    from llmops_cli.gate.decide import compare_arms

    sc = next(s for s in g.scenarios(True) if s.key == "plain-k3-n50")
    rng = random.Random(0)
    suite = g.make_suite(rng, sc)
    pairs = []
    for _ in range(40):
        head_mu, head_sd = g.head_of(rng, sc, suite, None)
        base = g.records(rng, sc, suite, suite.mu, g.SD_GEN, sc.err_base, "b")
        pairs.append((base, g.records(rng, sc, suite, head_mu, head_sd, sc.err_head, "h")))
    best = math.inf
    for _ in range(5):
        c0 = time.process_time()
        for b, h in pairs:
            compare_arms("sim", collect(b)["sim"], collect(h)["sim"], g.CONFIG)
        best = min(best, (time.process_time() - c0) / len(pairs))
    c0 = time.process_time()
    for _ in range(40):
        g.records(rng, sc, suite, suite.mu, g.SD_GEN, sc.err_base, "b")
    build = (time.process_time() - c0) / 40
    return {"gate_compare_cpu_ms_per_pr": round(best * 1000, 2), "build_arm_cpu_ms": round(build * 1000, 2)}


def main() -> None:
    import llmops_cli

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.json")
        build(path)
        size = os.path.getsize(path)
        loaded = load_results(path)
        load_s = timed(lambda: load_results(path), runs=int(os.environ.get("BENCH_RUNS", "5")))
        save_s = timed(lambda: save_results(os.path.join(tmp, "again.json"), loaded), runs=3)
        with open(path, "rb") as a, open(os.path.join(tmp, "again.json"), "rb") as b:
            identical = a.read() == b.read()
    print(
        json.dumps(
            {
                "bench": "results-30k",
                "code": os.path.dirname(llmops_cli.__file__),
                "samples": PROMPTS * CASES * REPEAT,
                "file_mb": round(size / 2**20, 1),
                "load_s": round(load_s[0], 3),
                "load_cpu_s": round(load_s[1], 3),
                "save_s": round(save_s[0], 3),
                "save_cpu_s": round(save_s[1], 3),
                "save_is_byte_identical": identical,
                "python": sys.version.split()[0],
                **(cached_run() if "cached" in sys.argv[1:] else {}),
                **(gate_compare() if "gate" in sys.argv[1:] else {}),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
