"""A two-prompt eval project for gate tests, wired to a FakeLLM whose answers depend on the rendered request.

Generation: a system prompt containing ``sloppily`` gets ``"WORSE answer"``, anything else ``"A good answer"``.
Judge (``GRADE`` in the request): score 2 of 5 for an answer containing ``WORSE``, else 5 of 5.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.conftest import GitRepo
from tests.support.fakellm import FakeLLM, all_text

KEY_ENV = "FAKE_LLM_KEY"
KEY_VALUE = "sk-fake-gate-key-0123456789"

JUDGE_PROMPT = """
model: chat
params: {temperature: 0}
inputs:
  criteria: {type: string}
  question: {type: string}
  answer: {type: string}
output: json
messages:
  - role: system
    content: You are a strict grader. Reply with JSON {"reasoning", "score"}.
  - role: user
    content: "GRADE criteria={{ criteria }} question={{ question }} answer={{ answer }}"
"""

ANSWER_PROMPT = """
model: chat
inputs:
  question: {type: string}
messages:
  - role: system
    content: "@SYSTEM@"
  - role: user
    content: "Q: {{ question }}"
"""


def config_text(url: str, samples: int = 3) -> str:
    return (
        f"models:\n  chat: {{model: openai/fake-model, api_base: '{url}', api_key_env: {KEY_ENV}}}\n"
        f"judge: {{prompt: judges/rubric, model: chat, samples: {samples}}}\n"
        "concurrency: 4\neval: {timeout_s: 5, max_retries: 1, backoff_s: 0.05}\n"
    )


def golden(n: int, prefix: str = "c") -> str:
    lines = ["cases:"]
    for i in range(n):
        lines.append(
            f"  - {{id: {prefix}{i:02d}, vars: {{question: 'question {prefix} {i}'}}, "
            "assert: [{type: judge, criteria: answers well}, {type: icontains, value: answer}]}"
        )
    return "\n".join(lines) + "\n"


def responder(body: dict[str, Any]) -> str:
    text = all_text(body)
    if "GRADE" in text:
        score = 2 if "WORSE" in text.split("answer=", 1)[-1] else 5
        return json.dumps({"reasoning": "graded", "score": score})
    return "WORSE answer" if "sloppily" in text else "A good answer"


def kinds(server: FakeLLM) -> Counter[str]:
    """Chat requests received, by kind: ``judge`` or ``generation``."""
    return Counter("judge" if "GRADE" in all_text(r.body) else "generation" for r in server.chat_requests)


def make_repo(repo: GitRepo, url: str, n: int = 12) -> None:
    """main: config, two prompts with golden sets, the judge; committed."""
    repo.write(".gitignore", ".llmops/\n")
    repo.write("llmops.yaml", config_text(url))
    repo.write("prompts/judges/rubric.prompt.yaml", JUDGE_PROMPT)
    repo.write("prompts/support/answer.prompt.yaml", answer_prompt("Answer briefly."))
    repo.write("evals/support/answer.yaml", golden(n))
    repo.write("prompts/support/other.prompt.yaml", answer_prompt("Answer other things."))
    repo.write("evals/support/other.yaml", golden(4, "o"))
    repo.commit("base")


def answer_prompt(system: str) -> str:
    return ANSWER_PROMPT.replace("@SYSTEM@", system)


def faq_responder(body: dict[str, Any]) -> str:
    """Answers from the FAQ in the system message; "never mention" instructions drop the time limit."""
    text = all_text(body)
    if "returned within 30 days" in text:
        if "Never mention time limits" in text:
            return "You can return items for a full refund."
        return "You can return items within 30 days of delivery."
    return "I don't know; I can connect you with a human agent."
