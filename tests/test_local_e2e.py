"""End to end with the real offline model: `llmops eval run` with no API key, real generations and real
judge calls through litellm's custom provider and llama.cpp (SmolLM2-135M). Deselect with -m 'not local_model'.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, write

pytest.importorskip("llama_cpp", reason="needs the [local] extra: pip install -e '.[local]'")
pytestmark = pytest.mark.local_model

ROOT = Path(__file__).resolve().parent.parent


def _project(root: Path) -> Path:
    write(
        root,
        "llmops.yaml",
        """
        models:
          chat: {model: openai/gpt-4o-mini-2024-07-18, offline: offline, params: {temperature: 0}}
          judge: {model: openai/gpt-4o-2024-08-06, offline: offline, params: {temperature: 0}}
          offline: {model: local/smollm2, params: {max_tokens: 48}}
        judge: {prompt: judges/rubric, model: judge, samples: 1}
    """,
    )
    for f in ["prompts/judges/rubric.prompt.yaml", "prompts/_partials/judge_output.j2"]:
        write(root, f, (ROOT / f).read_text())
    write(
        root,
        "prompts/capitals.prompt.yaml",
        """
        model: chat
        inputs: {country: {type: string}}
        messages:
          - {role: system, content: "Answer with the capital city only."}
          - {role: user, content: "What is the capital of {{ country }}?"}
    """,
    )
    write(
        root,
        "evals/capitals.yaml",
        """
        defaults:
          min_pass_rate: 0
          assert:
            - {type: word-count, max: 60}
            - {type: judge, criteria: "Names the correct capital city.", metric: correctness}
        cases:
          - {id: france, vars: {country: France}, expected: Paris, assert: [{type: icontains, value: paris}]}
          - {id: japan, vars: {country: Japan}, expected: Tokyo}
    """,
    )
    return root


def test_eval_run_offline_with_real_local_model(tmp_path: Path) -> None:
    root = _project(tmp_path / "proj")
    env = {"OPENAI_API_KEY": "", "LLMOPS_CACHE_DIR": str(tmp_path / "cache")}
    r = run_cli("eval", "run", "--out", "results.json", cwd=root, env=env, timeout=600)
    assert r.exit_code in (0, 1), r.output  # ran to completion; the 135M model may fail assertions
    assert "using offline model local/smollm2" in r.stderr
    results = json.loads((root / "results.json").read_text())
    samples = results["samples"]
    assert len(samples) == 2
    for s in samples:
        assert s["output"].strip(), s  # a real generation
        assert s["tokens"]["completion"] > 0
        judge = next(a for a in s["assertions"] if a["type"] == "judge")
        # a real judge call was made: either a parsed score in [0, 1] or a counted judge error, never a fake 0
        assert judge["judge_errors"] > 0 or 0.0 <= judge["score"] <= 1.0
        assert s["judge"]["tokens"]["prompt"] > 0
    assert results["summary"]["prompts"]["capitals"]["cost_usd"]["total"] == 0.0

    again = run_cli("eval", "run", "--out", "again.json", cwd=root, env=env, timeout=120)
    assert again.exit_code == r.exit_code
    replay = json.loads((root / "again.json").read_text())
    assert all(s["replay"] for s in replay["samples"])  # fully cached: no model call the second time
