"""A priced, mixed eval suite on the loopback fake server for the cost tests and ``bench/cost_bench.py``: two
prompts (one judged by a rubric judge, K = 2; R = 2 from llmops.yaml), ``openai/gpt-4o-mini`` prices from
litellm's table, and a server that reports usage with the model's real tokenizer and answers with outputs
of varying length."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from llmops_cli.models.prices import price_of
from llmops_cli.models.runtime import import_litellm
from llmops_cli.project import Project
from llmops_cli.records.results import EvalResults
from tests.support.evalproj import KEY_ENV, write
from tests.support.fakellm import FakeLLM

MODEL = "openai/gpt-4o-mini"

ANSWER = """
model: chat
params: {max_tokens: 60, temperature: 0}
inputs: {question: {type: string}}
messages:
  - role: system
    content: GENERATE briefly.
  - role: user
    content: "Q: {{ question }}"
"""

SHORT = """
model: chat
params: {max_tokens: 25}
inputs: {topic: {type: string}}
messages:
  - role: user
    content: "GENERATE one line about {{ topic }}, please."
"""

RUBRIC = """
model: chat
params: {temperature: 0, max_tokens: 50}
inputs:
  criteria: {type: string}
  question: {type: string}
  answer: {type: string}
output: json
messages:
  - role: system
    content: You are a strict GRADER. Reply with JSON {"reasoning", "score"}.
  - role: user
    content: "criteria={{ criteria }} question={{ question }} answer={{ answer }}"
"""


class Replies:
    """Replies of varying length: the n-th time a request body is seen picks its length, so two runs of the
    same suite produce different (but similarly distributed) outputs."""

    def __init__(self, seed: int = 7) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.seed = seed

    def __call__(self, body: dict[str, Any]) -> str:
        key = json.dumps(body.get("messages"), sort_keys=True)
        with self.lock:
            n = self.seen[key]
            self.seen[key] += 1
        rng = random.Random(f"{self.seed}|{key}|{n}")
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "fake"]) for _ in range(rng.randint(3, 30)))
        if "GRADER" in json.dumps(body.get("messages")):
            return json.dumps({"reasoning": words, "score": rng.randint(3, 5)})
        return words


def real_usage(body: dict[str, Any], content: str) -> tuple[int, int]:
    """What a provider reports: the prompt's and the reply's tokens with the model's tokenizer."""
    litellm = import_litellm()
    return int(litellm.token_counter(model=MODEL, messages=body["messages"])), int(
        litellm.token_counter(model=MODEL, text=content, count_response_tokens=True)
    )


def project(root: Path, url: str, *, cases: int = 12, model: str = MODEL, extra: str = "") -> Project:
    write(
        root,
        "llmops.yaml",
        f"""
        models:
          chat: {{model: {model}, api_base: "{url}", api_key_env: {KEY_ENV}}}
        judge: {{prompt: judges/rubric, model: chat, samples: 2}}
        concurrency: 8
        eval: {{timeout_s: 10, max_retries: 2, backoff_s: 0.05, repeat: 2}}
        {extra}
        """,
    )
    write(root, "prompts/support/answer.prompt.yaml", ANSWER)
    write(root, "prompts/support/short.prompt.yaml", SHORT)
    write(root, "prompts/judges/rubric.prompt.yaml", RUBRIC)
    judge = "{type: judge, criteria: 'is it helpful'}"
    lines = ["cases:"] + [
        f"  - {{id: a{i:03d}, vars: {{question: 'what is question {i} about {'x ' * (i % 7)}'}}, "
        f"assert: [{{type: icontains, value: a}}, {judge}]}}"
        for i in range(cases)
    ]
    write(root, "evals/support/answer.yaml", "\n".join(lines) + "\n")
    lines = ["cases:"] + [
        f"  - {{id: s{i:03d}, vars: {{topic: 'topic {i}'}}, assert: [{{type: icontains, value: a}}]}}"
        for i in range(cases // 2)
    ]
    write(root, "evals/support/short.yaml", "\n".join(lines) + "\n")
    return Project.open(str(root))


def spent(results: EvalResults) -> float:
    return sum((r.cost_usd or 0.0) + ((r.judge.cost_usd or 0.0) if r.judge else 0.0) for r in results.samples)


def server_cost(server: FakeLLM) -> float:
    """What the provider would bill: every answered request's usage at the model's price."""
    price = price_of(MODEL)
    assert price is not None
    total = 0.0
    for rec in server.chat_requests:
        if rec.status == 200 and rec.reply is not None:
            pin, pout = real_usage(rec.body, rec.reply)
            total += pin * price.input_per_token + pout * price.output_per_token
    return total
