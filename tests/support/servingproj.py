"""A serving project wired to a :class:`~tests.support.fakellm.FakeLLM`, and helpers to read request logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import write

PROMPT = """
model: {model}
params: {{max_tokens: 20, temperature: 0.1}}
inputs:
  question: {{type: string}}
messages:
  - role: system
    content: You answer support questions.
  - role: user
    content: "Q: {{{{ question }}}}"
"""


def serving_project(root: Path, url: str, *, model: str = "openai/fake-model", key_env: str | None = None) -> Path:
    """``llmops.yaml`` with alias ``chat`` → ``model`` at ``url`` (key from ``key_env`` when given) and the
    prompt ``support/answer`` using it."""
    key = f", api_key_env: {key_env}" if key_env else ""
    write(root, "llmops.yaml", f"models:\n  chat: {{model: {model}, api_base: '{url}'{key}}}\n")
    write(root, "prompts/support/answer.prompt.yaml", PROMPT.format(model="chat"))
    return root


def read_records(*paths: Path) -> list[dict[str, Any]]:
    """Every record in these JSONL files (missing files are empty); each line must be one JSON object."""
    records = []
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="ascii").split("\n")[:-1]:
            records.append(json.loads(line))
    return records
