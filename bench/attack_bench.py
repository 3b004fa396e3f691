"""Cost of ``llmops eval attack`` against the equivalent number of plain cases, on the loopback fake server.

    PYTHONPATH=. python bench/attack_bench.py

The repository's own ``support/answer`` prompt (system prompt, partials, help-center passages as context) and
its golden set, repeated to 100 cases, are copied to a temporary project whose ``chat`` alias points at the
fake server. Then, with the response cache off:

* attack: ``run_attack`` with the five families that derive cases (500 derived cases);
* plain: ``run_eval`` of the same 100 cases with ``repeat=5`` (500 plain generations).

Both answer with the same reply, so output tokens match and the difference is the payloads' input tokens.
The fake server's token count is a whitespace word count (``estimate_tokens``); the figure reported is
``(input + output tokens of the attack run) / (those of the plain run)`` — the cost ratio at any per-token
price — and the wall-time ratio. The issue's target is ≤ 1.2×.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from llmops_cli.evals.attack import AttackOptions  # noqa: E402
from llmops_cli.evals.attack_run import run_attack  # noqa: E402
from llmops_cli.evals.runner import EvalOptions, run_eval  # noqa: E402
from llmops_cli.project import Project  # noqa: E402
from llmops_cli.yamlio import parse_yaml  # noqa: E402
from tests.support.fakellm import FakeLLM, all_text, estimate_tokens  # noqa: E402

KEY_ENV = "FAKE_LLM_KEY"
REPLY = "You can return most items within 30 days of delivery; see the Returns policy article for the steps."


def make_project(root: Path, url: str, cases: int = 100) -> None:
    shutil.copytree(REPO / "prompts/_partials", root / "prompts/_partials")
    (root / "prompts/support").mkdir(parents=True)
    shutil.copy(REPO / "prompts/support/answer.prompt.yaml", root / "prompts/support/answer.prompt.yaml")
    (root / "llmops.yaml").write_text(
        f"models:\n  chat: {{model: openai/fake-model, api_base: '{url}', api_key_env: {KEY_ENV}}}\n"
        "concurrency: 16\neval: {timeout_s: 10, max_retries: 1, backoff_s: 0.05}\n",
        encoding="utf-8",
    )
    text = (REPO / "evals/support/answer.yaml").read_text(encoding="utf-8")
    data = parse_yaml(text, "evals/support/answer.yaml", None)
    src = data["cases"] if isinstance(data, dict) else data
    out = []
    for i in range(cases):
        case = dict(src[i % len(src)])
        case["id"] = f"{case['id']}-{i}"
        case["vars"] = {**case.get("vars", {}), "question": f"{case.get('vars', {}).get('question', '')} (#{i})"}
        case["assert"] = [{"type": "icontains", "value": "return"}]  # deterministic: no judge calls on either side
        out.append(case)
    (root / "evals/support").mkdir(parents=True)
    (root / "evals/support/answer.yaml").write_text(json.dumps({"cases": out}), encoding="utf-8")


def tokens(server: FakeLLM) -> int:
    """Input + output tokens of every answered request, counted as the fake server's usage counts them."""
    return sum(estimate_tokens(all_text(r.body)) + estimate_tokens(r.reply or "") for r in server.chat_requests)


def main() -> None:
    os.environ[KEY_ENV] = "sk-fake-bench-key-0123456789"
    families = ("instruction_override", "role_play", "delimiter", "encoded", "indirect")
    with FakeLLM(default_reply=REPLY) as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, server.url)
        project = Project.open(root)
        run_eval(project, EvalOptions(names=["support/answer"], use_cache=False))  # warm-up: imports, connections
        server.reset_history()
        t0 = time.perf_counter()
        run = run_attack(project, ["support/answer"], AttackOptions(1, families), use_cache=False)
        attack_s = time.perf_counter() - t0
        attack_tokens, attack_calls = tokens(server), server.count
        server.reset_history()
        t0 = time.perf_counter()
        run_eval(project, EvalOptions(names=["support/answer"], repeat=5, use_cache=False))
        plain_s = time.perf_counter() - t0
        plain_tokens, plain_calls = tokens(server), server.count
    print(f"derived attack cases: {run.prompts[0].total.n} scored, {attack_calls} calls; plain: {plain_calls} calls")
    print(
        f"tokens (in + out): attack {attack_tokens:,}  plain {plain_tokens:,}  ratio {attack_tokens / plain_tokens:.3f}"
    )
    print(f"wall time: attack {attack_s:.2f} s  plain {plain_s:.2f} s  ratio {attack_s / plain_s:.3f}")


if __name__ == "__main__":
    main()
