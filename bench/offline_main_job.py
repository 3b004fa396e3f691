"""The README's main job, offline, on a fresh copy: wall time, CPU time, peak RSS, tokens/s, valid-JSON rate
and judge-error rate of ``llmops eval run`` with no API key (the SmolLM2-135M stand-in through llama.cpp).

    python bench/offline_main_job.py                      # the full job (116 cases; minutes)
    python bench/offline_main_job.py --shard 1/10         # a slice (passed through to `eval run`)
    python bench/offline_main_job.py --json out.json      # also write the figures as JSON

The repository (default: this checkout's committed HEAD) is ``git clone``d into a temporary folder, so there
is no ``.llmops/`` state; the response cache goes to a fresh temporary ``LLMOPS_CACHE_DIR`` and every provider
key is removed from the environment. ``llmops`` is this interpreter's (``python -m llmops_cli``). Peak RSS is
the process tree's, polled from ``/proc`` every 0.2 s; stderr is a file (not a terminal), so the run's
plain progress lines are shown too. CPU time (user + system of the whole tree) is less sensitive to other load
on the machine than wall time, so both are reported with the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc/<pid>/status VmRSS)."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
        stack.extend(_children(p))
    return total


class RssPoller:
    """Samples the RSS of a process tree every ``interval`` seconds: ``(t, bytes)`` pairs and the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.perf_counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss(self.pid)
            if rss:
                self.samples.append((time.perf_counter() - self._t0, rss))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max((r for _, r in self.samples), default=0)

    def at(self, fraction: float) -> int:
        """The highest RSS seen up to ``fraction`` of the run's duration."""
        if not self.samples:
            return 0
        limit = self.samples[-1][0] * fraction
        return max((r for t, r in self.samples if t <= limit), default=self.samples[0][1])


def is_json_prompt(clone: Path, prompt_file: str) -> bool:
    import yaml

    spec = yaml.safe_load((clone / prompt_file).read_text()) or {}
    out = spec.get("output")
    return out == "json" or (isinstance(out, dict) and out.get("format") == "json")


def rates(results: dict[str, Any], clone: Path) -> dict[str, Any]:
    """Valid-JSON rate of JSON prompts' outputs, judge-error rate, token counts."""
    json_prompts = {n for n, p in results["prompts"].items() if is_json_prompt(clone, p["file"])}
    json_total = json_valid = 0
    gen_out = judge_out = gen_in = judge_in = 0
    judge_samples = judge_errors = 0
    for s in results["samples"]:
        gen_in += s["tokens"]["prompt"]
        gen_out += s["tokens"]["completion"]
        j = s.get("judge") or {}
        judge_in += (j.get("tokens") or {}).get("prompt", 0)
        judge_out += (j.get("tokens") or {}).get("completion", 0)
        judge_samples += j.get("samples", 0)
        judge_errors += j.get("errors", 0)
        if s["prompt"] in json_prompts and s.get("output") is not None:
            json_total += 1
            with contextlib.suppress(ValueError):
                json_valid += isinstance(json.loads(s["output"]), dict)
    return {
        "samples": len(results["samples"]),
        "json_outputs": json_total,
        "json_valid": json_valid,
        "json_valid_rate": json_valid / json_total if json_total else None,
        "judge_samples": judge_samples,
        "judge_errors": judge_errors,
        "judge_error_rate": judge_errors / judge_samples if judge_samples else None,
        "tokens": {"prompt": gen_in + judge_in, "completion": gen_out + judge_out},
    }


