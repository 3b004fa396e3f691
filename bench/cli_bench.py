"""Start-up benchmark: median wall time of `llmops prompt render` and `llmops prompt list` on this repo.

    python bench/cli_bench.py [--runs 21] [--json out.json]

Target (issue #2): <= 0.25 s each on a 2-core machine. Reports medians, the spread (p10-p90) and the ratio to
a bare `python -c pass`, so a noisy machine can be told apart from a slow CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _first_case(name: str) -> str | None:
    sys.path.insert(0, str(ROOT))
    from llmops_cli.project import Project

    gs = Project.open(ROOT).golden_set(name)
    return gs.cases[0].id if gs and gs.cases else None


def time_command(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall times and CPU times (user + system of the child) of ``runs`` executions."""
    env = {**os.environ, "NO_COLOR": "1"}
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()}")
    return walls, cpus


def summary(times: tuple[list[float], list[float]]) -> dict[str, float]:
    walls, cpus = times
    q = statistics.quantiles(walls, n=10)
    return {
        "median_s": statistics.median(walls),
        "p10_s": q[0],
        "p90_s": q[-1],
        "cpu_median_s": statistics.median(cpus),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--prompt", default="support/answer")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    py = sys.executable
    # as installed: pip byte-compiles packages, but an editable checkout under PYTHONDONTWRITEBYTECODE=1
    # would recompile llmops_cli on every start
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "llmops_cli")], check=True)
    case = _first_case(args.prompt)
    render = [py, "-m", "llmops_cli", "prompt", "render", args.prompt]
    render += ["--case", case] if case else []
    commands = {
        "python -c pass (floor)": [py, "-c", "pass"],
        "llmops --version": [py, "-m", "llmops_cli", "--version"],
        f"llmops prompt render {args.prompt} --case {case}": render,
        "llmops prompt list": [py, "-m", "llmops_cli", "prompt", "list"],
    }
    for argv in commands.values():  # warm the OS cache and .pyc files
        time_command(argv, 2)
    results = {label: summary(time_command(argv, args.runs)) for label, argv in commands.items()}
    floor = results["python -c pass (floor)"]["median_s"]
    print(f"{'command':<60} {'median':>8} {'p10':>8} {'p90':>8} {'cpu':>8} {'x floor':>8}  target")
    for label, r in results.items():
        target = "<= 0.25 s" if "render" in label or "list" in label else ""
        ok = "" if not target else (" ✔" if r["median_s"] <= 0.25 else " ✘")
        print(
            f"{label:<60} {r['median_s']:>7.3f}s {r['p10_s']:>7.3f}s {r['p90_s']:>7.3f}s {r['cpu_median_s']:>7.3f}s "
            f"{r['median_s'] / floor:>7.1f}x  {target}{ok}"
        )
    print(f"(runs per command: {args.runs}; machine load average: {os.getloadavg()[0]:.2f}; cpu = user+system time")
    print(" of the command itself, which a busy machine inflates less than wall time)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
