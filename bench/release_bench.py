"""Benchmark ``load_prompt`` for serving code, and the import time of ``llmops_cli``.

Builds a temporary repository with N releases of one prompt (default 500) plus a channel, exports
bundles, then reports medians:

* import: ``python -c "import llmops_cli"`` (and ``from llmops_cli import load_prompt``) minus an
  empty interpreter start, over fresh subprocesses;
* bundle: first ``load_prompt(..., bundle=…)`` in a fresh process (after import; target ≤ 5 ms),
  in-process with caches cleared, and a cache hit;
* tags: the same from git tags (target ≤ 50 ms), for an exact version, a range, ``latest`` and a
  channel, with loose and with packed refs.

Usage: ``python bench/release_bench.py [--releases 500] [--runs 15]``
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAME = "support/answer"
PROMPT = """\
description: Answer a support question from retrieved context.
model: chat
params: {{max_tokens: {tokens}}}
inputs:
  question: {{type: string}}
  context: {{type: array, default: []}}
output: text
messages:
  - role: system
    content: |
      {{% include "tone.j2" %}}
      Answer using only the context.
  - role: user
    content: |
      {{% for c in context %}}- {{{{ c }}}}
      {{% endfor %}}
      Question: {{{{ question }}}}
"""


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, input=input).stdout


def build_repo(root: Path, n: int) -> None:
    """N releases of one prompt: each a commit changing max_tokens and an annotated tag with a real manifest."""
    from llmops_cli.project import Project
    from llmops_cli.releases.manifest import build_manifest, format_tag_message
    from llmops_cli.tagnames import tag_name

    git(root, "init", "-q", "-b", "main")
    for k, v in (("user.email", "b@example.com"), ("user.name", "Bench"), ("tag.gpgsign", "false")):
        git(root, "config", k, v)
    (root / "llmops.yaml").write_text("models:\n  chat:\n    model: openai/gpt-4o-mini-2024-07-18\n")
    (root / "prompts/_partials").mkdir(parents=True)
    (root / "prompts/_partials/tone.j2").write_text("You are friendly and concise.\n")
    prompt_file = root / "prompts/support/answer.prompt.yaml"
    prompt_file.parent.mkdir(parents=True)
    for i in range(n):
        prompt_file.write_text(PROMPT.format(tokens=100 + i))
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"release {i}")
        sha = git(root, "rev-parse", "HEAD").strip()
        prompt = Project.open(root).load(NAME)
        version = f"1.{i // 100}.{i % 100}"
        manifest = build_manifest(prompt, version, sha, gate={"verdict": "PASS"})
        git(root, "tag", "-a", "--cleanup=verbatim", "-F", "-", tag_name(NAME, version), sha,
            input=format_tag_message(manifest))  # fmt: skip


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def child_env() -> dict[str, str]:
    """Subprocess environment: this checkout first, bytecode caching on (as in a deployment)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def in_fresh_process(code: str, runs: int, cwd: Path) -> list[float]:
    """Each run: a new interpreter that prints one float (seconds). One warm-up run is discarded."""
    out = []
    env = child_env()
    for _ in range(runs + 1):
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        out.append(float(proc.stdout.strip().splitlines()[-1]))
    return out[1:]


