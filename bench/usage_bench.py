"""`llmops usage report` over 1,000,000 request records: wall time and peak memory.

    python bench/usage_bench.py [--records 1000000] [--runs 3] [--json out.json] [--invalid-line]

Targets (issue #14): <= 3 s and <= 500 MB peak RSS for 1M records. The log is generated once with
llmops_cli.usage.synth (8 prompts x 2 versions, 3 tenants, 1% errors, realistic ~450-byte records) and cached
under $TMPDIR; its exact totals are checked against the report, so a fast wrong answer fails. Each run is the
real CLI in a fresh process (start-up, DuckDB import, validation of every record included); the peak RSS is the
child's own (os.wait4). CPU time (user + system) is reported beside the wall time: on a shared machine the
wall time also measures the neighbours.
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
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmops_cli.usage.synth import Stream, Totals, write_jsonl  # noqa: E402

TARGET_S = 3.0
TARGET_MB = 500.0


def make_log(n: int) -> tuple[Path, Totals]:
    """The benchmark log (cached) and its exact totals."""
    cache = Path(tempfile.gettempdir()) / "llmops-usage-bench"
    cache.mkdir(exist_ok=True)
    path = cache / f"requests-{n}.jsonl"
    meta = path.with_suffix(".totals.json")
    if path.exists() and meta.exists():
        return path, Totals(**json.loads(meta.read_text()))
    if os.environ.get("_USAGE_BENCH_CHILD") != "1":
        # generate in a child: a parent holding the generated records would inflate each measured child's
        # peak RSS (a forked child counts the parent's pages until it execs)
        env = {**os.environ, "_USAGE_BENCH_CHILD": "1"}
        subprocess.run([sys.executable, __file__, "--records", str(n), "--generate-only"], env=env, check=True)
        return path, Totals(**json.loads(meta.read_text()))
    streams = [
        Stream(prompt=f"team{i % 4}/prompt{i}", version=v, per_hour=n / 24 / 16, hours=24, start_h=0)
        for i in range(8)
        for v in ("1.0.0", "1.1.0")
    ]
    t0 = time.perf_counter()
    totals = write_jsonl(path, streams, start=datetime(2026, 11, 26, tzinfo=UTC), seed=1)
    meta.write_text(json.dumps(totals.__dict__))
    print(
        f"generated {totals.calls:,} records ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s"
    )
    return path, totals


def run_measured(argv: list[str]) -> tuple[float, float, float, str]:
    """Like :func:`run`, with the child's CPU time and peak RSS from ``os.wait4``."""
    env = {**os.environ, "NO_COLOR": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {proc.stderr.read().decode() if proc.stderr else ''}")
        out.seek(0)
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="Write the figures here.")
    ap.add_argument("--generate-only", action="store_true", help="Only write the cached log.")
    ap.add_argument(
        "--invalid-line",
        action="store_true",
        help="Append one record that repeats a key and run with --skip-invalid: the file is then read record "
        "by record (the fallback reader's cost).",
    )
    args = ap.parse_args()
    path, totals = make_log(args.records)
    if args.generate_only:
        return 0
    cases = {
        "total": [],
        "by prompt,version,tag:tenant": ["--by", "prompt,version,tag:tenant"],
    }
    if args.invalid_line:
        broken = path.with_name(path.stem + "-invalid.jsonl")
        if not broken.exists():
            with path.open("rb") as src, broken.open("wb") as dst:
                first = src.readline()
                src.seek(0)
                while chunk := src.read(1 << 24):
                    dst.write(chunk)
                dst.write(first.rstrip(b"}\n") + b', "cost_usd": 9}\n')  # a repeated key: invalid
        path = broken
        cases = {f"{k}, one invalid record, --skip-invalid": [*v, "--skip-invalid"] for k, v in cases.items()}
    results = {}
    for name, extra in cases.items():
        argv = [sys.executable, "-m", "llmops_cli", "usage", "report", str(path), "--json", *extra]
        walls, cpus, rss = [], [], []
        for _ in range(args.runs):
            wall, cpu, mb, out = run_measured(argv)
            walls.append(wall)
            cpus.append(cpu)
            rss.append(mb)
        total = json.loads(out)["total"]
        assert json.loads(out)["sources"]["invalid_skipped"] == (1 if args.invalid_line else 0)
        assert total["calls"] == totals.calls and total["tokens_in"] == totals.tokens_in, total
        assert round(total["cost_usd"] * 1e6) == totals.cost_micro_usd, (total["cost_usd"], totals.cost_usd)
        results[name] = {
            "records": totals.calls,
            "wall_s_median": round(statistics.median(walls), 3),
            "wall_s_all": [round(w, 3) for w in walls],
            "cpu_s_median": round(statistics.median(cpus), 3),
            "peak_rss_mb_max": round(max(rss), 1),
        }
        r = results[name]
        ok = r["wall_s_median"] <= TARGET_S and r["peak_rss_mb_max"] <= TARGET_MB
        print(
            f"usage report ({name}) over {totals.calls:,} records: median {r['wall_s_median']:.2f} s wall "
            f"(runs {', '.join(f'{w:.2f}' for w in walls)}), {r['cpu_s_median']:.2f} s CPU, "
            f"peak RSS {r['peak_rss_mb_max']:.0f} MB — {'within' if ok else 'OVER'} targets "
            f"({TARGET_S:g} s, {TARGET_MB:g} MB)"
        )
    info = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2), "results": results}
    print(f"machine: {info['cpus']} CPUs, load average {info['load_avg_1m']}")
    if args.json:
        args.json.write_text(json.dumps(info, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
