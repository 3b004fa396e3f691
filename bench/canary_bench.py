"""Benchmark and check canary channels: arm shares, monotonicity, git/bundle agreement, cost per load.

Builds a temporary repository with two real releases of one prompt (``llmops release create``), puts 1.0.0
on ``production`` and runs 1.0.1 as a canary, exports a bundle, then reports:

* the canary share over N keys (default 100,000) at 10% and at 50%, and how many keys at 10% left the canary
  when raised to 50% (must be 0);
* keys whose arm differs between git tags and the bundle, and in a fresh process (must be 0);
* ``load_prompt(name, "production", key=k)`` per call, cache warm (µs, median of batches), against the same
  call on a channel without a canary and without a key.

Usage: ``python bench/canary_bench.py [--keys 100000] [--runs 7]``
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

NAME = "support/answer"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def build(root: Path) -> None:
    from llmops_cli.releases.create import create_release, promote
    from tests.conftest import make_sample_project

    git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "bench@example.com"), ("user.name", "bench"), ("commit.gpgsign", "false")):
        git(root, "config", k, v)
    make_sample_project(root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "sample")
    create_release(NAME, root=root, allow_no_gate=True)
    prompt = root / "prompts/support/answer.prompt.yaml"
    prompt.write_text(prompt.read_text().replace("Answer in", "Reply in", 1))
    git(root, "commit", "-qam", "reword")
    create_release(NAME, root=root, allow_no_gate=True)
    promote(f"{NAME}@1.0.0", "production", root=root)
    promote(f"{NAME}@1.0.0", "staging", root=root)


def per_call_us(fn: Callable[[int], object], n: int, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        samples.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from llmops_cli.releases.bundle import build_bundle, write_bundle
    from llmops_cli.releases.canary_moves import change_canary
    from llmops_cli.releases.loader import clear_cache, load_prompt

    keys = [f"user-{i}" for i in range(args.keys)]
    results: dict[str, object] = {"keys": args.keys}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        build(root)
        change_canary(f"{NAME}@1.0.1", "production", percent="10", root=root)

        def versions(**kw: object) -> list[str | None]:
            return [load_prompt(NAME, "production", key=k, **kw).version for k in keys]  # type: ignore[arg-type]

        at10 = versions(root=root)
        results["canary share at 10% (%)"] = round(at10.count("1.0.1") / len(keys) * 100, 3)
        out = write_bundle(build_bundle(_repo(root), [(NAME, "production")]), Path(tmp) / "prompts.lock.json")
        results["keys on another arm, bundle vs git"] = sum(
            a != b for a, b in zip(versions(bundle=out), at10, strict=True)
        )
        code = (
            "import json, sys; from llmops_cli import load_prompt; "
            f"print(json.dumps([load_prompt({NAME!r}, 'production', bundle={str(out)!r}, key=k).version "
            "for k in json.load(sys.stdin)]))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(keys),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random"},
        )
        results["keys on another arm, fresh process"] = sum(
            a != b for a, b in zip(json.loads(proc.stdout), at10, strict=True)
        )

        per = max(1, min(len(keys), 20_000))
        results["load_prompt cache hit, canary channel + key (µs)"] = round(
            per_call_us(lambda i: load_prompt(NAME, "production", root=root, key=keys[i]), per, args.runs), 2
        )
        results["load_prompt cache hit, canary channel, no key (µs)"] = round(
            per_call_us(lambda i: load_prompt(NAME, "production", root=root), per, args.runs), 2
        )
        results["load_prompt cache hit, channel without canary (µs)"] = round(
            per_call_us(lambda i: load_prompt(NAME, "staging", root=root, key=keys[i]), per, args.runs), 2
        )
        results["load_prompt cache hit, bundle canary + key (µs)"] = round(
            per_call_us(lambda i: load_prompt(NAME, "production", bundle=out, key=keys[i]), per, args.runs), 2
        )

        change_canary(f"{NAME}@1.0.1", "production", percent="50", root=root)
        clear_cache()
        at50 = versions(root=root)
        results["canary share at 50% (%)"] = round(at50.count("1.0.1") / len(keys) * 100, 3)
        results["keys leaving the canary when raised 10% → 50%"] = sum(
            a == "1.0.1" and b != "1.0.1" for a, b in zip(at10, at50, strict=True)
        )
    for k, v in results.items():
        print(f"{k:<55} {v}")


def _repo(root: Path):  # type: ignore[no-untyped-def]
    from llmops_cli.git import discover

    return discover(root)


if __name__ == "__main__":
    main()