def process_time(code: str, runs: int) -> list[float]:
    env = child_env()
    out = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        out.append(time.perf_counter() - t)
    return out[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--releases", type=int, default=500)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    runs = args.runs
    results: dict[str, float] = {}

    # -- import time ---------------------------------------------------------------------------------
    base = median_ms(process_time("pass", runs))
    results["import llmops_cli (ms, minus bare interpreter)"] = (
        median_ms(process_time("import llmops_cli", runs)) - base
    )
    results["from llmops_cli import load_prompt (ms)"] = (
        median_ms(process_time("from llmops_cli import load_prompt", runs)) - base
    )
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, llmops_cli; from llmops_cli import load_prompt; "
         "print(sorted(m for m in ('git','typer','rich','litellm','jinja2','pydantic','yaml') if m in sys.modules))"],
        capture_output=True, text=True, env=child_env(),
    ).stdout.strip()  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        t = time.perf_counter()
        build_repo(root, args.releases)
        build_s = time.perf_counter() - t
        from llmops_cli.git import discover as open_repo
        from llmops_cli.releases.bundle import build_bundle, write_bundle
        from llmops_cli.releases.create import promote
        from llmops_cli.releases.loader import clear_cache, load_prompt

        mid = f"1.{(args.releases // 2) // 100}.{(args.releases // 2) % 100}"
        promote(f"{NAME}@{mid}", "production", root=root)
        repo = open_repo(root)
        small = write_bundle(build_bundle(repo, [(NAME, "production")]), Path(tmp) / "small.lock.json")
        t = time.perf_counter()
        full = write_bundle(build_bundle(repo, [(NAME, None)]), Path(tmp) / "full.lock.json")
        export_s = time.perf_counter() - t

        # -- bundle --------------------------------------------------------------------------------
        for label, path in (("1 release", small), (f"{args.releases} releases", full)):
            code = (
                "import time; from llmops_cli import load_prompt; import llmops_cli.project; "
                "t = time.perf_counter(); "
                f"p = load_prompt({NAME!r}, 'production', bundle={str(path)!r}); "
                "print(time.perf_counter() - t)"
            )
            results[f"bundle ({label}, {path.stat().st_size // 1024} KiB): first load in a fresh process (ms)"] = (
                median_ms(in_fresh_process(code, runs, Path(tmp)))
            )
        samples = []
        for _ in range(runs * 4):
            clear_cache()
            from llmops_cli.releases import bundle as bmod

            bmod._BUNDLES.clear()
            t = time.perf_counter()
            load_prompt(NAME, "production", bundle=small)
            samples.append(time.perf_counter() - t)
        results["bundle (1 release): in-process, caches cleared (ms)"] = median_ms(samples)
        samples = []
        for _ in range(runs * 4):
            clear_cache()  # prompt cache cleared, parsed bundle kept
            t = time.perf_counter()
            load_prompt(NAME, "^1", bundle=full)
            samples.append(time.perf_counter() - t)
        results[f"bundle ({args.releases} releases, parsed): resolve ^1 + rebuild, prompt cache cleared (ms)"] = (
            median_ms(samples)
        )
        t = time.perf_counter()
        for _ in range(10000):
            load_prompt(NAME, "production", bundle=small)
        results["bundle: cache hit (µs)"] = (time.perf_counter() - t) / 10000 * 1e6

        # -- git tags ------------------------------------------------------------------------------
        for refs in ("loose refs", "packed refs"):
            if refs == "packed refs":
                git(root, "pack-refs", "--all")
            for spec in (mid, "^1.2", "latest", "production"):
                samples = []
                for _ in range(runs):
                    clear_cache()
                    t = time.perf_counter()
                    p = load_prompt(NAME, spec, root=root)
                    samples.append(time.perf_counter() - t)
                results[f"tags ({args.releases} releases, {refs}): {spec!r} in-process, cache cleared (ms)"] = (
                    median_ms(samples)
                )
            code = (
                "import time; from llmops_cli import load_prompt; import llmops_cli.project; "
                "t = time.perf_counter(); "
                f"p = load_prompt({NAME!r}, 'production', root={str(root)!r}); "
                "print(time.perf_counter() - t)"
            )
            results[f"tags ({refs}): 'production' first load in a fresh process, incl. gitpython import (ms)"] = (
                median_ms(in_fresh_process(code, max(5, runs // 2), root))
            )
        t = time.perf_counter()
        for _ in range(10000):
            load_prompt(NAME, "production", root=root)
        results["tags: cache hit (µs)"] = (time.perf_counter() - t) / 10000 * 1e6
        assert p.version == mid, p.version

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, median of {runs} runs (bytecode cache on)")
    print(f"built {args.releases} releases in {build_s:.1f} s; exported {args.releases} in {export_s:.1f} s")
    print(f"modules loaded by `from llmops_cli import load_prompt`: {heavy}")
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"  {k:<{width}}  {v:8.2f}")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))


if __name__ == "__main__":
    main()