def phase_figures(path: Path) -> dict[str, Any]:
    """Sum the provider's per-call records (``LLMOPS_LOCAL_STATS``): prompt evaluation and generation figures."""
    if not path.exists():
        return {}
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    out: dict[str, Any] = {"calls": len(records), "prompt_tokens": sum(r.get("prompt_tokens") or 0 for r in records)}
    for name in ("prefill", "decode"):
        tokens = sum(r[f"{name}_tokens"] for r in records)
        cpu = sum(r[f"{name}_cpu_s"] for r in records)
        wall = sum(r[f"{name}_s"] for r in records)
        out[name] = {
            "tokens": tokens,
            "cpu_s": round(cpu, 1),
            "wall_s": round(wall, 1),
            "calls": sum(1 for r in records if r[f"{name}_tokens"]),
            "cpu_ms_per_token": round(1000 * cpu / tokens, 2) if tokens else None,
            "tokens_per_s": round(tokens / wall, 1) if wall else None,
        }
    threads: dict[str, int] = {}
    for r in records:
        key = str(r.get("decode_threads") or 1)
        threads[key] = threads.get(key, 0) + 1
    out["decode_threads"] = threads
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=str(ROOT), help="repository to clone (default: this checkout)")
    ap.add_argument("--shard", help="pass --shard I/N to eval run (a slice)")
    ap.add_argument("--prompt", action="append", default=[], help="evaluate only this prompt (repeatable)")
    ap.add_argument("--threads", help="LLMOPS_LOCAL_THREADS for the run (default: the provider's)")
    ap.add_argument("--json", dest="json_out", help="write the figures here as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="llmops-offline-"))
    clone = tmp / "repo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", args.repo, str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env.update(LLMOPS_CACHE_DIR=str(tmp / "cache"), LITELLM_LOCAL_MODEL_COST_MAP="True", NO_COLOR="1")
    env["LLMOPS_LOCAL_STATS"] = str(tmp / "local-stats.jsonl")  # per-call prefill/decode figures
    if args.threads:
        env["LLMOPS_LOCAL_THREADS"] = args.threads
    cmd = [sys.executable, "-m", "llmops_cli", "eval", "run", "--out", str(tmp / "results.json"), *args.prompt]
    if args.shard:
        cmd += ["--shard", args.shard]
    load_before = os.getloadavg()
    stderr_path = tmp / "stderr.log"
    started = time.perf_counter()
    with open(stderr_path, "w") as err, open(tmp / "stdout.log", "w") as out:
        proc = subprocess.Popen(cmd, cwd=clone, env=env, stdout=out, stderr=err)
        with RssPoller(proc.pid) as poller:
            _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    load_after = os.getloadavg()
    cpu = usage.ru_utime + usage.ru_stime
    stderr_text = stderr_path.read_text()
    if not (tmp / "results.json").exists():
        print(stderr_text[-4000:], file=sys.stderr)
        print(f"eval run exited {proc.returncode} without a results file", file=sys.stderr)
        return 3
    results = json.loads((tmp / "results.json").read_text())
    r = rates(results, clone)
    phases = phase_figures(tmp / "local-stats.jsonl")
    figures = {
        "command": "llmops eval run"
        + (f" --shard {args.shard}" if args.shard else "")
        + "".join(f" {p}" for p in args.prompt),
        "exit_code": proc.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cases": len(results["samples"]),
        "cpu_s_per_case": round(cpu / max(1, len(results["samples"])), 2),
        "peak_rss_mb": round(poller.peak / 2**20),
        "rss_mb_at_20pct": round(poller.at(0.2) / 2**20),
        "rss_mb_at_50pct": round(poller.at(0.5) / 2**20),
        "rss_growth_after_warmup_mb": round((poller.peak - poller.at(0.2)) / 2**20),
        "tokens_per_s": round((r["tokens"]["prompt"] + r["tokens"]["completion"]) / wall, 1),
        "completion_tokens_per_s": round(r["tokens"]["completion"] / wall, 1),
        **r,
        "load_avg_1m": [round(load_before[0], 2), round(load_after[0], 2)],
        "cpus": os.cpu_count(),
        "progress_lines": sum(1 for line in stderr_text.splitlines() if line.startswith("eval: ")),
        "phases": phases,
    }
    print(stderr_text.rstrip())
    print((tmp / "stdout.log").read_text().rstrip())
    print()
    print(
        f"wall {figures['wall_s']} s, CPU {figures['cpu_s']} s (load avg {load_before[0]:.2f} -> {load_after[0]:.2f}"
        f" on {os.cpu_count()} CPUs)"
    )
    print(
        f"peak RSS {figures['peak_rss_mb']} MB (process tree; {figures['rss_mb_at_20pct']} MB by 20% of the run, "
        f"{figures['rss_mb_at_50pct']} MB by 50%)"
    )
    print(
        f"tokens: {r['tokens']['prompt']} prompt + {r['tokens']['completion']} completion = "
        f"{figures['tokens_per_s']} tokens/s ({figures['completion_tokens_per_s']} completion tokens/s)"
    )
    print(f"CPU per case: {figures['cpu_s_per_case']} s ({figures['cases']} cases)")
    for name in ("prefill", "decode"):
        ph = phases.get(name)
        if ph:
            print(
                f"{name}: {ph['tokens']} tokens in {ph['calls']} calls, {ph['cpu_s']} s CPU "
                f"({ph['cpu_ms_per_token']} ms a token), {ph['wall_s']} s wall ({ph['tokens_per_s']} tokens/s)"
            )
    if phases.get("calls"):
        print(
            f"model calls: {phases['calls']}, prompt tokens {phases['prompt_tokens']} of which evaluated "
            f"{phases['prefill']['tokens']} (the rest restored from cached prefixes); "
            f"decode threads per call: {phases['decode_threads']}"
        )
    if r["json_outputs"]:
        print(f"valid JSON: {r['json_valid']}/{r['json_outputs']} = {100 * r['json_valid_rate']:.1f}%")
    if r["judge_samples"]:
        print(f"judge errors: {r['judge_errors']}/{r['judge_samples']} = {100 * r['judge_error_rate']:.1f}%")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
