"""``llmops usage judge`` on N logged calls vs ``llmops eval run`` on N golden cases, both against the loopback
fake server (tests/support/fakellm.py), each as a CLI subprocess with a fresh response cache.

    PYTHONPATH=. python bench/usage_judge_bench.py [--calls 10000] [--latency 0.05] [--concurrency 16] [--json F]

Both sides grade with the same judge (the rubric, one judge call per output, from the golden set's
``defaults.assert``); eval run also generates each output first (one more call per case), usage judge reads
it from the log. Target (issue #23): usage judge within 1.2× of eval run's wall time. Also measured: the same
usage judge command run again (every call already scored: nothing judged, no request) and ``--rescore``
(every judge call answered by the response cache). The server counts requests, so a fast wrong run (nothing
judged) shows. CPU time of each child (user + system) is reported beside the wall time: on a shared machine
the wall time also measures the neighbours.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project  # noqa: E402
from tests.support.fakellm import FakeLLM  # noqa: E402
from tests.support.looplogs import verdict, write_logged_calls  # noqa: E402

TARGET_RATIO = 1.2
ENV = {**os.environ, "PYTHONPATH": str(REPO), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
ENV.pop("LLMOPS_CACHE_DIR", None)
ENV.pop("LLMOPS_LOG", None)


def cli(root: Path, *args: str) -> dict[str, float | int | str]:
    """Run the CLI in ``root``: wall seconds, child CPU seconds, exit code, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "llmops_cli", *args], cwd=root, env=ENV, capture_output=True,
                          timeout=3600)  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"llmops {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "exit": proc.returncode, "stdout": proc.stdout.decode()}


def golden(n: int) -> str:
    lines = ["defaults:", "  assert:", "    - {type: judge, criteria: 'Answers helpfully', metric: rubric}", "cases:"]
    lines += [f"  - {{id: c{i:06d}, vars: {{question: 'question number {i}'}}}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--latency", type=float, default=0.05, help="server latency per request (s)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    n = args.calls
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "llmops_cli")], check=True)
    with (
        tempfile.TemporaryDirectory(prefix="llmops-judge-bench-") as tmp,
        FakeLLM(responder=verdict, default_reply="a helpful answer", latency=args.latency) as server,
    ):
        extra = f"concurrency: {args.concurrency}"
        judge_root = make_eval_project(Path(tmp) / "judge", server.url, golden=golden(1))
        eval_root = make_eval_project(Path(tmp) / "eval", server.url, golden=golden(n))
        for root in (judge_root, eval_root):  # the same settings on both sides
            cfg = root / "llmops.yaml"
            cfg.write_text(cfg.read_text().replace("concurrency: 4", extra))
        log = judge_root / "logs" / "requests.jsonl"
        log.parent.mkdir()
        write_logged_calls(log, n)
        judge_args = ("usage", "judge", str(log), "--prompt", "support/answer", "--sample", "100%", "--json")

        server.reset_history()
        judged = cli(judge_root, *judge_args)
        judge_requests = server.count
        out = json.loads(str(judged["stdout"]))
        assert out["judged"] == n and out["judge_calls"]["total"] == n, out
        server.reset_history()
        again = cli(judge_root, *judge_args)
        assert json.loads(str(again["stdout"]))["skipped"]["already_scored"] == n and server.count == 0
        server.reset_history()
        rescored = cli(judge_root, *judge_args, "--rescore")
        assert json.loads(str(rescored["stdout"]))["judge_calls"]["replayed"] == n and server.count == 0

        server.reset_history()
        evaluated = cli(eval_root, "eval", "run", "support/answer", "--json")
        eval_requests = server.count
        figures = {
            "bench": "usage_judge",
            "calls": n,
            "server_latency_s": args.latency,
            "concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "usage_judge": {k: judged[k] for k in ("wall_s", "cpu_s")} | {"requests": judge_requests},
            "eval_run": {k: evaluated[k] for k in ("wall_s", "cpu_s")} | {"requests": eval_requests},
            "ratio_wall": round(float(judged["wall_s"]) / float(evaluated["wall_s"]), 3),
            "target_ratio": TARGET_RATIO,
            "usage_judge_again_already_scored": {k: again[k] for k in ("wall_s", "cpu_s")},
            "usage_judge_rescore_cached": {k: rescored[k] for k in ("wall_s", "cpu_s")},
        }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
