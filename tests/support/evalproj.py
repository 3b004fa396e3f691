"""An eval project wired to a :class:`~tests.support.fakellm.FakeLLM`: alias ``chat`` → ``openai/fake-model`` at
the server's URL, key read from ``FAKE_LLM_KEY`` (named by ``api_key_env``), a JSON rubric judge."""

from __future__ import annotations

import textwrap
from pathlib import Path

KEY_ENV = "FAKE_LLM_KEY"
KEY_VALUE = "sk-fake-test-key-0123456789"

JUDGE_PROMPT = """
model: chat
params: {temperature: 0}
inputs:
  criteria: {type: string}
  rubric: {type: string, required: false}
  question: {type: string}
  answer: {type: string}
  reference: {type: string, required: false}
output: json
messages:
  - role: system
    content: You are a strict GRADER. Reply with JSON {"reasoning", "score"}.
  - role: user
    content: >-
      GRADE criteria={{ criteria }} question={{ question }} answer={{ answer }}{%
      if reference %} reference={{ reference }}{% endif %}
"""

FACTUALITY_PROMPT = """
model: chat
inputs:
  question: {type: string}
  answer: {type: string}
  reference: {type: string}
output: json
messages:
  - role: user
    content: "FACTCHECK question={{ question }} answer={{ answer }} reference={{ reference }}"
"""

FAITHFULNESS_PROMPT = """
model: chat
inputs:
  question: {type: string}
  answer: {type: string}
  context: {type: string}
output: json
messages:
  - role: user
    content: "FAITHFUL question={{ question }} answer={{ answer }} context={{ context }}"
"""

RELEVANCE_PROMPT = """
model: chat
inputs:
  question: {type: string}
  answer: {type: string}
output: json
messages:
  - role: user
    content: "RELEVANT question={{ question }} answer={{ answer }}"
"""

ANSWER_PROMPT = """
model: chat
inputs:
  question: {type: string}
  context: {type: array, default: []}
messages:
  - role: system
    content: Answer briefly.
  - role: user
    content: "Q: {{ question }}{% for c in context %} | {{ c }}{% endfor %}"
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def config_text(url: str, *, samples: int = 1, extra: str = "") -> str:
    return f"""
models:
  chat:
    model: openai/fake-model
    api_base: {url}
    api_key_env: {KEY_ENV}
judge: {{prompt: judges/rubric, model: chat, samples: {samples}}}
concurrency: 4
eval: {{timeout_s: 5, max_retries: 3, backoff_s: 0.05}}
{extra}
"""


def make_eval_project(root: Path, url: str, *, golden: str | None = None, samples: int = 1, extra: str = "") -> Path:
    """Config, the ``support/answer`` prompt, four judge prompts and (optionally) a golden set."""
    write(root, "llmops.yaml", config_text(url, samples=samples, extra=extra))
    write(root, "prompts/support/answer.prompt.yaml", ANSWER_PROMPT)
    write(root, "prompts/judges/rubric.prompt.yaml", JUDGE_PROMPT)
    write(root, "prompts/judges/factuality.prompt.yaml", FACTUALITY_PROMPT)
    write(root, "prompts/judges/faithfulness.prompt.yaml", FAITHFULNESS_PROMPT)
    write(root, "prompts/judges/answer_relevance.prompt.yaml", RELEVANCE_PROMPT)
    if golden is not None:
        write(root, "evals/support/answer.yaml", golden)
    return root


def many_cases(n: int, *, asserts: str = "[{type: icontains, value: fake}]", prefix: str = "c") -> str:
    """A golden set of ``n`` cases with distinct questions."""
    lines = ["cases:"]
    for i in range(n):
        lines.append(f"  - {{id: {prefix}{i:05d}, vars: {{question: 'question number {i}'}}, assert: {asserts}}}")
    return "\n".join(lines) + "\n"
