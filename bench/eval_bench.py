"""Benchmarks of ``llmops eval run`` against the loopback fake server (tests/support/fakellm.py).

The fake server runs in this process; the CLI runs as a subprocess, as a user would run it.

    PYTHONPATH=. python bench/eval_bench.py              # everything (several minutes)
    PYTHONPATH=. python bench/eval_bench.py throughput cached faults resume memory

Figures (medians where several runs are taken) are printed as JSON lines:

* throughput: 1,000 cases, 200 ms server latency, concurrency 16: wall vs ideal (cases x latency / concurrency),
  with the litellm import time (measured in a fresh interpreter) reported separately;
* cached: a fully cached re-run of the same 1,000 cases: CLI wall time, in-process engine time, server requests;
* faults: 10% of responses faulty (429 with Retry-After, 500, 503, dropped connection, garbage, hang past the
  timeout): every case ends with a result or an error, requests vs the fault-free count plus retries needed;
* resume: kill -9 halfway, then --resume: requests for finished calls are never sent again;
* memory: 10,000 cases, peak RSS of the CLI process (fresh run and fully cached re-run).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.evalproj import KEY_ENV, KEY_VALUE, make_eval_project, many_cases  # noqa: E402
from tests.support.fakellm import FakeLLM, Fault  # noqa: E402

# as installed: byte-compiled (an editable checkout under PYTHONDONTWRITEBYTECODE=1 recompiles on every start)
subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "llmops_cli")], check=True)

ENV = {**os.environ, "PYTHONPATH": str(REPO), KEY_ENV: KEY_VALUE, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
ENV.pop("LLMOPS_CACHE_DIR", None)


def report(name: str, **figures: object) -> None:
    print(json.dumps({"bench": name, **figures}), flush=True)


def cli(root: Path, *args: str, timeout: float = 900) -> tuple[float, int, str]:
    """Run the CLI; (wall seconds, exit code, stderr tail)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_cli", *args], cwd=root, env=ENV, capture_output=True, timeout=timeout
    )
    return time.perf_counter() - t0, proc.returncode, proc.stderr.decode()[-2000:]


