"""A slice of the README's offline main job, as CI runs it: this repo's llmops.yaml, prompts and judges, 12 golden
cases (the 9 judge-calibration cases of the JSON rubric judge, 2 JSON triage tickets each graded by the rubric
judge, 1 support answer graded by the factuality and faithfulness judges), no API key, the real SmolLM2-135M
stand-in. Asserts the rates ``bench/offline_main_job.py`` reports for the full job:
valid JSON ≥ 95%, judge verdicts parse ≥ 95%, peak RSS ≤ 1 GB and no growth beyond the state cache after
warm-up. Marked ``local_model``."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("llama_cpp", reason="needs the [local] extra: pip install -e '.[local]'")
pytestmark = pytest.mark.local_model

ROOT = Path(__file__).resolve().parent.parent
SLICE = {"judges/rubric": 9, "tickets/triage": 2, "support/answer": 1}
JSON_CASES = 11  # judges/rubric and tickets/triage answer in JSON


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("offline_main_job", ROOT / "bench" / "offline_main_job.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _slice_project(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(ROOT / "llmops.yaml", root / "llmops.yaml")
    shutil.copytree(ROOT / "prompts", root / "prompts")
    for name, n in SLICE.items():
        golden = yaml.safe_load((ROOT / "evals" / f"{name}.yaml").read_text())
        golden["cases"] = golden["cases"][:n]
        path = root / "evals" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(golden, sort_keys=False, allow_unicode=True))
    return root


def test_offline_slice_rates_and_memory(tmp_path: Path) -> None:
    bench = _bench()
    root = _slice_project(tmp_path / "proj")
    env = {k: v for k, v in os.environ.items() if k not in bench.KEY_VARS}
    env.update(LLMOPS_CACHE_DIR=str(tmp_path / "cache"), LITELLM_LOCAL_MODEL_COST_MAP="True")
    env["LLMOPS_LOCAL_STATS"] = str(tmp_path / "local-stats.jsonl")
    cmd = [sys.executable, "-m", "llmops_cli", "eval", "run", "--out", "results.json"]
    started = time.perf_counter()
    with open(tmp_path / "stderr.log", "w") as err:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=err)
        with bench.RssPoller(proc.pid) as poller:
            try:
                proc.wait(timeout=420)
            finally:
                proc.kill()
    wall = time.perf_counter() - started
    stderr = (tmp_path / "stderr.log").read_text()
    assert proc.returncode in (0, 1), stderr[-3000:]
    assert "using offline model local/smollm2" in stderr
    results = json.loads((root / "results.json").read_text())
    r = bench.rates(results, root)
    assert r["samples"] == sum(SLICE.values())
    assert r["json_outputs"] == JSON_CASES and r["json_valid_rate"] >= 0.95, r
    assert r["judge_samples"] >= 4 and r["judge_error_rate"] <= 0.05, r
    verdicts_parsed = (r["judge_samples"] - r["judge_errors"]) / r["judge_samples"]
    assert verdicts_parsed >= 0.95, r
    # speed that does not depend on the machine's load: one model call per output and per judge sample, and the
    # cached prompt prefixes spare most of the prompt evaluation (12 cases of 3 prompts and 2 judges)
    phases = bench.phase_figures(tmp_path / "local-stats.jsonl")
    assert phases["calls"] == r["samples"] + r["judge_samples"], phases
    assert phases["prompt_tokens"] == r["tokens"]["prompt"], (phases, r)
    assert phases["prefill"]["tokens"] <= 0.7 * phases["prompt_tokens"], phases  # 57% measured
    assert phases["decode"]["tokens"] <= r["tokens"]["completion"] + phases["calls"], phases
    peak, half = poller.peak, poller.at(0.5)
    assert peak <= 1 << 30, f"peak RSS {peak >> 20} MB"
    from llmops_cli.providers.local import DEFAULT_CACHE_MB

    cache_mb = int(os.environ.get("LLMOPS_LOCAL_CACHE_MB", DEFAULT_CACHE_MB))
    assert peak - half <= (cache_mb + 64) << 20, f"RSS grew {(peak - half) >> 20} MB after half the run"
    # progress lines on a non-terminal stderr
    assert any(line.startswith("eval: 12/12 cases (100%)") for line in stderr.splitlines()), stderr[-2000:]
    print(f"slice: {wall:.0f} s wall, peak RSS {peak >> 20} MB, {r}, {phases}")
