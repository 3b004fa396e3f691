"""Benchmark ``llmops prompt diff`` on a generated repo: 1,000 prompts, two commits touching 5% of them.

Usage: PYTHONPATH=. python bench/diff_bench.py [--prompts 1000] [--changed 0.05] [--runs 5]

Reports the median wall time (subprocesses, as a user runs the CLI) of
``prompt diff A B``, ``prompt diff A B --rendered`` and ``prompt diff A B --rendered --cost``,
plus how many prompts each diff loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = "models:\n  chat:\n    model: openai/gpt-4o-mini-2024-07-18\n    params: {temperature: 0.2}\n"
PROMPT = """description: Generated prompt {i}
model: chat
params: {{max_tokens: 200}}
inputs:
  question: {{type: string}}
  locale: {{type: string, enum: [en, de], default: en}}
messages:
  - role: system
    content: |
      {include}Answer in {{{{ locale }}}}. Variant {i}: {wording}
  - role: user
    content: "{{{{ question }}}}"
"""
GOLDEN = "cases:\n" + "".join(
    f"  - id: c{k}\n    vars: {{question: Question {k} about item {{i}}?}}\n" for k in range(5)
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, n: int, changed: float) -> tuple[str, str, int]:
    git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "b@example.com"), ("user.name", "Bench"), ("commit.gpgsign", "false")):
        git(root, "config", k, v)
    (root / "llmops.yaml").write_text(CONFIG)
    (root / "prompts/_partials").mkdir(parents=True)
    (root / "prompts/_partials/tone.j2").write_text("Be friendly and concise.\n")
    for i in range(n):
        folder = root / "prompts" / f"team{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        include = '{% include "tone.j2" %}\n      ' if i % 3 == 0 else ""
        (folder / f"p{i:04d}.prompt.yaml").write_text(PROMPT.format(i=i, include=include, wording="be exact."))
        efolder = root / "evals" / f"team{i % 20:02d}"
        efolder.mkdir(parents=True, exist_ok=True)
        (efolder / f"p{i:04d}.yaml").write_text(GOLDEN.replace("{i}", str(i)))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "A")
    a = git(root, "rev-parse", "HEAD")
    touched = max(1, int(n * changed))
    step = n // touched
    for j in range(touched):
        i = j * step
        f = root / "prompts" / f"team{i % 20:02d}" / f"p{i:04d}.prompt.yaml"
        text = f.read_text().replace("be exact.", "be exact and cite sources.")
        if j % 5 == 0:
            text = text.replace("params: {max_tokens: 200}", "params: {max_tokens: 200, temperature: 0.7}")
        f.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "B")
    return a, git(root, "rev-parse", "HEAD"), touched


def timed(root: Path, args: list[str], runs: int) -> tuple[float, list[float], dict]:
    times, data = [], {}
    env = {**os.environ, "NO_COLOR": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "llmops_cli", "prompt", "diff", *args, "--format", "json"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"diff failed ({proc.returncode}): {proc.stderr}")
        data = json.loads(proc.stdout)
    return statistics.median(times), times, data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=1000)
    ap.add_argument("--changed", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=5)
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        t0 = time.perf_counter()
        a, b, touched = make_repo(root, ns.prompts, ns.changed)
        print(f"generated {ns.prompts} prompts, {touched} changed in {time.perf_counter() - t0:.1f}s")
        variants = (
            ("diff A B", []),
            ("diff A B --rendered", ["--rendered"]),
            ("--rendered --cost", ["--rendered", "--cost"]),
        )
        for label, extra in variants:
            med, times, data = timed(root, [a, b, *extra], ns.runs)
            s = data["summary"]
            print(
                f"{label:<22} median {med:.2f}s  (runs: {', '.join(f'{t:.2f}' for t in times)})  "
                f"changed {len(data['prompts'])}/{s['prompts_compared']}, loaded {s['prompts_loaded']}"
            )


if __name__ == "__main__":
    main()