def cli_rss(root: Path, *args: str) -> tuple[float, int, int]:
    """Run the CLI and return (wall, exit code, peak RSS in MiB) using wait4 for the exact child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmops_cli", *args],
        cwd=root,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, proc.returncode, usage.ru_maxrss // 1024


def litellm_import_s() -> float:
    code = "import time,os;os.environ['LITELLM_LOCAL_MODEL_COST_MAP']='True';t=time.perf_counter();import litellm\n"
    code += "import openai.resources;print(time.perf_counter()-t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code], env=ENV).decode()) for _ in range(3)]
    return statistics.median(runs)


def bench_throughput_and_cached(runs: int = 3) -> None:
    n, latency, conc = 1000, 0.2, 16
    ideal = n * latency / conc
    imp = litellm_import_s()
    walls, cached_walls, cached_requests = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp, FakeLLM(latency=latency, default_reply="a fake answer") as server:
            root = make_eval_project(Path(tmp), server.url, golden=many_cases(n))
            wall, rc, err = cli(root, "eval", "run", "-q", "--concurrency", str(conc), "--out", "r.json")
            assert rc == 0, err
            assert server.count == n, server.count
            walls.append(wall)
            before = server.count
            for _ in range(3):
                cw, rc, err = cli(root, "eval", "run", "-q", "--out", "r.json")
                assert rc == 0, err
                cached_walls.append(cw)
            cached_requests.append(server.count - before)
            engine = _engine_time(root)
    wall = statistics.median(walls)
    report(
        "throughput",
        cases=n,
        latency_s=latency,
        concurrency=conc,
        ideal_s=ideal,
        wall_s=round(wall, 2),
        litellm_import_s=round(imp, 2),
        ratio_excluding_import=round((wall - imp) / ideal, 3),
        target="<= 1.2",
        runs=[round(w, 2) for w in walls],
    )
    report(
        "cached",
        cases=n,
        cli_wall_s=round(statistics.median(cached_walls), 3),
        engine_s=round(engine, 3),
        server_requests=sum(cached_requests),
        target="< 0.5 s, 0 requests",
    )


def _engine_time(root: Path) -> float:
    code = (
        "import time,sys\nfrom llmops_cli.project import Project\n"
        "from llmops_cli.evals.runner import EvalOptions, run_eval\n"
        "p=Project.open('.')\nts=[]\nfor _ in range(5):\n"
        "    t=time.perf_counter(); run_eval(p, EvalOptions(out='r2.json'))\n"
        "    ts.append(time.perf_counter()-t)\nts.sort(); print(ts[2], 'litellm' in sys.modules)\n"
    )
    out = subprocess.check_output([sys.executable, "-c", code], cwd=root, env=ENV).decode().split()
    assert out[1] == "False", "a fully cached run imported litellm"
    return float(out[0])


def bench_faults() -> None:
    n = 1000
    faults = [
        Fault.rate_limit(0.2),
        Fault.server_error(),
        Fault.unavailable(),
        Fault.drop(),
        Fault.garbage(),
        Fault.hang(3.0),
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeLLM(latency=0.02, default_reply="a fake answer", fault_rate=0.10, faults=faults, seed=7) as server,
    ):
        root = make_eval_project(Path(tmp), server.url, golden=many_cases(n))
        wall, rc, _ = cli(
            root, "eval", "run", "-q", "--concurrency", "16", "--timeout", "1", "--max-retries", "4", "--out", "r.json"
        )
        res = json.loads((root / "r.json").read_text())
        keys = [(s["case_id"], s["sample"]) for s in res["samples"]]
        faulted = sum(1 for r in server.chat_requests if r.fault)
        statuses: dict[str, int] = {}
        for s in res["samples"]:
            statuses[s["status"]] = statuses.get(s["status"], 0) + 1
        report(
            "faults",
            cases=n,
            exit_code=rc,
            wall_s=round(wall, 2),
            samples=len(res["samples"]),
            unique_samples=len(set(keys)),
            statuses=statuses,
            requests=server.count,
            faulted_requests=faulted,
            fault_free_count=n,
            bound=round(1.1 * n + faulted),
            within_bound=server.count <= 1.1 * n + faulted,
            retries=res["run"]["execution"]["calls"]["retries"],
            by_kind=res["run"]["execution"]["calls"]["by_kind"],
            duplicate_successes=sum(1 for h, c in _successes(server).items() if c > 1),
        )


def _successes(server: FakeLLM) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in server.chat_requests:
        if r.status == 200 and r.fault is None:
            out[r.body_hash or ""] = out.get(r.body_hash or "", 0) + 1
    return out


def bench_resume() -> None:
    n, conc = 400, 16
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(latency=0.2, default_reply="a fake answer") as server:
        root = make_eval_project(Path(tmp), server.url, golden=many_cases(n))
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmops_cli", "eval", "run", "-q", "--concurrency", str(conc), "--out", "r.json"],
            cwd=root,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.wait_for(n // 2, timeout=120)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)
        before = server.count
        cached = len(list((root / ".llmops" / "cache").rglob("*.json")))
        (run_dir,) = (root / ".llmops" / "runs").iterdir()
        journaled = sum(1 for _ in (run_dir / "journal.jsonl").open())
        _, rc, err = cli(root, "eval", "run", "-q", "--resume", run_dir.name)
        assert rc == 0, err
        res = json.loads((root / "r.json").read_text())
        after = server.chat_requests[before:]
        report(
            "resume",
            cases=n,
            requests_before_kill=before,
            cached_at_kill=cached,
            journaled_at_kill=journaled,
            requests_on_resume=len(after),
            expected_on_resume=n - cached,
            finished_calls_resent=len(after) - (n - cached),
            in_flight_at_kill_resent=len(server.duplicate_requests()),
            samples=len(res["samples"]),
        )


def bench_memory() -> None:
    n = 10_000
    with tempfile.TemporaryDirectory() as tmp, FakeLLM(latency=0.0, default_reply="a fake answer") as server:
        root = make_eval_project(Path(tmp), server.url, golden=many_cases(n))
        wall, rc, rss = cli_rss(root, "eval", "run", "-q", "--concurrency", "16", "--out", "r.json")
        assert rc == 0
        wall2, rc2, rss2 = cli_rss(root, "eval", "run", "-q", "--out", "r.json")
        assert rc2 == 0
        report(
            "memory",
            cases=n,
            fresh_wall_s=round(wall, 1),
            fresh_peak_rss_mib=rss,
            cached_wall_s=round(wall2, 2),
            cached_peak_rss_mib=rss2,
            requests=server.count,
            target="<= 300 MiB",
        )


BENCHES = {
    "throughput": bench_throughput_and_cached,
    "cached": bench_throughput_and_cached,
    "faults": bench_faults,
    "resume": bench_resume,
    "memory": bench_memory,
}

if __name__ == "__main__":
    wanted = sys.argv[1:] or ["throughput", "faults", "resume", "memory"]
    done = set()
    for name in wanted:
        fn = BENCHES[name]
        if fn not in done:
            fn()
            done.add(fn)
