"""``eval run --estimate`` against the measured cost, and ``--max-cost`` at concurrency 32, on the loopback fake
server (tests/support/fakellm.py; usage reported with the model's real tokenizer, ``openai/gpt-4o-mini`` prices
from litellm's table). The suite is tests/support/costproj.py: two prompts, a rubric judge with K = 2, R = 2.

    PYTHONPATH=. python bench/cost_bench.py [CASES]

Prints JSON lines:

* estimate: the estimate with no history (upper bound), after one run (expected, from the observed outputs),
  the measured cost of the next (uncached) run and the error; generation prompt tokens estimated vs reported;
* budget: a cap of 25% of the run's worst case at concurrency 32: what the provider billed (recomputed from the
  server's requests), the cap, the largest single request's worst case, samples done / planned.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from llmops_cli.evals.estimate import estimate_run  # noqa: E402
from llmops_cli.evals.results import load_results  # noqa: E402
from llmops_cli.evals.runner import EvalOptions, run_eval  # noqa: E402
from tests.support.costproj import Replies, project, real_usage, server_cost, spent  # noqa: E402
from tests.support.evalproj import KEY_ENV, KEY_VALUE  # noqa: E402
from tests.support.fakellm import FakeLLM  # noqa: E402


def estimate_vs_measured(cases: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(responder=Replies(), usage=real_usage) as server:
        proj = project(Path(tmp), server.url, cases=cases)
        cold = estimate_run(proj, EvalOptions())
        run_eval(proj, EvalOptions())
        est = estimate_run(proj, EvalOptions(use_cache=False))
        results = load_results(run_eval(proj, EvalOptions(use_cache=False)).results_path)
    measured = spent(results)
    gen_est = sum(g.prompt_tokens for g in est.groups if g.role == "generation")
    gen_seen = sum((r.tokens.prompt or 0) for r in results.samples if r.tokens)
    expected = est.cost_expected_usd or 0.0
    return {
        "bench": "estimate",
        "samples": est.samples,
        "calls": est.calls,
        "estimate_no_history_usd": cold.cost_max_usd,
        "estimate_expected_usd": expected,
        "estimate_max_usd": est.cost_max_usd,
        "measured_usd": round(measured, 8),
        "error_pct": round(100 * (expected - measured) / measured, 2),
        "generation_prompt_tokens_estimated": gen_est,
        "generation_prompt_tokens_reported": gen_seen,
    }


def budget_at_32(cases: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(responder=Replies(), usage=real_usage, latency=0.05) as server:
        proj = project(Path(tmp), server.url, cases=cases)
        full = estimate_run(proj, EvalOptions(repeat=1))
        assert full.cost_max_usd is not None
        cap = full.cost_max_usd * 0.25
        out = run_eval(proj, EvalOptions(repeat=1, concurrency=32, max_cost_usd=cap))
        billed = server_cost(server)
    worst = max(g.cost_max_usd / max(1, g.calls - g.cached) for g in full.groups if g.cost_max_usd)
    inc = out.incomplete
    return {
        "bench": "budget",
        "concurrency": 32,
        "cap_usd": round(cap, 8),
        "billed_usd": round(billed, 8),
        "billed_over_cap_usd": round(max(0.0, billed - cap), 8),
        "largest_request_worst_case_usd": round(worst, 8),
        "samples_done": (inc.samples_planned or 0) - (inc.samples_missing or 0) if inc else full.samples,
        "samples_planned": full.samples,
    }


def main() -> None:
    os.environ[KEY_ENV] = KEY_VALUE
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for result in (estimate_vs_measured(cases), budget_at_32(cases * 2)):
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
