"""What calibrating a judge costs, next to evaluating as many cases (the loopback fake server).

Usage: PYTHONPATH=. python bench/judge_calibration_cost.py [--n 1000] [--latency 0.05]

One project, one judge (tests/support/gateproj.py's scripted judge, K = 1). Side A: ``eval run`` of a golden set of
N cases, each with one judge assertion (N generations + N judge calls). Side B: ``judge calibrate`` of N labelled
answers of the same shape with the default bias probes (N judge calls + at most 50 padded + 50 swapped answers).
Both run in-process, cache off, against the same server; cost is counted as provider calls and tokens the server
saw (whitespace words of the request's messages plus the reply: the fake tokenizer), the unit a provider bills.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.conftest import write  # noqa: E402
from tests.support import gateproj as gp  # noqa: E402
from tests.support.fakellm import FakeLLM, all_text, estimate_tokens  # noqa: E402


def tokens(server: FakeLLM) -> int:
    return sum(estimate_tokens(all_text(r.body)) + estimate_tokens(r.reply or "") for r in server.chat_requests)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args()
    os.environ[gp.KEY_ENV] = gp.KEY_VALUE
    os.environ.pop("GITHUB_BASE_REF", None)
    from llmops_cli.evals.plan import EvalOptions
    from llmops_cli.evals.runner import run_eval
    from llmops_cli.judging.calibrate import CalibrateOptions, calibrate
    from llmops_cli.project import Project

    with FakeLLM(responder=gp.responder, latency=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root, "llmops.yaml", gp.config_text(server.url, samples=1).replace("concurrency: 4", "concurrency: 16"))
        write(root, "prompts/judges/rubric.prompt.yaml", gp.JUDGE_PROMPT)
        write(root, "prompts/support/answer.prompt.yaml", gp.answer_prompt("Answer briefly."))
        write(root, "evals/support/answer.yaml", gp.golden(args.n))
        items = [{"id": f"l{i:04d}", "vars": {"question": f"question c {i}", "answer": f"A good answer {i}"}, "human": 5}
                 for i in range(args.n)]  # fmt: skip
        labels = {"defaults": {"criteria": "answers well"}, "items": items}
        write(root, "evals/judges/rubric.labels.yaml", yaml.safe_dump(labels))
        os.environ["LLMOPS_CACHE_DIR"] = str(root / "cache")
        project = Project.open(root)

        t0 = time.perf_counter()
        run_eval(project, EvalOptions(out=str(root / "r.json"), use_cache=False))
        eval_s, eval_calls, eval_tokens = time.perf_counter() - t0, server.count, tokens(server)
        base_calls, base_tokens = server.count, tokens(server)
        t0 = time.perf_counter()
        calibrate(project, "judges/rubric", CalibrateOptions(use_cache=False, concurrency=16))
        cal_s = time.perf_counter() - t0
        cal_calls, cal_tokens = server.count - base_calls, tokens(server) - base_tokens
    out = {
        "n": args.n,
        "eval": {"calls": eval_calls, "tokens": eval_tokens, "wall_s": round(eval_s, 2)},
        "calibrate": {"calls": cal_calls, "tokens": cal_tokens, "wall_s": round(cal_s, 2)},
        "ratio_calls": round(cal_calls / eval_calls, 3),
        "ratio_tokens": round(cal_tokens / eval_tokens, 3),
        "ratio_wall": round(cal_s / eval_s, 3),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
